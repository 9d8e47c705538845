"""Preprocessing: the schema of the training split, and transformers fitted on it alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainwell.data.preprocessing import (
    UNKNOWN_CATEGORY_CODE,
    build_preprocessor,
    build_schema,
    prepare_frame,
    transform,
)
from trainwell.data.schema import ColumnSchema, InputSchema
from trainwell.errors import DataError

LONG_TEXT = "the parcel arrived late and the customer wrote a long complaint about it"
EPOCH_2020 = 1_577_836_800  # 2020-01-01T00:00:00Z in seconds


def train_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "size": [1.0, 2.0, 3.0, 4.0, np.nan, 6.0],
            "colour": ["red", "blue", "red", None, "blue", "red"],
            "id": ["a", "b", "c", "d", "e", "f"],
            "note": [LONG_TEXT + str(i) for i in range(6)],
            "label": [0, 1, 0, 1, 0, 1],
        }
    )


def test_build_schema_describes_the_features() -> None:
    schema = build_schema(train_frame(), target="label", drop_columns=("id",))
    assert schema.feature_names == ["size", "colour"]
    size, colour = schema.columns
    assert (size.kind, size.dtype, size.categories) == ("numeric", "float64", ())
    assert (colour.kind, colour.categories) == ("categorical", ("blue", "red"))
    assert schema.target == "label"
    # dropped by the user first, then text columns (not features yet)
    assert schema.dropped_columns == ("id", "note")


def test_build_schema_datetime_and_bool_columns() -> None:
    frame = pd.DataFrame(
        {"when": pd.to_datetime(["2024-01-01", "2024-06-01"]), "flag": [True, False]}
    )
    schema = build_schema(frame, target=None)
    assert [(c.name, c.kind) for c in schema.columns] == [
        ("when", "datetime"),
        ("flag", "categorical"),
    ]
    assert schema.columns[1].categories == ("False", "True")


def test_unknown_drop_column() -> None:
    with pytest.raises(DataError) as exc:
        build_schema(train_frame(), target="label", drop_columns=("nope", "id"))
    assert str(exc.value) == "column(s) to drop not found in the data: nope"


def test_all_empty_column_is_a_data_error() -> None:
    frame = train_frame().assign(blank=np.nan, also_blank=None)
    with pytest.raises(DataError) as exc:
        build_schema(frame, target="label")
    assert str(exc.value) == (
        "column(s) with no values at all in the training data: blank, also_blank "
        "(drop them with data.drop_columns)"
    )


def test_all_empty_column_can_be_dropped() -> None:
    frame = train_frame().assign(blank=np.nan)
    schema = build_schema(frame, target="label", drop_columns=("blank",))
    assert "blank" not in schema.feature_names


def test_no_usable_features() -> None:
    frame = pd.DataFrame({"note": [LONG_TEXT, LONG_TEXT + "!"], "label": [0, 1]})
    with pytest.raises(DataError) as exc:
        build_schema(frame, target="label")
    assert str(exc.value) == "no usable feature columns (only the target, text or dropped columns)"


def test_scaler_and_imputer_are_fitted_on_train_only() -> None:
    train = pd.DataFrame({"size": [1.0, 2.0, 3.0, np.nan], "colour": ["red"] * 4})
    full = pd.concat([train, pd.DataFrame({"size": [100.0, 200.0], "colour": ["red"] * 2})])
    schema = build_schema(train, target=None)
    preprocessor = build_preprocessor(schema, encoding="ordinal", scale=True)
    preprocessor.fit(prepare_frame(train, schema))

    numeric = preprocessor.named_transformers_["numeric"]
    assert numeric.named_steps["impute"].statistics_.tolist() == [2.0]  # train median
    scaler = numeric.named_steps["scale"]
    # imputed train column is [1, 2, 3, 2]: mean 2, not the full data's mean of 61.2
    assert scaler.mean_.tolist() == [2.0]
    assert full["size"].mean() == pytest.approx(61.2)
    assert scaler.scale_.tolist() == [pytest.approx(np.std([1.0, 2.0, 3.0, 2.0]))]

    matrix = transform(preprocessor, full, schema)
    assert matrix.dtype == np.float64
    expected = (np.array([1.0, 2.0, 3.0, 2.0, 100.0, 200.0]) - 2.0) / np.std([1, 2, 3, 2])
    np.testing.assert_allclose(matrix[:, 0], expected, rtol=1e-12)


def test_ordinal_encoding_with_unknown_and_missing_categories() -> None:
    schema = build_schema(train_frame(), target="label", drop_columns=("id",))
    preprocessor = build_preprocessor(schema, encoding="ordinal", scale=False)
    preprocessor.fit(prepare_frame(train_frame(), schema))
    new = pd.DataFrame({"size": [5.0, np.nan], "colour": ["green", None]})
    matrix = transform(preprocessor, new, schema)
    # missing size -> train median 3.0; categories sorted: __missing__=0, blue=1, red=2
    np.testing.assert_array_equal(matrix, [[5.0, UNKNOWN_CATEGORY_CODE], [3.0, 0.0]])


def test_onehot_encoding_with_unknown_categories() -> None:
    train = pd.DataFrame({"colour": ["red"] * 5 + ["blue"] * 5 + ["teal"]})
    schema = build_schema(train, target=None)
    preprocessor = build_preprocessor(schema, encoding="onehot", scale=False)
    preprocessor.fit(prepare_frame(train, schema))
    assert preprocessor.get_feature_names_out().tolist() == [
        "colour_blue",
        "colour_red",
        "colour_infrequent_sklearn",
    ]
    new = pd.DataFrame({"colour": ["red", "blue", "teal", "never-seen"]})
    matrix = transform(preprocessor, new, schema)
    # a category rarer than 5 rows and an unknown one both land in the infrequent column
    np.testing.assert_array_equal(matrix, [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]])


def test_onehot_unknown_category_without_infrequent_column_is_all_zeros() -> None:
    train = pd.DataFrame({"colour": ["red"] * 5 + ["blue"] * 5})
    schema = build_schema(train, target=None)
    preprocessor = build_preprocessor(schema, encoding="onehot", scale=False)
    preprocessor.fit(prepare_frame(train, schema))
    matrix = transform(preprocessor, pd.DataFrame({"colour": ["green"]}), schema)
    np.testing.assert_array_equal(matrix, [[0.0, 0.0]])


STAMPS = [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-02 00:00:30")]
DATE_SCHEMA = InputSchema(
    columns=(ColumnSchema(name="d", kind="datetime", dtype="datetime64[ns]"),), target=None
)


def test_datetime_becomes_epoch_seconds_nanosecond_input() -> None:
    stamps = pd.Series([*STAMPS, None]).astype("datetime64[ns]")
    out = prepare_frame(pd.DataFrame({"d": stamps}), DATE_SCHEMA)
    assert out["d"].dtype == "float64"
    assert out["d"].tolist()[:2] == [EPOCH_2020, EPOCH_2020 + 86_400 + 30]
    assert np.isnan(out["d"].iloc[2])


@pytest.mark.parametrize("unit", ["us", "s"])
def test_datetime_becomes_epoch_seconds_any_resolution(unit: str) -> None:
    stamps = pd.Series(STAMPS).astype(f"datetime64[{unit}]")
    out = prepare_frame(pd.DataFrame({"d": stamps}), DATE_SCHEMA)
    assert out["d"].tolist() == [EPOCH_2020, EPOCH_2020 + 86_400 + 30]


def test_date_strings_become_epoch_seconds() -> None:
    out = prepare_frame(pd.DataFrame({"d": ["2020-01-01"]}), DATE_SCHEMA)
    assert out["d"].tolist() == [EPOCH_2020]


def test_prepare_frame_outputs_numbers_and_strings() -> None:
    schema = build_schema(train_frame(), target="label", drop_columns=("id",))
    out = prepare_frame(train_frame(), schema)
    assert list(out.columns) == ["size", "colour"]
    assert out["size"].dtype == "float64"
    assert out["colour"].tolist() == ["red", "blue", "red", "__missing__", "blue", "red"]
