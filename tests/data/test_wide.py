"""Wide tables (issue 15): thousands of columns go through the data path in blocks of one kind,
with the results of the column-by-column code, and without pandas' fragmentation warning; library
warnings repeated per column are logged once with a count."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from structlog.testing import capture_logs

from trainwell.data.preprocessing import build_schema, epoch_seconds, prepare_frame
from trainwell.data.profile import TEXT_MIN_MEAN_LENGTH, classify_columns, profile_frame
from trainwell.data.schema import InputSchema, validate_frame
from trainwell.data.table import drift_columns
from trainwell.utils.logging import summarise_warnings

ROWS = 50
NUMERIC = 3_000
LONG_TEXT = "the parcel arrived late and the customer wrote a long complaint about it"


def wide_frame() -> pd.DataFrame:
    """50 rows: 3,000 float and int columns (pandas 3 reads a CSV as one block per column, as
    here), then categories, a boolean, dates, free text and the target."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(ROWS, NUMERIC))
    values[rng.random(values.shape) < 0.01] = np.nan
    columns: dict[str, object] = {f"g{i}": values[:, i] for i in range(NUMERIC)}
    columns["count"] = rng.integers(0, 9, ROWS)
    columns["colour"] = rng.choice(np.array(["red", "blue", None], dtype=object), ROWS)
    columns["code"] = pd.Series(rng.choice(np.array([1, "1", 2.5, "z"], dtype=object), ROWS))
    columns["flag"] = rng.integers(0, 2, ROWS).astype(bool)
    columns["when"] = pd.to_datetime(rng.integers(0, 10**9, ROWS), unit="s").astype("M8[us]")
    columns["note"] = [LONG_TEXT + str(i) for i in range(ROWS)]
    columns["y"] = rng.integers(0, 2, ROWS)
    return pd.DataFrame(columns)


# --- the column-by-column code these functions replaced, as the reference -------------------


def reference_kinds(frame: pd.DataFrame) -> tuple[tuple[str, ...], ...]:
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": [], "text": []}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            kinds["categorical"].append(name)
        elif pd.api.types.is_numeric_dtype(series):
            kinds["numeric"].append(name)
        elif pd.api.types.is_datetime64_any_dtype(series):
            kinds["datetime"].append(name)
        else:
            text = series.dropna().astype(str)
            is_text = (
                not text.empty
                and float(text.str.len().mean()) > TEXT_MIN_MEAN_LENGTH
                and bool(text.str.contains(" ").mean() > 0.5)
            )
            kinds["text" if is_text else "categorical"].append(name)
    return tuple(tuple(kinds[k]) for k in ("numeric", "categorical", "datetime", "text"))


def reference_categories(series: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in series.dropna().unique()))


def reference_prepared(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for column in schema.columns:
        series = frame[column.name]
        if column.kind == "numeric":
            out[column.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        elif column.kind == "datetime":
            out[column.name] = epoch_seconds(series)
        else:
            text = series.astype("string")
            out[column.name] = text.astype(object).where(text.notna(), "__missing__")
    return pd.DataFrame(out, index=frame.index)


def reference_validated(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for column in schema.columns:
        series = frame[column.name]
        if column.kind == "numeric":
            out[column.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        elif column.kind == "datetime":
            out[column.name] = pd.to_datetime(series)
        else:
            text = series.astype("string")
            out[column.name] = text.astype(object).where(text.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """``assert_frame_equal`` (exact), with the 3,000 float columns compared as one matrix."""
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.tolist() == expected.dtypes.tolist()
    floats = list(expected.columns[expected.dtypes == np.float64])
    np.testing.assert_array_equal(got[floats].to_numpy(), expected[floats].to_numpy())
    others = [name for name in expected.columns if name not in set(floats)]
    pd.testing.assert_frame_equal(got[others], expected[others], check_exact=True)
    for name in others:
        assert [type(v) for v in got[name]] == [type(v) for v in expected[name]], name


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return wide_frame()


@pytest.fixture(scope="module")
def schema(frame: pd.DataFrame) -> InputSchema:
    return build_schema(frame, target="y")


@pytest.fixture(scope="module")
def prepared(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    return reference_prepared(frame, schema)


def test_columns_are_classified_as_one_by_one(frame: pd.DataFrame) -> None:
    assert classify_columns(frame.drop(columns=["y"])) == reference_kinds(frame.drop(columns="y"))


def test_schema_equals_the_column_by_column_schema(
    frame: pd.DataFrame, schema: InputSchema
) -> None:
    features = frame.drop(columns=["y", "note"])
    assert schema.feature_names == list(features.columns)
    assert schema.dropped_columns == ("note",)
    for column in schema.columns:
        assert column.dtype == str(features[column.name].dtype)
        if column.kind == "categorical":
            assert column.categories == reference_categories(features[column.name])
    kinds = {c.name: c.kind for c in schema.columns}
    assert (kinds["g0"], kinds["count"], kinds["flag"], kinds["when"]) == (
        "numeric",
        "numeric",
        "categorical",
        "datetime",
    )


def test_prepare_and_validate_equal_the_column_by_column_results(
    frame: pd.DataFrame, schema: InputSchema, prepared: pd.DataFrame
) -> None:
    assert_same_frame(prepare_frame(frame, schema), prepared)
    validated = validate_frame(frame, schema)
    assert_same_frame(validated, reference_validated(frame, schema))
    assert_same_frame(prepare_frame(validated, schema), prepared)


def test_text_where_numbers_belong_is_coerced_like_before(
    frame: pd.DataFrame, schema: InputSchema, prepared: pd.DataFrame
) -> None:
    rows = frame.astype({"g1": object})
    rows.loc[3, "g1"] = "n/a"
    expected = prepared.copy()
    expected.loc[3, "g1"] = np.nan
    assert_same_frame(prepare_frame(rows, schema), expected)


def test_drift_columns_are_the_prepared_columns(
    frame: pd.DataFrame, schema: InputSchema, prepared: pd.DataFrame
) -> None:
    columns = drift_columns(frame, schema)
    validated = validate_frame(frame, schema)
    assert list(columns) == schema.feature_names
    for column in schema.columns:
        got = columns[column.name]
        if column.kind == "categorical":
            assert got.dtype == object
            assert got.tolist() == validated[column.name].tolist()
        else:
            assert got.dtype == np.float64 and got.flags.c_contiguous
            np.testing.assert_array_equal(got, prepared[column.name].to_numpy())


def test_profile_counts_every_kind(frame: pd.DataFrame) -> None:
    profile = profile_frame(frame, "y")
    assert len(profile.numeric_columns) == NUMERIC + 1
    assert profile.categorical_columns == ("colour", "code", "flag")
    assert profile.text_columns == ("note",)
    assert profile.missing == {name: int(n) for name, n in frame.isna().sum().items() if int(n) > 0}


def test_no_fragmentation_warning_on_a_wide_table(frame: pd.DataFrame) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema = build_schema(frame, target="y")
        prepare_frame(validate_frame(frame, schema), schema)
        drift_columns(frame, schema)
        profile_frame(frame, "y")
    performance = [w for w in caught if issubclass(w.category, pd.errors.PerformanceWarning)]
    assert performance == []


# --- library warnings: one event per kind, with its count ----------------------------------


def raise_per_column(count: int) -> None:
    for i in range(count):
        warnings.warn(f"column 'g{i}' has {i} distinct values", UserWarning, stacklevel=1)


def test_repeated_warnings_are_logged_once_with_their_count() -> None:
    with capture_logs() as logs, summarise_warnings("preprocessing") as summary:
        raise_per_column(300)
        for _ in range(2):
            warnings.warn("fragmented", pd.errors.PerformanceWarning, stacklevel=1)
    assert summary.total == 302
    assert [(log["category"], log["count"], log["variants"]) for log in logs] == [
        ("UserWarning", 300, 300),
        ("PerformanceWarning", 2, 1),
    ]
    first = logs[0]
    assert first["event"] == "library_warning"
    assert first["stage"] == "preprocessing"
    assert first["message"] == "column 'g0' has 0 distinct values"
    assert first["log_level"] == "warning"
    assert first["where"].endswith("test_wide.py:" + first["where"].rsplit(":", 1)[1])


def test_filters_still_apply_and_nothing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with capture_logs() as logs, summarise_warnings("profile"):
        warnings.filterwarnings("ignore", message="quiet")
        warnings.warn("quiet", UserWarning, stacklevel=1)
        warnings.warn("loud", UserWarning, stacklevel=1)
    assert [log["message"] for log in logs] == ["loud"]
    assert capsys.readouterr().err == ""
    with summarise_warnings("profile"), pytest.raises(UserWarning, match="fatal"):
        warnings.filterwarnings("error", message="fatal")
        warnings.warn("fatal", UserWarning, stacklevel=1)


def test_blocks_nest_and_log_even_when_the_stage_fails() -> None:
    with capture_logs() as logs, summarise_warnings("train"):
        warnings.warn("outer", UserWarning, stacklevel=1)
        with pytest.raises(KeyError), summarise_warnings("predict"):
            raise_per_column(3)
            raise KeyError("boom")
    assert [(log["stage"], log["count"]) for log in logs] == [("predict", 3), ("train", 1)]


def test_warnings_outside_the_main_thread_are_left_alone() -> None:
    seen: list[int] = []

    def work() -> None:
        with summarise_warnings("serve") as summary, warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            raise_per_column(2)
        seen.extend([summary.total, len(w)])

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [0, 2]
