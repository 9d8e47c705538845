"""Leakage and sanity checks on 1M tabular rows: how long each takes.

    .venv/bin/python benchmarks/bench_checks.py [--rows 1000000]

Builds a synthetic table (numeric and categorical features, a binary target), splits it with
trainwell's splitter and times every data check. Target (issue 5): seconds, not minutes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from trainwell.config.schema import ChecksConfig
from trainwell.data.splitting import split_frame
from trainwell.evaluation.checks.data_checks import DATA_CHECKS, DataCheckInput

N_NUMERIC = 20
N_CATEGORICAL = 5
CATEGORY_LEVELS = 12


def main() -> None:
    """Build, split, time."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(args.rows, N_NUMERIC)), columns=[f"x{i}" for i in range(N_NUMERIC)]
    )
    for i in range(N_CATEGORICAL):
        frame[f"c{i}"] = rng.integers(0, CATEGORY_LEVELS, size=args.rows).astype(str)
    frame["target"] = (frame["x0"] + rng.normal(size=args.rows) > 0).astype(int)
    splits = split_frame(frame, valid_size=0.15, test_size=0.15, seed=0, stratify_on="target")
    data = DataCheckInput(
        train=splits.train,
        valid=splits.valid,
        test=splits.test,
        target="target",
        task="tabular-classification",
        feature_columns=tuple(c for c in frame.columns if c != "target"),
        categorical_columns=tuple(f"c{i}" for i in range(N_CATEGORICAL)),
        group_column=None,
        time_column=None,
        thresholds=ChecksConfig(),
        seed=0,
    )
    total = 0.0
    print(f"{args.rows:,} rows x {frame.shape[1] - 1} features")
    for check in DATA_CHECKS:
        start = time.perf_counter()
        result = check(data)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"  {result.id:32s} {result.status:5s} {seconds:7.2f} s")
    print(f"  {'all data checks':32s} {'':5s} {total:7.2f} s")


if __name__ == "__main__":
    main()
