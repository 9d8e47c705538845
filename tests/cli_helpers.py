"""What the CLI tests share: run a command in-process, find the one bundle, assert none."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from trainwell.cli import app

runner = CliRunner()
EXIT_BAD_INPUT = 2


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output (stdout + stderr) of ``trainwell <args>``."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def only_bundle(models_dir: Path) -> Path:
    """The single bundle under ``models_dir``."""
    bundles = [p for p in models_dir.iterdir() if not p.name.startswith(".")]
    assert len(bundles) == 1, bundles
    return bundles[0]


def assert_no_bundle(tmp_path: Path) -> None:
    """A failed run leaves nothing under models/."""
    models = tmp_path / "models"
    leftovers = list(models.iterdir()) if models.exists() else []
    assert leftovers == [], f"partial artifacts left behind: {leftovers}"
