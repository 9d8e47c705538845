"""`trainwell lint` as a user runs it: exit codes, formats, --explain, --select/--ignore."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trainwell.lint.cli import lint_command

app = typer.Typer()
app.command("lint")(lint_command)
app.command("other")(lambda: None)  # a second command, so "lint" is a subcommand as in trainwell
runner = CliRunner()

SMELLY = "import torch\n\ndef load(p: str) -> object:\n    return torch.load(p)\n"
CLEAN = "import torch\n\ndef load(p: str) -> object:\n    return torch.load(p, weights_only=True)\n"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["lint", *args])
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "smelly.py").write_text(SMELLY)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_findings_exit_1_with_text_report(project: Path) -> None:
    code, out = invoke(str(project / "smelly.py"))
    assert code == 1
    assert "smelly.py:4:12: TW108 `torch.load` without `weights_only=True`" in out
    assert "hint: pass weights_only=True" in out


def test_clean_exit_0(project: Path) -> None:
    code, out = invoke(str(project / "clean.py"))
    assert code == 0, out
    assert "All clear" in out


def test_json_and_sarif(project: Path) -> None:
    code, out = invoke(str(project), "--format", "json")
    assert code == 1
    findings = json.loads(out)["findings"]
    assert [(Path(f["path"]).name, f["code"]) for f in findings] == [("smelly.py", "TW108")]
    code, out = invoke(str(project), "-f", "sarif")
    assert code == 1
    assert json.loads(out)["runs"][0]["results"][0]["ruleId"] == "TW108"


def test_select_ignore_and_output_file(project: Path, tmp_path: Path) -> None:
    assert invoke(str(project), "--ignore", "TW108")[0] == 0
    assert invoke(str(project), "--select", "TW2")[0] == 0
    assert invoke(str(project), "--select", "TW1", "--ignore", "TW10")[0] == 0
    report = tmp_path / "report.json"
    code, out = invoke(str(project), "--format", "json", "--output", str(report))
    assert code == 1 and out == ""
    assert json.loads(report.read_text())["findings"][0]["code"] == "TW108"


def test_pyproject_config_is_read(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.trainwell.lint]\nignore = ["TW108"]\n')
    assert invoke(str(project))[0] == 0


def test_could_not_run_is_exit_2_with_one_line(project: Path) -> None:
    code, out = invoke(str(project / "missing"))
    assert code == 2 and "path not found" in out
    code, out = invoke(str(project), "--select", "TW999")
    assert code == 2 and "unknown rule code" in out
    code, out = invoke(str(project), "--format", "xml")
    assert code == 2 and "--format" in out
    (project / "pyproject.toml").write_text("[tool.trainwell.lint]\nbogus = 1\n")
    code, out = invoke(str(project))
    assert code == 2 and "bogus" in out


def test_explain(project: Path) -> None:
    code, out = invoke("--explain", "tw108")
    assert code == 0
    assert "TW108 unsafe-torch-load" in out and "Bad:" in out and "Good:" in out
    code, out = invoke("--explain", "TW2")
    assert code == 0 and "TW201" in out and "TW211" in out
    assert invoke("--explain", "TW999")[0] == 2


def test_import_is_light() -> None:
    code = textwrap.dedent(
        """
        import sys
        import trainwell.lint.cli
        heavy = [m for m in sys.modules if m.startswith(("trainwell.lint.", "pydantic", "torch"))]
        print([m for m in heavy if m != "trainwell.lint.cli"])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_text_with_brackets_is_shown_verbatim(project: Path) -> None:
    code, out = invoke(str(project), "--config", str(project / "conf[dev].toml"))
    assert code == 2
    assert "config file not found" in out
    assert "conf[dev].toml" in out
