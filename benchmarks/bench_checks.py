"""Leakage and sanity checks on 1M tabular rows, and on wide tables: how long each takes.

    .venv/bin/python benchmarks/bench_checks.py [--rows 1000000]
    .venv/bin/python benchmarks/bench_checks.py --wide 100x5000 --wide 1000x20000
    .venv/bin/python benchmarks/bench_checks.py --checks-module /tmp/old_data_checks.py

The long table: numeric and categorical features (20 + 5) and a binary target, split with
trainwell's splitter (70/15/15), every data check timed. Targets (issue 15): all data checks
on 1M rows in 3 s or less (9.1 s before). ``--wide ROWSxCOLUMNS`` times numeric-only tables
with a continuous target, the shape that punishes per-column loops: 100 x 5,000 and
1,000 x 20,000 must take seconds, not minutes. ``--regression`` gives the long table a
continuous target too (the exact-combination check runs only then). Wall time and CPU time are
both printed: on a shared machine the CPU time is the one that compares across runs.
``--checks-module`` times another version of data_checks.py (a before/after comparison).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from trainwell.config.schema import ChecksConfig
from trainwell.data.splitting import split_frame
from trainwell.evaluation.checks import data_checks

N_NUMERIC = 20
N_CATEGORICAL = 5
CATEGORY_LEVELS = 12


def _load_module(path: str | None) -> ModuleType:
    if path is None:
        return data_checks
    spec = importlib.util.spec_from_file_location("data_checks_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def long_table(rows: int, regression: bool) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The 1M-row table: 20 normal features, 5 categorical ones, the target."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(rows, N_NUMERIC)), columns=[f"x{i}" for i in range(N_NUMERIC)]
    )
    for i in range(N_CATEGORICAL):
        frame[f"c{i}"] = rng.integers(0, CATEGORY_LEVELS, size=rows).astype(str)
    signal = frame["x0"] + rng.normal(size=rows)
    frame["target"] = signal if regression else (signal > 0).astype(int)
    return frame, tuple(f"c{i}" for i in range(N_CATEGORICAL))


def wide_table(rows: int, columns: int) -> pd.DataFrame:
    """Numeric features only (float32 measurements, as omics or sensor tables hold them)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, columns)).astype(np.float32)
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(columns)])
    frame["target"] = values[:, 0] + rng.normal(size=rows)
    return frame


def time_checks(
    module: ModuleType, frame: pd.DataFrame, categorical: tuple[str, ...], labels: bool
) -> dict[str, Any]:
    """Split as `trainwell check` does and time each data check (wall and CPU seconds)."""
    splits = split_frame(
        frame, valid_size=0.15, test_size=0.15, seed=0, stratify_on="target" if labels else None
    )
    data = module.DataCheckInput(
        train=splits.train,
        valid=splits.valid,
        test=splits.test,
        target="target",
        labels=labels,
        feature_columns=tuple(c for c in frame.columns if c != "target"),
        categorical_columns=categorical,
        group_column=None,
        time_column=None,
        thresholds=ChecksConfig(),
        seed=0,
    )
    rows: dict[str, Any] = {}
    total = cpu_total = 0.0
    print(f"{len(frame):,} rows x {frame.shape[1] - 1:,} features")
    print(f"  {'check':32s} {'':5s} {'wall':>7s}   {'cpu':>7s}")
    for check in module.DATA_CHECKS:
        start, cpu = time.perf_counter(), time.process_time()
        result = check(data)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        total += seconds
        cpu_total += cpu_seconds
        rows[result.id] = {"status": result.status, "wall_s": seconds, "cpu_s": cpu_seconds}
        print(f"  {result.id:32s} {result.status:5s} {seconds:7.2f} s {cpu_seconds:7.2f} s")
    print(f"  {'all data checks':32s} {'':5s} {total:7.2f} s {cpu_total:7.2f} s")
    return {"checks": rows, "wall_s": total, "cpu_s": cpu_total}


def main() -> None:
    """Build, split, time."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--regression", action="store_true", help="a continuous target")
    parser.add_argument(
        "--wide", action="append", default=[], help="ROWSxCOLUMNS numeric-only table(s)"
    )
    parser.add_argument(
        "--checks-module", default=None, help="time another data_checks.py (a before/after)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    module = _load_module(args.checks_module)
    report: dict[str, Any] = {}
    if args.wide:
        for shape in args.wide:
            rows, columns = (int(x) for x in shape.lower().split("x"))
            report[shape] = time_checks(module, wide_table(rows, columns), (), labels=False)
    else:
        frame, categorical = long_table(args.rows, args.regression)
        report[str(args.rows)] = time_checks(module, frame, categorical, labels=not args.regression)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
