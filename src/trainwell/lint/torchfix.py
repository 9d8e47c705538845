"""The TorchFix pass-through rules (TW9xx): TorchFix run as a subprocess, its findings renamed.

TorchFix (``torchfix==0.7.0``, the ``torchfix`` extra) knows PyTorch's removed and deprecated
functions, its non-public aliases and TorchVision's deprecated APIs, which trainwell does not
re-implement (LINT_RULES.md §2, §3 point 2). Its rules are opt-in: they run only when selected
by name (``--select TW9``), because TorchFix parses with LibCST and is about a thousand times
slower than ruff (docs/lint.md has the numbers). TW108 (``torch.load``) never depends on it.

The code table is mechanical: ``TORabc`` -> ``TW9ac`` (TorchFix's group digit, then its last
digit), so ``TOR001`` is TW901, ``TOR106`` TW916, ``TOR203`` TW923. Not passed through:
TOR102 (``torch.load``; TW108 does it better), TOR002, TOR401 and TOR901.

TorchFix has no machine-readable output: it prints ``path:line:col: TORxxx [*] message`` lines
to stdout, mixed with unified diffs of what ``--fix`` would change, and exits 1 when a file
could not be parsed. Only lines naming one of the files it was given are kept. Each process
runs with ``--jobs 1`` (its own worker pool shares one stdout, where lines could tear) and
trainwell starts several, balanced by file size; they write to temporary files, so a full pipe
never stalls them while trainwell's own pass runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from trainwell.errors import TrainwellError
from trainwell.lint.astutil import RawFinding
from trainwell.lint.ruff import _chunks
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

# TorchFix code -> trainwell code (TORabc -> TW9ac)
TORCHFIX_CODES: dict[str, str] = {
    "TOR001": "TW901",
    "TOR003": "TW903",
    "TOR004": "TW904",
    "TOR101": "TW911",
    "TOR103": "TW913",
    "TOR104": "TW914",
    "TOR105": "TW915",
    "TOR106": "TW916",
    "TOR107": "TW917",
    "TOR201": "TW921",
    "TOR202": "TW922",
    "TOR203": "TW923",
}
TORCHFIX_RULE_CODES: frozenset[str] = frozenset(TORCHFIX_CODES.values())
TORCHFIX_ENV = "TRAINWELL_TORCHFIX"
TORCHFIX_REQUIREMENT = "torchfix==0.7.0"
TORCHFIX_SUFFIX = ".py"
MAX_LOGGED_STDERR = 2000
# TorchFix's summary line on stderr: it got through the run (exit 1 then only means that some
# files could not be parsed, which trainwell reports itself as TW001)
FINISHED_MARKER = b"Finished checking"
EXIT_SOME_FILES_FAILED = 1

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(
    r"^(?P<path>.+?):(?P<row>\d+):(?P<column>\d+): (?P<code>TOR\d{3})(?: \[\*\])? (?P<message>.*)$"
)


@dataclass(frozen=True)
class TorchFixDiagnostic:
    """One TorchFix finding: file (absolute), TorchFix code, 1-based row and column, message."""

    path: Path
    code: str
    row: int
    column: int
    message: str


def find_torchfix() -> Path | None:
    """The torchfix executable: ``$TRAINWELL_TORCHFIX``, next to this Python, or on PATH."""
    override = os.environ.get(TORCHFIX_ENV)
    if override:
        return Path(override)
    name = "torchfix.exe" if sys.platform == "win32" else "torchfix"
    sibling = Path(sys.executable).parent / name
    if sibling.is_file():
        return sibling
    found = shutil.which("torchfix")
    return Path(found) if found else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def partition(files: Sequence[Path], parts: int) -> list[list[Path]]:
    """Split ``files`` into at most ``parts`` groups of similar total size (largest first into
    the lightest group), each group sorted; empty groups are dropped."""
    groups: list[list[Path]] = [[] for _ in range(max(1, min(parts, len(files))))]
    loads = [0] * len(groups)
    for size, path in sorted(((_size(p), p) for p in files), key=lambda t: (-t[0], t[1])):
        lightest = loads.index(min(loads))
        groups[lightest].append(path)
        loads[lightest] += size
    return [sorted(group) for group in groups if group]


def parse_torchfix_output(
    raw: bytes, cwd: Path, files: Collection[Path]
) -> list[TorchFixDiagnostic]:
    """The findings in torchfix's stdout about ``files`` (absolute paths); relative paths in
    the output are relative to ``cwd``. Lines of its diffs, of unknown codes or about other
    files are dropped.
    """
    known = {Path(os.path.normpath(f)) for f in files}
    out: list[TorchFixDiagnostic] = []
    for line in _ANSI.sub("", raw.decode("utf-8", errors="replace")).splitlines():
        match = _LINE.match(line.rstrip("\r"))
        if match is None or match["code"] not in TORCHFIX_CODES:
            continue
        path = Path(os.path.normpath(cwd / match["path"]))
        if path not in known:
            continue
        out.append(
            TorchFixDiagnostic(
                path=path,
                code=match["code"],
                row=int(match["row"]),
                column=int(match["column"]),
                message=match["message"].strip(),
            )
        )
    return out


def _failure_line(stderr: str) -> str:
    """The last non-blank stderr line: an exception's message or argparse's ``error:``."""
    return next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")


class TorchFixRun:
    """torchfix started in the background, in ``jobs`` processes of one worker each."""

    def __init__(
        self,
        torchfix: Path,
        files: Sequence[Path],
        torchfix_codes: Iterable[str],
        jobs: int = 1,
        cwd: Path | None = None,
    ) -> None:
        self.torchfix = torchfix
        self.cwd = cwd or Path.cwd()
        self.files = frozenset(Path(os.path.normpath(f)) for f in files)
        self._jobs: list[tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]] = []
        self._outputs = ExitStack()  # the temporary files that take the output
        select = ",".join(sorted(torchfix_codes))
        for group in partition(files, jobs):
            for chunk in _chunks(group):
                command = [
                    str(torchfix),
                    *("--jobs", "1", "--select", select, "--"),
                    *map(str, chunk),
                ]
                # the ExitStack closes them in close(), after the process has ended
                stdout = self._outputs.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
                stderr = self._outputs.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
                try:
                    process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=self.cwd)
                except OSError as e:
                    self.close()
                    raise TrainwellError(f"cannot run torchfix ({torchfix}): {e}") from e
                self._jobs.append((process, stdout, stderr))

    def close(self) -> None:
        """Stop anything still running and drop the temporary files."""
        for process, _, _ in self._jobs:
            if process.poll() is None:
                process.kill()
            process.wait()
        self._jobs = []
        self._outputs.close()

    def results(self) -> list[TorchFixDiagnostic]:
        """Wait for torchfix and parse its findings.

        Raises:
            TrainwellError: torchfix failed (anything but "some files could not be parsed").
        """
        out: list[TorchFixDiagnostic] = []
        try:
            for process, stdout, stderr in self._jobs:
                returncode = process.wait()
                stderr.seek(0)
                errors = stderr.read()
                finished = FINISHED_MARKER in errors
                text = errors.decode("utf-8", errors="replace")
                if returncode != 0 and not (returncode == EXIT_SOME_FILES_FAILED and finished):
                    raise TrainwellError(
                        f"torchfix failed (exit {returncode}): {_failure_line(text)}"
                    )
                if returncode != 0:
                    logger.debug("torchfix_unparsed_files", text=text[:MAX_LOGGED_STDERR])
                stdout.seek(0)
                out.extend(parse_torchfix_output(stdout.read(), self.cwd, self.files))
        finally:
            self.close()
        return out


def start_torchfix(
    files: Sequence[Path], enabled: Collection[str], jobs: int = 1
) -> TorchFixRun | None:
    """Start torchfix on the ``.py`` files for the enabled TW9xx codes (None: nothing to do).

    Raises:
        TrainwellError: a TW9xx rule is on but torchfix is not installed or cannot start.
    """
    codes = sorted(tor for tor, tw in TORCHFIX_CODES.items() if tw in enabled)
    sources = [f for f in files if f.suffix == TORCHFIX_SUFFIX]
    if not codes or not sources:
        return None
    torchfix = find_torchfix()
    if torchfix is None or not torchfix.is_file():
        needed = ", ".join(sorted(TORCHFIX_CODES[c] for c in codes))
        where = f" at ${TORCHFIX_ENV}={torchfix}" if torchfix is not None else ""
        raise TrainwellError(
            f"torchfix not found{where} (needed for {needed}); install it (pip install "
            f"{TORCHFIX_REQUIREMENT}, trainwell's torchfix extra), set {TORCHFIX_ENV}, or drop "
            "the TW9 rules from --select"
        )
    logger.debug("torchfix_start", files=len(sources), codes=codes, jobs=jobs)
    return TorchFixRun(torchfix, sources, codes, jobs=jobs)


def torchfix_findings(diagnostics: Iterable[TorchFixDiagnostic]) -> list[RawFinding]:
    """TorchFix's findings under their trainwell codes (the TorchFix code kept in the message)."""
    return [
        RawFinding(TORCHFIX_CODES[d.code], d.row, d.column, f"{d.message} ({d.code})")
        for d in diagnostics
    ]
