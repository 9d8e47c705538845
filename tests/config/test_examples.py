"""Every experiment YAML shipped in configs/ is a valid config (what the README promises)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwell.config.loader import load_experiment
from trainwell.tasks import get_task

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "configs").rglob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_config_validates(path: Path) -> None:
    config = load_experiment([str(path)], environ={})
    if config.task.kind is not None:
        get_task(config.task.kind)
    assert path.read_text(encoding="utf-8").startswith("#"), "say what it does and how to run it"
