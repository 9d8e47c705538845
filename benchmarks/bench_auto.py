"""`auto` against every tabular library's own defaults, on every bundled dataset.

    .venv/bin/python benchmarks/bench_auto.py [--seeds 5]

For each dataset, every library architecture (scikit-learn's three, XGBoost, LightGBM,
CatBoost) trains with its library defaults on the same seeded splits, repeated over several
seeds because the bundled test splits are small (iris: 23 rows, one mistake = 4 points). The
table shows the mean primary test metric (balanced accuracy for classification, RMSE for
regression), its spread and wall time side by side. `auto` is "clearly worse" than an
alternative when the mean paired difference exceeds both CLEARLY_WORSE and two standard errors.
"""

from __future__ import annotations

import argparse
import statistics
import time

from trainwell.config.loader import resolve_config
from trainwell.errors import TrainwellError
from trainwell.models.registry import ARCHITECTURES, architectures_for, is_available
from trainwell.training.pipeline import run_training
from trainwell.utils.logging import configure_logging

DATASETS = ("breast_cancer", "iris", "wine", "digits", "diabetes")
# A model is "clearly worse" when its primary metric is worse by more than this (absolute
# balanced accuracy, or relative RMSE).
CLEARLY_WORSE = 0.03
STANDARD_ERRORS = 2.0


def run(dataset: str, architecture: str, seed: int) -> tuple[str, float, float]:
    """Train once; return (chosen architecture, primary metric, seconds)."""
    config = resolve_config(
        {
            "name": f"bench-{dataset}",
            "data": {"path": f"sklearn:{dataset}", "target": "target"},
            "model": {"architecture": architecture},
            "training": {"seed": seed},
            "tracking": {"enabled": False},
            "checks": {"enabled": False},
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


def clearly_better(metric: str, theirs: list[float], ours: list[float]) -> bool:
    """True when ``theirs`` beats ``ours`` by more than the margin and two standard errors."""
    sign = -1.0 if metric == "rmse" else 1.0
    diffs = [sign * (t - o) for t, o in zip(theirs, ours, strict=True)]
    mean = statistics.fmean(diffs)
    scale = statistics.fmean(ours) if metric == "rmse" else 1.0
    spread = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
    return mean > CLEARLY_WORSE * scale and mean > STANDARD_ERRORS * spread


def main() -> None:
    """Run the grid and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    configure_logging("console", "error")
    seeds = list(range(args.seeds))
    failures: list[str] = []
    for dataset in DATASETS:
        task = "tabular-regression" if dataset == "diabetes" else "tabular-classification"
        metric = "rmse" if task == "tabular-regression" else "balanced_accuracy"
        names = [
            n for n in architectures_for(task) if is_available(n) and not ARCHITECTURES[n].loop
        ]
        scores: dict[str, list[float]] = {}
        times: dict[str, float] = {}
        for name in [*names, "auto"]:
            try:
                runs = [run(dataset, name, seed) for seed in seeds]
            except TrainwellError as exc:
                print(f"  {dataset} {name}: failed: {exc}")
                continue
            key = name if name != "auto" else f"auto ({runs[0][0]})"
            scores[key] = [r[1] for r in runs]
            times[key] = statistics.fmean(r[2] for r in runs)
        auto_key = next(k for k in scores if k.startswith("auto"))
        print(f"\n{dataset} ({task}, {metric}, mean ± sd over {len(seeds)} seeds)")
        print(f"  {'architecture':24s} {metric:>18s} {'sd':>7s} {'seconds':>8s}")
        for name, values in scores.items():
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"  {name:24s} {statistics.fmean(values):18.4f} {sd:7.4f} {times[name]:8.2f}")
        beaten = [
            n for n in names if n in scores and clearly_better(metric, scores[n], scores[auto_key])
        ]
        if beaten:
            failures.append(f"{dataset}: {auto_key} clearly worse than {', '.join(beaten)}")
    print("\nverdict:", "auto never clearly worse" if not failures else "; ".join(failures))


if __name__ == "__main__":
    main()
