"""Profiling a table: column kinds, target kinds and the counts the advisor reads."""

from __future__ import annotations

import pandas as pd
import pytest

from trainwell.data.loading import load_table
from trainwell.data.profile import (
    MAX_CLASSES_FOR_INTEGER_TARGET,
    classify_columns,
    infer_target_kind,
    profile_frame,
)
from trainwell.errors import DataError

LONG_TEXT = [
    "the delivery arrived two days late and the box was damaged",
    "great product, works exactly as described in the listing",
    "customer asked for a refund because the colour did not match",
    "no issues at all, would happily order from this shop again",
]


def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": [1, 2, 3, 4],
            "price": [1.5, None, 3.25, 4.0],
            "flag": [True, False, True, True],
            "colour": ["red", "blue", None, "red"],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
            "review": LONG_TEXT,
            "label": ["yes", "no", "yes", "yes"],
        }
    )


def test_classify_columns_by_kind() -> None:
    numeric, categorical, datetime, text = classify_columns(mixed())
    assert numeric == ("count", "price")
    assert categorical == ("flag", "colour", "label")
    assert datetime == ("when",)
    assert text == ("review",)


def test_long_values_without_spaces_are_categories_not_text() -> None:
    hashes = pd.DataFrame({"sha": ["a" * 40, "b" * 40, "c" * 40]})
    assert classify_columns(hashes) == ((), ("sha",), (), ())


def test_short_phrases_are_categories_not_text() -> None:
    phrases = pd.DataFrame({"plan": ["free tier", "pro plan", "team plan"]})
    assert classify_columns(phrases) == ((), ("plan",), (), ())


def test_all_missing_object_column_is_categorical() -> None:
    empty = pd.DataFrame({"e": pd.Series([None, None], dtype=object)})
    assert classify_columns(empty) == ((), ("e",), (), ())


def test_profile_of_a_mixed_frame() -> None:
    frame = mixed()
    profile = profile_frame(frame, target="label")
    assert (profile.n_rows, profile.n_columns, profile.n_features) == (4, 7, 6)
    assert profile.numeric_columns == ("count", "price")
    assert profile.categorical_columns == ("flag", "colour")
    assert profile.datetime_columns == ("when",)
    assert profile.text_columns == ("review",)
    assert profile.missing == {"price": 1, "colour": 1}
    assert profile.target == "label"
    assert profile.target_kind == "binary"
    assert profile.n_classes == 2
    assert profile.class_counts == {"yes": 3, "no": 1}
    assert profile.inferred_task == "tabular-classification"
    assert profile.categorical_share == pytest.approx(2 / 6)
    assert profile.memory_bytes == int(frame.memory_usage(deep=True).sum())


def test_profile_without_target() -> None:
    profile = profile_frame(mixed(), target=None)
    assert profile.n_features == 7
    assert (profile.target_kind, profile.n_classes, profile.inferred_task) == (None, None, None)
    assert profile.class_counts == {}
    assert profile.categorical_share == pytest.approx(3 / 7)


def test_profile_of_a_target_only_frame_has_zero_categorical_share() -> None:
    profile = profile_frame(pd.DataFrame({"y": [0, 1]}), target="y")
    assert (profile.n_features, profile.categorical_share) == (0, 0.0)


def test_missing_target_lists_the_columns() -> None:
    with pytest.raises(DataError) as exc:
        profile_frame(pd.DataFrame({"a": [1], "b": [2]}), target="label")
    assert str(exc.value) == "target column 'label' not found (columns: a, b)"


@pytest.mark.parametrize(
    ("source", "kind", "n_classes", "task"),
    [
        ("sklearn:breast_cancer", "binary", 2, "tabular-classification"),
        ("sklearn:iris", "multiclass", 3, "tabular-classification"),
        ("sklearn:wine", "multiclass", 3, "tabular-classification"),
        ("sklearn:digits", "multiclass", 10, "tabular-classification"),
        ("sklearn:diabetes", "continuous", None, "tabular-regression"),
    ],
)
def test_target_kind_on_real_data(source: str, kind: str, n_classes: int | None, task: str) -> None:
    profile = profile_frame(load_table(source), target="target")
    assert profile.target_kind == kind
    assert profile.n_classes == n_classes
    assert profile.inferred_task == task
    assert profile.categorical_share == 0.0


def test_class_counts_on_real_data() -> None:
    profile = profile_frame(load_table("sklearn:breast_cancer"), target="target")
    assert profile.class_counts == {"1": 357, "0": 212}
    assert profile.n_features == 30
    assert profile.missing == {}


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([0, 1, 1, 0], "binary"),
        ([0.0, 1.0, None, 1.0], "binary"),
        ([True, False, True], "binary"),
        (["cat", "dog", "cat"], "binary"),
        (["cat", "dog", "bird"], "multiclass"),
        ([3, 1, 2, 2], "multiclass"),
        (list(range(MAX_CLASSES_FOR_INTEGER_TARGET)), "multiclass"),
        (list(range(MAX_CLASSES_FOR_INTEGER_TARGET + 1)), "continuous"),
        ([0.5, 1.0, 2.0], "continuous"),
        ([1.0, 2.0, float("inf")], "continuous"),
    ],
)
def test_infer_target_kind(values: list[object], kind: str) -> None:
    assert infer_target_kind(pd.Series(values)) == kind
