"""Train/validation/test splits with a fixed seed: stratified, group-aware or time-aware.

A random or stratified split that trainwell makes keeps identical rows together: when the table
holds copies of a row (the same hash over the columns ``leakage.duplicate_rows`` compares), each
set of copies lands in the split its first row drew, so trainwell's own split never puts a row
in training and its copy in validation or test (the check then keeps guarding the splits users
provide). Rows without a copy keep the exact split of a table without copies; the strategy
reads ``random+dedup-groups`` / ``stratified+dedup-groups``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainwell.errors import DataError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = get_logger(__name__)

# Stratification needs every class at least this often in the part being split.
MIN_ROWS_PER_CLASS_TO_STRATIFY = 2
MIN_SPLIT_ROWS = 1
MIN_GROUPS = 2
DEDUP_SUFFIX = "+dedup-groups"
RANDOM_STRATEGIES = frozenset({"random", "stratified"})


@dataclass(frozen=True)
class Splits:
    """The three splits; each keeps the row index of the source table."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    strategy: str

    def sizes(self) -> dict[str, int]:
        """Row count per split."""
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def _random_split(
    frame: pd.DataFrame, size: float, seed: int, stratify_on: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    from sklearn.model_selection import train_test_split

    labels = None
    strategy = "random"
    if stratify_on is not None:
        counts = frame[stratify_on].value_counts()
        if len(counts) > 1 and int(counts.min()) >= MIN_ROWS_PER_CLASS_TO_STRATIFY:
            labels = frame[stratify_on]
            strategy = "stratified"
        else:
            logger.warning("stratify_skipped", reason="a class has fewer than 2 rows")
    try:
        rest, held = train_test_split(frame, test_size=size, random_state=seed, stratify=labels)
    except ValueError as exc:
        raise DataError(f"too few rows to split ({len(frame)}): {exc}") from exc
    return rest, held, strategy


def _group_split(
    frame: pd.DataFrame, size: float, seed: int, group_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import GroupShuffleSplit

    groups = frame[group_column]
    if groups.nunique() < MIN_GROUPS:
        raise DataError(f"group column {group_column!r} has fewer than 2 distinct values")
    splitter = GroupShuffleSplit(n_splits=1, test_size=size, random_state=seed)
    try:
        rest_idx, held_idx = next(splitter.split(frame, groups=groups))
    except ValueError as exc:
        raise DataError(
            f"cannot split {groups.nunique()} groups of {group_column!r}: {exc}"
        ) from exc
    return frame.iloc[rest_idx], frame.iloc[held_idx]


def _time_split(
    frame: pd.DataFrame, size: float, time_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    times = frame[time_column]
    if not pd.api.types.is_datetime64_any_dtype(times) and not pd.api.types.is_numeric_dtype(times):
        try:
            times = pd.to_datetime(times)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"time column {time_column!r} is neither numeric nor parseable as dates"
            ) from exc
    # rows without a time cannot be placed after training: they count as oldest
    order = times.sort_values(kind="stable", na_position="first").index
    n_held = max(MIN_SPLIT_ROWS, round(len(frame) * size))
    return frame.loc[order[:-n_held]], frame.loc[order[-n_held:]]


def _copy_groups(frame: pd.DataFrame, ignore_columns: Sequence[str]) -> np.ndarray | None:
    """A group number per row, equal for identical rows (None when no row has a copy).

    Rows are compared by ``pd.util.hash_pandas_object`` over every column but
    ``ignore_columns``, the row hash ``leakage.duplicate_rows`` compares (over the features and
    the target).
    """
    import pandas as pd

    columns = [c for c in frame.columns if c not in set(ignore_columns)]
    if not columns or len(frame) < MIN_GROUPS:
        return None
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    groups, uniques = pd.factorize(hashes)
    if len(uniques) == len(frame):
        return None
    return groups


def _keep_copies_together(
    frame: pd.DataFrame, parts: list[pd.DataFrame], groups: np.ndarray
) -> list[pd.DataFrame]:
    """Move every copy into the part its group's first row (in ``frame``'s order) drew.

    ``parts`` split ``frame``'s rows. Rows that stay keep their part and order; moved rows go
    at the end of their new part.

    Raises:
        DataError: a part is left empty (the table is copies of a few distinct rows).
    """
    import numpy as np

    was = np.full(len(frame), -1)
    for number, part in enumerate(parts):
        was[frame.index.get_indexer(part.index)] = number
    _, first = np.unique(groups, return_index=True)  # position of each group's first row
    now = was[first][groups]
    moved = now != was
    kept = [part[~moved[frame.index.get_indexer(part.index)]] for part in parts]
    out = [_concat(part, frame[moved & (now == number)]) for number, part in enumerate(kept)]
    if any(part.empty for part in out):
        raise DataError(
            f"cannot split {len(frame)} rows that are copies of {int(groups.max()) + 1} "
            "distinct rows: keeping the copies together leaves a split empty (deduplicate, "
            "or give the splits as files: data.train_path/valid_path/test_path)"
        )
    logger.info(
        "duplicate_rows_grouped",
        groups_with_copies=int(np.sum(np.bincount(groups) > 1)),
        rows_moved=int(moved.sum()),
    )
    return out


def _concat(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return first if second.empty else pd.concat([first, second])


def _hold_out(
    frame: pd.DataFrame,
    size: float,
    seed: int,
    stratify_on: str | None,
    group_column: str | None,
    time_column: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(rest, held_out, strategy): a ``size`` share by group, time or at random."""
    for column in (group_column, time_column):
        if column is not None and column not in frame.columns:
            raise DataError(f"split column {column!r} not found in the data")
    if group_column is not None:
        rest, held = _group_split(frame, size, seed, group_column)
        return rest, held, "group"
    if time_column is not None:
        rest, held = _time_split(frame, size, time_column)
        return rest, held, "time"
    return _random_split(frame, size, seed, stratify_on)


def _copies_kept_together(
    frame: pd.DataFrame,
    parts: list[pd.DataFrame],
    strategy: str,
    ignore_columns: Sequence[str],
) -> tuple[list[pd.DataFrame], str]:
    """A random or stratified split with identical rows in one part (the module docstring)."""
    if strategy not in RANDOM_STRATEGIES:
        return parts, strategy
    if not frame.index.is_unique:  # rows are found by index label: a repeated one is ambiguous
        logger.warning("copies_not_grouped", reason="the table's row index repeats labels")
        return parts, strategy
    groups = _copy_groups(frame, ignore_columns)
    if groups is None:  # no copies: exactly the split of a table without any
        return parts, strategy
    return _keep_copies_together(frame, parts, groups), strategy + DEDUP_SUFFIX


def split_off(
    frame: pd.DataFrame,
    size: float,
    seed: int,
    stratify_on: str | None,
    group_column: str | None,
    time_column: str | None,
    ignore_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Hold out a ``size`` share of ``frame``: returns (rest, held_out, strategy).

    Args:
        ignore_columns: columns that do not make two rows different (dropped columns, text):
            a random or stratified split keeps rows equal on the other columns together.

    Raises:
        DataError: a split column is missing, too few rows or groups to split, or the copies
            of a few distinct rows leave one side empty.
    """
    rest, held, strategy = _hold_out(frame, size, seed, stratify_on, group_column, time_column)
    (rest, held), strategy = _copies_kept_together(frame, [rest, held], strategy, ignore_columns)
    return rest, held, strategy


def split_frame(
    frame: pd.DataFrame,
    *,
    valid_size: float,
    test_size: float,
    seed: int,
    stratify_on: str | None = None,
    group_column: str | None = None,
    time_column: str | None = None,
    ignore_columns: Sequence[str] = (),
) -> Splits:
    """Split one table into train/valid/test.

    ``stratify_on`` (the target, for classification) keeps class shares equal across splits;
    ``group_column`` keeps each group in one split; ``time_column`` puts the newest rows in test
    and the next newest in validation. A random or stratified split keeps identical rows (equal
    on every column but ``ignore_columns``) in one split (see the module docstring).
    """
    how = (stratify_on, group_column, time_column)
    rest, test, strategy = _hold_out(frame, test_size, seed, *how)
    relative_valid = valid_size / (1.0 - test_size)
    train, valid, _ = _hold_out(rest, relative_valid, seed, *how)
    # copies kept together once both cuts are made: a row without a copy is exactly where the
    # two cuts put it
    (train, valid, test), strategy = _copies_kept_together(
        frame, [train, valid, test], strategy, ignore_columns
    )
    splits = Splits(train=train, valid=valid, test=test, strategy=strategy)
    for name, size in splits.sizes().items():
        if size < MIN_SPLIT_ROWS:
            raise DataError(f"the {name} split is empty: the data has too few rows ({len(frame)})")
    logger.info("data_split", strategy=strategy, **splits.sizes())
    return splits
