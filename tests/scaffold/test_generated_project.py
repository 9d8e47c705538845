"""A generated project keeps the issue's promises, run the way a user runs them, in this same
environment and without network: `make test` passes, its tests pass with a plain `pytest`,
`make train` trains, and it is clean under ruff, mypy --strict, `trainwell lint` and
`trainwell audit`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trainwell.scaffold.generator import SUPPORTED_TASKS, generate_project, plan_project

# Generous: these run real training and tools in a subprocess on a shared machine.
SUBPROCESS_TIMEOUT_S = 600
# The longest project name the generator accepts; generated lines must still fit ruff's limit.
LONG_NAME = "a" * 20 + "-" + "b" * 29
MAKE = shutil.which("make")
BIN_DIR = Path(sys.executable).parent


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated project per task, plus one with the longest name allowed."""
    parent = tmp_path_factory.mktemp("projects")
    generated = {
        task: generate_project(plan_project(f"demo-{task}", task=task, parent=parent))
        for task in SUPPORTED_TASKS
    }
    generated["long-name"] = generate_project(
        plan_project(LONG_NAME, task="anomaly-detection", parent=parent)
    )
    return generated


def clean_env() -> dict[str, str]:
    """This environment without anything that would change how the project runs."""
    dropped = {"PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "VIRTUAL_ENV"}
    return {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("TRAINWELL_")
    }


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in ``cwd``; the output is kept for the assertion message."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )


def show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


def tool(name: str) -> list[str]:
    """A console script of this environment, or ``python -m name`` when it has none."""
    script = BIN_DIR / name
    return [str(script)] if script.is_file() else [sys.executable, "-m", name]


@pytest.mark.parametrize("key", [*SUPPORTED_TASKS, "long-name"])
def test_ruff_is_clean(projects: dict[str, Path], key: str) -> None:
    project = projects[key]
    checked = run([sys.executable, "-m", "ruff", "check", "src", "tests", "scripts"], project)
    assert checked.returncode == 0, show(checked)
    formatted = run(
        [sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "scripts"], project
    )
    assert formatted.returncode == 0, show(formatted)


@pytest.mark.slow
def test_make_test_passes_offline(projects: dict[str, Path]) -> None:
    if MAKE is None:
        pytest.skip("make is not installed")
    project = projects["tabular-classification"]
    result = run([MAKE, "test", f"PYTHON={sys.executable}"], project)
    assert result.returncode == 0, show(result)
    assert "nothing to install" in result.stdout
    assert " passed" in result.stdout
    assert not (project / ".venv").exists()


@pytest.mark.slow
@pytest.mark.parametrize("task", ["tabular-regression", "anomaly-detection"])
def test_plain_pytest_passes(projects: dict[str, Path], task: str) -> None:
    """`pytest` from the project root, no install and no PYTHONPATH: pythonpath=src does it."""
    result = run([*tool("pytest"), "-q", "-p", "no:cacheprovider"], projects[task])
    assert result.returncode == 0, show(result)
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout


@pytest.mark.slow
def test_make_train_writes_a_bundle_and_a_report(projects: dict[str, Path]) -> None:
    if MAKE is None:
        pytest.skip("make is not installed")
    project = projects["tabular-regression"]
    result = run([MAKE, "train", f"PYTHON={sys.executable}"], project)
    assert result.returncode == 0, show(result)
    bundles = [p for p in (project / "models").iterdir() if p.is_dir()]
    assert len(bundles) == 1
    reports = list((project / "outputs").glob("report-*.json"))
    assert len(reports) == 1
    summary = json.loads(reports[0].read_text(encoding="utf-8"))["summary"]
    assert summary["metric"] == "rmse"
    assert summary["lift"] > 0
    assert (project / "mlruns" / "mlflow.db").is_file()


@pytest.mark.slow
def test_mypy_strict_is_clean(projects: dict[str, Path]) -> None:
    result = run([sys.executable, "-m", "mypy"], projects["anomaly-detection"])
    assert result.returncode == 0, show(result)


def _root() -> None:
    """A stand-in for trainwell's root command, so the command under test is a subcommand."""


def command_app(name: str, command: Callable[..., None]) -> typer.Typer:
    """A tiny CLI with ``command`` registered as ``name``, as trainwell's CLI registers it."""
    app = typer.Typer()
    app.callback()(_root)
    app.command(name)(command)
    return app


@pytest.mark.parametrize("key", [*SUPPORTED_TASKS, "long-name"])
def test_trainwell_lint_finds_nothing(
    projects: dict[str, Path], key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lint_cli = pytest.importorskip("trainwell.lint.cli")
    app = command_app("lint", lint_cli.lint_command)
    monkeypatch.chdir(projects[key])
    report = tmp_path / "lint.json"
    args = ["lint", "src", "scripts", "--format", "json", "--output", str(report)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["findings"] == []


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_trainwell_audit_finds_nothing(
    projects: dict[str, Path], task: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    audit_cli = pytest.importorskip("trainwell.audit.cli")
    app = command_app("audit", audit_cli.audit_command)
    monkeypatch.chdir(projects[task])
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(app, ["audit", ".", "--format", "json", "--output", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["findings"] == []
