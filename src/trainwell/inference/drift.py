"""Data drift: a training reference in the bundle, a sliding window of served rows, PSI and KS/JS.

At `train` time :func:`write_reference` stores ``reference.json`` in the bundle. Per feature of
the training split (validated and prepared as `predict` does it):

* numbers (dates as epoch seconds): ``NUMERIC_BINS`` quantile bins (their edges and the share of
  rows in each), the missing share, and ``REFERENCE_QUANTILES`` quantiles for a KS statistic;
* categories: the shares of the ``MAX_CATEGORIES`` most frequent ones, of the rest ("other") and
  of missing values.

The model's predictions on the validation split (what unseen rows look like to it) are kept the
same way: predicted labels as categories, predicted values or anomaly scores as numbers.

At serve time a :class:`DriftMonitor` keeps the last ``window`` rows in ring buffers
(:meth:`DriftMonitor.observe` runs on the request path and computes nothing) and
:meth:`DriftMonitor.report` compares them with the reference, per feature:

* PSI = Σ (a − e) · ln(a / e) over the bins (missing values are one more bin; shares are
  clipped at ``PSI_EPSILON`` so an empty bin stays finite);
* KS = sup |F_window − F_reference| (numbers), with F_reference piecewise linear through the
  stored quantiles: within 1 / (``REFERENCE_QUANTILES`` − 1) of the two-sample KS statistic
  against the training rows themselves;
* Jensen–Shannon distance, base 2, in [0, 1] (categories: the same buckets as PSI).

Each gets a status from :class:`DriftThresholds`; a threshold counts only where the statistic is
also beyond what sampling noise reaches at the window's and the reference's sizes (small windows
otherwise read unchanged data as drift).

Example:
    >>> reference = load_reference(Path("models/cancer-hgb-1a2b3c"))  # doctest: +SKIP
    >>> monitor = DriftMonitor(reference, DriftThresholds(window=2_000))  # doctest: +SKIP
    >>> monitor.observe(columns, outputs["prediction"])  # per request  # doctest: +SKIP
    >>> monitor.report().features_in_alert  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trainwell.errors import BundleError, SchemaError
from trainwell.inference.bundle import REFERENCE_FILE
from trainwell.utils.files import write_json
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

    from trainwell.data.modality import Features, Modality, PreparedData
    from trainwell.data.schema import InputSchema
    from trainwell.evaluation.objectives import Objective

logger = get_logger(__name__)

REFERENCE_VERSION = 1
# quantile bins per numeric feature (ties merge bins: a 0/1 column has two)
NUMERIC_BINS = 10
# quantiles at 0, 1/50, ..., 1 of each numeric feature: the KS reference CDF
REFERENCE_QUANTILES = 51
# categories kept by name; the rest of the training categories share the "other" bucket
MAX_CATEGORIES = 20
# validation rows the model predicts for the predictions' reference, at most (sampled beyond);
# the features' rows are capped by the modality (``trainwell.data.table.REFERENCE_ROWS``)
PREDICTION_MAX_ROWS = 100_000
# shares below this are raised to it in PSI, so an empty bin contributes a large, finite term
PSI_EPSILON = 1e-4
# a threshold counts only where sampling noise passes it less often than this (DriftThresholds)
DEFAULT_SIGNIFICANCE = 0.001
FEATURE_SPLIT = "train"
PREDICTION_SPLITS = ("valid", "train")  # the first that has rows

DriftStatus = Literal["ok", "warn", "alert", "insufficient-data"]
StatisticName = Literal["ks", "js"]
# the report's overall status is the worst of its parts, in this order
SEVERITY: dict[str, int] = {"insufficient-data": 0, "ok": 1, "warn": 2, "alert": 3}


# --- the reference ---------------------------------------------------------------------------


class NumericReference(BaseModel):
    """A numeric (or datetime, in epoch seconds) feature's training distribution.

    Attributes:
        name: the feature (or ``prediction`` / ``anomaly_score``).
        edges: the bins' inner edges, increasing; bin ``i`` holds ``edges[i-1] < x <= edges[i]``
            (the first bin everything up to ``edges[0]``, the last everything above the last).
        shares: the share of all rows in each bin (``len(edges) + 1`` values).
        missing_share: the share of rows missing (NaN or infinite).
        quantiles: ``REFERENCE_QUANTILES`` quantiles of the non-missing values at evenly spaced
            levels from 0 (the minimum) to 1 (the maximum); empty when every value is missing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["numeric"] = "numeric"
    name: str
    edges: tuple[float, ...]
    shares: tuple[float, ...]
    missing_share: float = Field(ge=0.0, le=1.0)
    quantiles: tuple[float, ...]

    @model_validator(mode="after")
    def _bins_match_edges(self) -> NumericReference:
        if len(self.shares) != len(self.edges) + 1:
            raise ValueError(
                f"{self.name}: {len(self.edges)} edges need {len(self.edges) + 1} shares, "
                f"got {len(self.shares)}"
            )
        return self


class CategoricalReference(BaseModel):
    """A categorical feature's (or predicted label's) training distribution.

    Attributes:
        categories: the most frequent categories, most frequent first (at most
            ``MAX_CATEGORIES``).
        shares: the share of all rows of each of ``categories``.
        other_share: the share of rows with any other category (served categories training
            never saw land here too).
        missing_share: the share of rows missing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["categorical"] = "categorical"
    name: str
    categories: tuple[str, ...]
    shares: tuple[float, ...]
    other_share: float = Field(ge=0.0, le=1.0)
    missing_share: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_share_per_category(self) -> CategoricalReference:
        if len(self.shares) != len(self.categories):
            raise ValueError(
                f"{self.name}: {len(self.categories)} categories but {len(self.shares)} shares"
            )
        return self


FeatureReference = Annotated[NumericReference | CategoricalReference, Field(discriminator="kind")]


class DriftReference(BaseModel):
    """The bundle's ``reference.json``: what served rows and predictions are compared with.

    Attributes:
        split: the split the feature references were computed on (``train``).
        rows: how many of its rows (the modality caps them: ``table.REFERENCE_ROWS``).
        features: one reference per feature column, in schema order.
        prediction: the model's outputs on ``prediction_split``: predicted labels
            (categorical), predicted values or anomaly scores (numeric); its ``name`` is the
            output column it describes (``prediction`` or ``anomaly_score``).
        prediction_split: ``valid`` (rows the model did not fit), or ``train`` when there are
            no validation rows.
        prediction_rows: how many rows the prediction reference holds.

    No timestamp: the same data and seed give the same bytes (the manifest says when).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = REFERENCE_VERSION
    split: str
    rows: int = Field(ge=0)
    features: tuple[FeatureReference, ...]
    prediction: FeatureReference | None = None
    prediction_split: str | None = None
    prediction_rows: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> DriftReference:
        from collections import Counter

        counts = Counter(f.name for f in self.features)
        repeated = sorted(name for name, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(f"feature(s) listed twice: {', '.join(repeated)}")
        if self.prediction is not None and self.prediction_rows < 1:
            raise ValueError("a prediction reference needs prediction_rows (its row count)")
        return self

    @property
    def feature_names(self) -> list[str]:
        """Feature names, in schema order."""
        return [f.name for f in self.features]

    def numeric_ranges(self) -> dict[str, tuple[float, float]]:
        """(minimum, maximum) seen in training, per numeric feature with any values."""
        return {
            f.name: (f.quantiles[0], f.quantiles[-1])
            for f in self.features
            if isinstance(f, NumericReference) and f.quantiles
        }


def _levels(count: int) -> np.ndarray:
    import numpy as np

    return np.linspace(0.0, 1.0, count)


def numeric_reference(name: str, values: np.ndarray) -> NumericReference:
    """The quantile bins, missing share and quantiles of one numeric column.

    Args:
        values: float64 (NaN or ±inf: missing).

    Raises:
        ValueError: ``values`` is empty.
    """
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    if not len(x):
        raise ValueError(f"{name}: no rows to build a reference from")
    finite = x[np.isfinite(x)]
    if len(finite):
        inner = _levels(NUMERIC_BINS + 1)[1:-1]
        edges = np.unique(np.quantile(finite, inner))
        quantiles = np.quantile(finite, _levels(REFERENCE_QUANTILES))
    else:
        edges = quantiles = np.empty(0)
    counts = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=len(edges) + 1)
    return NumericReference(
        name=name,
        edges=tuple(float(e) for e in edges),
        shares=tuple(float(c) / len(x) for c in counts),
        missing_share=1.0 - len(finite) / len(x),
        quantiles=tuple(float(q) for q in quantiles),
    )


def _is_missing(value: object) -> bool:
    # None from validation; a float NaN from a caller that used pandas' missing marker
    return value is None or (isinstance(value, float) and math.isnan(value))


def categorical_reference(name: str, values: np.ndarray) -> CategoricalReference:
    """The shares of the most frequent categories, the rest and missing values of one column.

    Args:
        values: an object array of str (None: missing).

    Raises:
        ValueError: ``values`` is empty.
    """
    from collections import Counter

    if not len(values):
        raise ValueError(f"{name}: no rows to build a reference from")
    counts = Counter(str(v) for v in values if not _is_missing(v))
    # most frequent first; ties by name, so the same data always keeps the same categories
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_CATEGORIES]
    n = len(values)
    kept = sum(count for _, count in top)
    present = sum(counts.values())
    return CategoricalReference(
        name=name,
        categories=tuple(category for category, _ in top),
        shares=tuple(count / n for _, count in top),
        other_share=(present - kept) / n,
        missing_share=(n - present) / n,
    )


def column_reference(name: str, values: np.ndarray) -> FeatureReference:
    """A categorical reference for labels (object/str arrays), a numeric one for numbers."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind in "OUS":
        return categorical_reference(name, array.astype(object))
    return numeric_reference(name, array.astype(np.float64))


def build_reference(
    schema: InputSchema,
    columns: Mapping[str, np.ndarray],
    *,
    split: str = FEATURE_SPLIT,
    prediction: FeatureReference | None = None,
    prediction_split: str | None = None,
    prediction_rows: int = 0,
) -> DriftReference:
    """The reference of every feature in ``schema`` from its column in ``columns``.

    Args:
        columns: feature name -> values, as the monitor observes them
            (``trainwell.data.table.drift_columns``).
        prediction: the reference of the model's outputs (:func:`column_reference`).

    Raises:
        SchemaError: a feature of the schema has no column.
    """
    missing = [name for name in schema.feature_names if name not in columns]
    if missing:
        raise SchemaError(f"no values for feature(s) {', '.join(missing)} in the reference rows")
    features: list[FeatureReference] = []
    for column in schema.columns:
        values = columns[column.name]
        if column.kind == "categorical":
            features.append(categorical_reference(column.name, values))
        else:
            features.append(numeric_reference(column.name, values))
    rows = len(columns[schema.feature_names[0]]) if schema.columns else 0
    return DriftReference(
        split=split,
        rows=rows,
        features=tuple(features),
        prediction=prediction,
        prediction_split=prediction_split,
        prediction_rows=prediction_rows,
    )


def _sample_index(n: int, seed: int) -> np.ndarray | None:
    """Sorted positions of at most ``PREDICTION_MAX_ROWS`` of ``n`` rows (None: keep all)."""
    import numpy as np

    if n <= PREDICTION_MAX_ROWS:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=PREDICTION_MAX_ROWS, replace=False))


def write_reference(
    directory: Path,
    modality: Modality,
    prepared: PreparedData,
    features: Features,
    objective: Objective,
    model: Any,
    seed: int,
) -> list[str]:
    """Write ``reference.json`` into a bundle being filled (`train`'s bundle step).

    The features' reference is the training split's columns (``modality.reference_columns``);
    the predictions' is the model's output on the validation split (the training split when
    there is none): the score column when the objective gives one (anomaly detection), else the
    prediction column. Over ``PREDICTION_MAX_ROWS`` rows, the model predicts a sample drawn
    with ``seed``.

    Returns:
        The file names written: ``[]`` for a modality without a drift reference (images).
    """
    from trainwell.data.schema import InputSchema
    from trainwell.evaluation.objectives import PREDICTION_COLUMN, SCORE_COLUMN

    columns = modality.reference_columns(prepared, features, FEATURE_SPLIT)
    if columns is None:
        return []
    schema = features.schema
    assert isinstance(schema, InputSchema)  # a modality with reference columns has a table schema
    split = next(s for s in PREDICTION_SPLITS if len(features.X[s]) or s == FEATURE_SPLIT)
    X = features.X[split]
    picked = _sample_index(len(X), seed)
    if picked is not None:
        X = X[picked]
    prediction: FeatureReference | None = None
    if len(X):
        outputs = objective.outputs(model, X, features.classes)
        name = SCORE_COLUMN if SCORE_COLUMN in outputs else PREDICTION_COLUMN
        prediction = column_reference(name, outputs[name])
    reference = build_reference(
        schema,
        columns,
        prediction=prediction,
        prediction_split=split if prediction is not None else None,
        prediction_rows=len(X),
    )
    write_json(directory / REFERENCE_FILE, reference.model_dump(mode="json"))
    logger.info(
        "drift_reference_written",
        features=len(reference.features),
        rows=reference.rows,
        prediction_split=reference.prediction_split,
    )
    return [REFERENCE_FILE]


def load_reference(bundle_dir: Path) -> DriftReference | None:
    """The bundle's drift reference, or None for a bundle without one (trained before trainwell
    wrote it, or an image bundle).

    The bundle's hashes are not checked here (``verify_bundle`` does that when the model loads).

    Raises:
        BundleError: the file is unreadable, corrupt, or from a newer trainwell.
    """
    path = bundle_dir / REFERENCE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    version = document.get("format_version") if isinstance(document, dict) else None
    if isinstance(version, int) and version > REFERENCE_VERSION:
        raise BundleError(
            f"{path} was written by a newer trainwell (format_version {version}, this version "
            f"reads up to {REFERENCE_VERSION}): upgrade trainwell"
        )
    try:
        return DriftReference.model_validate(document)
    except ValidationError as exc:
        raise BundleError(f"{path} is corrupt: {exc}") from exc


# --- thresholds and the report ---------------------------------------------------------------


class DriftThresholds(BaseModel):
    """When a feature (or the predictions) is reported as drifting.

    A status is ``alert`` when PSI exceeds ``psi_alert`` or the KS statistic (numbers)
    exceeds ``ks_alert`` or the Jensen–Shannon distance (categories) exceeds ``js_alert``;
    ``warn`` when PSI exceeds ``psi_warn``; ``insufficient-data`` while the window holds fewer
    than ``min_rows`` rows (no numbers are given then).

    Note:
        Two samples of one distribution differ by chance, and more so when they are small:
        with k buckets, n window rows and N reference rows (n_eff = nN / (n + N)), PSI reads
        about (k − 1) / n_eff and the JS distance about √((k − 1) / (8 ln 2 · n_eff)) on
        unchanged data: 0.13 for a 20-category feature at n = 200. So a threshold counts only
        where the statistic also exceeds what sampling noise reaches with probability
        ``significance`` (the asymptotic two-sample KS and χ² bounds; ``FeatureDrift.noise``
        gives the bound that applied). With a full 2,000-row window and a large reference the
        bounds sit below the default thresholds; ``significance=None`` turns the guard off.

    Attributes:
        psi_warn: PSI above this warns (0.1: the usual "some shift").
        psi_alert: PSI above this alerts (0.25: the usual "major shift").
        ks_alert: KS statistic above this alerts.
        js_alert: Jensen–Shannon distance (base 2) above this alerts.
        min_rows: rows the window needs before any verdict.
        window: rows the window keeps (the most recent).
        significance: the chance that sampling noise alone passes a threshold (None: no guard).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    psi_warn: float = Field(0.1, gt=0)
    psi_alert: float = Field(0.25, gt=0)
    ks_alert: float = Field(0.2, gt=0, le=1)
    js_alert: float = Field(0.1, gt=0, le=1)
    min_rows: int = Field(200, ge=1)
    window: int = Field(2_000, ge=1)
    significance: float | None = Field(DEFAULT_SIGNIFICANCE, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> DriftThresholds:
        if self.psi_warn > self.psi_alert:
            raise ValueError(
                f"psi_warn ({self.psi_warn}) must not exceed psi_alert ({self.psi_alert})"
            )
        if self.min_rows > self.window:
            raise ValueError(
                f"min_rows ({self.min_rows}) must not exceed window ({self.window}): the "
                "window could never hold enough rows for a verdict"
            )
        return self


class FeatureDrift(BaseModel):
    """One feature's (or the predictions') drift over the window.

    Attributes:
        psi: population stability index against the reference bins (None: insufficient data).
        statistic: ``ks`` (numbers) or ``js`` (categories).
        statistic_value: its value (None: insufficient data, or no non-missing values).
        missing_share: the window's share of missing values (None: insufficient data).
        reference_missing_share: training's.
        noise_psi: the PSI that sampling noise alone reaches with probability
            ``thresholds.significance`` at these sample sizes (None: no guard, or insufficient
            data); a PSI threshold below it does not count.
        noise_statistic: the same bound for ``statistic``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["numeric", "categorical"]
    status: DriftStatus
    psi: float | None
    statistic: StatisticName
    statistic_value: float | None
    missing_share: float | None
    reference_missing_share: float
    noise_psi: float | None = None
    noise_statistic: float | None = None


class DriftReport(BaseModel):
    """What ``GET /v1/drift`` returns, and what the drift gauges are set from.

    Attributes:
        status: the worst status of the features and the predictions.
        window: rows in the window now.
        window_size: rows the window keeps at most.
        rows_seen: rows observed since the monitor started.
        min_rows: rows needed before any verdict.
        features: per feature, in schema order.
        prediction: the same for the model's outputs (None: the reference has none).
        features_in_alert: names of the features whose status is ``alert``.
        reference_split: the split the reference was computed on.
        reference_rows: its rows.
        computed_at: when (UTC, ISO 8601).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: DriftStatus
    window: int
    window_size: int
    rows_seen: int
    min_rows: int
    features: tuple[FeatureDrift, ...]
    prediction: FeatureDrift | None
    features_in_alert: tuple[str, ...]
    reference_split: str
    reference_rows: int
    computed_at: str


# --- the statistics (vectorised; the window is at most a few thousand rows) --------------------


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index Σ (a − e) · ln(a / e) of two share vectors (same bins).

    Shares below ``PSI_EPSILON`` are raised to it, so an empty bin gives a large, finite term.
    """
    import numpy as np

    e = np.maximum(np.asarray(expected, dtype=np.float64), PSI_EPSILON)
    a = np.maximum(np.asarray(actual, dtype=np.float64), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon distance (the square root of the divergence), base 2: in [0, 1]."""
    import numpy as np

    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0

    def kl(a: np.ndarray) -> float:
        inside = a > 0  # 0 · log 0 = 0; m > 0 wherever a > 0
        return float(np.sum(a[inside] * np.log2(a[inside] / m[inside])))

    return float(np.sqrt(max((kl(p) + kl(q)) / 2.0, 0.0)))


def _reference_cdf(quantiles: np.ndarray, x: np.ndarray, *, left: bool) -> np.ndarray:
    """The piecewise-linear reference CDF through (quantile_j, j / (m − 1)) at ``x``: F(x), or
    its left limit F(x−) with ``left`` (they differ where tied quantiles make a jump)."""
    import numpy as np

    levels = _levels(len(quantiles))
    # knots < x (left) or <= x (right): x lies between knots k - 1 and k, strictly inside a rise
    k = np.searchsorted(quantiles, x, side="left" if left else "right")
    out = np.where(k >= len(quantiles), 1.0, 0.0)
    inside = (k > 0) & (k < len(quantiles))
    lo, hi = k[inside] - 1, k[inside]
    span = quantiles[hi] - quantiles[lo]
    out[inside] = levels[lo] + (levels[hi] - levels[lo]) * (x[inside] - quantiles[lo]) / span
    return out


def ks_statistic(quantiles: Sequence[float] | np.ndarray, values: np.ndarray) -> float | None:
    """sup |F_window − F_reference| over the non-missing ``values``.

    F_reference is piecewise linear through the reference quantiles (a jump where they tie).
    Exact for that CDF; against the training rows' own empirical CDF it is within
    1 / (len(quantiles) − 1). None when either side has no values.
    """
    import numpy as np

    q = np.asarray(quantiles, dtype=np.float64)
    x = np.sort(values[np.isfinite(values)])
    if not len(q) or not len(x):
        return None
    n = len(x)
    # at each sample value v: F_n(v) − F(v) and F(v−) − F_n(v−) bound the gap on both sides
    above = np.searchsorted(x, x, side="right") / n - _reference_cdf(q, x, left=False)
    below = _reference_cdf(q, x, left=True) - np.searchsorted(x, x, side="left") / n
    return float(max(above.max(), below.max(), 0.0))


def numeric_shares(reference: NumericReference, values: np.ndarray) -> np.ndarray:
    """The window's share per reference bin, then the missing share (sums to 1)."""
    import numpy as np

    finite = np.isfinite(values)
    bins = np.searchsorted(np.asarray(reference.edges), values[finite], side="left")
    counts = np.bincount(bins, minlength=len(reference.edges) + 1).astype(np.float64)
    return np.append(counts, len(values) - finite.sum()) / len(values)


def categorical_shares(reference: CategoricalReference, values: np.ndarray) -> np.ndarray:
    """The window's share per reference category, then "other", then missing (sums to 1)."""
    import numpy as np

    index = {category: i for i, category in enumerate(reference.categories)}
    other, missing = len(index), len(index) + 1
    codes = np.fromiter(
        (missing if _is_missing(v) else index.get(v, other) for v in values),
        dtype=np.intp,
        count=len(values),
    )
    return np.bincount(codes, minlength=missing + 1).astype(np.float64) / len(values)


def _expected(reference: FeatureReference) -> np.ndarray:
    import numpy as np

    if isinstance(reference, NumericReference):
        return np.array([*reference.shares, reference.missing_share])
    return np.array([*reference.shares, reference.other_share, reference.missing_share])


def _chi2_quantile(df: int, significance: float) -> float:
    """The (1 − significance) quantile of χ² with ``df`` degrees of freedom (Wilson–Hilferty:
    within a few per cent for df >= 1 at the small significances used here)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1.0 - significance)
    h = 2.0 / (9.0 * df)
    return float(df * max(1.0 - h + z * math.sqrt(h), 0.0) ** 3)


def noise_bounds(
    expected: np.ndarray, numeric: bool, n_rows: int, reference_rows: int, significance: float
) -> tuple[float, float]:
    """(PSI, statistic) that two samples of one distribution exceed with probability
    ``significance``: ``n_rows`` served rows against ``reference_rows`` training rows.

    PSI ≈ χ²(k − 1) / n_eff and the JS divergence ≈ χ²(k − 1) / (8 ln 2 · n_eff), for the k
    buckets that hold training rows (``expected``: the reference shares); KS (``numeric``) uses
    the asymptotic two-sample bound √(−ln(α / 2) / (2 n_eff)); n_eff = nN / (n + N).
    """
    buckets = max(int((expected > 0).sum()), 2)
    reference_rows = max(reference_rows, 1)
    effective = n_rows * reference_rows / (n_rows + reference_rows)
    chi2 = _chi2_quantile(buckets - 1, significance)
    noise_psi = chi2 / effective
    if numeric:
        return noise_psi, math.sqrt(-math.log(significance / 2.0) / (2.0 * effective))
    return noise_psi, math.sqrt(chi2 / (8.0 * math.log(2.0) * effective))


def feature_drift(
    reference: FeatureReference,
    values: np.ndarray,
    thresholds: DriftThresholds,
    reference_rows: int,
) -> FeatureDrift:
    """One feature's PSI, KS or JS and status for the window's ``values``.

    Args:
        reference_rows: the rows the reference was computed on (for the noise bounds).
    """
    numeric = isinstance(reference, NumericReference)
    statistic: StatisticName = "ks" if numeric else "js"
    if len(values) < thresholds.min_rows:
        return FeatureDrift(
            name=reference.name,
            kind=reference.kind,
            status="insufficient-data",
            psi=None,
            statistic=statistic,
            statistic_value=None,
            missing_share=None,
            reference_missing_share=reference.missing_share,
        )
    expected = _expected(reference)
    if isinstance(reference, NumericReference):
        actual = numeric_shares(reference, values)
        value = ks_statistic(reference.quantiles, values)
        limit = thresholds.ks_alert
    else:
        actual = categorical_shares(reference, values)
        value = js_distance(expected, actual)
        limit = thresholds.js_alert
    index = psi(expected, actual)
    noise_psi = noise_statistic = None
    floor_psi = floor_statistic = 0.0
    if thresholds.significance is not None:
        noise_psi, noise_statistic = noise_bounds(
            expected, numeric, len(values), reference_rows, thresholds.significance
        )
        floor_psi, floor_statistic = noise_psi, noise_statistic
    status: DriftStatus = "ok"
    shifted = value is not None and value > max(limit, floor_statistic)
    if index > max(thresholds.psi_alert, floor_psi) or shifted:
        status = "alert"
    elif index > max(thresholds.psi_warn, floor_psi):
        status = "warn"
    return FeatureDrift(
        name=reference.name,
        kind=reference.kind,
        status=status,
        psi=index,
        statistic=statistic,
        statistic_value=value,
        missing_share=float(actual[-1]),
        reference_missing_share=reference.missing_share,
        noise_psi=noise_psi,
        noise_statistic=noise_statistic,
    )


# --- the monitor -----------------------------------------------------------------------------


def _ring(reference: FeatureReference, size: int) -> np.ndarray:
    import numpy as np

    if isinstance(reference, NumericReference):
        return np.full(size, np.nan, dtype=np.float64)
    return np.full(size, None, dtype=object)


class DriftMonitor:
    """A sliding window of the last ``thresholds.window`` served rows, compared on demand.

    :meth:`observe` copies a request's columns into ring buffers under a lock and computes
    nothing (a few microseconds per row); :meth:`report` takes a snapshot under the lock and
    computes the statistics outside it. Safe to call from any thread.

    Args:
        reference: the bundle's reference (:func:`load_reference`).
        thresholds: when a feature warns or alerts, the window size, the rows a verdict needs.
    """

    def __init__(self, reference: DriftReference, thresholds: DriftThresholds) -> None:
        self.reference = reference
        self.thresholds = thresholds
        size = thresholds.window
        self._features = [(f.name, _ring(f, size)) for f in reference.features]
        self._predictions = (
            None if reference.prediction is None else _ring(reference.prediction, size)
        )
        self._lock = threading.Lock()
        self._position = 0
        self._seen = 0
        self._prediction_position = 0
        self._predictions_seen = 0

    @staticmethod
    def _write(ring: np.ndarray, position: int, values: np.ndarray) -> None:
        """``values`` into ``ring`` from ``position`` on, wrapping; the caller advances."""
        size, n = len(ring), len(values)
        if n >= size:  # only the newest rows matter; order within the window does not
            ring[:] = values[n - size :]
        elif position + n <= size:
            ring[position : position + n] = values
        else:
            first = size - position
            ring[position:] = values[:first]
            ring[: n - first] = values[first:]

    def observe(self, columns: Mapping[str, np.ndarray], predictions: np.ndarray | None) -> None:
        """Add a request's rows to the window (on the request path: no statistics here).

        Args:
            columns: every reference feature's values for the request's rows (numbers and dates
                as float64 with NaN for missing, dates in epoch seconds; categories as object
                arrays of str or None), all of one length. The values are copied.
            predictions: the model's output for the same rows, of the column
                ``reference.prediction.name`` names (labels, values or anomaly scores); None to
                leave the predictions' window as it is.

        Raises:
            SchemaError: a reference feature is missing from ``columns`` or the lengths differ.
        """
        size = self.thresholds.window
        try:
            n = len(columns[self._features[0][0]]) if self._features else 0
            with self._lock:
                if n:
                    position = self._position
                    if n == 1:  # the common request: scalar stores, no slicing
                        for name, ring in self._features:
                            ring[position] = columns[name][0]
                    else:
                        for name, ring in self._features:
                            column = columns[name]
                            if len(column) != n:
                                raise ValueError(f"{name} has {len(column)} values, not {n}")
                            self._write(ring, position, column)
                    self._position = (position + n) % size
                    self._seen += n
                outputs = self._predictions
                if outputs is not None and predictions is not None and len(predictions):
                    self._write(outputs, self._prediction_position, predictions)
                    self._prediction_position = (
                        self._prediction_position + len(predictions)
                    ) % size
                    self._predictions_seen += len(predictions)
        except KeyError as exc:
            raise SchemaError(f"drift monitor: no values for feature {exc}") from exc
        except (ValueError, TypeError, IndexError) as exc:
            raise SchemaError(
                f"drift monitor: the request's columns do not line up: {exc}"
            ) from exc

    @property
    def rows_seen(self) -> int:
        """Rows observed since the monitor started."""
        return self._seen

    def report(self) -> DriftReport:
        """Compare the window with the reference: per feature and for the predictions."""
        size = self.thresholds.window
        with self._lock:
            filled = min(self._seen, size)
            snapshot = [(name, ring[:filled].copy()) for name, ring in self._features]
            seen = self._seen
            predicted: np.ndarray | None = None
            if self._predictions is not None:
                predicted = self._predictions[: min(self._predictions_seen, size)].copy()
        rows = self.reference.rows
        features = tuple(
            feature_drift(reference, values, self.thresholds, rows)
            for reference, (_, values) in zip(self.reference.features, snapshot, strict=True)
        )
        prediction = None
        if self.reference.prediction is not None and predicted is not None:
            prediction = feature_drift(
                self.reference.prediction,
                predicted,
                self.thresholds,
                self.reference.prediction_rows,
            )
        parts = [*features, *([prediction] if prediction is not None else [])]
        status: DriftStatus = "insufficient-data"
        if filled >= self.thresholds.min_rows:
            status = max((p.status for p in parts), key=SEVERITY.__getitem__, default="ok")
        return DriftReport(
            status=status,
            window=filled,
            window_size=size,
            rows_seen=seen,
            min_rows=self.thresholds.min_rows,
            features=features,
            prediction=prediction,
            features_in_alert=tuple(f.name for f in features if f.status == "alert"),
            reference_split=self.reference.split,
            reference_rows=self.reference.rows,
            computed_at=datetime.now(UTC).isoformat(),
        )
