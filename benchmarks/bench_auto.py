"""`auto` against every tabular library's own defaults, on every bundled dataset.

    .venv/bin/python benchmarks/bench_auto.py

For each dataset: each architecture trains with its library defaults on the same seeded split;
the table shows the primary test metric (balanced accuracy for classification, RMSE for
regression) and wall time side by side, then whether `auto` picked a clearly worse model than
an alternative it passed over ("clearly": worse by more than CLEARLY_WORSE of the metric).
"""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from trainwell.config.loader import resolve_config
from trainwell.errors import TrainwellError
from trainwell.models.registry import architectures_for, is_available
from trainwell.training.pipeline import run_training

DATASETS = ("breast_cancer", "iris", "wine", "digits", "diabetes")
# A model is "clearly worse" when its primary metric is worse by more than this (absolute
# balanced accuracy, or relative RMSE).
CLEARLY_WORSE = 0.03


def run(dataset: str, architecture: str) -> tuple[str, float, float]:
    """Train once; return (chosen architecture, primary metric, seconds)."""
    config = resolve_config(
        {
            "name": f"bench-{dataset}",
            "data": {"path": f"sklearn:{dataset}", "target": "target"},
            "model": {"architecture": architecture},
            "tracking": {"enabled": False},
            "output": {"dir": "bench-models"},
        }
    )
    start = time.perf_counter()
    result = run_training(config)
    seconds = time.perf_counter() - start
    return (
        result.decision.architecture,
        float(result.metrics["test"][result.primary_metric]),
        (seconds),
    )


def better(task_metric: str, a: float, b: float) -> bool:
    """True when ``a`` is clearly better than ``b``."""
    if task_metric == "rmse":
        return a < b * (1.0 - CLEARLY_WORSE)
    return a > b + CLEARLY_WORSE


def main() -> None:
    """Run the grid and print the table."""
    failures: list[str] = []
    for dataset in DATASETS:
        task = "tabular-regression" if dataset == "diabetes" else "tabular-classification"
        metric = "rmse" if task == "tabular-regression" else "balanced_accuracy"
        results: dict[str, tuple[float, float]] = {}
        for name in architectures_for(task):
            if not is_available(name):
                continue
            try:
                _, score, seconds = run(dataset, name)
            except TrainwellError as exc:
                print(f"  {dataset} {name}: failed: {exc}")
                continue
            results[name] = (score, seconds)
        chosen, auto_score, auto_seconds = run(dataset, "auto")
        print(f"\n{dataset} ({task}, metric {metric}); auto chose {chosen}")
        print(f"  {'architecture':16s} {metric:>18s} {'seconds':>8s}")
        for name, (score, seconds) in sorted(results.items(), key=lambda kv: kv[0]):
            mark = "  <- auto" if name == chosen else ""
            print(f"  {name:16s} {score:18.4f} {seconds:8.2f}{mark}")
        beaten: list[Any] = [n for n, (s, _) in results.items() if better(metric, s, auto_score)]
        if beaten:
            failures.append(
                f"{dataset}: auto ({chosen}, {auto_score:.4f}) clearly worse than "
                f"{', '.join(beaten)}"
            )
        print(f"  auto: {auto_score:.4f} in {auto_seconds:.2f}s")
    print("\nverdict:", "auto never clearly worse" if not failures else "; ".join(failures))


if __name__ == "__main__":
    main()
