"""structlog setup: a console renderer for people, JSON lines for machines.

Library code only calls ``get_logger(__name__)`` and emits events with key/value pairs::

    logger.info("epoch_end", epoch=3, loss=0.41)

The CLI calls :func:`configure_logging` once, from ``--log-format`` and ``--log-level``.

Warnings from libraries (pandas, scikit-learn...) raised inside a stage wrapped in
:func:`summarise_warnings` are counted, not printed, and logged once per kind when the stage
ends, so a warning repeated per column of a 20,000-column table is one line::

    with summarise_warnings("preprocessing"):
        ...  # [warning] library_warning stage=preprocessing category=PerformanceWarning count=4900
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


# The parts of a warning's text that vary between columns or calls (quoted names, numbers):
# two warnings of one category whose texts differ only there are one kind.
_VARYING_PART = re.compile(r"'[^']*'|\"[^\"]*\"|\d+(?:\.\d+)?")


@dataclass
class _WarningKind:
    message: str
    where: str
    count: int = 0
    texts: set[str] = field(default_factory=set)


@dataclass
class WarningSummary:
    """The warnings one stage raised, by kind: category and text, its varying parts ignored.

    Attributes:
        stage: the name the summary is logged under.
        kinds: (category name, text with quoted names and numbers blanked) -> first message,
            first location, count and the distinct texts seen.
    """

    stage: str
    kinds: dict[tuple[str, str], _WarningKind] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many warnings were raised."""
        return sum(kind.count for kind in self.kinds.values())

    def add(
        self, message: Warning | str, category: type[Warning], filename: str, lineno: int
    ) -> None:
        """Count one warning (the signature of ``warnings.showwarning``)."""
        text = str(message)
        key = (category.__name__, _VARYING_PART.sub("…", text))
        kind = self.kinds.get(key)
        if kind is None:
            kind = self.kinds[key] = _WarningKind(message=text, where=f"{filename}:{lineno}")
        kind.count += 1
        kind.texts.add(text)

    def log(self) -> None:
        """One ``library_warning`` event per kind, with its count (nothing when none)."""
        logger = get_logger(__name__)
        for (category, _), kind in self.kinds.items():
            logger.warning(
                "library_warning",
                stage=self.stage,
                category=category,
                message=kind.message,
                count=kind.count,
                variants=len(kind.texts),
                where=kind.where,
            )


# innermost last; only the main thread collects (see summarise_warnings)
_ACTIVE: list[WarningSummary] = []


def _collect(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _ACTIVE[-1].add(message, category, filename, lineno)


@contextmanager
def summarise_warnings(stage: str) -> Iterator[WarningSummary]:
    """Count the warnings raised inside the block and log each kind once when it ends.

    The warning filters still apply (an ``ignore`` stays silent, an ``error`` still raises);
    what they would print is counted instead, every time (``always``), and logged as one
    ``library_warning`` event per kind with ``count``. Blocks nest: each logs its own.

    Note:
        ``warnings.catch_warnings`` changes process-wide state, so only the main thread
        collects; elsewhere (`serve`'s worker threads) warnings behave as without the block.

    Example:
        >>> with summarise_warnings("preprocessing") as summary:
        ...     warnings.warn("column 'g1' is constant", UserWarning, stacklevel=1)
        ...     warnings.warn("column 'g2' is constant", UserWarning, stacklevel=1)
        >>> summary.total, len(summary.kinds)
        (2, 1)
    """
    summary = WarningSummary(stage)
    if threading.current_thread() is not threading.main_thread():
        yield summary
        return
    if _ACTIVE:  # an outer block's hook is installed; this one counts separately
        _ACTIVE.append(summary)
        try:
            yield summary
        finally:
            _ACTIVE.pop()
            summary.log()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("always", append=True)
        warnings.showwarning = _collect
        _ACTIVE.append(summary)
        try:
            yield summary
        finally:
            _ACTIVE.pop()
            summary.log()
