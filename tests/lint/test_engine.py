"""End to end: discovery, ruff merged under trainwell's codes, noqa, per-file ignores."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from trainwell.errors import TrainwellError
from trainwell.lint.engine import Linter, discover, lint_paths
from trainwell.lint.findings import Finding
from trainwell.lint.settings import LintSettings

Lint = Callable[..., list[Finding]]


def codes_at(findings: list[Finding]) -> set[tuple[str, int, str]]:
    return {(Path(f.path).name, f.line, f.code) for f in findings}


def test_ruff_findings_are_renamed_and_merged(lint_files: Lint) -> None:
    findings = lint_files(
        {
            "lib.py": """
            from os import *
            import numpy as np
            import pandas as pd

            def f(a, b: int, *args):
                print(a)
                return a == np.nan

            def g(x: int) -> int:
                return x

            def frame(df: pd.DataFrame) -> None:
                df.dropna(inplace=True)
            """
        }
    )
    assert codes_at(findings) == {
        ("lib.py", 2, "TW101"),
        ("lib.py", 6, "TW110"),
        ("lib.py", 7, "TW103"),
        ("lib.py", 8, "TW302"),
        ("lib.py", 14, "TW307"),
    }
    tw110 = next(f for f in findings if f.code == "TW110")
    assert tw110.column == 1
    assert "return type" in tw110.message and "`a`" in tw110.message and "`*args`" in tw110.message
    assert all(f.hint for f in findings)


def test_cli_output_is_not_print_debugging(lint_files: Lint) -> None:
    findings = lint_files(
        {
            "cli.py": """
            import typer
            app = typer.Typer()

            @app.command()
            def hello(name: str) -> None:
                print(f"hello {name}")

            def debug(x: int) -> None:
                print(x)

            if __name__ == "__main__":
                print("starting")
                app()
            """
        }
    )
    assert codes_at(findings) == {("cli.py", 10, "TW103"), ("cli.py", 13, "TW103")}


def test_values_of_torch_results_are_not_pandas_values(lint_files: Lint) -> None:
    findings = lint_files(
        {
            "scores.py": """
            import numpy as np
            import pandas as pd
            import torch

            def top(logits: torch.Tensor, frame: pd.DataFrame) -> list[object]:
                best = logits.topk(5, dim=-1)
                peak = logits.max(dim=1)
                stats = {"a": 1}
                series = frame.mean()
                return [
                    best.values,
                    torch.max(logits, 1).values,
                    peak.values,
                    stats.values,
                    series.values,
                    np.log1p(frame["x"]).values,
                ]
            """
        },
        select=["TW308"],
    )
    assert codes_at(findings) == {("scores.py", 16, "TW308"), ("scores.py", 17, "TW308")}


def test_noqa_and_per_file_ignores(lint_files: Lint) -> None:
    files = {
        "src/a.py": (
            "import torch\nx = torch.load(p)  # noqa: TW108\n"
            "y = torch.load(p)\nprint(1)  # noqa: T201\n"
        ),
        "tests/test_a.py": "import torch\nx = torch.load(p)\nprint(2)\n",
    }
    findings = lint_files(files, **{"per-file-ignores": {"tests/**": ["TW1"]}})
    assert codes_at(findings) == {("a.py", 3, "TW108")}


def test_select_and_ignore(lint_files: Lint) -> None:
    source = {"m.py": "import torch\nx = torch.load(p)\nprint(1)\ny = 42\n"}
    assert {f.code for f in lint_files(source, select=["TW108"])} == {"TW108"}
    assert {f.code for f in lint_files(source, ignore=["TW1"])} == set()


def test_syntax_errors_do_not_stop_the_run(lint_files: Lint) -> None:
    findings = lint_files({"bad.py": "def f(:\n", "good.py": "import torch\nx = torch.load(p)\n"})
    assert codes_at(findings) == {("bad.py", 1, "TW001"), ("good.py", 2, "TW108")}


def test_notebook_findings_carry_their_cell(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# EDA"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import torch\n", "from os import *\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["print(1)\n", "state = torch.load(p)\n"]},
    ]  # fmt: skip
    nb = tmp_path / "eda.ipynb"
    nb.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    report = Linter(LintSettings(root=tmp_path), jobs=1).lint([tmp_path], base=tmp_path)
    assert {(f.code, f.cell, f.line) for f in report.findings} == {
        ("TW101", 2, 2),
        ("TW108", 3, 2),
    }


def test_discovery_skips_virtualenvs_and_excludes(tmp_path: Path) -> None:
    for name in ["a.py", "pkg/b.py", ".venv/lib/c.py", "build/d.py", "legacy/e.py", "nb.ipynb"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    settings = LintSettings(root=tmp_path, exclude=("legacy/**",))
    found = {p.relative_to(tmp_path).as_posix() for p in discover([tmp_path], settings)}
    assert found == {"a.py", "pkg/b.py", "nb.ipynb"}
    no_nb = LintSettings(root=tmp_path, notebooks=False)
    assert "nb.ipynb" not in {p.name for p in discover([tmp_path], no_nb)}
    with pytest.raises(TrainwellError, match="path not found"):
        discover([tmp_path / "nope"], settings)


def test_parallel_run_matches_serial(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"m{i}.py").write_text(f"import torch\nx = torch.load(p{i})\ny = {i + 3}\n")
    settings = LintSettings(root=tmp_path, select=("TW106", "TW108"))
    serial = Linter(settings, jobs=1).lint([tmp_path], base=tmp_path).findings
    parallel = Linter(settings, jobs=2).lint([tmp_path], base=tmp_path).findings
    assert serial == parallel
    assert len(serial) == len(["TW106", "TW108"]) * 50


def test_missing_ruff_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.setattr("trainwell.lint.engine.find_ruff", lambda: None)
    with pytest.raises(TrainwellError, match=r"ruff not found.*TW101"):
        lint_paths([tmp_path], LintSettings(root=tmp_path))
    report = lint_paths([tmp_path], LintSettings(root=tmp_path, select=("TW2",)))
    assert report.findings == ()


def test_discovery_skips_generated_code_unless_named(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text("THRESHOLD = 3\n")
    (tmp_path / "service_pb2.py").write_text("x = 17\n")
    (tmp_path / "service_pb2_grpc.py").write_text("x = 17\n")
    (tmp_path / "schema.py").write_text("# Code generated by tool. DO NOT EDIT.\nx = 17\n")
    (tmp_path / "late.py").write_text('"""Docs."""\n\n\n\n\n\n# DO NOT EDIT this table\nx = 17\n')
    settings = LintSettings(root=tmp_path)
    assert [f.name for f in discover([tmp_path], settings)] == ["late.py", "model.py"]
    keep_all = LintSettings.model_validate({"root": tmp_path, "exclude-generated": False})
    assert len(discover([tmp_path], keep_all)) == len(["model", "pb2", "grpc", "schema", "late"])
    named = discover([tmp_path / "service_pb2.py"], settings)
    assert [f.name for f in named] == ["service_pb2.py"]
    report = lint_paths([tmp_path / "service_pb2.py"], settings)
    assert [f.code for f in report.findings] == ["TW106"]
