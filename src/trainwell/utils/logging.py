"""structlog setup: a console renderer for people, JSON lines for machines.

Library code only calls ``get_logger(__name__)`` and emits events with key/value pairs::

    logger.info("epoch_end", epoch=3, loss=0.41)

The CLI calls :func:`configure_logging` once, from ``--log-format`` and ``--log-level``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Literal, TextIO, cast

import structlog

LogFormat = Literal["console", "json"]
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


# Libraries that log through the standard library at INFO; shown only from WARNING up unless
# the user asks for debug.
DEFAULT_LIBRARY_LEVEL = "info"
NOISY_LIBRARIES = ("mlflow", "alembic", "urllib3", "httpx", "numexpr")


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at write time (pytest and CLI runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_CURRENT_STDERR = _CurrentStderr()


def configure_logging(log_format: LogFormat = "console", level: str = "info") -> None:
    """Route structlog events to stderr, rendered for a terminal or as JSON lines.

    Args:
        log_format: ``console`` (coloured when stderr is a terminal) or ``json``.
        level: minimum level name: debug, info, warning or error.
    """
    numeric_level = _LEVELS.get(level.lower(), logging.INFO)
    renderer: structlog.types.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=cast("TextIO", _CURRENT_STDERR)),
        cache_logger_on_first_use=False,
    )
    library_level = numeric_level if numeric_level == logging.DEBUG else logging.WARNING
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
    # MLflow resets its logger at import time from this variable.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(library_level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return the structlog logger for a module (``get_logger(__name__)``).

    When nothing configured structlog yet (trainwell used as a library, or in tests), events
    go to stderr from INFO up, never to stdout where they would mix with a program's output.
    The CLI replaces this with ``--log-format``/``--log-level``.
    """
    if not structlog.is_configured():
        configure_logging("console", DEFAULT_LIBRARY_LEVEL)
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
