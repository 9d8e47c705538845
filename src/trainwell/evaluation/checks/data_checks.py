"""Leakage between splits and the data sanity a senior engineer looks at anyway.

Everything here is vectorised (row hashing, not pairwise loops; per-feature checks on a sample)
so 1M rows take seconds. Row indices in ``details`` are the source table's index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainwell.evaluation.checks.result import CheckResult, Status, fired, passed, skipped

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from trainwell.config.schema import ChecksConfig

MAX_EXAMPLES = 5
# Per-feature leakage: a depth-3 tree on one feature is enough to capture a monotone or
# thresholded copy of the target, and cheap on a 50k-row sample.
PROXY_TREE_DEPTH = 3
PROXY_MIN_LEAF = 3
MIN_ROWS_FOR_PROXY = 20
PROXY_FOLDS = 3
# Duplicated rows inside training are reported from this share on (iris has one duplicate
# flower measurement in 150 rows; that is data, not a bug).
TRAIN_DUPLICATE_WARN_SHARE = 0.02
# Distribution shift must be both large and significant: a small test split drifts by chance.
SHIFT_P_VALUE = 1e-3
ID_NAME_HINTS = ("id", "uuid", "guid", "key", "index")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class DataCheckInput:
    """The raw splits (target included) and what the checks need to know about them."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    target: str | None
    labels: bool  # the target is a set of labels (the objective's ``labels``), not values
    feature_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    group_column: str | None
    time_column: str | None
    thresholds: ChecksConfig
    seed: int
    target_missing_rows: int = 0

    def split(self, name: str) -> pd.DataFrame:
        """One split by name."""
        frame: pd.DataFrame = getattr(self, name)
        return frame


def _row_hashes(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    import pandas as pd

    return pd.util.hash_pandas_object(frame[columns], index=False)


def _matches(held: pd.Series, reference: pd.Series) -> tuple[int, list[tuple[Any, Any]]]:
    """How many of ``held``'s hashes occur in ``reference``, with (held, reference) examples."""
    mask = held.isin(reference.to_numpy())
    count = int(mask.sum())
    first_index = reference.drop_duplicates()
    lookup = dict(zip(first_index.to_numpy().tolist(), first_index.index.tolist(), strict=True))
    examples = [(idx, lookup[h]) for idx, h in held[mask].head(MAX_EXAMPLES).items()]
    return count, examples


def check_duplicate_rows(data: DataCheckInput) -> CheckResult:
    """Identical rows (features and target) in train and in validation/test."""
    cid = "leakage.duplicate_rows"
    columns = [*data.feature_columns, *([data.target] if data.target else [])]
    train_hashes = _row_hashes(data.train, columns)
    found: dict[str, Any] = {}
    total = 0
    held_rows = 0
    for name in ("valid", "test"):
        count, examples = _matches(_row_hashes(data.split(name), columns), train_hashes)
        held_rows += len(data.split(name))
        total += count
        if count:
            found[name] = {"rows": count, "examples": examples}
    if not total:
        return passed(cid, "no validation/test row is an exact copy of a training row")
    share = total / max(held_rows, 1)
    status: Status = "fail" if share > data.thresholds.duplicate_share_fail else "warn"
    where = ", ".join(
        f"{v['rows']} {k} row(s) (e.g. {k} {v['examples'][0][0]} = train {v['examples'][0][1]})"
        for k, v in found.items()
    )
    return fired(
        cid,
        status,
        f"{where} also appear in training ({share:.1%} of held-out rows)",
        "deduplicate before splitting (drop_duplicates), or split by a group column",
        share=share,
        **found,
    )


def check_same_features(data: DataCheckInput) -> CheckResult:
    """Held-out rows whose features equal a training row's but whose target differs."""
    cid = "leakage.same_features"
    if data.target is None:
        return skipped(cid, "no target")
    features = list(data.feature_columns)
    full = [*features, data.target]
    train_features = _row_hashes(data.train, features)
    train_full = _row_hashes(data.train, full)
    found: dict[str, Any] = {}
    for name in ("valid", "test"):
        frame = data.split(name)
        held_features = _row_hashes(frame, features)
        differs = ~_row_hashes(frame, full).isin(train_full.to_numpy())
        count, examples = _matches(held_features[differs], train_features)
        if count:
            found[name] = {"rows": count, "examples": examples}
    if not found:
        return passed(cid, "no held-out row repeats a training row's features with another target")
    total = sum(v["rows"] for v in found.values())
    return fired(
        cid,
        "warn",
        f"{total} held-out row(s) have the features of a training row but a "
        "different target (label noise, or a leak that the target column alone hides)",
        "check how these rows were collected; deduplicate on the feature columns before splitting",
        **found,
    )


def check_group_overlap(data: DataCheckInput) -> CheckResult:
    """A group column's values must each live in exactly one split."""
    cid = "leakage.group_overlap"
    column = data.group_column
    if column is None:
        return skipped(cid, "no data.group_column")
    groups = {name: set(data.split(name)[column].dropna().unique().tolist()) for name in SPLITS}
    overlaps = {
        f"{a}&{b}": sorted(map(str, groups[a] & groups[b]))[:MAX_EXAMPLES]
        for a, b in (("train", "valid"), ("train", "test"), ("valid", "test"))
        if groups[a] & groups[b]
    }
    if not overlaps:
        return passed(cid, f"every {column!r} value is in exactly one split")
    shown = "; ".join(f"{k}: {', '.join(v)}" for k, v in overlaps.items())
    return fired(
        cid,
        "fail",
        f"group column {column!r} has values in more than one split ({shown})",
        "split with data.group_column so a group never spans splits",
        overlaps=overlaps,
    )


def _as_time(series: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, errors="coerce")


def check_time_order(data: DataCheckInput) -> CheckResult:
    """Validation/test rows must not precede the newest training row."""
    cid = "leakage.time_order"
    column = data.time_column
    if column is None:
        return skipped(cid, "no data.time_column")
    latest_train = _as_time(data.train[column]).max()
    found: dict[str, Any] = {}
    for name in ("valid", "test"):
        times = _as_time(data.split(name)[column])
        early = times[times < latest_train]
        if len(early):
            found[name] = {"rows": len(early), "examples": early.index[:MAX_EXAMPLES].tolist()}
    if not found:
        return passed(cid, f"validation/test rows all come at or after training ({column!r})")
    total = sum(v["rows"] for v in found.values())
    return fired(
        cid,
        "fail",
        f"{total} validation/test row(s) precede the newest training row "
        f"({latest_train}) in {column!r}: the model would see the future",
        "split by time (data.time_column) instead of at random",
        latest_train=str(latest_train),
        **found,
    )


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=rows, random_state=seed) if len(frame) > rows else frame


def _proxy_score(
    classification: bool, x: np.ndarray, y: np.ndarray, categorical: bool, seed: int
) -> float:
    """Out-of-fold score of a one-feature tree (a lookup table for categorical features)."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, r2_score
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    model: DecisionTreeClassifier | DecisionTreeRegressor
    if classification:
        model = DecisionTreeClassifier(
            max_depth=None if categorical else PROXY_TREE_DEPTH, random_state=seed
        )
    else:
        # a copy of a continuous target needs many leaves to reach R² 0.99; small leaves
        # out of fold keep an honest feature far below that
        model = DecisionTreeRegressor(min_samples_leaf=PROXY_MIN_LEAF, random_state=seed)
    min_class = int(np.unique(y, return_counts=True)[1].min()) if classification else 0
    splitter = (
        StratifiedKFold(PROXY_FOLDS, shuffle=True, random_state=seed)
        if classification and min_class >= PROXY_FOLDS
        else KFold(PROXY_FOLDS, shuffle=True, random_state=seed)
    )
    predicted = cross_val_predict(model, x.reshape(-1, 1), y, cv=splitter)
    if classification:
        return float(balanced_accuracy_score(y, predicted))
    return float(r2_score(y, predicted))


def _encoded_feature(frame: pd.DataFrame, column: str, categorical: bool) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if categorical:
        codes, _ = pd.factorize(frame[column].astype(str))
        return np.asarray(codes, dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    fill = float(np.nanmin(values)) - 1.0 if np.isfinite(values).any() else 0.0
    return np.asarray(np.nan_to_num(values, nan=fill), dtype=float)


def check_target_proxy(data: DataCheckInput) -> CheckResult:
    """A single feature that predicts the target almost perfectly is a leak, not a signal.

    Scored out of fold on training + validation rows (a sample of them on large data), so a
    small validation split cannot make an honest feature look perfect by chance.
    """
    cid = "leakage.target_proxy"
    if data.target is None:
        return skipped(cid, "no target")
    import pandas as pd

    rows = _sample(pd.concat([data.train, data.valid]), data.thresholds.sample_rows, data.seed)
    if len(rows) < MIN_ROWS_FOR_PROXY:
        return skipped(cid, f"fewer than {MIN_ROWS_FOR_PROXY} rows")
    classification = data.labels
    y = (
        rows[data.target].astype(str).to_numpy()
        if classification
        else rows[data.target].to_numpy(dtype=float)
    )
    scores = {
        column: _proxy_score(
            classification,
            _encoded_feature(rows, column, column in data.categorical_columns),
            y,
            column in data.categorical_columns,
            data.seed,
        )
        for column in data.feature_columns
        if column not in (data.group_column, data.time_column)
    }
    threshold = data.thresholds.target_proxy_score
    leaks = {c: round(s, 4) for c, s in scores.items() if s >= threshold}
    metric = "balanced accuracy" if classification else "R²"
    best = max(scores, key=lambda c: scores[c]) if scores else None
    if not leaks:
        top = f"; best single feature {best!r} reaches {scores[best]:.3f}" if best else ""
        return passed(
            cid,
            f"no single feature predicts the target (threshold {metric} {threshold}){top}",
            best_feature=best,
            best_score=scores.get(best) if best else None,
        )
    shown = ", ".join(f"{c} ({s})" for c, s in leaks.items())
    return fired(
        cid,
        "fail",
        f"feature(s) alone predict the target with {metric} ≥ {threshold}: {shown}",
        "a feature computed from the target (or recorded after it) leaks; drop it with "
        "data.drop_columns, or downgrade the check if it is a genuine signal",
        scores=leaks,
    )


def check_constant_columns(data: DataCheckInput) -> CheckResult:
    """Columns with one value (or none) in training carry no information."""
    cid = "sanity.constant_columns"
    constant = [c for c in data.feature_columns if data.train[c].nunique(dropna=True) <= 1]
    if not constant:
        return passed(cid, "no constant feature columns")
    return fired(
        cid,
        "warn",
        f"{len(constant)} constant column(s) in training: "
        f"{', '.join(constant[:MAX_EXAMPLES])}{' …' if len(constant) > MAX_EXAMPLES else ''}",
        "drop them (data.drop_columns); they only cost memory",
        columns=constant,
    )


def _looks_like_id(series: pd.Series, name: str, unique_share: float) -> bool:
    import numpy as np
    import pandas as pd

    values = series.dropna()
    if len(values) < MIN_ROWS_FOR_PROXY or values.nunique() / len(values) < unique_share:
        return False
    if pd.api.types.is_float_dtype(values):
        return False  # measurements are often all distinct; identifiers are not floats
    if pd.api.types.is_integer_dtype(values):
        span = int(values.max()) - int(values.min()) + 1
        named = any(hint in name.lower() for hint in ID_NAME_HINTS)
        return named or span <= int(np.ceil(len(values) / unique_share))
    return True


def check_id_like_columns(data: DataCheckInput) -> CheckResult:
    """Identifier columns (unique per row) let models memorise rows instead of learning."""
    cid = "sanity.id_like_columns"
    share = data.thresholds.id_like_unique_share
    found = [c for c in data.feature_columns if _looks_like_id(data.train[c], c, share)]
    if not found:
        return passed(cid, "no identifier-like columns")
    return fired(
        cid,
        "warn",
        f"identifier-like column(s) (unique per row): {', '.join(found)}",
        "drop them (data.drop_columns), or use them as data.group_column",
        columns=found,
    )


def check_target_missing(data: DataCheckInput) -> CheckResult:
    """Rows without a target cannot be trained on; they were dropped."""
    cid = "sanity.target_missing"
    if data.target is None:
        return skipped(cid, "no target")
    if not data.target_missing_rows:
        return passed(cid, f"every row has a value in {data.target!r}")
    return fired(
        cid,
        "warn",
        f"{data.target_missing_rows} row(s) had no {data.target!r} and were dropped",
        "find out why the label is missing; if it is informative, model it explicitly",
        rows=data.target_missing_rows,
    )


def check_class_imbalance(data: DataCheckInput) -> CheckResult:
    """Severe imbalance makes accuracy meaningless."""
    cid = "sanity.class_imbalance"
    if data.target is None or not data.labels:
        return skipped(cid, "not a classification task")
    counts = data.train[data.target].value_counts()
    ratio = float(counts.max() / max(counts.min(), 1))
    shares = {str(k): round(v / counts.sum(), 4) for k, v in counts.items()}
    if ratio < data.thresholds.imbalance_ratio:
        return passed(cid, f"largest/smallest class ratio {ratio:.1f}", shares=shares)
    return fired(
        cid,
        "warn",
        f"severe class imbalance: largest/smallest class ratio {ratio:.1f} "
        f"(smallest: {counts.idxmin()!r}, {int(counts.min())} rows)",
        "accuracy is misleading here: judge by balanced accuracy, macro F1 or PR-AUC "
        "(trainwell's primary metric is balanced accuracy); consider class weights",
        ratio=ratio,
        shares=shares,
    )


def check_train_duplicates(data: DataCheckInput) -> CheckResult:
    """Duplicated rows inside training over-weight some examples."""
    cid = "sanity.duplicate_rows_train"
    columns = [*data.feature_columns, *([data.target] if data.target else [])]
    duplicated = _row_hashes(data.train, columns).duplicated()
    count = int(duplicated.sum())
    share = count / max(len(data.train), 1)
    if share <= TRAIN_DUPLICATE_WARN_SHARE:
        return passed(cid, f"{count} duplicated training row(s) ({share:.1%})", rows=count)
    return fired(
        cid,
        "warn",
        f"{count} training rows ({share:.1%}) are exact duplicates "
        f"(e.g. rows {duplicated[duplicated].index[:MAX_EXAMPLES].tolist()})",
        "deduplicate unless repeated rows are genuine repeated observations",
        rows=count,
        share=share,
    )


def check_unseen_values(data: DataCheckInput) -> CheckResult:
    """Categories or labels in validation/test that training never saw."""
    cid = "sanity.unseen_values"
    columns = list(data.categorical_columns)
    labels = data.target is not None and data.labels
    found: dict[str, dict[str, list[str]]] = {}
    for column in [*columns, *([data.target] if labels and data.target else [])]:
        seen = set(data.train[column].dropna().astype(str).unique())
        for name in ("valid", "test"):
            new = set(data.split(name)[column].dropna().astype(str).unique()) - seen
            if new:
                found.setdefault(column, {})[name] = sorted(new)[:MAX_EXAMPLES]
    if not found:
        return passed(cid, "validation/test use only categories and labels seen in training")
    label_hit = labels and data.target in found
    shown = "; ".join(
        f"{c}: {sorted({v for vs in d.values() for v in vs})}" for c, d in found.items()
    )
    return fired(
        cid,
        "fail" if label_hit else "warn",
        f"values never seen in training: {shown}",
        "labels unseen in training cannot be predicted: stratify the split; unseen categories "
        "are encoded as unknown",
        columns=found,
    )


def _total_variation(a: pd.Series, b: pd.Series) -> float:
    pa = a.astype(str).value_counts(normalize=True)
    pb = b.astype(str).value_counts(normalize=True)
    joined = pa.to_frame("a").join(pb.to_frame("b"), how="outer").fillna(0.0)
    return float((joined["a"] - joined["b"]).abs().sum() / 2)


def check_distribution_shift(data: DataCheckInput) -> CheckResult:
    """A feature distributed very differently in test than in training."""
    cid = "sanity.distribution_shift"
    import pandas as pd
    from scipy.stats import ks_2samp

    limit = data.thresholds.sample_rows
    train = _sample(data.train, limit, data.seed)
    test = _sample(data.test, limit, data.seed)
    threshold = data.thresholds.shift_statistic
    shifted: dict[str, float] = {}
    for column in data.feature_columns:
        if column in (data.time_column, data.group_column):
            continue
        if column in data.categorical_columns:
            distance = _total_variation(train[column].dropna(), test[column].dropna())
            if distance > threshold:
                shifted[column] = round(distance, 4)
            continue
        a = pd.to_numeric(train[column], errors="coerce").dropna()
        b = pd.to_numeric(test[column], errors="coerce").dropna()
        if len(a) == 0 or len(b) == 0:
            continue
        result = ks_2samp(a.to_numpy(), b.to_numpy())
        if result.statistic > threshold and result.pvalue < SHIFT_P_VALUE:
            shifted[column] = round(float(result.statistic), 4)
    if not shifted:
        return passed(cid, "no feature shifts strongly between training and test")
    shown = ", ".join(f"{c} ({s})" for c, s in list(shifted.items())[:MAX_EXAMPLES])
    return fired(
        cid,
        "warn",
        f"{len(shifted)} feature(s) distributed differently in test than in training: {shown}",
        "expected for a time split; otherwise check how the splits were made",
        shifted=shifted,
    )


DATA_CHECKS = (
    check_duplicate_rows,
    check_same_features,
    check_group_overlap,
    check_time_order,
    check_target_proxy,
    check_constant_columns,
    check_id_like_columns,
    check_target_missing,
    check_class_imbalance,
    check_train_duplicates,
    check_unseen_values,
    check_distribution_shift,
)


def run_data_checks(data: DataCheckInput) -> list[CheckResult]:
    """Every data check, in table order."""
    return [check(data) for check in DATA_CHECKS]
