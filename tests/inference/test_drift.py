"""Drift: the training reference a bundle keeps, the serving window, PSI / KS / JS on real data.

The numbers are checked against hand computations and scipy; the verdicts on scikit-learn's
breast_cancer, diabetes and digits tables: a held-out sample of the same table does not alert, a
shifted one (a feature scaled by 1.5, categories reweighted, a category training never saw) does.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LinearRegression

from trainwell.config.loader import resolve_config
from trainwell.config.schema import ExperimentConfig
from trainwell.data import image, table
from trainwell.data.modality import Features, PreparedData
from trainwell.data.preprocessing import build_schema
from trainwell.data.schema import InputSchema
from trainwell.data.splitting import Splits
from trainwell.data.table import drift_columns
from trainwell.errors import BundleError, SchemaError
from trainwell.evaluation.objectives import PREDICTION_COLUMN, SCORE_COLUMN
from trainwell.inference.bundle import REFERENCE_FILE, verify_bundle
from trainwell.inference.drift import (
    NUMERIC_BINS,
    PSI_EPSILON,
    REFERENCE_QUANTILES,
    CategoricalReference,
    DriftMonitor,
    DriftReference,
    DriftReport,
    DriftThresholds,
    NumericReference,
    build_reference,
    categorical_reference,
    column_reference,
    js_distance,
    ks_statistic,
    load_reference,
    noise_bounds,
    numeric_reference,
    psi,
)
from trainwell.inference.predictor import Predictor
from trainwell.training import pipeline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"
TRAIN_SHARE = 0.6
SEED = 0
# the quantile reference CDF is exact at its knots; between two it is off by at most one level
KS_TOLERANCE = 1 / (REFERENCE_QUANTILES - 1)


def split_table(frame: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = frame.sample(frac=1.0, random_state=seed)
    cut = int(len(shuffled) * TRAIN_SHARE)
    return shuffled.iloc[:cut], shuffled.iloc[cut:]


def monitor_for(
    train: pd.DataFrame, target: str, **thresholds: int | float
) -> tuple[DriftMonitor, InputSchema]:
    schema = build_schema(train, target)
    reference = build_reference(schema, drift_columns(train, schema))
    return DriftMonitor(reference, DriftThresholds(**thresholds)), schema  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_table(load_breast_cancer(as_frame=True).frame)


def diabetes_with_categories() -> pd.DataFrame:
    """diabetes with its two-valued ``sex`` as labels, age as a decade label, and a visit date."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = np.where(frame["sex"] == 1, "female", "male")
    frame["decade"] = (frame["age"] // 10 * 10).astype(int).astype(str) + "s"
    frame["visit"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["bp"] * 3, unit="D")
    return frame.drop(columns=["age"])


# --- the reference -------------------------------------------------------------------------


def test_numeric_reference_has_ten_equal_bins_and_the_quantiles(cancer: tuple) -> None:
    train, _ = cancer
    values = train["worst area"].to_numpy(dtype=float)  # 336 distinct values in 341 rows
    reference = numeric_reference("worst area", values)
    assert len(reference.edges) == NUMERIC_BINS - 1
    # a continuous column: each decile bin holds a tenth of the 341 rows (34.1: 35 or 34)
    counts = np.round(np.array(reference.shares) * len(values))
    assert counts.tolist() == [35] + [34] * 9
    assert sum(reference.shares) + reference.missing_share == pytest.approx(1.0)
    assert len(reference.quantiles) == REFERENCE_QUANTILES
    assert reference.quantiles[0] == values.min()
    assert reference.quantiles[-1] == values.max()
    assert reference.quantiles[25] == pytest.approx(np.median(values))


def test_numeric_reference_counts_missing_and_merges_tied_bins() -> None:
    values = np.array([0.0] * 60 + [1.0] * 30 + [np.nan] * 9 + [np.inf])
    reference = numeric_reference("flag", values)
    assert reference.edges == (0.0, 1.0)  # the deciles tie at 0 and 1: three bins
    assert reference.shares == pytest.approx((0.6, 0.3, 0.0))
    assert reference.missing_share == pytest.approx(0.1)  # NaN and inf


def test_categorical_reference_keeps_the_top_categories_and_an_other_bucket() -> None:
    values = np.array(
        [f"c{i:02d}" for i in range(25) for _ in range(25 - i)] + [None] * 25, dtype=object
    )
    reference = categorical_reference("code", values)
    n = len(values)
    assert reference.categories[:3] == ("c00", "c01", "c02")
    assert len(reference.categories) == 20
    assert reference.shares[0] == pytest.approx(25 / n)
    assert reference.other_share == pytest.approx((5 + 4 + 3 + 2 + 1) / n)  # c20..c24
    assert reference.missing_share == pytest.approx(25 / n)


def test_reference_round_trips_through_json(cancer: tuple) -> None:
    train, _ = cancer
    schema = build_schema(train, "target")
    reference = build_reference(
        schema,
        drift_columns(train, schema),
        prediction=column_reference(PREDICTION_COLUMN, train["target"].astype(str).to_numpy()),
        prediction_split="train",
        prediction_rows=len(train),
    )
    again = DriftReference.model_validate_json(reference.model_dump_json())
    assert again == reference
    assert again.rows == len(train)
    assert isinstance(again.prediction, CategoricalReference)
    assert set(again.prediction.categories) == {"0", "1"}
    low, high = again.numeric_ranges()["mean area"]
    assert (low, high) == (train["mean area"].min(), train["mean area"].max())


def test_datetime_and_categorical_columns_are_referenced_as_served() -> None:
    frame = diabetes_with_categories()
    schema = build_schema(frame, "target")
    kinds = {c.name: c.kind for c in schema.columns}
    assert (kinds["sex"], kinds["decade"], kinds["visit"]) == (
        "categorical",
        "categorical",
        "datetime",
    )
    columns = drift_columns(frame, schema)
    assert columns["visit"].dtype == np.float64
    # epoch seconds: 2024-01-01 is 1,704,067,200 s after 1970-01-01
    first_bp = frame["bp"].iloc[0]
    assert columns["visit"][0] == pytest.approx(1_704_067_200 + first_bp * 3 * 86_400)
    assert columns["sex"].dtype == object and set(columns["sex"]) == {"female", "male"}
    reference = build_reference(schema, columns)
    by_name = {f.name: f for f in reference.features}
    assert isinstance(by_name["visit"], NumericReference)
    sex = by_name["sex"]
    assert isinstance(sex, CategoricalReference)
    assert sex.shares[sex.categories.index("male")] == pytest.approx(
        (frame["sex"] == "male").mean()
    )


def test_a_large_training_split_is_sampled(cancer: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    train, held = cancer
    schema = build_schema(train, "target")
    prepared = PreparedData(
        splits=Splits(train=train, valid=held, test=held.iloc[0:0], strategy="random"),
        target="target",
        task="tabular-classification",
        profile=None,  # type: ignore[arg-type]
        fingerprint="",
        dataset="breast_cancer",
        size_bytes=None,
    )
    features = Features(schema=schema, preprocessor=None, X={}, y={}, classes=())
    assert len(table.reference_columns(prepared, features, "train")["mean radius"]) == 341
    monkeypatch.setattr(table, "REFERENCE_ROWS", 100)
    first = table.reference_columns(prepared, features, "train")
    again = table.reference_columns(prepared, features, "train")
    assert len(first["mean radius"]) == 100
    assert np.array_equal(first["mean radius"], again["mean radius"])  # a fixed-seed sample
    assert set(first["mean radius"]) <= set(train["mean radius"])


def test_image_bundles_keep_no_reference() -> None:
    assert image.IMAGE.reference_columns is image.reference_columns
    assert image.reference_columns(None, None, "train") is None  # type: ignore[arg-type]
    assert table.TABLE.reference_columns is table.reference_columns


# --- the statistics against hand computations and scipy ------------------------------------


def test_psi_matches_a_hand_computation() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 3
    assert psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(0.25 * math.log(3))
    # an empty bin counts as PSI_EPSILON: large, finite
    empty = (0.2 - PSI_EPSILON) * math.log(0.2 / PSI_EPSILON) + (0.8 - 1.0) * math.log(0.8)
    assert psi(np.array([0.0, 1.0]), np.array([0.2, 0.8])) == pytest.approx(empty)
    assert psi(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == 0.0


def test_window_psi_equals_a_histogram_by_hand(cancer: tuple) -> None:
    train, held = cancer
    monitor, schema = monitor_for(train, "target", min_rows=100)
    monitor.observe(drift_columns(held, schema), None)
    report = monitor.report()
    reference = monitor.reference.features[schema.feature_names.index("worst texture")]
    assert isinstance(reference, NumericReference)
    values = held["worst texture"].to_numpy()
    # bins (-inf, e1], (e1, e2], ..., (e9, inf) by hand, then the empty missing bin
    bounds = [-np.inf, *reference.edges, np.inf]
    counts = [((values > lo) & (values <= hi)).sum() for lo, hi in itertools.pairwise(bounds)]
    actual = np.maximum(np.array([*counts, 0]) / len(values), PSI_EPSILON)
    expected = np.maximum(np.array([*reference.shares, reference.missing_share]), PSI_EPSILON)
    by_hand = float(np.sum((actual - expected) * np.log(actual / expected)))
    drift = next(f for f in report.features if f.name == "worst texture")
    assert drift.psi == pytest.approx(by_hand, rel=1e-12)
    assert drift.psi == pytest.approx(0.0204, abs=1e-4)  # measured: a held-out sample


@pytest.mark.parametrize("column", ["mean radius", "worst area", "mean texture"])
def test_ks_is_exact_for_the_quantile_cdf(cancer: tuple, column: str) -> None:
    train, held = cancer
    reference = numeric_reference(column, train[column].to_numpy(dtype=float))
    levels = np.linspace(0.0, 1.0, REFERENCE_QUANTILES)

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.interp(x, reference.quantiles, levels)

    window = held[column].to_numpy(dtype=float)
    expected = stats.kstest(window, cdf).statistic
    assert ks_statistic(reference.quantiles, window) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_diabetes, load_digits])
def test_ks_is_close_to_scipy_two_sample_ks_against_the_training_rows(loader: object) -> None:
    """Within 1/50 (+1/n for the quantiles' interpolation) of ks_2samp on every feature,
    continuous (breast_cancer), few-valued (diabetes) and 0..16 pixel counts (digits)."""
    train, held = split_table(loader(as_frame=True).frame)  # type: ignore[operator]
    gaps = []
    for name in train.columns.drop("target"):
        a, b = train[name].to_numpy(dtype=float), held[name].to_numpy(dtype=float)
        mine = ks_statistic(numeric_reference(name, a).quantiles, b)
        assert mine is not None
        gaps.append(abs(mine - stats.ks_2samp(a, b).statistic))
    assert max(gaps) <= KS_TOLERANCE + 1 / len(train)


def test_ks_of_a_tied_reference_uses_its_jumps() -> None:
    # training: 70 % zeros, 30 % ones; served: half and half. The step CDFs differ by 0.2; the
    # quantile CDF rises from 0.68 (the last knot at 0) to 0.72 (the first at 1): 0.22
    reference = numeric_reference("flag", np.array([0.0] * 70 + [1.0] * 30))
    served = np.array([0.0, 1.0] * 50)
    assert ks_statistic(reference.quantiles, served) == pytest.approx(0.22)
    assert stats.ks_2samp(np.array([0.0] * 70 + [1.0] * 30), served).statistic == 0.2
    # the same shares: 0 for the step CDFs, one quantile level (1/50) for the quantile CDF
    same = np.array([0.0] * 7 + [1.0] * 3)
    assert ks_statistic(reference.quantiles, same) == pytest.approx(KS_TOLERANCE)
    assert ks_statistic(reference.quantiles, np.array([np.nan])) is None


def test_js_distance_matches_scipy() -> None:
    p = np.array([0.5, 0.3, 0.2, 0.0])
    q = np.array([0.1, 0.3, 0.3, 0.3])
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    assert js_distance(p, p) == pytest.approx(0.0, abs=1e-12)
    assert js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)


def test_noise_bounds_match_scipy() -> None:
    expected = np.full(11, 1 / 11)  # ten bins and missing, all with training rows
    window, training = 200, 341
    effective = window * training / (window + training)
    noise_psi, noise_ks = noise_bounds(expected, True, window, training, 0.001)
    # Wilson-Hilferty's chi-square quantile is within 1 % of scipy's at 10 degrees of freedom
    assert noise_psi == pytest.approx(stats.chi2.ppf(0.999, 10) / effective, rel=0.01)
    assert noise_ks == pytest.approx(stats.kstwobign.ppf(0.999) / math.sqrt(effective), rel=1e-4)
    two = np.array([0.6, 0.4, 0.0, 0.0])  # two categories, empty "other" and missing
    _, noise_js = noise_bounds(two, False, window, training, 0.001)
    # JS divergence ~ chi2 / (8 ln 2 n_eff): 1 degree of freedom (within 3 % there)
    chi2 = stats.chi2.ppf(0.999, 1)
    assert noise_js == pytest.approx(math.sqrt(chi2 / (8 * math.log(2) * effective)), rel=0.03)


def test_the_noise_guard_keeps_unchanged_data_quiet() -> None:
    """20 random splits of breast_cancer (600 feature verdicts, 341 vs 228 rows): with the guard
    at 0.001 almost all are ok; the bare thresholds warn on about one in eight."""
    frame = load_breast_cancer(as_frame=True).frame
    schema = build_schema(frame, "target")
    guarded: list[str] = []
    bare: list[str] = []
    for seed in range(20):
        train, held = split_table(frame, seed)
        reference = build_reference(schema, drift_columns(train, schema))
        for significance, verdicts in ((0.001, guarded), (None, bare)):
            monitor = DriftMonitor(reference, DriftThresholds(significance=significance))
            monitor.observe(drift_columns(held, schema), None)
            verdicts += [f.status for f in monitor.report().features]
    assert guarded.count("alert") == 0 and guarded.count("warn") <= 3
    assert bare.count("warn") >= 50


# --- verdicts on real data -----------------------------------------------------------------


def test_a_held_out_sample_does_not_alert_and_a_scaled_feature_does(cancer: tuple) -> None:
    train, held = cancer  # 341 reference rows, 228 in the window
    monitor, schema = monitor_for(train, "target")
    monitor.observe(drift_columns(held, schema), None)
    report = monitor.report()
    assert report.window == len(held)
    assert report.status == "ok"
    assert {f.status for f in report.features} == {"ok"}
    assert max(f.psi or 0 for f in report.features) == pytest.approx(0.1605, abs=1e-4)
    assert max(f.statistic_value or 0 for f in report.features) < DriftThresholds().ks_alert

    shifted = held.assign(**{"mean radius": held["mean radius"] * 1.5})
    drifting, _ = monitor_for(train, "target")
    drifting.observe(drift_columns(shifted, schema), None)
    report = drifting.report()
    assert report.features_in_alert == ("mean radius",)
    assert report.status == "alert"
    radius = next(f for f in report.features if f.name == "mean radius")
    assert radius.psi is not None and radius.psi > 2.0
    assert radius.statistic == "ks"
    assert radius.statistic_value == pytest.approx(0.6705, abs=1e-4)  # measured


def test_a_larger_held_out_sample_is_ok_throughout() -> None:
    train, held = split_table(load_digits(as_frame=True).frame)  # 1,078 / 719 rows, 64 pixels
    monitor, schema = monitor_for(train, "target")
    monitor.observe(drift_columns(held, schema), None)
    report = monitor.report()
    assert report.status == "ok"
    assert {f.status for f in report.features} == {"ok"}
    assert max(f.psi or 0 for f in report.features) < DriftThresholds().psi_warn


def test_reweighted_and_unseen_categories_alert() -> None:
    train, held = split_table(diabetes_with_categories())
    monitor, schema = monitor_for(train, "target", min_rows=100)
    monitor.observe(drift_columns(held, schema), None)
    report = monitor.report()
    assert report.features_in_alert == ()
    sex = next(f for f in report.features if f.name == "sex")
    assert (sex.statistic, sex.status) == ("js", "ok")

    # 90 % men where training had about half: reweighted, not new
    men = held[held["sex"] == "male"]
    women = held[held["sex"] == "female"]
    skewed = pd.concat([men.sample(135, replace=True, random_state=1), women.head(15)])
    drifting, _ = monitor_for(train, "target", min_rows=100)
    drifting.observe(drift_columns(skewed, schema), None)
    sex = next(f for f in drifting.report().features if f.name == "sex")
    assert sex.status == "alert"
    reference = drifting.reference.features[schema.feature_names.index("sex")]
    assert isinstance(reference, CategoricalReference)
    # buckets: the reference's categories in its order, "other", missing
    expected = [*reference.shares, reference.other_share, reference.missing_share]
    actual = [{"male": 135 / 150, "female": 15 / 150}[c] for c in reference.categories] + [0, 0]
    assert sex.statistic_value == pytest.approx(jensenshannon(expected, actual, base=2))
    assert sex.statistic_value == pytest.approx(0.4537, abs=1e-4)

    # a decade training never saw lands in "other", which training left empty
    unseen = held.assign(decade=np.where(np.arange(len(held)) % 3 == 0, "110s", held["decade"]))
    drifting, _ = monitor_for(train, "target", min_rows=100)
    drifting.observe(drift_columns(unseen, schema), None)
    report = drifting.report()
    assert report.features_in_alert == ("decade",)


def test_prediction_drift_follows_the_model_outputs() -> None:
    frame = load_diabetes(as_frame=True).frame
    train, held = split_table(frame)
    schema = build_schema(train, "target")
    features = schema.feature_names
    model = LinearRegression().fit(train[features], train["target"])
    reference = build_reference(
        schema,
        drift_columns(train, schema),
        prediction=column_reference(PREDICTION_COLUMN, model.predict(train[features])),
        prediction_split="train",
        prediction_rows=len(train),
    )
    thresholds = DriftThresholds(min_rows=150)
    steady = DriftMonitor(reference, thresholds)
    steady.observe(drift_columns(held, schema), model.predict(held[features]))
    report = steady.report()
    assert report.prediction is not None and report.prediction.status == "ok"

    heavier = held.assign(bmi=held["bmi"] + 0.1)  # about +2.3 standard deviations of bmi
    drifting = DriftMonitor(reference, thresholds)
    drifting.observe(drift_columns(heavier, schema), model.predict(heavier[features]))
    report = drifting.report()
    assert report.prediction is not None
    assert report.prediction.name == PREDICTION_COLUMN
    assert report.prediction.status == "alert"
    assert report.prediction.statistic_value is not None
    assert report.prediction.psi == pytest.approx(1.0544, abs=1e-4)  # measured
    assert report.prediction.statistic_value == pytest.approx(0.2871, abs=1e-4)
    assert report.features_in_alert == ("bmi",)


# --- the window ----------------------------------------------------------------------------


def tiny_reference() -> DriftReference:
    """Four training rows: the window tests below run without the sampling-noise guard."""
    return DriftReference(
        split="train",
        rows=4,
        prediction_rows=4,
        features=(
            numeric_reference("x", np.array([1.0, 2.0, 3.0, 4.0])),
            categorical_reference("c", np.array(["a", "b", "a", "b"], dtype=object)),
        ),
        prediction=numeric_reference(SCORE_COLUMN, np.array([0.1, 0.2, 0.3, 0.4])),
    )


def test_the_window_keeps_the_last_rows_across_the_wrap() -> None:
    monitor = DriftMonitor(
        tiny_reference(), DriftThresholds(window=10, min_rows=1, significance=None)
    )

    def batch(x: float, c: str | None, n: int) -> dict[str, np.ndarray]:
        return {"x": np.full(n, x), "c": np.array([c] * n, dtype=object)}

    monitor.observe(batch(np.nan, None, 7), np.zeros(7))
    monitor.observe(batch(1.0, "a", 7), np.zeros(7))  # wraps: 3 missing rows remain
    report = monitor.report()
    assert (report.window, report.rows_seen) == (10, 14)
    assert [f.missing_share for f in report.features] == pytest.approx([0.3, 0.3])
    for _ in range(4):
        monitor.observe(batch(2.0, "b", 1), np.zeros(1))  # one-row requests
    report = monitor.report()
    assert [f.missing_share for f in report.features] == pytest.approx([0.0, 0.0])
    monitor.observe(batch(3.0, "z", 25), np.zeros(25))  # more than the window
    report = monitor.report()
    c = report.features[1]
    assert c.missing_share == 0.0 and c.status == "alert"  # all "z": the other bucket
    assert report.rows_seen == 43


def test_too_few_rows_give_no_numbers() -> None:
    monitor = DriftMonitor(
        tiny_reference(), DriftThresholds(window=100, min_rows=50, significance=None)
    )
    monitor.observe({"x": np.ones(49), "c": np.array(["a"] * 49, dtype=object)}, np.ones(49))
    report = monitor.report()
    assert report.status == "insufficient-data"
    assert {f.status for f in report.features} == {"insufficient-data"}
    assert report.features[0].psi is None and report.features[0].statistic_value is None
    assert report.prediction is not None and report.prediction.status == "insufficient-data"
    # the report is JSON for GET /v1/drift: no NaN anywhere
    payload = json.loads(report.model_dump_json())
    assert payload["features"][0]["psi"] is None
    assert DriftReport.model_validate(payload) == report


def test_observe_refuses_columns_that_do_not_line_up() -> None:
    monitor = DriftMonitor(
        tiny_reference(), DriftThresholds(window=10, min_rows=1, significance=None)
    )
    with pytest.raises(SchemaError, match="no values for feature 'c'"):
        monitor.observe({"x": np.ones(2)}, None)
    with pytest.raises(SchemaError, match="do not line up"):
        monitor.observe({"x": np.ones(2), "c": np.array(["a"] * 3, dtype=object)}, None)
    assert monitor.rows_seen == 0


def test_observe_is_thread_safe() -> None:
    monitor = DriftMonitor(
        tiny_reference(), DriftThresholds(window=500, min_rows=1, significance=None)
    )
    row = {"x": np.array([2.5]), "c": np.array(["a"], dtype=object)}

    def serve() -> None:
        for _ in range(2_000):
            monitor.observe(row, np.array([0.25]))

    threads = [threading.Thread(target=serve) for _ in range(4)]
    for thread in threads:
        thread.start()
    reports = [monitor.report() for _ in range(5)]  # concurrent with the writers
    for thread in threads:
        thread.join()
    assert monitor.rows_seen == 8_000
    final = monitor.report()
    assert final.window == 500
    assert final.features[0].missing_share == 0.0
    assert all(r.window <= 500 for r in reports)


def test_observe_cost_per_one_row_request(cancer: tuple) -> None:
    """Information only (no timed assertion): the request-path cost of one 30-feature row."""
    train, held = cancer
    monitor, schema = monitor_for(train, "target")
    columns = drift_columns(held, schema)
    row = {name: values[:1] for name, values in columns.items()}
    prediction = np.array(["1"], dtype=object)
    calls = 20_000
    started = time.perf_counter()
    for _ in range(calls):
        monitor.observe(row, prediction)
    per_call_us = (time.perf_counter() - started) / calls * 1e6
    print(f"\nDriftMonitor.observe, 1 row x {len(row)} features: {per_call_us:.2f} us")
    started = time.perf_counter()
    monitor.report()
    print(f"DriftMonitor.report, 2,000 rows: {(time.perf_counter() - started) * 1e3:.1f} ms")
    assert monitor.rows_seen == calls


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValidationError, match="psi_warn"):
        DriftThresholds(psi_warn=0.3, psi_alert=0.2)
    with pytest.raises(ValidationError, match="min_rows"):
        DriftThresholds(window=100)  # min_rows 200 could never be reached
    with pytest.raises(ValidationError, match="extra"):
        DriftThresholds(psi=0.2)  # type: ignore[call-arg]
    assert DriftThresholds(window=100, min_rows=100).min_rows == 100


# --- the bundle ------------------------------------------------------------------------------


def test_an_old_bundle_has_no_reference() -> None:
    assert load_reference(FIXTURES / "v1-sklearn-linear-iris" / "bundle") is None


def test_a_corrupt_reference_is_a_bundle_error(tmp_path: Path) -> None:
    path = tmp_path / REFERENCE_FILE
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="cannot read"):
        load_reference(tmp_path)
    path.write_text(json.dumps({"split": "train", "rows": 3}), encoding="utf-8")
    with pytest.raises(BundleError, match="is corrupt"):
        load_reference(tmp_path)
    newer = tiny_reference().model_dump(mode="json") | {"format_version": 99}
    path.write_text(json.dumps(newer), encoding="utf-8")
    with pytest.raises(BundleError, match="newer trainwell"):
        load_reference(tmp_path)


def train_bundle(data: str, **sections: object) -> tuple[Path, ExperimentConfig]:
    raw: dict[str, object] = {"tracking": {"enabled": False}, "data": {"path": data}}
    raw.update(sections)
    config = resolve_config(raw)
    return pipeline.run_training(config).bundle_path, config


def test_train_writes_the_reference_into_the_bundle() -> None:
    path, _ = train_bundle("sklearn:breast_cancer", model={"architecture": "sklearn-linear"})
    bundle = verify_bundle(path)  # reference.json is hashed like every other file
    assert REFERENCE_FILE in bundle.manifest["files"]
    reference = load_reference(path)
    assert reference is not None
    schema = Predictor.load(path).inputs.schema  # type: ignore[attr-defined]
    assert reference.feature_names == schema.feature_names
    sizes = bundle.manifest["split_sizes"]
    assert (reference.split, reference.rows) == ("train", sizes["train"])
    assert (reference.prediction_split, reference.prediction_rows) == ("valid", sizes["valid"])
    prediction = reference.prediction
    assert isinstance(prediction, CategoricalReference)
    assert prediction.name == PREDICTION_COLUMN
    assert set(prediction.categories) <= set(schema.classes)
    assert sum(prediction.shares) == pytest.approx(1.0)

    # the served path: the bundle's held-out rows, predicted, go into a monitor from the bundle
    samples = pd.read_csv(path / "samples.csv")
    predictor = Predictor.load(path)
    monitor = DriftMonitor(reference, DriftThresholds(min_rows=len(samples)))
    monitor.observe(
        drift_columns(samples, schema), predictor.predict_frame(samples)[PREDICTION_COLUMN]
    )
    report = monitor.report()
    assert report.window == len(samples) == sizes["test"]
    assert report.features_in_alert == ()
    assert report.prediction is not None and report.prediction.status != "alert"


@pytest.mark.parametrize(
    ("data", "sections", "name"),
    [
        ("sklearn:diabetes", {"model": {"architecture": "sklearn-linear"}}, PREDICTION_COLUMN),
        (
            "sklearn:breast_cancer",
            {"task": {"kind": "anomaly-detection"}, "model": {"architecture": "isolation-forest"}},
            SCORE_COLUMN,
        ),
    ],
)
def test_values_and_anomaly_scores_are_numeric_references(
    data: str, sections: dict[str, object], name: str
) -> None:
    # the reference is the evaluated model's outputs; without a refit it is the saved model
    path, config = train_bundle(data, **sections, training={"refit_full": False})
    reference = load_reference(path)
    assert reference is not None
    prediction = reference.prediction
    assert isinstance(prediction, NumericReference)
    assert prediction.name == name
    # the quantiles are the model's own outputs on the validation rows (the same split again)
    setup = pipeline.set_up_run(config)
    predictor = Predictor.load(path)
    X_valid = setup.features.X["valid"]
    outputs = setup.objective.outputs(predictor.model, X_valid, setup.features.classes)[name]
    assert reference.prediction_rows == len(X_valid)
    assert prediction.quantiles == pytest.approx(
        np.quantile(outputs, np.linspace(0.0, 1.0, REFERENCE_QUANTILES)), rel=1e-9
    )
