"""The delegated rules: ruff, run as a subprocess, its findings renamed to trainwell's codes.

ruff already does these well (LINT_RULES.md §3), so trainwell runs it instead of re-implementing
them: one ``ruff check --isolated --output-format json`` with only the codes below, so the
user's own ruff configuration neither adds nor removes anything. ``NPY002`` is never enabled: it
flags ``np.random.seed``, the very call the checklist asks for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trainwell.errors import TrainwellError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

# ruff code -> trainwell code
RUFF_CODES: dict[str, str] = {
    "F403": "TW101",
    "T201": "TW103",
    "T203": "TW103",
    "PLW0603": "TW105",
    "ANN001": "TW110",
    "ANN002": "TW110",
    "ANN003": "TW110",
    "ANN201": "TW110",
    "ANN202": "TW110",
    "ANN204": "TW110",
    "ANN205": "TW110",
    "ANN206": "TW110",
    "PLW0177": "TW302",
    "PD002": "TW307",
    "PD011": "TW308",
}
DELEGATED_CODES: frozenset[str] = frozenset(RUFF_CODES.values())
# keep each ruff command line well below the OS limit on argument length
MAX_ARGUMENT_CHARS = 200_000
RUFF_ENV = "TRAINWELL_RUFF"
MAX_LOGGED_STDERR = 2000


@dataclass(frozen=True)
class RuffDiagnostic:
    """One ruff finding: file, ruff code, 1-based row and column, notebook cell, message."""

    path: Path
    code: str
    row: int
    column: int
    cell: int | None
    message: str


def find_ruff() -> Path | None:
    """The ruff executable: ``$TRAINWELL_RUFF``, next to this Python, or on PATH."""
    override = os.environ.get(RUFF_ENV)
    if override:
        return Path(override)
    name = "ruff.exe" if sys.platform == "win32" else "ruff"
    sibling = Path(sys.executable).parent / name
    if sibling.is_file():
        return sibling
    found = shutil.which("ruff")
    return Path(found) if found else None


def _chunks(files: Sequence[Path]) -> list[list[Path]]:
    chunks: list[list[Path]] = [[]]
    size = 0
    for path in files:
        length = len(str(path)) + 1
        if chunks[-1] and size + length > MAX_ARGUMENT_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(path)
        size += length
    return [chunk for chunk in chunks if chunk]


class RuffRun:
    """ruff started in the background (so it works while trainwell's own pass runs).

    ruff writes its JSON report only once it has linted every file, so reading the pipe later
    costs nothing but the copy.
    """

    def __init__(self, ruff: Path, files: Sequence[Path], ruff_codes: Sequence[str]) -> None:
        self.ruff = ruff
        self._jobs: list[subprocess.Popen[bytes]] = []
        select = ",".join(sorted(ruff_codes))
        for chunk in _chunks(files):
            command = [
                str(ruff),
                *("check", "--isolated", "--no-cache", "--exit-zero"),
                *("--output-format", "json", "--select", select, "--"),
                *map(str, chunk),
            ]
            try:
                process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as e:
                self.close()
                raise TrainwellError(f"cannot run ruff ({ruff}): {e}") from e
            self._jobs.append(process)

    def close(self) -> None:
        """Stop anything still running."""
        for process in self._jobs:
            if process.poll() is None:
                process.kill()
            process.communicate()
        self._jobs = []

    def results(self) -> list[RuffDiagnostic]:
        """Wait for ruff and parse its findings.

        Raises:
            TrainwellError: ruff failed or wrote something that is not its JSON report.
        """
        out_list: list[RuffDiagnostic] = []
        try:
            for process in self._jobs:
                stdout, stderr_bytes = process.communicate()
                stderr = stderr_bytes.decode("utf-8", errors="replace")
                if process.returncode != 0:
                    first = next((line for line in stderr.splitlines() if line.strip()), "")
                    raise TrainwellError(f"ruff failed (exit {process.returncode}): {first}")
                if stderr.strip():
                    logger.debug("ruff_stderr", text=stderr[:MAX_LOGGED_STDERR])
                out_list.extend(parse_ruff_json(stdout))
        finally:
            self.close()
        return out_list


def parse_ruff_json(raw: bytes) -> list[RuffDiagnostic]:
    """Parse ``ruff check --output-format json`` (findings of unknown codes are dropped).

    Raises:
        TrainwellError: the text is not ruff's JSON report.
    """
    try:
        items = json.loads(raw or b"[]")
    except json.JSONDecodeError as e:
        raise TrainwellError(f"ruff wrote something that is not JSON: {e}") from e
    if not isinstance(items, list):
        raise TrainwellError("ruff's JSON report is not a list")
    out: list[RuffDiagnostic] = []
    paths: dict[str, Path] = {}  # one Path per file, not per finding
    for item in items:
        code = item.get("code")
        if code not in RUFF_CODES:
            continue
        location = item.get("location") or {}
        filename = item["filename"]
        path = paths.get(filename)
        if path is None:
            path = paths[filename] = Path(filename)
        out.append(
            RuffDiagnostic(
                path=path,
                code=code,
                row=int(location.get("row", 1)),
                column=int(location.get("column", 1)),
                cell=item.get("cell"),
                message=str(item.get("message", "")),
            )
        )
    return out
