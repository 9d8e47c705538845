"""Speed of `trainwell lint` on a large tree: ruff's delegated rules and trainwell's own AST
pass side by side, in one run.

Run: .venv/bin/python benchmarks/bench_lint.py [PATH] [--limit N] [--jobs N]
(default PATH: the installed torch package). Prints files/s for: ast.parse alone (the floor
of any Python AST pass), ruff with the delegated rule set, trainwell's AST pass on one core and
on N worker processes, and the whole `trainwell lint` (ruff and the AST pass run concurrently).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from trainwell.lint.engine import Linter, _analyze, _analyze_all, discover
from trainwell.lint.ruff import RUFF_CODES, RuffRun, find_ruff
from trainwell.lint.settings import LintSettings
from trainwell.utils.logging import configure_logging

TORCH_TREE = Path(sys.executable).parent.parent / "lib" / "python3.11" / "site-packages" / "torch"


def timed(step: Callable[[], object]) -> float:
    """Seconds one call of ``step`` takes."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def parse_or_none(path: Path) -> ast.Module | None:
    """Parse one file (None for a syntax error: torch ships a few files in newer syntax)."""
    try:
        return ast.parse(path.read_bytes())
    except SyntaxError:
        return None


def report_row(name: str, files: int, seconds: float, ruff_seconds: float) -> None:
    """One line of the table: files/s and time relative to ruff."""
    rate = files / seconds if seconds else float("inf")
    print(
        f"{name:<44} {seconds:>8.2f} s {rate:>10.0f} files/s {seconds / ruff_seconds:>7.2f}x ruff"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=TORCH_TREE)
    parser.add_argument("--limit", type=int, default=0, help="lint only the first N files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    configure_logging("console", "warning")

    settings = LintSettings(root=args.path)
    files = discover([args.path], settings)
    if args.limit:
        files = files[: args.limit]
    enabled = settings.enabled_codes()
    ruff = find_ruff()
    if ruff is None:
        raise SystemExit("ruff not found")
    ruff_codes = sorted(code for code, tw in RUFF_CODES.items() if tw in enabled)
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"tree: {args.path} ({len(files)} files, {size_mb:.1f} MB), {args.jobs} jobs")

    ruff_s = timed(lambda: RuffRun(ruff, files, ruff_codes).results())
    parse_s = timed(lambda: all(parse_or_none(f) is not False for f in files))
    serial_s = timed(lambda: all(_analyze((f, enabled)) is not None for f in files))
    jobs = [(f, enabled) for f in files]
    parallel_s = timed(lambda: all(r is not None for r in _analyze_all(jobs, args.jobs)))
    linter = Linter(settings, jobs=args.jobs)
    whole_s = timed(lambda: linter.lint(files))

    print(f"{'step':<44} {'time':>10} {'rate':>16} {'vs ruff':>12}")
    report_row("ruff (delegated rules, multithreaded)", len(files), ruff_s, ruff_s)
    report_row("ast.parse only (floor of a Python pass)", len(files), parse_s, ruff_s)
    report_row("trainwell AST pass, 1 process", len(files), serial_s, ruff_s)
    report_row(f"trainwell AST pass, {args.jobs} processes", len(files), parallel_s, ruff_s)
    report_row("trainwell lint (both, concurrently)", len(files), whole_s, ruff_s)


if __name__ == "__main__":
    main()
