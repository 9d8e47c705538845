"""Leakage between splits and the data sanity a senior engineer looks at anyway.

Everything here is vectorised over blocks of columns, so 1M rows or 20,000 columns take
seconds: one row hash per split (numpy over the numeric block, pandas' hashing for the rest)
shared by the duplicate checks, and the per-feature work (proxy scores, shift tests, constant
and identifier columns) done as numpy array operations over a block of columns at a time, on a
sample of rows where a sample is enough. Row indices in ``details`` are the source table's
index. The thresholds and the measurements behind them are in docs/checks.md;
``benchmarks/measure_check_quality.py`` measures precision and recall on real data with
planted faults, ``benchmarks/bench_checks.py`` the time on 1M rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from trainwell.evaluation.checks.result import CheckResult, Status, fired, passed, skipped

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from trainwell.config.schema import ChecksConfig

T = TypeVar("T")

MAX_EXAMPLES = 5
SPLITS = ("train", "valid", "test")
HELD_OUT = ("valid", "test")
# Rows x columns converted to one float64 block at a time (32 MB): bounds the memory of the
# vectorised per-column work on wide or long tables.
BLOCK_CELLS = 4_000_000
MIN_ROWS_FOR_PROXY = 20
# Per-feature leakage: the out-of-fold score of a lookup table on one feature (equal-frequency
# bins of a numeric feature, the levels of a categorical one). A copy of the target, monotone
# or thresholded, lands each class (or each stretch of values) in its own bins. Ten rows per
# bin leave each bin about seven rows from the other folds to estimate it from; a continuous
# copy still gets bins fine enough for R² 0.999 from 2,560 rows on (PROXY_MAX_BINS).
PROXY_FOLDS = 3
PROXY_ROWS_PER_BIN = 10
PROXY_MAX_BINS = 256  # a copy of a normal target scores R² 0.999, an exponential one 0.995
# At most this many cells (rows x features) are scored: 1,000 x 20,000 fits; wider tables get a
# random sample of features, and the result says so.
PROXY_MAX_CELLS = 20_000_000
PROXY_MIN_SAMPLE_ROWS = 1000  # rows kept before features are sampled on wide tables
# Exact low-order combinations (parts of a total): greedy least squares on up to this many
# numeric features, scored on a held-out third of the sample so that a fit that merely
# interpolates (few rows, many features) cannot reach the threshold.
COMBINATION_MAX_FEATURES = 5
COMBINATION_HOLDOUT_EVERY = 3
MIN_ROWS_FOR_COMBINATION = 30
# A to_csv index read back as a column: pandas names an empty first header "Unnamed: 0";
# reset_index() names it "index" (or "level_0" when "index" exists).
INDEX_COLUMN_NAMES = ("Unnamed: 0", "", "index", "level_0")
ID_NAME_HINTS = ("id", "uuid", "guid", "key", "index")
# Duplicated rows inside training are reported from this count on: over 2,280 random splits
# of 19 clean real datasets (docs/checks.md), no training split of a table without natural
# repeats repeats more than 1 row (iris' repeated flower, tips' repeated bill);
# ``checks.train_duplicate_share`` keeps a handful of repeats in a large table quiet.
TRAIN_DUPLICATE_MIN_ROWS = 2
# Tables of few discrete values repeat rows by nature (statsmodels' fair: 16% of rows, randhie:
# 55%); such repeats show in held-out data too (trainwell's splitter keeps copies together, so
# each split shows the table's own rate). Training duplicates, and held-out rows with a training
# row's features but another target, fire only above this multiple of the rate the data itself
# shows: over 2,280 clean random splits the ratio stays within 1.23 (training duplicates),
# 1.84 (held-out copies of training rows, time splits) and 1.19 (same features), docs/checks.md.
NATURAL_RATE_MULTIPLE = 2.0
# Categorical shift tests merge levels expected fewer than this many times in the held-out
# sample (the usual validity condition of the chi-square approximation).
SHIFT_MIN_EXPECTED = 5
SHIFT_MIN_TOTAL_VARIATION = 0.1  # a categorical shift smaller than this is not worth a warning


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
    # what several checks share (row hashes, the sample, column kinds), computed once
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def split(self, name: str) -> pd.DataFrame:
        """One split by name."""
        frame: pd.DataFrame = getattr(self, name)
        return frame


def _memoised(data: DataCheckInput, key: Any, compute: Callable[[], T]) -> T:
    if key not in data._memo:
        data._memo[key] = compute()
    value: T = data._memo[key]
    return value


# -- column kinds and blocks ---------------------------------------------------------------


def _kinds(data: DataCheckInput, split: str = "train") -> dict[str, str]:
    """Column -> "integer", "float" (other numbers) or "other" (bool, strings, dates ...).

    Decided once per distinct dtype, not per column: wide tables have 20,000 columns.
    """

    def compute() -> dict[str, str]:
        import pandas as pd

        dtypes = data.split(split).dtypes
        verdict: dict[Any, str] = {}
        for dtype in set(dtypes.tolist()):
            if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
                verdict[dtype] = "other"
            elif pd.api.types.is_integer_dtype(dtype):
                verdict[dtype] = "integer"
            else:
                verdict[dtype] = "float"
        return {str(c): verdict[d] for c, d in dtypes.items()}

    return _memoised(data, ("kinds", split), compute)


def _is_numeric(data: DataCheckInput, column: str, split: str = "train") -> bool:
    return _kinds(data, split)[column] != "other"


def _scored_columns(data: DataCheckInput) -> list[str]:
    """Feature columns the per-feature checks look at (the split columns are not features)."""
    return [c for c in data.feature_columns if c not in (data.group_column, data.time_column)]


def _numeric_columns(data: DataCheckInput, columns: list[str]) -> list[str]:
    """The columns of ``columns`` treated as numbers (numeric dtype, not declared categorical)."""
    categorical = set(data.categorical_columns)
    kinds = _kinds(data)
    return [c for c in columns if c not in categorical and kinds[c] != "other"]


def _column_blocks(columns: list[str], rows: int) -> Iterator[list[str]]:
    """``columns`` in chunks of at most BLOCK_CELLS cells."""
    width = max(1, BLOCK_CELLS // max(rows, 1))
    for start in range(0, len(columns), width):
        yield columns[start : start + width]


def _float_block(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(rows, columns) float64, missing values as NaN."""
    import numpy as np

    return np.asarray(frame[columns].to_numpy(dtype=np.float64, na_value=np.nan))


# -- row hashing -------------------------------------------------------------------------------

_GOLDEN = 0x9E3779B97F4A7C15
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB


def _splitmix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, element-wise on uint64 (wraps modulo 2**64 by design)."""
    import numpy as np

    x = values + np.uint64(_GOLDEN)
    x ^= x >> np.uint64(30)
    x *= np.uint64(_MIX_1)
    x ^= x >> np.uint64(27)
    x *= np.uint64(_MIX_2)
    x ^= x >> np.uint64(31)
    return x


def _salt(column: str) -> int:
    """A stable per-column constant, so equal values in different columns hash differently."""
    return zlib.crc32(column.encode("utf-8")) * 0x100000001B3


def _other_column_hash(data: DataCheckInput, split: str, column: str) -> np.ndarray:
    """pandas' value hash of a non-numeric column (strings, categories, dates), memoised."""

    def compute() -> np.ndarray:
        import numpy as np
        import pandas as pd

        hashed = pd.util.hash_pandas_object(data.split(split)[column], index=False)
        return np.asarray(hashed.to_numpy(dtype=np.uint64))

    return _memoised(data, ("column_hash", split, column), compute)


def _columns_hash(data: DataCheckInput, split: str, columns: tuple[str, ...]) -> np.ndarray:
    """One uint64 per row over ``columns``: equal rows hash equal in every split.

    Numbers are hashed as float64 (so an int column in one file equals a float one in another);
    -0.0 and every NaN are made one value first.
    """

    def compute() -> np.ndarray:
        import numpy as np

        frame = data.split(split)
        total = np.zeros(len(frame), dtype=np.uint64)
        kinds = _kinds(data, split)
        numeric = [c for c in columns if kinds[c] != "other"]
        for block in _column_blocks(numeric, len(frame)):
            values = _float_block(frame, block) + 0.0  # -0.0 + 0.0 is 0.0
            values[np.isnan(values)] = np.nan
            bits = values.view(np.uint64)
            bits ^= np.asarray([_salt(c) % 2**64 for c in block], dtype=np.uint64)
            total += _splitmix(bits).sum(axis=1, dtype=np.uint64)
        hashed_as_numbers = set(numeric)
        for column in columns:
            if column not in hashed_as_numbers:
                raw = _other_column_hash(data, split, column) ^ np.uint64(_salt(column) % 2**64)
                total += _splitmix(raw)
        return total

    return _memoised(data, ("rows_hash", split, columns), compute)


def _row_key(data: DataCheckInput, split: str, *, target: bool, group: bool = True) -> np.ndarray:
    """The row hash the duplicate checks compare: features, the target if asked, and the group.

    With a group column the group is part of the row: identical values in two different groups
    are two entities that happen to agree, not one record seen twice. Hashes add up, so each
    part is hashed once per split and combined as needed.
    """
    key = _columns_hash(data, split, data.feature_columns)
    if target and data.target is not None:
        key = key + _columns_hash(data, split, (data.target,))
    if group and data.group_column is not None and data.group_column not in data.feature_columns:
        key = key + _columns_hash(data, split, (data.group_column,))
    return key


def _sorted_key(data: DataCheckInput, name: str, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted hashes, their row positions) of a training key, memoised: a binary search then
    answers both "is this hash in training?" and "which training row first?"."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        order = np.argsort(key, kind="stable")
        return key[order], order

    return _memoised(data, ("sorted_key", name), compute)


def _matches(
    held: np.ndarray,
    reference: tuple[np.ndarray, np.ndarray],
    held_index: pd.Index,
    reference_index: pd.Index,
) -> tuple[int, list[tuple[Any, Any]], np.ndarray]:
    """How many of ``held``'s hashes occur in ``reference`` (a ``_sorted_key``), with
    (held, reference) index examples and the mask of matching held rows."""
    import numpy as np

    ordered, order = reference
    if not len(ordered):
        return 0, [], np.zeros(len(held), dtype=bool)
    position = np.minimum(np.searchsorted(ordered, held), len(ordered) - 1)
    mask = ordered[position] == held
    count = int(mask.sum())
    shown = np.flatnonzero(mask)[:MAX_EXAMPLES]
    examples = [
        (_plain(held_index[p]), _plain(reference_index[int(order[position[p]])])) for p in shown
    ]
    return count, examples, mask


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (JSON-friendly details)."""
    return value.item() if hasattr(value, "item") else value


# -- leakage between splits ------------------------------------------------------------------


def check_duplicate_rows(data: DataCheckInput) -> CheckResult:
    """Identical rows (features and target) in train and in validation/test.

    With a group column, rows are identical only within one group: a held-out row equal to a
    training row of another group is a different entity (reported, not fired). Tables of few
    discrete values repeat rows by nature: held-out copies no more frequent than
    NATURAL_RATE_MULTIPLE times training's own repeats are reported, not fired.
    """
    cid = "leakage.duplicate_rows"
    train = _sorted_key(data, "rows", _row_key(data, "train", target=True))
    found: dict[str, Any] = {}
    total = 0
    held_rows = 0
    for name in HELD_OUT:
        frame = data.split(name)
        count, examples, _ = _matches(
            _row_key(data, name, target=True), train, frame.index, data.train.index
        )
        held_rows += len(frame)
        total += count
        if count:
            found[name] = {"rows": count, "examples": examples}
    twins = _cross_group_twins(data) if data.group_column is not None else 0
    if not total:
        if twins:
            return passed(
                cid,
                f"no validation/test row is an exact copy of a training row of the same "
                f"{data.group_column!r}; {twins} equal a training row of another group "
                "(different entities, not leakage)",
                cross_group_twins=twins,
            )
        return passed(cid, "no validation/test row is an exact copy of a training row")
    share = total / max(held_rows, 1)
    natural = len(_train_duplicates(data)) / max(len(data.train), 1)
    where = ", ".join(
        f"{v['rows']} {k} row(s) (e.g. {k} {v['examples'][0][0]} = train {v['examples'][0][1]})"
        for k, v in found.items()
    )
    if share <= NATURAL_RATE_MULTIPLE * natural:
        return passed(
            cid,
            f"{where} also appear in training ({share:.1%} of held-out rows), as often as "
            f"training repeats its own rows ({natural:.1%}): repeated values are common in "
            "this data",
            share=share,
            training_share=natural,
            **found,
        )
    status: Status = "fail" if share > data.thresholds.duplicate_share_fail else "warn"
    return fired(
        cid,
        status,
        f"{where} also appear in training ({share:.1%} of held-out rows)",
        "deduplicate before splitting (drop_duplicates), or split by a group column",
        share=share,
        **found,
    )


def _cross_group_twins(data: DataCheckInput) -> int:
    """Held-out rows equal (features and target) to a training row of another group."""
    train = _sorted_key(data, "rows_any_group", _row_key(data, "train", target=True, group=False))
    return sum(
        _matches(
            _row_key(data, n, target=True, group=False),
            train,
            data.split(n).index,
            data.train.index,
        )[0]
        for n in HELD_OUT
    )


def check_same_features(data: DataCheckInput) -> CheckResult:
    """Held-out rows whose features equal a training row's but whose target differs."""
    cid = "leakage.same_features"
    if data.target is None:
        return skipped(cid, "no target")
    train_features = _sorted_key(data, "features", _row_key(data, "train", target=False))
    train_full = _sorted_key(data, "rows", _row_key(data, "train", target=True))
    found: dict[str, Any] = {}
    for name in HELD_OUT:
        frame = data.split(name)
        full = _row_key(data, name, target=True)
        differs = ~_matches(full, train_full, frame.index, data.train.index)[2]
        count, examples, _ = _matches(
            _row_key(data, name, target=False)[differs],
            train_features,
            frame.index[differs],
            data.train.index,
        )
        if count:
            found[name] = {"rows": count, "examples": examples}
    if not found:
        return passed(cid, "no held-out row repeats a training row's features with another target")
    total = sum(v["rows"] for v in found.values())
    held_share = total / max(sum(len(data.split(n)) for n in HELD_OUT), 1)
    natural = _train_conflict_share(data)
    if held_share <= NATURAL_RATE_MULTIPLE * natural:
        return passed(
            cid,
            f"{total} held-out row(s) ({held_share:.1%}) have the features of a training row but "
            f"a different target, no more often than training rows among themselves "
            f"({natural:.1%}): the features do not determine the target in this data",
            share=held_share,
            training_share=natural,
            **found,
        )
    return fired(
        cid,
        "warn",
        f"{total} held-out row(s) have the features of a training row but a "
        "different target (label noise, or a leak that the target column alone hides)",
        "check how these rows were collected; deduplicate on the feature columns before splitting",
        **found,
    )


def _train_conflict_share(data: DataCheckInput) -> float:
    """Share of training rows whose features equal another training row's, target differing."""
    import numpy as np

    features = _row_key(data, "train", target=False)
    full = _row_key(data, "train", target=True)
    if len(features) < 2:
        return 0.0
    order = np.lexsort((full, features))
    f, g = features[order], full[order]
    starts = np.flatnonzero(np.r_[True, f[1:] != f[:-1]])
    ends = np.r_[starts[1:], len(f)] - 1
    mixed = g[starts] != g[ends]  # sorted by target hash within a group: first != last
    return float((ends - starts + 1)[mixed].sum() / len(f))


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
    for name in HELD_OUT:
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


# -- the target from the features -------------------------------------------------------------


def _sample_positions(sizes: list[int], rows: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row positions to keep from each of several frames: ``rows`` in all, at random."""
    import numpy as np

    total = sum(sizes)
    chosen = np.sort(rng.choice(total, size=rows, replace=False)) if total > rows else None
    out, start = [], 0
    for size in sizes:
        if chosen is None:
            out.append(np.arange(size))
        else:
            inside = chosen[(chosen >= start) & (chosen < start + size)]
            out.append(inside - start)
        start += size
    return out


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    import numpy as np

    (positions,) = _sample_positions([len(frame)], rows, np.random.default_rng(seed))
    return frame.iloc[positions] if len(positions) < len(frame) else frame


def _training_sample(data: DataCheckInput) -> pd.DataFrame:
    """Training + validation rows (a random sample on large data), in random order.

    Scored out of fold, so a small validation split cannot make an honest feature look perfect
    by chance; shuffled, because a group or time split leaves the rows in file order.
    """

    def compute() -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(data.seed)
        width = max(len(_scored_columns(data)), 1)
        rows = min(
            data.thresholds.sample_rows, max(PROXY_MIN_SAMPLE_ROWS, PROXY_MAX_CELLS // width)
        )
        frames = [data.train, data.valid]
        positions = _sample_positions([len(f) for f in frames], rows, rng)
        sample = pd.concat([f.iloc[p] for f, p in zip(frames, positions, strict=True)])
        return sample.iloc[rng.permutation(len(sample))]

    return _memoised(data, "training_sample", compute)


def _target_vector(data: DataCheckInput, rows: pd.DataFrame) -> np.ndarray:
    """Class codes 0..C-1 (labels) or float values."""
    import numpy as np
    import pandas as pd

    assert data.target is not None
    if data.labels:
        codes, _ = pd.factorize(rows[data.target].astype(str), sort=True)
        return np.asarray(codes, dtype=np.int64)
    return np.asarray(rows[data.target].to_numpy(dtype=np.float64))


def _tie_runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted (columns, rows) values: where each value's run of ties starts and ends."""
    import numpy as np

    n = ordered.shape[1]
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    position = np.arange(n)[None, :]
    first = np.where(starts, position, 0)
    np.maximum.accumulate(first, axis=1, out=first)
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    last = np.where(ends, position, n - 1)
    last = np.minimum.accumulate(last[:, ::-1], axis=1)[:, ::-1]
    return first, last


def _equal_frequency_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    """(columns, rows) numbers -> bin per value: equal-frequency per column, ties together.

    Columns are the first axis so that each column's sort and gathers touch contiguous memory
    (a pandas float block's ``to_numpy().T`` is already laid out this way).
    """
    import numpy as np

    n = values.shape[1]
    order = np.argsort(values, axis=1)  # ties are resolved by runs, not by order
    ordered = np.take_along_axis(values, order, axis=1)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.where(starts, np.arange(n)[None, :], 0)
    np.maximum.accumulate(first, axis=1, out=first)  # the position where each tie run starts
    bins = np.empty_like(first)
    np.put_along_axis(bins, order, first * n_bins // n, axis=1)
    return bins


def _numeric_bins(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(rows, columns) equal-frequency bins; a missing value is one more (lowest) value."""
    import numpy as np

    values = _float_block(rows, columns).T
    low = np.where(np.isfinite(values), values, np.inf).min(axis=1)
    low = np.where(np.isfinite(low), low - 1.0, 0.0)
    values = np.where(np.isnan(values), low[:, None], values)
    n_bins = int(np.clip(len(rows) // PROXY_ROWS_PER_BIN, 2, PROXY_MAX_BINS))
    return _equal_frequency_bins(values, n_bins).T


def _level_codes(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Categorical (or other non-numeric) levels as codes; missing is its own level."""
    import numpy as np
    import pandas as pd

    codes, levels = pd.factorize(rows[column].astype(str))
    return np.where(codes < 0, len(levels), codes).astype(np.int64)


def _lookup_scores(
    bins: np.ndarray, y: np.ndarray, folds: np.ndarray, classification: bool
) -> np.ndarray:
    """Out-of-fold score of a per-bin lookup table, one per column of ``bins`` (rows, columns).

    Classification: each bin predicts its majority class among the other folds' rows (the
    overall majority when it has none), scored by balanced accuracy. Regression: the bin's mean
    among the other folds (their overall mean when empty), scored by R².
    """
    import numpy as np

    n, width = bins.shape
    levels = bins.max(axis=0) + 1
    offsets = np.concatenate([[0], np.cumsum(levels)[:-1]])
    cells = int(levels.sum())
    flat = bins + offsets[None, :]
    in_fold = folds[:, None]
    # the lookup table is (fold, cell) -> prediction for the fold's rows, learned from the others
    if classification:
        n_classes = int(y.max()) + 1
        index = ((in_fold * cells + flat) * n_classes + y[:, None]).ravel()
        counts = np.bincount(index, minlength=PROXY_FOLDS * cells * n_classes)
        counts = counts.reshape(PROXY_FOLDS, cells, n_classes)
        outside = counts.sum(axis=0)[None] - counts
        prior = np.bincount(y, minlength=n_classes) / n  # breaks ties toward the majority
        table = np.argmax(outside + 0.5 * prior, axis=2)  # (folds, cells)
        by_class = np.argsort(y, kind="stable")
        correct = table[in_fold[by_class], flat[by_class]] == y[by_class, None]
        per_class = np.bincount(y, minlength=n_classes)
        starts = np.concatenate([[0], np.cumsum(per_class)[:-1]])[per_class > 0]
        hits = np.add.reduceat(correct.astype(np.float64), starts, axis=0)  # (classes, columns)
        return np.asarray((hits / per_class[per_class > 0, None]).mean(axis=0))
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0.0:
        return np.zeros(width)
    index = (in_fold * cells + flat).ravel()
    weights = np.broadcast_to(y[:, None], bins.shape).ravel()
    size = PROXY_FOLDS * cells
    sums = np.bincount(index, weights=weights, minlength=size).reshape(PROXY_FOLDS, cells)
    counts = np.bincount(index, minlength=size).reshape(PROXY_FOLDS, cells).astype(np.float64)
    out_sum = sums.sum(axis=0)[None] - sums
    out_count = counts.sum(axis=0)[None] - counts
    fold_sum = np.bincount(folds, weights=y, minlength=PROXY_FOLDS)
    fold_count = np.bincount(folds, minlength=PROXY_FOLDS)
    fallback = (y.sum() - fold_sum) / np.maximum(n - fold_count, 1)
    table = np.where(out_count > 0, out_sum / np.maximum(out_count, 1.0), fallback[:, None])
    residual = y[:, None] - table[in_fold, flat]
    return np.asarray(1.0 - (residual**2).sum(axis=0) / total)


@dataclass(frozen=True)
class ProxyScores:
    """Each scored feature's out-of-fold score alone, best first."""

    scores: dict[str, float]
    metric: str
    scored: int  # features scored
    of: int  # features there are (more than ``scored`` on very wide tables: a random sample)
    # regression: the R² of the lookup predicting the target's ranks, so that a copy of a skewed
    # target (investment, counts), whose top bin holds most of the variance, still scores ~1
    rank_scores: dict[str, float] = field(default_factory=dict)


def proxy_scores(data: DataCheckInput) -> ProxyScores | None:
    """Every feature's single-feature score (None: no target or too few rows)."""

    def compute() -> ProxyScores | None:
        import numpy as np

        if data.target is None:
            return None
        rows = _training_sample(data)
        if len(rows) < MIN_ROWS_FOR_PROXY:
            return None
        columns = _scored_columns(data)
        available = len(columns)
        limit = max(1, PROXY_MAX_CELLS // len(rows))
        if len(columns) > limit:
            rng = np.random.default_rng(data.seed)
            columns = [columns[i] for i in np.sort(rng.choice(len(columns), limit, False))]
        y = _target_vector(data, rows)
        folds = np.arange(len(rows)) % PROXY_FOLDS  # the rows are in random order
        numeric = _numeric_columns(data, columns)
        as_numbers = set(numeric)
        others = [c for c in columns if c not in as_numbers]
        n_classes = int(y.max()) + 1 if data.labels else 1
        ranks = None if data.labels else np.argsort(np.argsort(y, kind="stable")).astype(float)
        scores: dict[str, float] = {}
        rank_scores: dict[str, float] = {}

        def score(bins: np.ndarray, names: list[str]) -> None:
            scores.update(zip(names, _lookup_scores(bins, y, folds, data.labels), strict=True))
            if ranks is not None:
                values = _lookup_scores(bins, ranks, folds, classification=False)
                rank_scores.update(zip(names, values, strict=True))

        for block in _column_blocks(numeric, len(rows) * n_classes):
            score(_numeric_bins(rows, block), block)
        for column in others:
            score(_level_codes(rows, column)[:, None], [column])
        scores = {c: float(v) for c, v in scores.items()}
        rank_scores = {c: float(v) for c, v in rank_scores.items()}
        place = {c: i for i, c in enumerate(columns)}
        ordered = dict(sorted(scores.items(), key=lambda kv: (-kv[1], place[kv[0]])))
        metric = "balanced accuracy" if data.labels else "R²"
        return ProxyScores(ordered, metric, len(columns), available, rank_scores)

    return _memoised(data, "proxy_scores", compute)


def check_target_proxy(data: DataCheckInput) -> CheckResult:
    """A single feature that predicts the target almost perfectly is a leak, not a signal.

    Fails at ``checks.target_proxy_score``; warns when the best feature is near-perfect
    (``checks.target_proxy_standout_score``) and stands far above the second best (it makes at
    most ``checks.target_proxy_standout_error_ratio`` of the runner-up's errors): a field
    recorded after the outcome that agrees with it in ~98% of rows, where an honest strong
    feature has honest strong neighbours.
    """
    cid = "leakage.target_proxy"
    if data.target is None:
        return skipped(cid, "no target")
    result = proxy_scores(data)
    if result is None:
        return skipped(cid, f"fewer than {MIN_ROWS_FOR_PROXY} rows")
    scores, metric = result.scores, result.metric
    threshold = data.thresholds.target_proxy_score
    sampled = (
        f" (a random {result.scored:,} of {result.of:,} features)"
        if result.scored < result.of
        else ""
    )
    leaks = {c: round(s, 4) for c, s in scores.items() if s >= threshold}
    ordering = {
        c: round(s, 4) for c, s in result.rank_scores.items() if s >= threshold and c not in leaks
    }
    if leaks or ordering:
        shown = ", ".join(f"{c} ({s})" for c, s in leaks.items())
        ranked_only = ", ".join(f"{c} ({s} on ranks)" for c, s in ordering.items())
        return fired(
            cid,
            "fail",
            f"feature(s) alone predict the target with {metric} ≥ {threshold}: "
            f"{', '.join(x for x in (shown, ranked_only) if x)}",
            "a feature computed from the target (or recorded after it) leaks; drop it with "
            "data.drop_columns, or downgrade the check if it is a genuine signal",
            scores={**leaks, **ordering},
        )
    ranked = list(scores.items())
    best, best_score = ranked[0] if ranked else (None, None)
    runner_up = ranked[1] if len(ranked) > 1 else None
    if (
        best is not None
        and best_score is not None
        and runner_up is not None
        and _stands_out(best_score, runner_up[1], data.thresholds)
    ):
        errors = (1.0 - best_score) / (1.0 - runner_up[1])
        return fired(
            cid,
            "warn",
            f"feature {best!r} alone predicts the target with {metric} {best_score:.3f} and "
            f"stands far above every other feature (next best {runner_up[0]!r} "
            f"{runner_up[1]:.3f}: {best!r} makes {errors:.0%} of its errors){sampled}",
            "a near-perfect feature that no other feature comes close to is usually recorded "
            "after the outcome; check when it is known, drop it with data.drop_columns if it "
            "is not available at prediction time",
            scores={best: round(best_score, 4), runner_up[0]: round(runner_up[1], 4)},
        )
    top = f"; best single feature {best!r} reaches {best_score:.3f}" if best else ""
    return passed(
        cid,
        f"no single feature predicts the target (threshold {metric} {threshold}){top}{sampled}",
        best_feature=best,
        best_score=best_score,
    )


def _stands_out(best: float, second: float, thresholds: ChecksConfig) -> bool:
    """Near-perfect and far ahead: at most ``target_proxy_standout_error_ratio`` of the
    runner-up's errors (1 - score: balanced error rate, or unexplained variance share)."""
    if best < thresholds.target_proxy_standout_score or second >= best:
        return False
    allowed = thresholds.target_proxy_standout_error_ratio * (1.0 - second)
    return (1.0 - best) <= allowed + 1e-12  # 1e-12: 1 - 0.95 is 0.05000000000000004


@dataclass(frozen=True)
class Combination:
    """The best greedy least-squares fit of the target on a few numeric features."""

    features: tuple[str, ...]
    r2: float  # on the held-out third of the sample
    coefficients: tuple[float, ...]  # on the raw scale, in ``features`` order
    intercept: float


def best_combination(data: DataCheckInput) -> Combination | None:
    """Greedy (orthogonal matching pursuit) least squares, up to COMBINATION_MAX_FEATURES.

    Numeric features only, standardised; features that alone reach the threshold are left to
    ``leakage.target_proxy``. Selected and fitted on two thirds of the training sample, scored
    on the other third. None: not a numeric target, or too few rows or features.
    """

    def compute() -> Combination | None:
        import numpy as np

        if data.target is None or data.labels:
            return None
        rows = _training_sample(data)
        columns = _numeric_columns(data, _scored_columns(data))
        if len(rows) < MIN_ROWS_FOR_COMBINATION or len(columns) < 2:
            return None
        y = _target_vector(data, rows)
        X = _float_block(rows, columns)
        finite = np.isfinite(X)
        mean = np.where(finite, X, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
        X = np.where(finite, X, mean[None, :])
        sd = X.std(axis=0)
        keep = sd > 0
        X, columns_kept = X[:, keep], [c for c, k in zip(columns, keep, strict=True) if k]
        if y.std() == 0 or len(columns_kept) < 2:
            return None
        Z = (X - X.mean(axis=0)) / X.std(axis=0)
        yz = (y - y.mean()) / y.std()
        threshold = data.thresholds.combination_r2
        alone = (Z.T @ yz / len(yz)) ** 2 >= threshold  # one-feature copies: target_proxy's
        held = np.arange(len(rows)) % COMBINATION_HOLDOUT_EVERY == 0
        fit_Z, fit_y, held_Z, held_y = Z[~held], yz[~held], Z[held], yz[held]
        held_total = float(((held_y - held_y.mean()) ** 2).sum())
        if held_total == 0.0:
            return None
        chosen: list[int] = []
        residual = fit_y.copy()
        best: tuple[float, list[int]] = (-np.inf, [])
        for _ in range(min(COMBINATION_MAX_FEATURES, len(columns_kept))):
            correlation = np.abs(fit_Z.T @ residual)
            correlation[alone] = -1.0
            correlation[chosen] = -1.0
            if correlation.max() < 0:
                break
            chosen.append(int(np.argmax(correlation)))
            design = np.column_stack([np.ones(len(fit_y)), fit_Z[:, chosen]])
            coef, *_ = np.linalg.lstsq(design, fit_y, rcond=None)
            residual = fit_y - design @ coef
            predicted = coef[0] + held_Z[:, chosen] @ coef[1:]
            r2 = 1.0 - float(((held_y - predicted) ** 2).sum()) / held_total
            if len(chosen) >= 2 and r2 > best[0]:
                best = (r2, list(chosen))
            if len(chosen) >= 2 and r2 >= threshold:
                break
        if not best[1]:
            return None
        raw = np.column_stack([np.ones(len(y)), X[:, best[1]]])
        raw_coef, *_ = np.linalg.lstsq(raw, y, rcond=None)
        return Combination(
            features=tuple(columns_kept[i] for i in best[1]),
            r2=best[0],
            coefficients=tuple(float(c) for c in raw_coef[1:]),
            intercept=float(raw_coef[0]),
        )

    return _memoised(data, "combination", compute)


def check_target_combination(data: DataCheckInput) -> CheckResult:
    """A few features that reconstruct a numeric target exactly (parts of a total)."""
    cid = "leakage.target_combination"
    if data.target is None:
        return skipped(cid, "no target")
    if data.labels:
        return skipped(cid, "the target is a set of labels (this check fits numeric targets)")
    combination = best_combination(data)
    if combination is None:
        return skipped(cid, f"fewer than {MIN_ROWS_FOR_COMBINATION} rows or 2 numeric features")
    threshold = data.thresholds.combination_r2
    names = ", ".join(repr(c) for c in combination.features)
    if combination.r2 < threshold:
        return passed(
            cid,
            f"no {COMBINATION_MAX_FEATURES} or fewer numeric features reconstruct the target "
            f"(best linear fit R² {combination.r2:.3f} held out, threshold {threshold})",
            features=list(combination.features),
            r2=round(combination.r2, 6),
        )
    formula = " + ".join(
        f"{c:.4g}·{name}"
        for c, name in zip(combination.coefficients, combination.features, strict=True)
    )
    return fired(
        cid,
        "fail",
        f"features {names} reconstruct the target exactly: {data.target} ≈ "
        f"{combination.intercept:.4g} + {formula} (R² {combination.r2:.4f} held out)",
        "these are parts of the target (e.g. the components of a total) or computed from it; "
        "drop them with data.drop_columns unless all are known at prediction time",
        features=list(combination.features),
        r2=round(combination.r2, 6),
        coefficients=[round(c, 6) for c in combination.coefficients],
    )


# -- sanity of the training data -------------------------------------------------------------


def _is_integral(series: pd.Series) -> bool:
    """Integers, or floats that all are whole numbers (an int column with a blank cell)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_integer_dtype(series):
        return True
    if not pd.api.types.is_float_dtype(series):
        return False
    values = series.dropna().to_numpy(dtype=np.float64)
    return bool(len(values) and np.all(values == np.round(values)))


def index_columns(data: DataCheckInput) -> dict[str, str]:
    """Feature columns that are a written-out row index: column -> how it was recognised.

    ``named``: a to_csv/reset_index name ("Unnamed: 0", "index", ...) with a distinct value per
    row; ``positions``: integers equal to each row's position in its file (0..n-1 or 1..n),
    under any name.
    """

    def compute() -> dict[str, str]:
        import numpy as np
        import pandas as pd

        frames = [data.split(n) for n in SPLITS if len(data.split(n))]
        rows = sum(len(f) for f in frames)
        found: dict[str, str] = {}
        if rows < MIN_ROWS_FOR_PROXY:
            return found
        for column in data.feature_columns:
            if column.strip() in INDEX_COLUMN_NAMES:
                values = pd.concat([f[column] for f in frames])
                if values.notna().all() and values.nunique() == rows:
                    found[column] = "named"
        kinds = _kinds(data)
        integral = [c for c in data.feature_columns if c not in found and kinds[c] == "integer"]
        if not all(pd.api.types.is_integer_dtype(f.index) for f in frames):
            return found  # the row labels are not positions in a file
        positional = set(integral)
        for frame in frames:
            index = frame.index.to_numpy(dtype=np.float64)[:, None]
            for block in _column_blocks([c for c in integral if c in positional], len(frame)):
                values = _float_block(frame, block)
                same = (values == index).all(axis=0) | (values == index + 1).all(axis=0)
                positional -= {c for c, s in zip(block, same, strict=True) if not s}
        found.update({c: "positions" for c in integral if c in positional})
        return found

    return _memoised(data, "index_columns", compute)


def check_index_column(data: DataCheckInput) -> CheckResult:
    """A row index written into the file (``df.to_csv(path)``'s default) read back as a feature.

    Row numbers carry the file's order (sorted by class, by date, by source) into the model and
    nothing else. Fails for an index-named column ("Unnamed: 0", "index") holding one integer
    per row, warns for a differently named column equal to the row numbers.
    """
    import pandas as pd

    cid = "sanity.index_column"
    found = index_columns(data)
    if not found:
        return passed(cid, "no column is a written-out row index")
    named = [c for c, how in found.items() if how == "named"]
    failing = [c for c in named if _is_integral(pd.concat([data.split(n)[c] for n in SPLITS]))]
    status: Status = "fail" if failing else "warn"
    shown = ", ".join(
        f"{c!r} ({'row numbers' if how == 'positions' or c in failing else 'one value per row'})"
        for c, how in found.items()
    )
    return fired(
        cid,
        status,
        f"column(s) {shown} look like a row index written into the file "
        "(DataFrame.to_csv writes the index as an unnamed first column by default)",
        "write the file with df.to_csv(path, index=False), or drop the column "
        f"(data.drop_columns=[{', '.join(repr(c) for c in found)}]); in pandas, read such a "
        "file with pd.read_csv(path, index_col=0)",
        columns=found,
    )


def check_constant_columns(data: DataCheckInput) -> CheckResult:
    """Columns with one value (or none) in training carry no information."""
    import numpy as np

    cid = "sanity.constant_columns"
    train = data.train
    columns = list(data.feature_columns)
    numeric = [c for c in columns if _is_numeric(data, c)]
    constant_numeric: set[str] = set()
    for block in _column_blocks(numeric, len(train)):
        values = _float_block(train, block)
        present = ~np.isnan(values)
        low = np.where(present, values, np.inf).min(axis=0, initial=np.inf)
        high = np.where(present, values, -np.inf).max(axis=0, initial=-np.inf)
        constant_numeric.update(c for c, lo, hi in zip(block, low, high, strict=True) if lo >= hi)
    as_numbers = set(numeric)
    constant = [
        c
        for c in columns
        if (c in constant_numeric if c in as_numbers else _constant_other(data, c))
    ]
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


def _constant_other(data: DataCheckInput, column: str) -> bool:
    series = data.train[column]
    valid = series.notna().to_numpy()
    hashes = _other_column_hash(data, "train", column)[valid]
    return bool(len(hashes) == 0 or (hashes == hashes[0]).all())


def id_like_columns(data: DataCheckInput) -> list[str]:
    """Identifier-like feature columns of the training split (a written-out index excluded).

    Unique per row (``checks.id_like_unique_share``) and not a float: strings, dates, and
    integers that are sequential (their span is about the row count) or named like an id.
    """

    def compute() -> list[str]:
        import numpy as np
        import pandas as pd

        train = data.train
        share = data.thresholds.id_like_unique_share
        index = index_columns(data)
        found: set[str] = set()
        candidates = [c for c in data.feature_columns if c not in index]
        kinds = _kinds(data)
        integers = [c for c in candidates if kinds[c] == "integer"]
        for block in _column_blocks(integers, len(train)):
            values = np.sort(_float_block(train, block), axis=0)
            valid = ~np.isnan(values)
            n_valid = valid.sum(axis=0)
            distinct = (valid[1:] & (values[1:] != values[:-1])).sum(axis=0) + (n_valid > 0)
            low = np.nanmin(np.where(valid, values, np.nan), axis=0, initial=np.inf)
            high = np.nanmax(np.where(valid, values, np.nan), axis=0, initial=-np.inf)
            for j, column in enumerate(block):
                n = int(n_valid[j])
                if n < MIN_ROWS_FOR_PROXY or distinct[j] / n < share:
                    continue
                span = int(high[j]) - int(low[j]) + 1
                named = any(hint in column.lower() for hint in ID_NAME_HINTS)
                if named or span <= int(np.ceil(n / share)):
                    found.add(column)
        for column in candidates:
            if kinds[column] != "other" or pd.api.types.is_bool_dtype(train[column]):
                continue  # floats are measurements, integers are handled above
            valid = train[column].notna().to_numpy()
            n = int(valid.sum())
            if n < MIN_ROWS_FOR_PROXY:
                continue
            distinct = len(pd.unique(_other_column_hash(data, "train", column)[valid]))
            if distinct / n >= share:
                found.add(column)
        return [c for c in data.feature_columns if c in found]

    return _memoised(data, "id_like_columns", compute)


def check_id_like_columns(data: DataCheckInput) -> CheckResult:
    """Identifier columns (unique per row) let models memorise rows instead of learning."""
    cid = "sanity.id_like_columns"
    found = id_like_columns(data)
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


def _train_duplicates(data: DataCheckInput) -> np.ndarray:
    """Positions of training rows that repeat an earlier training row (group included)."""
    import numpy as np

    ordered, order = _sorted_key(data, "rows", _row_key(data, "train", target=True))
    repeats = order[1:][ordered[1:] == ordered[:-1]]  # stable sort: all but the first of each
    return np.sort(repeats)


def _held_out_repeat_share(data: DataCheckInput) -> float:
    """Share of validation/test rows equal to a training row or to an earlier held-out row."""
    import numpy as np
    import pandas as pd

    train = _row_key(data, "train", target=True)
    held = np.concatenate([_row_key(data, n, target=True) for n in HELD_OUT])
    if not len(held):
        return 0.0
    seen = pd.Series(np.concatenate([train, held])).duplicated().to_numpy()[len(train) :]
    return float(seen.mean())


def check_train_duplicates(data: DataCheckInput) -> CheckResult:
    """Duplicated rows inside training over-weight some examples.

    Fires from TRAIN_DUPLICATE_MIN_ROWS rows and ``checks.train_duplicate_share`` of training,
    and only above NATURAL_RATE_MULTIPLE times the share of held-out rows that repeat a row
    (tables of few discrete values repeat rows by nature); with a group column, only repeats
    within one group count.
    """
    cid = "sanity.duplicate_rows_train"
    duplicated = _train_duplicates(data)
    count = len(duplicated)
    share = count / max(len(data.train), 1)
    if count < TRAIN_DUPLICATE_MIN_ROWS or share < data.thresholds.train_duplicate_share:
        return passed(cid, f"{count} duplicated training row(s) ({share:.1%})", rows=count)
    natural = _held_out_repeat_share(data)
    if share <= NATURAL_RATE_MULTIPLE * natural:
        return passed(
            cid,
            f"{count} duplicated training row(s) ({share:.1%}), as often as held-out rows repeat "
            f"a row ({natural:.1%}): repeated values are common in this data",
            rows=count,
            share=share,
            held_out_share=natural,
        )
    examples = [_plain(v) for v in data.train.index[duplicated[:MAX_EXAMPLES]]]
    return fired(
        cid,
        "warn",
        f"{count} training rows ({share:.1%}) are exact duplicates (e.g. rows {examples})",
        "deduplicate unless repeated rows are genuine repeated observations",
        rows=count,
        share=share,
    )


def check_unseen_values(data: DataCheckInput) -> CheckResult:
    """Categories or labels in validation/test that training never saw.

    Identifier-like columns are left to ``sanity.id_like_columns``: every held-out value of an
    identifier is new by construction.
    """
    cid = "sanity.unseen_values"
    identifiers = set(id_like_columns(data))
    columns = [c for c in data.categorical_columns if c not in identifiers]
    labels = data.target is not None and data.labels
    found: dict[str, dict[str, list[str]]] = {}
    for column in [*columns, *([data.target] if labels and data.target else [])]:
        seen = set(data.train[column].dropna().astype(str).unique())
        for name in HELD_OUT:
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


# -- distribution shift ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftTests:
    """Per numeric feature: rank-test z and KS statistic/p between train and test samples."""

    columns: list[str]
    z: np.ndarray  # Mann-Whitney z (tie-corrected; positive: test larger), group-adjusted
    effect_sd: np.ndarray  # the shift in training standard deviations implied by the ranks
    ks: np.ndarray
    ks_p: np.ndarray
    tests: int  # features tested (numeric and categorical), for the Bonferroni correction
    categorical: dict[str, tuple[float, float]]  # other features: (total variation, chi2 p)


def _rank_tests(
    a: np.ndarray, b: np.ndarray, effective: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Whitney z, implied shift in SDs, KS statistic and p per column of (rows, columns).

    Missing values sort last (as the largest value), so a change in how often a feature is
    missing reads as a shift too. ``effective`` are the sample sizes the variance uses (the
    number of groups with a group column: rows of one group are not independent).
    """
    import numpy as np
    from scipy.special import kolmogorov, ndtri

    n1, n2 = a.shape[0], b.shape[0]
    n = n1 + n2
    values = np.concatenate([a, b]).T  # (columns, rows): each column contiguous
    values = np.where(np.isnan(values), np.inf, values)
    order = np.argsort(values, axis=1)  # ties are resolved by runs, not by order
    first, last = _tie_runs(np.take_along_axis(values, order, axis=1))
    from_b = order >= n1
    ranks = (first + last) / 2.0 + 1.0  # average ranks of ties
    run = (last - first + 1).astype(np.float64)
    u_b = np.where(from_b, ranks, 0.0).sum(axis=1) - n2 * (n2 + 1) / 2.0
    ties = (run**2 - 1.0).sum(axis=1)  # sum over tie runs of t**3 - t
    variance = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (u_b - n1 * n2 / 2.0) / np.sqrt(variance), 0.0)
    e1, e2 = effective
    z = z * np.sqrt((1.0 / n1 + 1.0 / n2) / (1.0 / e1 + 1.0 / e2))
    superiority = np.clip(u_b / (n1 * n2), 1e-6, 1 - 1e-6)
    effect_sd = np.sqrt(2.0) * ndtri(superiority)  # exact for two normals, one shifted
    seen_b = np.cumsum(from_b, axis=1, dtype=np.float64)
    position = np.arange(1, n + 1, dtype=np.float64)[None, :]
    gap = np.abs((position - seen_b) / n1 - seen_b / n2)  # |ECDF_a - ECDF_b| after a row
    ks = np.where(last == np.arange(n)[None, :], gap, 0.0).max(axis=1)  # at ends of tie runs
    ks_p = kolmogorov(ks * np.sqrt(e1 * e2 / (e1 + e2)))
    return z, effect_sd, ks, np.asarray(ks_p)


def _copies_design_effect(data: DataCheckInput, split: str) -> float:
    """How many rows count as one independent row, given identical rows move together.

    trainwell's splitter keeps copies of a row in one split, so a set of m copies is one draw:
    the design effect of such clusters is sum(m²) / sum(m) (1 without copies; randhie's
    repeated rows make it about 9).
    """
    import numpy as np

    key = _row_key(data, split, target=True)
    if not len(key):
        return 1.0
    _, counts = np.unique(key, return_counts=True)
    return float((counts.astype(np.float64) ** 2).sum() / counts.sum())


def _effective_sizes(
    data: DataCheckInput, train: pd.DataFrame, test: pd.DataFrame
) -> tuple[float, float]:
    """Sample sizes for the shift tests: rows, fewer where rows are not independent draws
    (copies of one row; the groups of ``data.group_column``)."""
    sizes = []
    for split, sample in (("train", train), ("test", test)):
        effective = len(sample) / _copies_design_effect(data, split)
        if data.group_column is not None:
            effective = min(effective, float(sample[data.group_column].nunique()))
        sizes.append(float(max(1.0, effective)))
    return sizes[0], sizes[1]


def _shift_samples(data: DataCheckInput) -> tuple[pd.DataFrame, pd.DataFrame]:
    limit = data.thresholds.sample_rows
    return _sample(data.train, limit, data.seed), _sample(data.test, limit, data.seed)


def shift_tests(data: DataCheckInput) -> ShiftTests | None:
    """The numeric features' tests (None: no test rows)."""

    def compute() -> ShiftTests | None:
        import numpy as np

        train, test = _shift_samples(data)
        if not len(train) or not len(test):
            return None
        identifiers = set(id_like_columns(data))
        columns = [c for c in _scored_columns(data) if c not in identifiers]
        numeric = _numeric_columns(data, columns)
        effective = _effective_sizes(data, train, test)
        parts: list[tuple[np.ndarray, ...]] = []
        for block in _column_blocks(numeric, len(train) + len(test)):
            parts.append(
                _rank_tests(_float_block(train, block), _float_block(test, block), effective)
            )
        z, effect_sd, ks, ks_p = (
            np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in range(4)
        )
        as_numbers = set(numeric)
        categorical = {
            c: _categorical_shift(train[c].dropna(), test[c].dropna(), effective)
            for c in columns
            if c not in as_numbers
        }
        return ShiftTests(
            numeric, z, effect_sd, ks, ks_p, tests=max(1, len(columns)), categorical=categorical
        )

    return _memoised(data, "shift_tests", compute)


def _categorical_shift(
    train: pd.Series, test: pd.Series, effective: tuple[float, float]
) -> tuple[float, float]:
    """(total-variation distance, chi-square p) between two categorical samples.

    The chi-square test of homogeneity on the (split x level) table, levels expected fewer
    than SHIFT_MIN_EXPECTED times in test pooled into one; with a group column the statistic is
    scaled to the number of groups, as the rank test's z is.
    """
    import numpy as np
    from scipy.stats import chi2

    counts = (
        train.astype(str)
        .value_counts()
        .to_frame("a")
        .join(test.astype(str).value_counts().to_frame("b"), how="outer")
        .fillna(0.0)
    )
    a, b = counts["a"].to_numpy(), counts["b"].to_numpy()
    n_a, n_b = float(a.sum()), float(b.sum())
    if not n_a or not n_b:
        return 0.0, 1.0
    distance = float(np.abs(a / n_a - b / n_b).sum() / 2)
    pooled = (a + b) / (n_a + n_b)
    frequent = pooled * n_b >= SHIFT_MIN_EXPECTED
    a = np.append(a[frequent], a[~frequent].sum())
    b = np.append(b[frequent], b[~frequent].sum())
    pooled = np.append(pooled[frequent], pooled[~frequent].sum())
    keep = pooled > 0
    if keep.sum() < 2:
        return distance, 1.0
    a, b, pooled = a[keep], b[keep], pooled[keep]
    statistic = float(((a - n_a * pooled) ** 2 / (n_a * pooled)).sum())
    statistic += float(((b - n_b * pooled) ** 2 / (n_b * pooled)).sum())
    e_a, e_b = effective
    statistic *= min(1.0, (1.0 / n_a + 1.0 / n_b) / (1.0 / e_a + 1.0 / e_b))
    return distance, float(chi2.sf(statistic, len(pooled) - 1))


def check_distribution_shift(data: DataCheckInput) -> CheckResult:
    """A feature distributed differently in test than in training.

    Numeric features: a Mann-Whitney rank test (a shift of location) and a KS test (of shape);
    categorical ones: a chi-square test. A feature fires when its test is significant at
    ``checks.shift_alpha`` after a Bonferroni correction over the features tested and the
    shift is large enough to matter (``checks.shift_min_sd`` for location, KS statistic above
    ``checks.shift_statistic`` for shape, total variation SHIFT_MIN_TOTAL_VARIATION).
    """
    import numpy as np
    from scipy.special import ndtr

    cid = "sanity.distribution_shift"
    tests = shift_tests(data)
    if tests is None:
        return skipped(cid, "no test rows")
    alpha = data.thresholds.shift_alpha / (2 * tests.tests)  # two tests per numeric feature
    shifted: dict[str, float] = {}
    shown: list[str] = []
    p_location = 2.0 * ndtr(-np.abs(tests.z))
    for j, column in enumerate(tests.columns):
        effect = float(tests.effect_sd[j])
        if p_location[j] < alpha and abs(effect) >= data.thresholds.shift_min_sd:
            shifted[column] = round(effect, 4)
            shown.append(f"{column} ({effect:+.2f} SD)")
        elif tests.ks[j] > data.thresholds.shift_statistic and tests.ks_p[j] < alpha:
            shifted[column] = round(float(tests.ks[j]), 4)
            shown.append(f"{column} (KS {tests.ks[j]:.2f})")
    for column, (distance, p) in tests.categorical.items():
        if distance >= SHIFT_MIN_TOTAL_VARIATION and p < alpha:
            shifted[column] = round(distance, 4)
            shown.append(f"{column} (total variation {distance:.2f})")
    if not shifted:
        return passed(cid, "no feature shifts strongly between training and test")
    return fired(
        cid,
        "warn",
        f"{len(shifted)} feature(s) distributed differently in test than in training: "
        f"{', '.join(shown[:MAX_EXAMPLES])}",
        "expected for a time split; otherwise check how the splits were made",
        shifted=shifted,
    )


def calibration_statistics(data: DataCheckInput) -> dict[str, float]:
    """The statistics the thresholds are decided from, on one case (see docs/checks.md).

    ``benchmarks/measure_check_quality.py --calibrate`` gathers them over random splits of
    clean real datasets.
    """
    import numpy as np
    from scipy.special import ndtr

    out: dict[str, float] = {}
    train_key = _sorted_key(data, "rows", _row_key(data, "train", target=True))
    copies = sum(
        _matches(_row_key(data, n, target=True), train_key, data.split(n).index, data.train.index)[
            0
        ]
        for n in HELD_OUT
    )
    out["duplicates: held-out rows equal to a training row"] = float(copies)
    duplicated = len(_train_duplicates(data))
    share = duplicated / max(len(data.train), 1)
    out["duplicates: training rows repeated (count)"] = float(duplicated)
    out["duplicates: training rows repeated (share)"] = share
    natural = _held_out_repeat_share(data)
    if natural > 0:
        out["duplicates: training share / held-out repeat share"] = share / natural
    if share > 0:
        held_rows = max(sum(len(data.split(n)) for n in HELD_OUT), 1)
        out["duplicates: held-out copies share / training share"] = copies / held_rows / share
    if data.target is not None:
        conflicts = _train_conflict_share(data)
        held = sum(
            check_same_features(data).details.get(n, {}).get("rows", 0) for n in HELD_OUT
        ) / max(sum(len(data.split(n)) for n in HELD_OUT), 1)
        if conflicts > 0:
            out["same features: held-out share / training share"] = held / conflicts
    proxy = proxy_scores(data)
    if proxy is not None and len(proxy.scores) >= 2:
        best, second = list(proxy.scores.values())[:2]
        kind = "labels" if data.labels else "values"
        out[f"proxy ({kind}): best single-feature score"] = best
        if proxy.rank_scores:
            out["proxy (values): best single-feature R² on the target's ranks"] = max(
                proxy.rank_scores.values()
            )
        if best >= data.thresholds.target_proxy_standout_score:
            out[f"proxy ({kind}): error ratio best/second, best >= standout"] = (1.0 - best) / max(
                1.0 - second, 1e-12
            )
    combination = best_combination(data)
    if combination is not None:
        out["combination: held-out R² of the best fit (2-5 features)"] = combination.r2
    tests = shift_tests(data)
    if tests is not None:
        family = 2 * tests.tests
        p = {
            "rank test": 2.0 * ndtr(-np.abs(tests.z)),
            "KS": tests.ks_p,
            "chi-square": np.asarray([q for _, q in tests.categorical.values()]),
        }
        for name, values in p.items():
            if len(values):
                out[f"shift: Bonferroni-adjusted min p ({name})"] = min(1.0, family * values.min())
        every = np.concatenate(list(p.values()))
        out["shift: Bonferroni-adjusted min p (any test)"] = min(1.0, family * every.min())
        if len(tests.columns):
            out["shift: largest |shift| in SD (any feature)"] = float(np.abs(tests.effect_sd).max())
    return out


DATA_CHECKS = (
    check_duplicate_rows,
    check_same_features,
    check_group_overlap,
    check_time_order,
    check_target_proxy,
    check_target_combination,
    check_index_column,
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
