"""Train/validation/test splits with a fixed seed: stratified, group-aware or time-aware."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainwell.errors import DataError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import pandas as pd

logger = get_logger(__name__)

# Stratification needs every class at least this often in the part being split.
MIN_ROWS_PER_CLASS_TO_STRATIFY = 2
MIN_SPLIT_ROWS = 1
MIN_GROUPS = 2


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


def split_off(
    frame: pd.DataFrame,
    size: float,
    seed: int,
    stratify_on: str | None,
    group_column: str | None,
    time_column: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Hold out a ``size`` share of ``frame``: returns (rest, held_out, strategy)."""
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


def split_frame(
    frame: pd.DataFrame,
    *,
    valid_size: float,
    test_size: float,
    seed: int,
    stratify_on: str | None = None,
    group_column: str | None = None,
    time_column: str | None = None,
) -> Splits:
    """Split one table into train/valid/test.

    ``stratify_on`` (the target, for classification) keeps class shares equal across splits;
    ``group_column`` keeps each group in one split; ``time_column`` puts the newest rows in test
    and the next newest in validation.
    """
    rest, test, strategy = split_off(frame, test_size, seed, stratify_on, group_column, time_column)
    relative_valid = valid_size / (1.0 - test_size)
    train, valid, _ = split_off(rest, relative_valid, seed, stratify_on, group_column, time_column)
    splits = Splits(train=train, valid=valid, test=test, strategy=strategy)
    for name, size in splits.sizes().items():
        if size < MIN_SPLIT_ROWS:
            raise DataError(f"the {name} split is empty: the data has too few rows ({len(frame)})")
    logger.info("data_split", strategy=strategy, **splits.sizes())
    return splits
