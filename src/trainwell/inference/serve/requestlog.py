"""The JSONL request log ``trainwell ab report`` reads: predictions, feedback, shadow results.

Lines are queued on the request path and written by one background thread (stdlib logging's
``QueueHandler`` -> ``RotatingFileHandler``), rotated by size into ``LOG.1``, ``LOG.2``...
Line formats (docs/serve.md)::

    {"event": "prediction", "ts": ..., "request_id": ..., "arm": ..., "model": ..., "version": ...,
     "objective": ..., "rows": n, "predictions": [...], "latency_ms": ...}
    {"event": "feedback", "ts": ..., "request_id": ..., "outcomes": [...]}
    {"event": "shadow", "ts": ..., "request_id": ..., "version": ..., "rows": n,
     "disagreements": k, "latency_ms": ...}
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import time
from pathlib import Path
from typing import Any

import orjson

LOGGER_NAME = "trainwell.serve.requests"


class _Line(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


class RequestLog:
    """An append-only JSONL log with size rotation, written off the request path.

    Args:
        path: the log file (its directory is created).
        max_bytes: rotate past this size.
        backups: rotated files kept (``LOG.1`` is the newest).
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        handler.setFormatter(_Line())
        self._listener = logging.handlers.QueueListener(self._queue, handler)
        self._handler = handler
        self._logger = logging.Logger(LOGGER_NAME)  # not in the logging tree: never propagates
        self._logger.addHandler(logging.handlers.QueueHandler(self._queue))
        self._listener.start()

    def write(self, event: str, **fields: Any) -> None:
        """Queue one line (returns at once)."""
        payload = {"event": event, "ts": round(time.time(), 6), **fields}
        line = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY).decode("utf-8")
        self._logger.info(line)

    def close(self) -> None:
        """Write what is queued and close the file."""
        self._listener.stop()
        self._handler.close()
