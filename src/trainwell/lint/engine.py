"""`trainwell lint`: find the files, run ruff and trainwell's own pass side by side, merge.

ruff starts first, in the background; trainwell's AST pass runs meanwhile (in worker processes
for large trees). ruff's findings are then renamed to trainwell's codes, de-duplicated (TW110 once
per def), filtered (TW103 without a CLI's own output), silenced by ``# noqa`` and per-file
ignores, and sorted.
"""

from __future__ import annotations

import bisect
import gc
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from trainwell.errors import TrainwellError
from trainwell.lint.analyzer import (
    CUSTOM_CODES,
    NOTEBOOK_CODES,
    FileResult,
    FunctionSpan,
    analyze_file,
)
from trainwell.lint.astutil import RawFinding
from trainwell.lint.cache import CachedFinding, LintCache, code_fingerprint, file_key
from trainwell.lint.findings import Finding
from trainwell.lint.noqa import is_silenced
from trainwell.lint.ruff import RUFF_CODES, RuffDiagnostic, RuffRun, find_ruff
from trainwell.lint.rules import ALL_RULES, PARSE_ERROR
from trainwell.lint.settings import LintSettings
from trainwell.lint.torchfix import (
    TORCHFIX_RULE_CODES,
    TorchFixDiagnostic,
    TorchFixRun,
    find_torchfix,
    start_torchfix,
    torchfix_findings,
)
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

PYTHON_SUFFIXES = (".py",)
NOTEBOOK_SUFFIX = ".ipynb"
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "__pycache__",
        "node_modules",
        "build",
        "dist",
        ".eggs",
        "site-packages",
        ".ipynb_checkpoints",
        "_build",
        "buck-out",
        "__pypackages__",
        ".direnv",
        ".idea",
        ".vscode",
    }
)
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py")
GENERATED_MARKERS = (b"DO NOT EDIT", b"@generated")
GENERATED_HEAD_LINES = 5
GENERATED_HEAD_BYTES = 1024
PARALLEL_MIN_FILES = 48
MAX_JOBS = 8
CHUNK_FILES = 16
ANN_RETURN_CODES = frozenset({"ANN201", "ANN202", "ANN204", "ANN205", "ANN206"})
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class LintReport:
    """The findings of one run and how many files were looked at."""

    findings: tuple[Finding, ...]
    files: int


def absolute(path: Path | str) -> Path:
    """An absolute, normalised path that keeps symlinks (as ruff reports them)."""
    return Path(os.path.normpath(Path(path).absolute()))


def discover(paths: Sequence[Path], settings: LintSettings) -> list[Path]:
    """The Python files (and notebooks) under ``paths``, sorted, as absolute paths.

    Raises:
        TrainwellError: a path does not exist.
    """
    found: set[Path] = set()
    for given in paths:
        path = absolute(given)
        if not path.exists():
            raise TrainwellError(f"path not found: {given}")
        if path.is_file():
            found.add(path)
            continue
        for folder, dirs, files in os.walk(path):
            base = Path(folder)
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in SKIPPED_DIRS
                and not d.startswith(".")
                and not settings.is_excluded(base / d)
            )
            for name in files:
                is_notebook = name.endswith(NOTEBOOK_SUFFIX)
                if name.endswith(PYTHON_SUFFIXES) or (settings.notebooks and is_notebook):
                    file = base / name
                    if settings.is_excluded(file):
                        continue
                    if settings.exclude_generated and not is_notebook and is_generated(file):
                        continue
                    found.add(file)
    return sorted(found)


def is_generated(path: Path) -> bool:
    """Generated code, which nobody should edit by hand (so nobody should lint it): protobuf and
    gRPC modules by name, or a "DO NOT EDIT" / "@generated" marker in the first lines."""
    if path.name.endswith(GENERATED_SUFFIXES):
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(GENERATED_HEAD_BYTES)
    except OSError:
        return False  # the pass reports the unreadable file
    first_lines = b"\n".join(head.splitlines()[:GENERATED_HEAD_LINES])
    return any(marker in first_lines for marker in GENERATED_MARKERS)


def _analyze(job: tuple[Path, frozenset[str]]) -> FileResult:
    """Analyse one file with the cyclic GC paused: an AST holds no cycles, and collecting while
    millions of nodes are allocated costs about a tenth of the pass."""
    path, enabled = job
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return analyze_file(path, enabled)
    finally:
        if was_enabled:
            gc.enable()


def _analyze_all(jobs: list[tuple[Path, frozenset[str]]], workers: int) -> Iterator[FileResult]:
    if workers > 1 and len(jobs) >= PARALLEL_MIN_FILES:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(_analyze, jobs, chunksize=CHUNK_FILES)
    else:
        yield from map(_analyze, jobs)


def display_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it, POSIX-style."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _innermost(functions: list[FunctionSpan], starts: list[int], row: int) -> FunctionSpan | None:
    """The innermost def whose lines hold ``row``: of those starting at or before it, the
    latest-starting one that still covers it (``functions`` sorted by start, ``starts`` theirs)."""
    for i in range(bisect.bisect_right(starts, row) - 1, -1, -1):
        span = functions[i]
        if span.last >= row:
            return span
    return None


def _map_annotations(result: FileResult, diagnostics: list[RuffDiagnostic]) -> list[RawFinding]:
    """ANN* findings -> one TW110 per def, at the ``def`` line, naming what is missing."""
    missing: dict[FunctionSpan, list[str]] = {}
    functions = sorted(result.functions, key=lambda span: span.first)
    starts = [span.first for span in functions]
    for diag in diagnostics:
        span = _innermost(functions, starts, diag.row)
        if span is None:
            continue
        names = _BACKTICKED.findall(diag.message)
        if diag.code in ANN_RETURN_CODES:
            what = "return type"
        elif names:
            what = f"`{names[0]}`"
        else:
            what = "a parameter"
        missing.setdefault(span, [])
        if what not in missing[span]:
            missing[span].append(what)
    return [
        RawFinding(
            "TW110", span.line, span.column, f"`{span.name}` lacks type hints: {', '.join(items)}"
        )
        for span, items in missing.items()
    ]


def _ruff_findings(result: FileResult, diagnostics: list[RuffDiagnostic]) -> list[RawFinding]:
    notebook = result.notebook
    ann: list[RuffDiagnostic] = []
    out: list[RawFinding] = []
    for original in diagnostics:
        diag = original
        row = diag.row
        if notebook is not None and diag.cell is not None:
            row = notebook.from_cell(diag.cell, diag.row)
            diag = RuffDiagnostic(diag.path, diag.code, row, diag.column, None, diag.message)
        code = RUFF_CODES[diag.code]
        if code == "TW110":
            ann.append(diag)
        elif (code == "TW103" and (row, diag.column) in result.cli_prints) or (
            code == "TW308" and (row, diag.column) in result.non_pandas_values
        ):
            continue  # a CLI's output print; `.values` of a tensor or dict
        else:
            out.append(RawFinding(code, row, diag.column, diag.message))
    if ann:
        out.extend(_map_annotations(result, ann))
    return out


class Linter:
    """One configured lint run (with an optional result cache, see :mod:`trainwell.lint.cache`)."""

    def __init__(
        self, settings: LintSettings, jobs: int | None = None, cache: LintCache | None = None
    ) -> None:
        self.settings = settings
        self.jobs = jobs if jobs is not None else min(os.cpu_count() or 1, MAX_JOBS)
        self.cache = cache
        self._enabled_cache: dict[tuple[str, ...], frozenset[str]] = {}

    def enabled_for(self, path: Path) -> frozenset[str]:
        """The codes on for one file (per-file ignores applied)."""
        ignores = self.settings.file_ignores(path)
        if ignores not in self._enabled_cache:
            self._enabled_cache[ignores] = self.settings.enabled_codes(ignores)
        return self._enabled_cache[ignores]

    def lint(self, paths: Sequence[Path], base: Path | None = None) -> LintReport:
        """Lint files and folders; paths in the report are relative to ``base`` (the cwd).

        With a cache, files whose key (content, path, rules, tool versions) is stored are not
        linted again, by trainwell's pass nor by the delegated tools.

        Raises:
            TrainwellError: a path is missing, or ruff (or torchfix, for TW9xx) is needed but
                cannot run.
        """
        base = absolute(base or Path.cwd())
        files = discover(paths, self.settings)
        enabled_any = self.settings.enabled_codes()
        ruff_codes = sorted(r for r, tw in RUFF_CODES.items() if tw in enabled_any)
        ruff = find_ruff() if ruff_codes else None
        uses_torchfix = bool(TORCHFIX_RULE_CODES & enabled_any)
        keys: dict[Path, str] = {}
        stored: dict[Path, list[CachedFinding]] = {}
        todo = files
        if self.cache is not None:
            fingerprint = code_fingerprint([ruff, find_torchfix() if uses_torchfix else None])
            todo, keys, stored = self._look_up(self.cache, files, fingerprint, ruff_codes)
        results, diagnostics, torchfix_diagnostics = self._run(todo, enabled_any, ruff, ruff_codes)
        by_file: dict[str, list[RuffDiagnostic]] = {}
        for diag in diagnostics:
            by_file.setdefault(str(diag.path), []).append(diag)
        ruff_by_file = {absolute(name): diags for name, diags in by_file.items()}
        torchfix_by_file: dict[Path, list[TorchFixDiagnostic]] = {}
        for tf_diag in torchfix_diagnostics:
            torchfix_by_file.setdefault(absolute(tf_diag.path), []).append(tf_diag)
        findings: list[Finding] = []
        for path, result in results.items():
            raw = list(result.findings)
            if result.parsed:
                raw.extend(_ruff_findings(result, ruff_by_file.get(path, [])))
                raw.extend(torchfix_findings(torchfix_by_file.get(path, [])))
            finished = self._finish(result, raw, display_path(path, base))
            findings.extend(finished)
            if self.cache is not None and path in keys:
                self.cache.put(path, keys[path], [_to_cached(f) for f in finished])
        for path, cached in stored.items():
            shown = display_path(path, base)
            findings.extend(_from_cached(item, shown) for item in cached)
        if self.cache is not None:
            self.cache.save()
        findings.sort(key=lambda f: (f.path, f.cell or 0, f.line, f.column, f.code))
        logger.debug(
            "lint_done",
            files=len(files),
            linted=len(todo),
            cached=len(stored),
            findings=len(findings),
        )
        return LintReport(findings=tuple(findings), files=len(files))

    def _look_up(
        self, cache: LintCache, files: list[Path], fingerprint: str, ruff_codes: list[str]
    ) -> tuple[list[Path], dict[Path, str], dict[Path, list[CachedFinding]]]:
        """Split files into those to lint (with their keys) and those the cache answers."""
        todo: list[Path] = []
        keys: dict[Path, str] = {}
        stored: dict[Path, list[CachedFinding]] = {}
        options: dict[frozenset[str], tuple[str, ...]] = {}
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                todo.append(path)  # reported by the pass as unreadable; never cached
                continue
            enabled = self.enabled_for(path)
            if enabled not in options:
                options[enabled] = (*sorted(enabled), "|", *ruff_codes)
            key = file_key(fingerprint, path, data, options[enabled])
            hit = cache.get(path, key)
            if hit is None:
                todo.append(path)
                keys[path] = key
            else:
                stored[path] = hit
        return todo, keys, stored

    def _run(
        self,
        files: list[Path],
        enabled_any: frozenset[str],
        ruff: Path | None,
        ruff_codes: list[str],
    ) -> tuple[dict[Path, FileResult], list[RuffDiagnostic], list[TorchFixDiagnostic]]:
        """trainwell's pass and the delegated tools on ``files``, concurrently."""
        if not files:
            return {}, [], []
        ruff_files = [
            f
            for f in files
            if f.suffix != NOTEBOOK_SUFFIX or RUFF_CODES_FOR_NOTEBOOKS & set(ruff_codes)
        ]
        run: RuffRun | None = None
        if ruff_codes and ruff_files:
            if ruff is None:
                delegated = ", ".join(sorted({RUFF_CODES[c] for c in ruff_codes}))
                raise TrainwellError(
                    f"ruff not found (needed for {delegated}); install it, set TRAINWELL_RUFF, "
                    "or pass --ignore for those rules"
                )
            run = RuffRun(ruff, ruff_files, ruff_codes)
        torchfix_run: TorchFixRun | None = None
        try:
            torchfix_run = start_torchfix(files, enabled_any, self.jobs)
            jobs = [(f, self.enabled_for(f)) for f in files]
            results = {r.path: r for r in _analyze_all(jobs, self.jobs)}
            diagnostics = run.results() if run is not None else []
            torchfix_diagnostics = torchfix_run.results() if torchfix_run is not None else []
        finally:
            if run is not None:
                run.close()
            if torchfix_run is not None:
                torchfix_run.close()
        return results, diagnostics, torchfix_diagnostics

    def _finish(self, result: FileResult, raw: Iterable[RawFinding], shown: str) -> list[Finding]:
        enabled = self.enabled_for(result.path)
        if result.notebook is not None:
            enabled = enabled & (NOTEBOOK_CODES | {PARSE_ERROR.code})
        seen: set[tuple[int, str]] = set()
        out: list[Finding] = []
        for item in sorted(raw, key=lambda r: (r.line, r.column, r.code)):
            if item.code not in enabled or (item.line, item.code) in seen:
                continue
            if is_silenced(item.code, item.line, result.noqa):
                continue
            seen.add((item.line, item.code))
            cell: int | None = None
            line = item.line
            if result.notebook is not None:
                cell, line = result.notebook.to_cell(item.line)
            rule = ALL_RULES[item.code]
            out.append(
                Finding(
                    path=shown,
                    line=line,
                    column=item.column,
                    code=item.code,
                    message=item.message or rule.summary,
                    hint=rule.hint,
                    cell=cell,
                )
            )
        return out


RUFF_CODES_FOR_NOTEBOOKS: frozenset[str] = frozenset(
    ruff for ruff, tw in RUFF_CODES.items() if tw in NOTEBOOK_CODES
)
ALL_CODES: frozenset[str] = CUSTOM_CODES | frozenset(RUFF_CODES.values()) | TORCHFIX_RULE_CODES


def _to_cached(finding: Finding) -> CachedFinding:
    return CachedFinding(finding.code, finding.line, finding.column, finding.message, finding.cell)


def _from_cached(item: CachedFinding, shown: str) -> Finding:
    rule = ALL_RULES.get(item.code)
    return Finding(
        path=shown,
        line=item.line,
        column=item.column,
        code=item.code,
        message=item.message,
        hint=rule.hint if rule is not None else "",
        cell=item.cell,
    )


def lint_paths(
    paths: Sequence[Path], settings: LintSettings | None = None, jobs: int | None = None
) -> LintReport:
    """Lint files and folders with ``settings`` (defaults: every rule).

    Raises:
        TrainwellError: a path is missing, or ruff is needed but cannot run.
    """
    return Linter(settings or LintSettings(), jobs=jobs).lint(paths)
