"""Notebook cells as one source, and the map back to cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainwell.errors import TrainwellError
from trainwell.lint.notebooks import read_notebook


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    notebook = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
            | ({"outputs": [], "execution_count": None} if kind == "code" else {})
            for kind, source in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))
    return path


def test_cells_are_concatenated_and_mapped_back(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "nb.ipynb",
        [
            ("markdown", "# Title"),
            ("code", "%matplotlib inline\nimport torch\n!pip list\nx?"),
            ("code", "state = torch.load(p)"),
            ("code", "%%bash\nls -la"),
            ("code", "%%time\ny = 1"),
        ],
    )
    notebook = read_notebook(path)
    lines = notebook.source.splitlines()
    assert lines[:4] == ["pass", "import torch", "pass", "pass"]
    assert lines[4] == "state = torch.load(p)"
    assert lines[5:7] == ["", ""]
    assert lines[8] == "y = 1"
    assert notebook.to_cell(5) == (3, 1)
    assert notebook.from_cell(3, 1) == 5
    assert notebook.to_cell(2) == (2, 2)
    compile(notebook.source, "nb", "exec")


def test_not_a_notebook(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(TrainwellError, match="not a readable notebook"):
        read_notebook(bad)
    empty = tmp_path / "empty.ipynb"
    empty.write_text("[]")
    with pytest.raises(TrainwellError, match="no cells"):
        read_notebook(empty)
