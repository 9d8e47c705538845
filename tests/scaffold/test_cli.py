"""`trainwell new` as a user runs it: the derived package name, next steps, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trainwell.scaffold.cli import TASK_HELP, new_command
from trainwell.scaffold.generator import SUPPORTED_TASKS

EXIT_BAD_INPUT = 2
runner = CliRunner()


def _root() -> None:
    """A stand-in for trainwell's root command, so `new` is a subcommand as in the real CLI."""


app = typer.Typer()
app.callback()(_root)
app.command("new")(new_command)


def test_new_creates_the_project_and_shows_the_package(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "churn-model", "-d", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "package name: churn_model" in result.stdout
    assert "next steps" in result.stdout
    assert "make test" in result.stdout
    assert (tmp_path / "churn-model" / "src" / "churn_model" / "__init__.py").is_file()


def test_new_defaults_to_the_current_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "fraud-watch", "--task", "anomaly-detection"])
    assert result.exit_code == 0, result.output
    config = (tmp_path / "fraud-watch" / "configs" / "experiment.yaml").read_text(encoding="utf-8")
    assert "kind: anomaly-detection" in config


def test_description_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "prices", "--description", "House prices.", "-d", "."])
    assert result.exit_code == 0, result.output
    assert 'description = "House prices."' in (tmp_path / "prices" / "pyproject.toml").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2fast"], "starts with a digit"),
        (["class"], "Python keyword"),
        (["my model"], "not valid"),
        (["churn-model", "--task", "vision"], "unknown task 'vision'"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["new", *args])
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert message in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "churn-model").mkdir()
    (tmp_path / "churn-model" / "notes.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["new", "churn-model"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "not empty" in result.stderr
    assert [p.name for p in (tmp_path / "churn-model").iterdir()] == ["notes.txt"]


def test_help_lists_every_task() -> None:
    result = runner.invoke(app, ["new", "--help"])
    assert result.exit_code == 0
    for task in SUPPORTED_TASKS:
        assert task in TASK_HELP
    assert "--directory" in result.stdout
    assert "--task" in result.stdout


def test_the_command_module_is_import_light() -> None:
    """`trainwell --help` must stay fast: no Copier or Pydantic until the command runs."""
    code = (
        "import sys, trainwell.scaffold.cli; "
        "heavy = [m for m in ('copier', 'pydantic', 'jinja2', 'yaml') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
