"""Speed of `trainwell lint` on a large tree: ruff and trainwell side by side, in one run.

Run: .venv/bin/python benchmarks/bench_lint.py [PATH] [--limit N] [--jobs N] [--edit-fraction F]
(default PATH: the installed torch package). The tree is copied to a temporary folder first
(the warm runs edit files). Rows, each with files/s and its time relative to ruff's:

- ruff cold (``--no-cache``) and ruff warm (its own cache, nothing changed), with the rules
  trainwell delegates to it;
- ``ast.parse`` alone on one core: the floor of any linter written on Python's ``ast``;
- trainwell's AST pass on 1 and on N processes;
- the whole ``trainwell lint`` cold (no cache: ruff and the AST pass concurrently), warm
  (nothing changed), and warm after editing a fraction of the files (the pre-commit / CI case).
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trainwell.lint.cache import LintCache
from trainwell.lint.engine import Linter, _analyze, _analyze_all, discover
from trainwell.lint.ruff import RUFF_CODES, RuffRun, find_ruff
from trainwell.lint.settings import LintSettings
from trainwell.utils.logging import configure_logging

TORCH_TREE = Path(sys.executable).parent.parent / "lib" / "python3.11" / "site-packages" / "torch"
EDIT_MARK = "\n# edited by bench_lint\n"


def timed(step: Callable[[], object]) -> float:
    """Seconds one call of ``step`` takes."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def parse_all(files: list[Path]) -> None:
    """Parse every file with the cyclic GC paused, as trainwell's pass does (files in syntax
    newer than this Python are skipped: torch ships a few)."""
    gc.disable()
    try:
        for path in files:
            try:
                ast.parse(path.read_bytes())
            except SyntaxError:
                continue
    finally:
        gc.enable()


def ruff_with_cache(ruff: Path, files: list[Path], codes: list[str], cache_dir: Path) -> None:
    """ruff with its own cache (the warm comparison for trainwell's cache)."""
    command = [
        str(ruff),
        *("check", "--isolated", "--exit-zero", "--cache-dir", str(cache_dir)),
        *("--output-format", "json", "--select", ",".join(codes), "--"),
        *map(str, files),
    ]
    subprocess.run(command, check=True, capture_output=True)


def report_row(name: str, files: int, seconds: float, ruff_seconds: float) -> None:
    """One line of the table: files/s and time relative to ruff."""
    rate = files / seconds if seconds else float("inf")
    print(f"{name:<52} {seconds:>7.2f} s {rate:>9.0f} files/s {seconds / ruff_seconds:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=TORCH_TREE)
    parser.add_argument("--limit", type=int, default=0, help="lint only the first N files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--edit-fraction", type=float, default=0.01, help="share of files edited before warm run"
    )
    args = parser.parse_args()
    configure_logging("console", "warning")
    ruff = find_ruff()
    if ruff is None:
        raise SystemExit("ruff not found")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree = work / "tree"
        shutil.copytree(args.path, tree, ignore=shutil.ignore_patterns("__pycache__"))
        settings = LintSettings(root=tree)
        files = discover([tree], settings)
        if args.limit:
            files = files[: args.limit]
        enabled = settings.enabled_codes()
        ruff_codes = sorted(code for code, tw in RUFF_CODES.items() if tw in enabled)
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        print(f"tree: {args.path} ({len(files)} files, {size_mb:.1f} MB), {args.jobs} jobs")

        ruff_s = timed(lambda: RuffRun(ruff, files, ruff_codes).results())
        ruff_with_cache(ruff, files, ruff_codes, work / "ruff-cache")
        ruff_warm_s = timed(lambda: ruff_with_cache(ruff, files, ruff_codes, work / "ruff-cache"))
        parse_s = timed(lambda: parse_all(files))
        serial_s = timed(lambda: all(_analyze((f, enabled)) is not None for f in files))
        jobs = [(f, enabled) for f in files]
        parallel_s = timed(lambda: all(r is not None for r in _analyze_all(jobs, args.jobs)))

        cold = Linter(settings, jobs=args.jobs)
        cold_s = timed(lambda: cold.lint(files))
        cache_dir = work / "trainwell-cache"
        first = Linter(settings, jobs=args.jobs, cache=LintCache(cache_dir))
        first_s = timed(lambda: first.lint(files))
        warm = Linter(settings, jobs=args.jobs, cache=LintCache(cache_dir))
        warm_s = timed(lambda: warm.lint(files))
        edited = files[:: max(1, round(1 / args.edit_fraction))] if args.edit_fraction else []
        for path in edited:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(EDIT_MARK)
        again = Linter(settings, jobs=args.jobs, cache=LintCache(cache_dir))
        again_s = timed(lambda: again.lint(files))

    n = len(files)
    print(f"{'step':<52} {'time':>9} {'rate':>17} {'vs ruff cold':>8}")
    report_row("ruff cold (delegated rules, --no-cache)", n, ruff_s, ruff_s)
    report_row("ruff warm (its cache, nothing changed)", n, ruff_warm_s, ruff_s)
    report_row("ast.parse only, 1 process (floor of an ast pass)", n, parse_s, ruff_s)
    report_row("trainwell AST pass, 1 process", n, serial_s, ruff_s)
    report_row(f"trainwell AST pass, {args.jobs} processes", n, parallel_s, ruff_s)
    report_row("trainwell lint cold (no cache)", n, cold_s, ruff_s)
    report_row("trainwell lint, filling the cache", n, first_s, ruff_s)
    report_row("trainwell lint warm (nothing changed)", n, warm_s, ruff_s)
    report_row(f"trainwell lint warm ({len(edited)} files edited)", n, again_s, ruff_s)
    print(f"warm trainwell lint / warm ruff: {warm_s / ruff_warm_s:.2f}x")


if __name__ == "__main__":
    main()
