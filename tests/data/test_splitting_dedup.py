"""trainwell's own split never manufactures leakage: identical rows land in one split.

The real table is OpenML 561 ("cpu", 209 computer models, 19 of them exact copies of another
row), which scikit-learn ships for its own fetch_openml tests: split at random as before, it
failed ``leakage.duplicate_rows`` at every seed tried (0, 1, 42).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from trainwell.config.loader import resolve_config
from trainwell.data.splitting import split_frame
from trainwell.errors import DataError
from trainwell.evaluation.checks import CheckResult

SIZES = {"valid_size": 0.15, "test_size": 0.15}
CPU_ARFF = "datasets/tests/data/openml/id_561/data-v1-dl-52739.arff.gz"


def split_of(splits: object) -> dict[object, str]:
    """Row index -> the split it landed in."""
    return {i: name for name in ("train", "valid", "test") for i in getattr(splits, name).index}


def raw_split(frame: pd.DataFrame, seed: int, stratify: str | None) -> dict[object, str]:
    """The split as trainwell made it before copies were kept together."""
    labels = frame[stratify] if stratify else None
    rest, test = train_test_split(frame, test_size=0.15, random_state=seed, stratify=labels)
    labels = rest[stratify] if stratify else None
    train, valid = train_test_split(rest, test_size=0.15 / 0.85, random_state=seed, stratify=labels)
    return {
        i: n for n, part in (("train", train), ("valid", valid), ("test", test)) for i in part.index
    }


def with_copies(n: int = 400, copies: int = 60) -> pd.DataFrame:
    """``n`` distinct rows, then ``copies`` rows repeating some of them (a fifth positive)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "y": (np.arange(n) % 5 == 0).astype(int)})
    repeated = frame.iloc[rng.integers(0, n, size=copies)]
    return pd.concat([frame, repeated], ignore_index=True)


def test_a_table_without_copies_splits_exactly_as_before() -> None:
    frame = pd.DataFrame({"x": np.arange(500.0), "y": np.arange(500) % 4})
    for stratify in (None, "y"):
        splits = split_frame(frame, seed=7, stratify_on=stratify, **SIZES)
        assert split_of(splits) == raw_split(frame, 7, stratify)
        assert splits.strategy == ("stratified" if stratify else "random")
        # the same row order too (the models see rows in this order)
        _, test = train_test_split(
            frame, test_size=0.15, random_state=7, stratify=frame[stratify] if stratify else None
        )
        assert splits.test.index.tolist() == test.index.tolist()


@pytest.mark.parametrize("stratify", [None, "y"])
def test_copies_land_in_one_split_and_other_rows_keep_theirs(stratify: str | None) -> None:
    frame = with_copies()
    splits = split_frame(frame, seed=3, stratify_on=stratify, **SIZES)
    assert splits.strategy == ("stratified" if stratify else "random") + "+dedup-groups"
    landed = split_of(splits)
    assert sorted(landed) == list(frame.index)
    for _, rows in frame.groupby(["x", "y"]).groups.items():
        assert len({landed[i] for i in rows}) == 1, f"copies {list(rows)} split apart"
    # rows without a copy are where the plain split put them
    single = frame.index[~frame.duplicated(keep=False)]
    before = raw_split(frame, 3, stratify)
    assert all(landed[i] == before[i] for i in single)
    if stratify:  # class shares stay close: a fifth positive in every split
        for part in (splits.train, splits.valid, splits.test):
            assert abs(part["y"].mean() - frame["y"].mean()) < 0.05


def test_ignored_columns_do_not_tell_copies_apart() -> None:
    frame = with_copies().reset_index(names="row_id")  # an id makes every row distinct
    plain = split_frame(frame, seed=3, **SIZES)
    assert plain.strategy == "random"
    grouped = split_frame(frame, seed=3, ignore_columns=("row_id",), **SIZES)
    assert grouped.strategy == "random+dedup-groups"
    landed = split_of(grouped)
    for _, rows in frame.groupby(["x", "y"]).groups.items():
        assert len({landed[i] for i in rows}) == 1


def test_copies_of_too_few_rows_are_a_data_error() -> None:
    frame = pd.DataFrame({"x": [1.0] * 30 + [2.0] * 30, "y": [0] * 30 + [1] * 30})
    with pytest.raises(DataError, match=r"^cannot split 60 rows that are copies of 2 distinct"):
        split_frame(frame, seed=0, **SIZES)


# --- a real table with natural copies, end to end through the checklist ----------------------


@pytest.fixture
def cpu_csv(tmp_path: Path) -> Path:
    import sklearn
    from scipy.io import arff

    source = Path(sklearn.__file__).parent / CPU_ARFF
    if not source.is_file():
        pytest.skip("this scikit-learn install ships no OpenML test data")
    with gzip.open(source, "rt") as handle:
        data, _ = arff.loadarff(handle)
    frame = pd.DataFrame(data)
    frame["vendor"] = frame["vendor"].str.decode("utf-8")
    assert frame.shape == (209, 8) and int(frame.duplicated().sum()) == 19
    path = tmp_path / "cpu.csv"
    frame.to_csv(path, index=False)
    return path


def checked(data: dict[str, object], seed: int = 42) -> tuple[str, CheckResult]:
    """(the split strategy, the duplicate check) of `trainwell check` on ``data``."""
    from trainwell.training import pipeline

    config = resolve_config(
        {
            "data": {**data, "target": "class"},
            "model": {"architecture": "sklearn-hgb"},
            "training": {"seed": seed},
            "tracking": {"enabled": False},
        },
        environ={},
    )
    setup = pipeline.set_up_run(config)
    report = pipeline.run_checklist(setup, tracker=None)
    return setup.prepared.splits.strategy, report.by_id("leakage.duplicate_rows")


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_trainwells_own_split_of_a_real_table_passes_the_duplicate_check(
    cpu_csv: Path, seed: int
) -> None:
    strategy, check = checked({"path": str(cpu_csv)}, seed)
    assert strategy == "random+dedup-groups"  # a regression target: not stratified
    assert check.status == "pass", check.message


def test_user_given_splits_with_copies_still_fail_the_duplicate_check(cpu_csv: Path) -> None:
    # distinct rows, then 20 validation rows copied into the training file: copies that the
    # data's own repeat rate (none) cannot explain
    frame = pd.read_csv(cpu_csv).drop_duplicates().sample(frac=1.0, random_state=0)
    train, valid = frame.iloc[:140], frame.iloc[140:]
    pd.concat([train, valid.iloc[:20]]).to_csv("train.csv", index=False)
    valid.to_csv("valid.csv", index=False)
    strategy, check = checked({"train_path": "train.csv", "valid_path": "valid.csv"})
    assert strategy == "files+random"  # the test split trainwell carved: no copies inside
    assert check.status == "fail", check.message
    assert "also appear in training" in check.message


def test_a_repeated_index_label_leaves_copies_as_split_with_a_warning() -> None:
    from structlog.testing import capture_logs

    frame = with_copies()
    frame.index = [0] * 2 + list(range(2, len(frame)))  # label 0 twice
    with capture_logs() as logs:
        splits = split_frame(frame, seed=3, **SIZES)
    assert splits.strategy == "random"
    assert any(log["event"] == "copies_not_grouped" for log in logs)
