"""`trainwell audit` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from typer.testing import CliRunner

from trainwell.audit.cli import audit_command

app = typer.Typer()
app.command("audit")(audit_command)
app.command("other")(lambda: None)
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", *args])
    return result.exit_code, result.output


def test_clean_project_exits_0(make_project: Callable[..., Path]) -> None:
    code, out = invoke(str(make_project()))
    assert code == 0, out
    assert "All clear" in out


def test_findings_exit_1_in_every_format(make_project: Callable[..., Path]) -> None:
    root = make_project(drop=("docker",))
    code, out = invoke(str(root))
    assert code == 1
    assert "docker/Dockerfile:1:1: TWA601 docker/Dockerfile is missing" in out
    assert "hint: add docker/Dockerfile" in out
    code, out = invoke(str(root), "--format", "json")
    assert code == 1
    assert {f["code"] for f in json.loads(out)["findings"]} == {"TWA102", "TWA601", "TWA602"}
    code, out = invoke(str(root), "--format", "sarif", "--select", "TWA6")
    log = json.loads(out)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["TWA601", "TWA602"]
    assert invoke(str(root), "--ignore", "TWA1,TWA6")[0] == 0


def test_could_not_run(tmp_path: Path) -> None:
    code, out = invoke(str(tmp_path / "missing"))
    assert code == 2 and "not a folder" in out
    (tmp_path / "pyproject.toml").write_text("[tool.trainwell.audit]\nbad = 1\n")
    code, out = invoke(str(tmp_path))
    assert code == 2 and "bad" in out
    assert invoke(str(tmp_path), "--format", "html")[0] == 2


def test_explain() -> None:
    code, out = invoke("--explain", "TWA201")
    assert code == 0 and "dependency-management/setup-py" in out and "Bad:" in out
    code, out = invoke("--explain", "TWA")
    assert code == 0 and out.count("TWA") >= len("0123456789")
    assert invoke("--explain", "TWA999")[0] == 2


def test_import_is_light() -> None:
    code = (
        "import sys, trainwell.audit.cli\n"
        "print([m for m in sys.modules if m.startswith(('trainwell.audit.', 'trainwell.lint', "
        "'pydantic')) and m != 'trainwell.audit.cli'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
