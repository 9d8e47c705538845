"""Validating new rows against the schema a bundle was trained on."""

from __future__ import annotations

import pandas as pd
import pytest
from structlog.testing import capture_logs

from trainwell.data.schema import ColumnSchema, InputSchema, validate_frame
from trainwell.errors import SchemaError

SCHEMA = InputSchema(
    columns=(
        ColumnSchema(name="age", kind="numeric", dtype="int64"),
        ColumnSchema(name="plan", kind="categorical", dtype="str", categories=("free", "pro")),
        ColumnSchema(name="joined", kind="datetime", dtype="datetime64[us]"),
    ),
    target="churn",
    classes=("no", "yes"),
)


def rows(**changes: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "joined": ["2024-01-01", "2024-02-01", "2024-03-01"],
        "plan": ["pro", "free", None],
        "age": ["34", 51, None],
    }
    return pd.DataFrame({**base, **changes})


def test_valid_rows_come_back_coerced_and_in_training_order() -> None:
    out = validate_frame(rows(), SCHEMA)
    assert list(out.columns) == ["age", "plan", "joined"] == SCHEMA.feature_names
    assert out["age"].dtype == "float64"
    assert out["age"].tolist()[:2] == [34.0, 51.0]
    assert pd.isna(out["age"].iloc[2])
    assert out["plan"].tolist() == ["pro", "free", None]
    assert out["joined"].tolist() == list(
        pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    )


def test_missing_column_is_an_error_naming_it() -> None:
    with pytest.raises(SchemaError) as exc:
        validate_frame(rows().drop(columns=["age", "plan"]), SCHEMA)
    assert str(exc.value) == "input is missing 2 column(s) the model needs: age, plan"


def test_extra_columns_are_dropped_with_a_warning() -> None:
    frame = rows().assign(churn=["no", "yes", "no"], note=["a", "b", "c"])
    with capture_logs() as logs:
        out = validate_frame(frame, SCHEMA)
    assert list(out.columns) == SCHEMA.feature_names
    assert logs == [
        {"event": "extra_columns_dropped", "columns": ["churn", "note"], "log_level": "warning"}
    ]


def test_input_frame_is_not_modified() -> None:
    frame = rows()
    validate_frame(frame, SCHEMA)
    pd.testing.assert_frame_equal(frame, rows())


def test_non_numeric_values_name_the_column_examples_and_rows() -> None:
    frame = rows(age=["34", "abc", "1,5"])
    with pytest.raises(SchemaError) as exc:
        validate_frame(frame, SCHEMA)
    assert str(exc.value) == "column 'age' must be numeric; got 'abc', '1,5' (rows 1, 2)"


def test_at_most_three_bad_examples_are_shown() -> None:
    frame = pd.DataFrame(
        {"age": ["a", "b", "c", "d", "e"], "plan": ["pro"] * 5, "joined": ["2024-01-01"] * 5}
    )
    with pytest.raises(SchemaError) as exc:
        validate_frame(frame, SCHEMA)
    assert str(exc.value) == "column 'age' must be numeric; got 'a', 'b', 'c' (rows 0, 1, 2)"


def test_unparseable_dates_are_an_error() -> None:
    with pytest.raises(SchemaError, match=r"^column 'joined' must hold dates: "):
        validate_frame(rows(joined=["2024-01-01", "yesterday", "2024-03-01"]), SCHEMA)


def test_unseen_category_warns_and_is_kept_for_the_encoder() -> None:
    with capture_logs() as logs:
        out = validate_frame(rows(plan=["pro", "enterprise", "team"]), SCHEMA)
    assert out["plan"].tolist() == ["pro", "enterprise", "team"]
    assert logs == [
        {
            "event": "unseen_categories",
            "column": "plan",
            "values": ["enterprise", "team"],
            "log_level": "warning",
        }
    ]


def test_unseen_category_is_an_error_when_strict() -> None:
    with pytest.raises(SchemaError) as exc:
        validate_frame(rows(plan=["pro", "enterprise", "team"]), SCHEMA, strict_categories=True)
    assert str(exc.value) == (
        "column 'plan' has categories never seen in training: 'enterprise', 'team'"
    )


def test_categories_compare_as_text() -> None:
    schema = InputSchema(
        columns=(
            ColumnSchema(name="code", kind="categorical", dtype="str", categories=("1", "2")),
        ),
        target=None,
    )
    with capture_logs() as logs:
        out = validate_frame(pd.DataFrame({"code": [1, 2, 2]}), schema, strict_categories=True)
    assert out["code"].tolist() == ["1", "2", "2"]
    assert logs == []


def test_feature_names() -> None:
    assert SCHEMA.feature_names == ["age", "plan", "joined"]
