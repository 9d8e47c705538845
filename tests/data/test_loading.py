"""Loading tables from CSV/TSV/Parquet files and bundled datasets, and fingerprinting them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from trainwell.data.loading import (
    BUNDLED_DATASETS,
    _sklearn_loaders,
    fingerprint_frame,
    is_bundled,
    load_table,
    source_size_bytes,
)
from trainwell.errors import DataError


def sample() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [34, 51, 27],
            "income": [52000.5, 61000.25, 38000.0],
            "city": ["Lyon", "Oslo", "Lima"],
            "label": [1, 0, 1],
        }
    )


@pytest.mark.parametrize("name", ["x.csv", "x.txt", "X.CSV"])
def test_csv_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    sample().to_csv(path, index=False)
    pd.testing.assert_frame_equal(load_table(str(path)), sample())


def test_tsv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    sample().to_csv(path, index=False, sep="\t")
    pd.testing.assert_frame_equal(load_table(str(path)), sample())


@pytest.mark.parametrize("name", ["x.parquet", "x.pq"])
def test_parquet_round_trip_keeps_dtypes(tmp_path: Path, name: str) -> None:
    frame = sample().assign(
        when=pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        flag=[True, False, True],
    )
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    loaded = load_table(str(path))
    pd.testing.assert_frame_equal(loaded, frame)
    assert str(loaded["when"].dtype).startswith("datetime64")
    assert loaded["flag"].dtype == bool


def test_column_names_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("1,2\n3,4\n", encoding="utf-8")
    assert list(load_table(str(path)).columns) == ["1", "2"]


@pytest.mark.parametrize(
    ("name", "shape", "n_classes"),
    [
        ("breast_cancer", (569, 31), 2),
        ("iris", (150, 5), 3),
        ("wine", (178, 14), 3),
        ("diabetes", (442, 11), None),
        ("digits", (1797, 65), 10),
    ],
)
def test_bundled_datasets(name: str, shape: tuple[int, int], n_classes: int | None) -> None:
    frame = load_table(f"sklearn:{name}")
    assert frame.shape == shape
    assert frame.columns[-1] == "target"
    assert all(isinstance(c, str) for c in frame.columns)
    if n_classes is not None:
        assert frame["target"].nunique() == n_classes


def test_bundled_names_agree_with_the_loaders() -> None:
    assert set(BUNDLED_DATASETS) == set(_sklearn_loaders())


def test_unknown_bundled_dataset_lists_the_available_ones() -> None:
    with pytest.raises(DataError) as exc:
        load_table("sklearn:titanic")
    assert str(exc.value) == (
        "unknown bundled dataset 'sklearn:titanic' (available: sklearn:breast_cancer, "
        "sklearn:iris, sklearn:wine, sklearn:diabetes, sklearn:digits)"
    )


def test_is_bundled() -> None:
    assert is_bundled("sklearn:iris")
    assert not is_bundled("data/sklearn.csv")


def test_missing_file() -> None:
    with pytest.raises(DataError) as exc:
        load_table("nowhere/x.csv")
    assert str(exc.value) == "data file not found: nowhere/x.csv"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_table(str(tmp_path))
    assert str(exc.value) == (
        f"data path is a directory, expected a CSV or Parquet file: {tmp_path}"
    )


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError) as exc:
        load_table(str(path))
    assert str(exc.value) == f"data file is empty: {path}"


def test_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,label\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_table(str(path))
    assert str(exc.value) == f"data file has no rows: {path}"


@pytest.mark.parametrize(("name", "shown"), [("x.xlsx", "'.xlsx'"), ("noext", "'(none)'")])
def test_unknown_suffix(tmp_path: Path, name: str, shown: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_table(str(path))
    assert str(exc.value) == (
        f"unsupported data file type {shown} for {path} "
        "(use .csv, .tsv, .parquet or sklearn:<name>)"
    )


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=rf"^cannot read data file {re.escape(str(path))}: \S"):
        load_table(str(path))


def test_csv_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,value\n\xff\xfe\xfa,1\n")
    with pytest.raises(DataError, match=rf"^cannot read data file {re.escape(str(path))}: "):
        load_table(str(path))


def test_source_size_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n1\n")
    assert source_size_bytes(str(path)) == 4
    assert source_size_bytes("sklearn:iris") is None
    assert source_size_bytes(str(tmp_path / "missing.csv")) is None


def test_fingerprint_equal_for_equal_content() -> None:
    a, b = sample(), sample()
    assert fingerprint_frame(a) == fingerprint_frame(b)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint_frame(a))


def test_fingerprint_ignores_the_index() -> None:
    assert fingerprint_frame(sample().set_axis([10, 20, 30])) == fingerprint_frame(sample())


def test_fingerprint_survives_a_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    sample().to_parquet(path, index=False)
    assert fingerprint_frame(load_table(str(path))) == fingerprint_frame(sample())


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(income=[52000.5, 61000.25, 38000.01]),
        lambda f: f.assign(city=["Lyon", "Oslo", "Lama"]),
        lambda f: f.rename(columns={"city": "town"}),
        lambda f: f.astype({"age": "float64"}),
        lambda f: f.iloc[::-1].reset_index(drop=True),
        lambda f: f.iloc[:2],
    ],
    ids=["one-float", "one-string", "rename", "dtype", "row-order", "fewer-rows"],
)
def test_fingerprint_changes_with_content(change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    changed = change(sample())
    assert fingerprint_frame(changed) != fingerprint_frame(sample())
