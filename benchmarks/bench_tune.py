"""A 20-trial `tune` study against the untuned default, on bundled datasets.

    .venv/bin/python benchmarks/bench_tune.py                       # diabetes + breast_cancer
    .venv/bin/python benchmarks/bench_tune.py wine:xgboost          # any dataset:architecture

For each dataset: `train` with the library's defaults, then a 20-trial study (default search
space, TPE seeded from the run, median pruning) whose best config is trained once and tested
once. Printed side by side: the primary metric on validation and on test for both, the gain on
test (positive = tuning helped, in the metric's own direction), trial counts and wall times.
Nothing is tracked; everything is written under a temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from trainwell.config.loader import resolve_config
from trainwell.config.tune import TuneConfig
from trainwell.evaluation.metrics import HIGHER_IS_BETTER
from trainwell.training.pipeline import run_training
from trainwell.tune.pipeline import run_tuning
from trainwell.utils.logging import configure_logging

N_TRIALS = 20
SEED = 42
DEFAULT_CASES = ("diabetes:lightgbm", "breast_cancer:lightgbm")


def bench(dataset: str, architecture: str, workdir: Path) -> dict[str, object]:
    """Untuned default vs a 20-trial study on one dataset."""
    raw = {
        "name": f"bench-{dataset}",
        "data": {"path": f"sklearn:{dataset}", "target": "target"},
        "task": {"kind": "tabular-regression" if dataset == "diabetes" else None},
        "model": {"architecture": architecture},
        "training": {"seed": SEED},
        "tracking": {"enabled": False},
        "output": {"dir": str(workdir / "models")},
    }
    config = resolve_config(raw, environ={})
    started = time.perf_counter()
    default = run_training(config)
    default_s = time.perf_counter() - started
    metric = default.primary_metric
    tune = TuneConfig(
        n_trials=N_TRIALS,
        study_name=f"bench-{dataset}-{architecture}",
        storage=workdir / "optuna.db",
        output_dir=workdir / "outputs",
    )
    started = time.perf_counter()
    tuned = run_tuning(config, tune)
    tune_s = time.perf_counter() - started
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    default_test = float(default.metrics["test"][metric])
    return {
        "case": f"{dataset}:{architecture}",
        "metric": metric,
        "default_valid": float(default.metrics["valid"][metric]),
        "tuned_valid": tuned.best_value,
        "default_test": default_test,
        "tuned_test": tuned.test_metrics[metric],
        "gain_test": sign * (tuned.test_metrics[metric] - default_test),
        "trials": "{complete}c/{pruned}p/{failed}f".format(**tuned.counts),
        "default_s": default_s,
        "tune_s": tune_s,
    }


def main() -> None:
    """Run each case and print the table."""
    configure_logging("console", "warning")
    cases = sys.argv[1:] or list(DEFAULT_CASES)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        for case in cases:
            dataset, _, architecture = case.partition(":")
            rows.append(bench(dataset, architecture or "lightgbm", Path(tmp)))
    header = (
        f"{'case':<26}{'metric':<19}{'valid dflt':>11}{'valid tuned':>12}{'test dflt':>11}"
        f"{'test tuned':>11}{'gain':>9}{'trials':>11}{'train s':>9}{'tune s':>8}"
    )
    print(f"{N_TRIALS}-trial study vs untuned default (gain: on test, + = better)")
    print(header)
    for r in rows:
        print(
            f"{r['case']:<26}{r['metric']:<19}{r['default_valid']:>11.4f}{r['tuned_valid']:>12.4f}"
            f"{r['default_test']:>11.4f}{r['tuned_test']:>11.4f}{r['gain_test']:>+9.4f}"
            f"{r['trials']:>11}{r['default_s']:>9.1f}{r['tune_s']:>8.1f}"
        )


if __name__ == "__main__":
    main()
