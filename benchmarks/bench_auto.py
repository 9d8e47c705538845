"""`auto` against every tabular library's own defaults (and FLAML), on real tables.

    .venv/bin/python benchmarks/bench_auto.py [--suite real] [--flaml-seconds 60] [--only NAME]
    .venv/bin/python benchmarks/bench_auto.py --suite bundled [--seeds 5]

Set-up for the real suite (not part of `make install`): ``pip install -c constraints.txt
-e '.[bench]'`` (FLAML) and ``pip install --no-deps ISLP==0.6.0 palmerpenguins==0.1.6`` (their
CSVs; ISLP's own dependencies would replace pinned packages).

``--suite real`` (the default): the tables of ``real_tables.SUITE`` (scikit-learn, ISLP,
palmerpenguins, mlxtend), each with one fixed, seeded 80/20 split written to CSV. Every system
runs in a fresh process on the same train rows and is scored on the same test rows:
`trainwell train` with `model.architecture=auto` (given the split's files, checks off: this
measures the model, not the gate), each library with its defaults and its native categorical
handling (scikit-learn's linear model with one-hot encoding, random forest on ordinal codes,
HistGradientBoosting/LightGBM/XGBoost on pandas categoricals, CatBoost with ``cat_features``)
and FLAML's AutoML with a time budget when FLAML is installed (the ``bench`` extra). Scores:
balanced accuracy (classification) and RMSE (regression), trainwell's primary metrics; the
scaled score puts the dummy predictor (majority class / training mean) at 0 and the best
system on that table at 1, and the table's mean scaled score per system is the summary line.

``--suite bundled``: for each bundled dataset, every library architecture (scikit-learn's
three, XGBoost, LightGBM, CatBoost) trains with its library defaults on the same seeded splits,
repeated over several seeds because the bundled test splits are small (iris: 23 rows, one
mistake = 4 points). The table shows the mean primary test metric (balanced accuracy for
classification, RMSE for regression), its spread and wall time side by side. `auto` is "clearly
worse" than an alternative when the mean paired difference exceeds both CLEARLY_WORSE and two
standard errors.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


LIBRARY_SYSTEMS = (
    "sklearn-linear",
    "sklearn-rf",
    "sklearn-hgb",
    "xgboost",
    "lightgbm",
    "catboost",
)
TRAINWELL = str(Path(sys.executable).with_name("trainwell"))
SYSTEM_TIMEOUT_S = 1800


def _frames(workdir: Path, target: str) -> tuple[Any, Any, Any, Any, list[str]]:
    import pandas as pd

    train = pd.read_csv(workdir / "train.csv")
    test = pd.read_csv(workdir / "test.csv")
    X_train, X_test = train.drop(columns=[target]), test.drop(columns=[target])
    categorical = [c for c in X_train.columns if not pd.api.types.is_numeric_dtype(X_train[c])]
    for column in categorical:
        levels = sorted(X_train[column].dropna().astype(str).unique())
        dtype = pd.CategoricalDtype(levels)
        X_train[column] = X_train[column].astype(str).where(X_train[column].notna()).astype(dtype)
        X_test[column] = X_test[column].astype(str).where(X_test[column].notna()).astype(dtype)
    return X_train, train[target], X_test, test[target], categorical


def library_predictions(system: str, workdir: Path, target: str, task: str) -> list[Any]:
    """Fit one library with its defaults on train.csv; predictions for test.csv."""
    import numpy as np

    classify = task == "tabular-classification"
    X_train, y_train, X_test, _, categorical = _frames(workdir, target)
    numeric = [c for c in X_train.columns if c not in categorical]
    labels = sorted(y_train.astype(str).unique()) if classify else []
    y = np.asarray([labels.index(v) for v in y_train.astype(str)]) if classify else y_train
    model: Any
    if system in {"sklearn-linear", "sklearn-rf"}:
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

        if system == "sklearn-linear":
            encoder: Any = OneHotEncoder(handle_unknown="ignore")
            numeric_steps: Any = make_pipeline(SimpleImputer(), StandardScaler())
            estimator: Any = LogisticRegression(max_iter=5000) if classify else Ridge()
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
            numeric_steps = "passthrough"
            estimator = RandomForestClassifier() if classify else RandomForestRegressor()
        cat_steps = make_pipeline(SimpleImputer(strategy="most_frequent"), encoder)
        model = make_pipeline(
            ColumnTransformer([("num", numeric_steps, numeric), ("cat", cat_steps, categorical)]),
            estimator,
        )
        X_fit, X_eval = (
            X_train.astype({c: object for c in categorical}),
            X_test.astype({c: object for c in categorical}),
        )
    elif system == "sklearn-hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        model = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
            categorical_features="from_dtype"
        )
        X_fit, X_eval = X_train, X_test
    elif system == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor

        model = (XGBClassifier if classify else XGBRegressor)(
            enable_categorical=True, tree_method="hist"
        )
        X_fit, X_eval = X_train, X_test
    elif system == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        model = (LGBMClassifier if classify else LGBMRegressor)(verbose=-1)
        X_fit, X_eval = X_train, X_test
    elif system == "catboost":
        from catboost import CatBoostClassifier, CatBoostRegressor

        model = (CatBoostClassifier if classify else CatBoostRegressor)(
            cat_features=categorical, verbose=0, allow_writing_files=False
        )
        # CatBoost takes categories as strings; a missing one is its own level
        X_fit = X_train.astype({c: object for c in categorical}).fillna(
            {c: "nan" for c in categorical}
        )
        X_eval = X_test.astype({c: object for c in categorical}).fillna(
            {c: "nan" for c in categorical}
        )
    else:
        raise ValueError(f"unknown system {system!r}")
    model.fit(X_fit, y)
    predicted = np.asarray(model.predict(X_eval)).reshape(-1)
    if classify:
        return [labels[int(i)] for i in predicted]
    return [float(v) for v in predicted]


def flaml_predictions(workdir: Path, target: str, task: str, seconds: float) -> list[Any]:
    """FLAML's AutoML with a time budget (its default metric for the task)."""
    import numpy as np
    from flaml import AutoML

    X_train, y_train, X_test, _, _ = _frames(workdir, target)
    classify = task == "tabular-classification"
    automl = AutoML()
    automl.fit(
        X_train,
        y_train.astype(str) if classify else y_train,
        task="classification" if classify else "regression",
        time_budget=seconds,
        seed=0,
        verbose=0,
    )
    predicted = np.asarray(automl.predict(X_test)).reshape(-1)
    return [str(v) for v in predicted] if classify else [float(v) for v in predicted]


def trainwell_predictions(workdir: Path, target: str, task: str) -> list[Any]:
    """`trainwell train` (auto) on train.csv with test.csv as its test split, then `predict`."""
    import pandas as pd

    out = workdir / "trainwell-models"
    subprocess.run(
        [
            TRAINWELL,
            "train",
            f"data.train_path={workdir / 'train.csv'}",
            f"data.test_path={workdir / 'test.csv'}",
            f"data.target={target}",
            f"task.kind={task}",
            "model.architecture=auto",
            "checks.enabled=false",
            "tracking.enabled=false",
            f"output.dir={out}",
        ],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    bundle = sorted(out.iterdir())[-1]
    inputs = workdir / "test_inputs.csv"
    pd.read_csv(workdir / "test.csv").drop(columns=[target]).to_csv(inputs, index=False)
    predictions = workdir / "trainwell-predictions.csv"
    subprocess.run(
        [TRAINWELL, "predict", str(bundle), "--input", str(inputs), "--output", str(predictions)],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    architecture = json.loads((bundle / "manifest.json").read_text())["architecture"]
    values = pd.read_csv(predictions)["prediction"]
    print(f"TRAINWELL_CHOSE={architecture}", file=sys.stderr)
    if task == "tabular-classification":
        return [str(v) for v in values]
    return [float(v) for v in values]


def one_system(system: str, workdir: Path, target: str, task: str, flaml_seconds: float) -> None:
    """Child process: fit one system, print its test predictions as JSON on the last line."""
    configure_logging("console", "error")
    if system == "trainwell-auto":
        predictions = trainwell_predictions(workdir, target, task)
    elif system == "flaml":
        predictions = flaml_predictions(workdir, target, task, flaml_seconds)
    else:
        predictions = library_predictions(system, workdir, target, task)
    print(json.dumps(predictions))


def score(task: str, truth: list[Any], predicted: list[Any]) -> float:
    """Balanced accuracy (classification) or RMSE (regression)."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    if task == "tabular-classification":
        return float(balanced_accuracy_score([str(t) for t in truth], predicted))
    error = np.asarray(truth, dtype=float) - np.asarray(predicted, dtype=float)
    return float(np.sqrt(np.mean(error**2)))


def dummy_score(task: str, train_target: Any, truth: list[Any]) -> float:
    """The majority class / the training mean, scored like every system."""
    if task == "tabular-classification":
        majority = str(train_target.astype(str).mode().iloc[0])
        return score(task, truth, [majority] * len(truth))
    return score(task, truth, [float(train_target.mean())] * len(truth))


def scaled(task: str, value: float, dummy: float, best: float) -> float:
    """0 = the dummy, 1 = the best system on this table (RMSE: lower is better)."""
    if best == dummy:
        return 1.0
    return (value - dummy) / (best - dummy)


def real_suite(flaml_seconds: float, only: list[str], skip_flaml: bool) -> None:
    """Run every system on every table of the real suite and print the tables."""
    import importlib.util

    from real_tables import SUITE, split

    systems = ["trainwell-auto", *LIBRARY_SYSTEMS]
    if not skip_flaml and importlib.util.find_spec("flaml") is not None:
        systems.append("flaml")
    elif not skip_flaml:
        print("flaml is not installed (pip install -c constraints.txt -e '.[bench]'): skipped")
    results: dict[str, dict[str, float]] = {}
    for table in SUITE:
        if only and table.name not in only:
            continue
        try:
            frame = table.load()
        except FileNotFoundError as exc:
            print(f"{table.name}: skipped ({exc})")
            continue
        train, test = split(table, frame)
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-auto-{table.name}-"))
        train.to_csv(workdir / "train.csv", index=False)
        test.to_csv(workdir / "test.csv", index=False)
        truth = test[table.target].tolist()
        metric = "balanced_accuracy" if table.task == "tabular-classification" else "rmse"
        print(
            f"\n{table.name} ({table.source}; {len(train)} train / {len(test)} test rows, "
            f"{frame.shape[1] - 1} features; {metric})"
        )
        values: dict[str, float] = {}
        seconds: dict[str, float] = {}
        chosen = ""
        for system in systems:
            start = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    system,
                    str(workdir),
                    table.target,
                    table.task,
                    "--flaml-seconds",
                    str(flaml_seconds),
                ],
                capture_output=True,
                text=True,
                timeout=SYSTEM_TIMEOUT_S,
                check=False,
            )
            seconds[system] = time.perf_counter() - start
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["?"])[-1]
                print(f"  {system:16s} failed: {tail}")
                continue
            if system == "trainwell-auto":
                chosen = next(
                    (
                        line.split("=", 1)[1]
                        for line in done.stderr.splitlines()
                        if line.startswith("TRAINWELL_CHOSE=")
                    ),
                    "",
                )
            values[system] = score(table.task, truth, json.loads(done.stdout.splitlines()[-1]))
        dummy = dummy_score(table.task, train[table.target], truth)
        lower_better = metric == "rmse"
        best = min(values.values()) if lower_better else max(values.values())
        results[table.name] = {}
        print(f"  {'system':28s} {metric:>18s} {'scaled':>7s} {'seconds':>8s}")
        print(f"  {'dummy':28s} {dummy:18.4f} {0.0:7.3f}")
        for system, value in values.items():
            results[table.name][system] = scaled(table.task, value, dummy, best)
            label = f"{system} ({chosen})" if system == "trainwell-auto" and chosen else system
            print(
                f"  {label:28s} {value:18.4f} {results[table.name][system]:7.3f} "
                f"{seconds[system]:8.1f}"
            )
    print(f"\nmean scaled score over {len(results)} tables (dummy = 0, best = 1)")
    for system in systems:
        mine = [r[system] for r in results.values() if system in r]
        if not mine:
            continue
        wins = sum(1 for r in results.values() if r.get(system) == 1.0)
        missing = len(results) - len(mine)
        note = f" ({missing} failed)" if missing else ""
        print(f"  {system:16s} {statistics.fmean(mine):.3f}   best on {wins}{note}")


def main() -> None:
    """Run the suite and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--suite", choices=("real", "bundled"), default="real")
    parser.add_argument("--seeds", type=int, default=5, help="bundled suite: seeds per run")
    parser.add_argument("--flaml-seconds", type=float, default=60.0)
    parser.add_argument("--skip-flaml", action="store_true")
    parser.add_argument("--only", nargs="*", default=[], help="real suite: table names")
    parser.add_argument("--one", nargs=4, metavar=("SYSTEM", "DIR", "TARGET", "TASK"))
    args = parser.parse_args()
    if args.one:
        system, workdir, target, task = args.one
        one_system(system, Path(workdir), target, task, args.flaml_seconds)
        return
    if args.suite == "real":
        real_suite(args.flaml_seconds, args.only, args.skip_flaml)
        return
    bundled_suite(args.seeds)


def bundled_suite(n_seeds: int) -> None:
    """Every library architecture vs `auto` on the bundled datasets over seeds."""
    configure_logging("console", "error")
    seeds = list(range(n_seeds))
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
