"""Tune tests: logs on stderr, as the CLI configures them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trainwell.utils.logging import configure_logging


@pytest.fixture(autouse=True)
def _logs_on_stderr() -> Iterator[None]:
    """structlog to stderr (as the CLI configures it), so `--json` stdout stays clean."""
    configure_logging("console", "warning")
    yield
