"""Helpers for the linter's tests: lint a snippet with trainwell's own pass, or end to end."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from trainwell.lint.analyzer import CUSTOM_CODES, analyze_source
from trainwell.lint.engine import Linter
from trainwell.lint.findings import Finding
from trainwell.lint.settings import LintSettings
from trainwell.utils.logging import configure_logging

Hits = set[tuple[int, str]]


@pytest.fixture(autouse=True)
def _quiet_logs() -> None:
    configure_logging("console", "warning")


def custom_hits(source: str, name: str = "module.py", codes: set[str] | None = None) -> Hits:
    """``(line, code)`` of trainwell's own findings on a dedented snippet."""
    enabled = frozenset(codes) if codes else CUSTOM_CODES
    result = analyze_source(textwrap.dedent(source), Path(name), enabled)
    return {(f.line, f.code) for f in result.findings}


@pytest.fixture
def hits() -> Callable[..., Hits]:
    """``hits(source, name=..., codes=...)`` -> ``{(line, code)}`` of trainwell's own pass."""
    return custom_hits


@pytest.fixture
def lint_files(tmp_path: Path) -> Callable[..., list[Finding]]:
    """Write ``{name: source}`` into a folder and lint it end to end (ruff included)."""

    def run(files: dict[str, str], **settings: object) -> list[Finding]:
        root = tmp_path / "project"
        for name, source in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        config = LintSettings.model_validate({"root": root, **settings})
        return list(Linter(config, jobs=1).lint([root], base=root).findings)

    return run
