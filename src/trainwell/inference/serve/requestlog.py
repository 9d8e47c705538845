"""The JSONL request log ``trainwell ab report`` reads: predictions, feedback, shadow results.

Lines are queued on the request path and written in batches by one background thread, rotated
by size into ``LOG.1``, ``LOG.2``... (``RotatingFileHandler``'s naming, which ``ab report``
reads).
Line formats (docs/serve.md)::

    {"event": "prediction", "ts": ..., "request_id": ..., "arm": ..., "model": ..., "version": ...,
     "objective": ..., "rows": n, "predictions": [...], "latency_ms": ...}
    {"event": "feedback", "ts": ..., "request_id": ..., "outcomes": [...]}
    {"event": "shadow", "ts": ..., "request_id": ..., "version": ..., "rows": n,
     "disagreements": k, "latency_ms": ...}
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import orjson

FLUSH_EVERY_S = 0.05
CLOSE_TIMEOUT_S = 10.0


class RequestLog:
    """An append-only JSONL log with size rotation, written off the request path.

    A request only serialises its line and puts the bytes on a queue (a few microseconds); one
    background thread wakes every ``FLUSH_EVERY_S``, takes everything queued and writes it in one
    call, so the writer costs no wake-up per request on a busy core.

    Args:
        path: the log file (its directory is created).
        max_bytes: rotate past this size.
        backups: rotated files kept (``LOG.1`` is the newest), as ``RotatingFileHandler`` names
            them.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._handle = path.open("ab")
        self._size = self._handle.tell()
        self._thread = threading.Thread(target=self._run, name="trainwell-request-log", daemon=True)
        self._thread.start()

    def write(self, event: str, **fields: Any) -> None:
        """Queue one line (returns at once)."""
        payload = {"event": event, "ts": round(time.time(), 6), **fields}
        self._queue.put(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY_S):
            self._flush()
        self._flush()

    def _flush(self) -> None:
        lines: list[bytes] = []
        try:
            while True:
                lines.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        if not lines:
            return
        for line in lines:  # a rotation can fall between any two lines
            if self._size and self._size + len(line) > self.max_bytes:
                self._rotate()
            self._handle.write(line)
            self._size += len(line)
        self._handle.flush()

    def _rotate(self) -> None:
        self._handle.close()
        if self.backups > 0:
            for index in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._handle = self.path.open("ab")
        self._size = 0

    def close(self) -> None:
        """Write what is queued and close the file (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(CLOSE_TIMEOUT_S)
        self._handle.close()
