"""The record codec: the request model, and the two ways a body becomes columns (the plain
path for well-formed bodies, the record model for everything else) agreeing exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.inference.serve.live import sample_records

from trainwell.data.schema import ColumnSchema, InputSchema
from trainwell.inference.serve.records import RecordCodec, RecordError, ValidatedBatch


def codec_of(bundle: Path, **options: Any) -> RecordCodec:
    schema = InputSchema.model_validate(json.loads((bundle / "schema.json").read_text()))
    return RecordCodec(schema, ranges={"magnesium": (70.0, 162.0)}, **options)


def slow(codec: RecordCodec, body: Any) -> ValidatedBatch:
    records, _, errors = codec.validate(body)
    assert errors == []
    return codec.columns(records)


def same(a: ValidatedBatch, b: ValidatedBatch) -> None:
    assert a.n_rows == b.n_rows and a.warnings == b.warnings and a.extras == b.extras
    np.testing.assert_array_equal(a.numeric, b.numeric)
    assert a.categorical.keys() == b.categorical.keys()
    for name in a.categorical:
        assert a.categorical[name].tolist() == b.categorical[name].tolist()


def test_the_plain_path_gives_what_the_record_model_gives(wine_bundle: Path) -> None:
    codec = codec_of(wine_bundle)
    records = sample_records(wine_bundle)
    records[0] = {**records[0], "magnesium": None, "band": "enormous", "ash": 900}
    for body in (records[0], records[1], records):
        fast = codec.plain_columns(body)
        assert fast is not None
        same(fast, slow(codec, body))
    warnings = codec.plain_columns(records[0]).warnings  # type: ignore[union-attr]
    assert any("magnesium" in w for w in warnings) is False  # null: not out of range
    assert any(w.startswith("band: categories never seen") for w in warnings)


@pytest.mark.parametrize(
    "change",
    [
        {"magnesium": "101"},  # a numeric string: the model coerces it
        {"magnesium": True},  # a boolean is not a number here
        {"band": 3},  # a number in a categorical column: coerced to "3"
        {"customer_id": "c-1"},  # an extra field: ignored with a warning
    ],
)
def test_other_bodies_go_through_the_record_model(
    wine_bundle: Path, change: dict[str, Any]
) -> None:
    codec = codec_of(wine_bundle)
    record = {**sample_records(wine_bundle, 1)[0], **change}
    assert codec.plain_columns(record) is None


def test_a_missing_field_is_left_to_the_record_model(wine_bundle: Path) -> None:
    codec = codec_of(wine_bundle)
    record = dict(sample_records(wine_bundle, 1)[0])
    del record["hue"]
    assert codec.plain_columns(record) is None
    _, _, errors = codec.validate(record)
    assert [(e.loc, e.msg) for e in errors] == [(("body", "hue"), "Field required")]


def test_numbers_past_float32_are_refused_on_both_paths(wine_bundle: Path) -> None:
    codec = codec_of(wine_bundle)
    record = {**sample_records(wine_bundle, 1)[0], "hue": 1e39}
    with pytest.raises(RecordError) as fast:
        codec.plain_columns([record, record])
    with pytest.raises(RecordError) as model:
        slow(codec, [record, record])
    assert fast.value.errors == model.value.errors
    assert fast.value.errors[1].loc == ("body", 1, "hue")


def test_strict_categories_use_the_record_model(wine_bundle: Path) -> None:
    codec = codec_of(wine_bundle, strict_categories=True)
    record = {**sample_records(wine_bundle, 1)[0], "band": "enormous"}
    assert codec.plain_columns(record) is None
    _, _, errors = codec.validate(record)
    assert errors[0].loc == ("body", "band") and errors[0].type == "literal_error"


def test_dates_use_the_record_model() -> None:
    schema = InputSchema(
        columns=(
            ColumnSchema(name="x", kind="numeric", dtype="float64"),
            ColumnSchema(name="day", kind="datetime", dtype="datetime64[us]"),
        ),
        target="y",
    )
    codec = RecordCodec(schema)
    assert codec.plain_columns({"x": 1.0, "day": "2024-03-01"}) is None
    batch = slow(codec, {"x": 1.0, "day": "2024-03-01"})
    assert batch.numeric.tolist() == [[1.0, 1709251200.0]]  # epoch seconds, UTC
    _, _, errors = codec.validate({"x": 1.0, "day": "not a date"})
    assert errors[0].loc == ("body", "day") and "is not a date" in errors[0].msg


def test_the_graph_input_matches_prepare_frame(wine_bundle: Path) -> None:
    """What the fast path feeds the graph is what training's prepare_frame produces."""
    import pandas as pd

    from trainwell.data.preprocessing import prepare_frame
    from trainwell.data.schema import validate_frame

    codec = codec_of(wine_bundle)
    records = sample_records(wine_bundle)
    records[3] = {**records[3], "band": None, "magnesium": None}
    feeds = codec.graph_input(slow(codec, records)).arrays
    frame = pd.DataFrame(records)
    expected = prepare_frame(validate_frame(frame, codec.schema), codec.schema)
    for column in codec.schema.columns:
        got = feeds[column.name][:, 0]
        if column.kind == "categorical":
            assert got.tolist() == expected[column.name].tolist()
        else:
            np.testing.assert_allclose(got, expected[column.name].to_numpy(np.float32))
