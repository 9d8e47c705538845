"""Train/valid/test splits: sizes, seeds, stratification, groups and time order."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from structlog.testing import capture_logs

from trainwell.data.splitting import split_frame
from trainwell.errors import DataError

N_ROWS = 1000


def labelled(n: int = N_ROWS, positive_share: float = 0.2) -> pd.DataFrame:
    n_pos = int(n * positive_share)
    return pd.DataFrame({"x": np.arange(n, dtype=float), "y": [1] * n_pos + [0] * (n - n_pos)})


def split(frame: pd.DataFrame, seed: int = 0, **kwargs: str) -> dict[str, list[int]]:
    splits = split_frame(frame, valid_size=0.15, test_size=0.15, seed=seed, **kwargs)
    return {
        "train": splits.train.index.tolist(),
        "valid": splits.valid.index.tolist(),
        "test": splits.test.index.tolist(),
    }


def test_sizes_and_disjoint_cover() -> None:
    splits = split_frame(labelled(), valid_size=0.15, test_size=0.15, seed=0)
    assert splits.sizes() == {"train": 700, "valid": 150, "test": 150}
    assert splits.strategy == "random"
    indices = [set(s.index) for s in (splits.train, splits.valid, splits.test)]
    assert set.union(*indices) == set(range(N_ROWS))
    assert sum(len(i) for i in indices) == N_ROWS


def test_same_seed_same_rows_different_seed_different_rows() -> None:
    assert split(labelled(), seed=7) == split(labelled(), seed=7)
    assert split(labelled(), seed=7)["test"] != split(labelled(), seed=8)["test"]


def test_stratification_keeps_the_class_share() -> None:
    splits = split_frame(labelled(), valid_size=0.15, test_size=0.15, seed=3, stratify_on="y")
    assert splits.strategy == "stratified"
    # 20% positives everywhere: exactly 140 / 30 / 30 of 700 / 150 / 150
    assert [int(s["y"].sum()) for s in (splits.train, splits.valid, splits.test)] == [140, 30, 30]


def test_stratification_skipped_when_a_class_is_too_rare() -> None:
    frame = labelled(100, positive_share=0.0)
    frame.loc[0, "y"] = 1  # one positive row cannot be in two splits
    with capture_logs() as logs:
        splits = split_frame(frame, valid_size=0.15, test_size=0.15, seed=0, stratify_on="y")
    assert splits.strategy == "random"
    assert {"event": "stratify_skipped", "log_level": "warning"}.items() <= logs[0].items()


def test_group_split_never_shares_a_group() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=600), "patient": rng.integers(0, 60, size=600)})
    splits = split_frame(frame, valid_size=0.15, test_size=0.15, seed=1, group_column="patient")
    assert splits.strategy == "group"
    groups = [set(s["patient"]) for s in (splits.train, splits.valid, splits.test)]
    assert groups[0].isdisjoint(groups[1])
    assert groups[0].isdisjoint(groups[2])
    assert groups[1].isdisjoint(groups[2])
    assert set.union(*groups) == set(frame["patient"])
    assert sum(splits.sizes().values()) == 600


def test_group_split_needs_two_groups() -> None:
    frame = pd.DataFrame({"x": range(10), "g": ["a"] * 10})
    with pytest.raises(DataError) as exc:
        split_frame(frame, valid_size=0.15, test_size=0.15, seed=0, group_column="g")
    assert str(exc.value) == "group column 'g' has fewer than 2 distinct values"


@pytest.mark.parametrize(
    "times",
    [
        np.arange,
        lambda n: pd.date_range("2024-01-01", periods=n, freq="h"),
        lambda n: pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
    ],
    ids=["numeric", "datetime", "date-strings"],
)
def test_time_split_puts_the_newest_rows_last(times: Callable[[int], object]) -> None:
    n = 100
    ordered = pd.DataFrame({"x": np.arange(n), "t": times(n)})
    shuffled = ordered.sample(frac=1.0, random_state=0)
    splits = split_frame(shuffled, valid_size=0.15, test_size=0.15, seed=0, time_column="t")
    assert splits.strategy == "time"
    assert splits.sizes() == {"train": 70, "valid": 15, "test": 15}
    # x is the rank in time: train holds the oldest 70, valid the next 15, test the newest 15
    assert sorted(splits.train["x"]) == list(range(70))
    assert sorted(splits.valid["x"]) == list(range(70, 85))
    assert sorted(splits.test["x"]) == list(range(85, 100))


@pytest.mark.filterwarnings("ignore:Could not infer format:UserWarning")
def test_time_column_that_is_not_a_date() -> None:
    frame = pd.DataFrame({"x": range(10), "t": ["soon"] * 10})
    with pytest.raises(DataError) as exc:
        split_frame(frame, valid_size=0.15, test_size=0.15, seed=0, time_column="t")
    assert str(exc.value) == "time column 't' is neither numeric nor parseable as dates"


@pytest.mark.parametrize("kwargs", [{"group_column": "g"}, {"time_column": "g"}])
def test_missing_split_column(kwargs: dict[str, str]) -> None:
    with pytest.raises(DataError) as exc:
        split_frame(pd.DataFrame({"x": [1, 2]}), valid_size=0.15, test_size=0.15, seed=0, **kwargs)
    assert str(exc.value) == "split column 'g' not found in the data"


def test_too_few_rows_for_a_time_split() -> None:
    frame = pd.DataFrame({"x": [1, 2], "t": [1, 2]})
    with pytest.raises(DataError) as exc:
        split_frame(frame, valid_size=0.15, test_size=0.15, seed=0, time_column="t")
    assert str(exc.value) == "the train split is empty: the data has too few rows (2)"


def test_too_few_rows_for_a_random_split_is_a_data_error() -> None:
    with pytest.raises(DataError, match="too few rows"):
        split_frame(pd.DataFrame({"x": [1, 2]}), valid_size=0.15, test_size=0.15, seed=0)
