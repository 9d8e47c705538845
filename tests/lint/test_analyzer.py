"""trainwell's own pass over one file."""

from __future__ import annotations

from pathlib import Path

from trainwell.lint.analyzer import CHECKS, CUSTOM_CODES, analyze_file, analyze_source


def test_every_check_declares_codes_from_the_catalog() -> None:
    from trainwell.lint.rules import RULES

    for codes, check in CHECKS:
        assert codes <= set(RULES), check.__name__
    assert "TW110" not in CUSTOM_CODES and "TW101" not in CUSTOM_CODES


def test_only_enabled_codes_are_reported() -> None:
    source = "import torch\nx = torch.load(p)\ny = 42\n"
    all_codes = analyze_source(source, Path("m.py"), CUSTOM_CODES)
    assert {f.code for f in all_codes.findings} == {"TW108", "TW106"}
    only = analyze_source(source, Path("m.py"), frozenset({"TW108"}))
    assert [f.code for f in only.findings] == ["TW108"]


def test_syntax_errors_are_one_finding() -> None:
    result = analyze_source("def broken(:\n    pass\n", Path("m.py"), frozenset({"TW001", "TW106"}))
    assert not result.parsed
    assert [(f.code, f.line) for f in result.findings] == [("TW001", 1)]


def test_facts_for_ruff_mapping() -> None:
    source = (
        "import typer\napp = typer.Typer()\n\n@app.command()\ndef show():\n    print('hi')\n\n"
        "def helper():\n    print('debug')\n"
    )
    result = analyze_source(source, Path("cli.py"), frozenset({"TW103"}))
    assert [(f.name, f.line) for f in result.functions] == [("show", 5), ("helper", 8)]
    assert result.cli_prints == {(6, 5)}


def test_notebooks_run_their_rule_subset(tmp_path: Path) -> None:
    import json

    nb = tmp_path / "nb.ipynb"
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": ["import torch\n", "x = torch.load(p)\n", "print(42)\n"]}]  # fmt: skip
    nb.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = analyze_file(nb, CUSTOM_CODES)
    assert {f.code for f in result.findings} == {"TW108"}
    assert result.notebook is not None


def test_unreadable_file(tmp_path: Path) -> None:
    result = analyze_file(tmp_path / "gone.py", CUSTOM_CODES)
    assert not result.parsed
    assert result.findings[0].code == "TW001"
