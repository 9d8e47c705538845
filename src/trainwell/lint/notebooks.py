"""Code cells of a Jupyter notebook as one Python source, with a map back to cells.

Cells are numbered as ruff numbers them: 1-based over all cells, markdown included. IPython
magics (``%matplotlib``, ``!pip``, ``x?``) become ``pass`` so line numbers stay put; a cell magic
other than timing/capture (``%%bash``) blanks its cell.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from trainwell.errors import TrainwellError

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit"})
LINE_MAGIC_PREFIXES = ("%", "!")


@dataclass(frozen=True)
class NotebookSource:
    """The concatenated code and, per code cell, (cell number, first line in the source)."""

    source: str
    cells: tuple[tuple[int, int], ...]

    def to_cell(self, line: int) -> tuple[int, int]:
        """Source line -> (cell number, line inside the cell)."""
        starts = [start for _, start in self.cells]
        position = bisect_right(starts, line) - 1
        if position < 0:
            return (self.cells[0][0] if self.cells else 1), line
        cell, start = self.cells[position]
        return cell, line - start + 1

    def from_cell(self, cell: int, line: int) -> int:
        """(cell number, line inside the cell) -> source line."""
        for number, start in self.cells:
            if number == cell:
                return start + line - 1
        return line


def _clean_line(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith(LINE_MAGIC_PREFIXES) or (
        stripped.rstrip().endswith("?") and not stripped.startswith("#")
    ):
        indent = line[: len(line) - len(stripped)]
        return f"{indent}pass"
    return line


def _cell_lines(source: str) -> list[str]:
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        magic = lines[0][len("%%") :].split()
        if magic and magic[0] in PYTHON_CELL_MAGICS:
            return ["", *(_clean_line(line) for line in lines[1:])]
        return ["" for _ in lines]
    return [_clean_line(line) for line in lines]


def read_notebook(path: Path) -> NotebookSource:
    """The code cells of ``path`` as one source.

    Raises:
        TrainwellError: the file is not a readable notebook.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrainwellError(f"{path}: not a readable notebook ({e})") from e
    raw_cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(raw_cells, list):
        raise TrainwellError(f"{path}: not a notebook (no cells)")
    lines: list[str] = []
    cells: list[tuple[int, int]] = []
    for number, cell in enumerate(raw_cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        cells.append((number, len(lines) + 1))
        lines.extend(_cell_lines(text) or [""])
    return NotebookSource(source="\n".join(lines) + "\n", cells=tuple(cells))
