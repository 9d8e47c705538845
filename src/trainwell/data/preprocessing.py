"""Preprocessing fitted on the training split only, saved with the model, reused at inference.

The path is the same for `train`, `predict` and `serve`::

    validate_frame(raw, schema)        # columns, types, categories (data/schema.py)
      -> prepare_frame(frame, schema)  # datetimes -> epoch seconds, categories -> str
      -> preprocessor.transform(...)   # fitted sklearn ColumnTransformer (saved with skops)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from trainwell.data.profile import classify_columns
from trainwell.data.schema import ColumnSchema, InputSchema
from trainwell.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer

Encoding = Literal["ordinal", "onehot"]
# One-hot encoding groups categories rarer than this into one "infrequent" column.
ONEHOT_MIN_FREQUENCY = 5
UNKNOWN_CATEGORY_CODE = -1


def build_schema(
    train: pd.DataFrame, target: str | None, drop_columns: tuple[str, ...] = ()
) -> InputSchema:
    """Describe the feature columns of the training split (text columns are dropped).

    Raises:
        DataError: a column to drop does not exist, or a feature column has no values at all.
    """
    unknown = [c for c in drop_columns if c not in train.columns]
    if unknown:
        raise DataError(f"column(s) to drop not found in the data: {', '.join(unknown)}")
    features = train.drop(columns=[c for c in (target, *drop_columns) if c is not None])
    empty = [c for c in features.columns if features[c].isna().all()]
    if empty:
        raise DataError(
            f"column(s) with no values at all in the training data: {', '.join(empty)} "
            "(drop them with data.drop_columns)"
        )
    numeric, categorical, datetime, text = classify_columns(features)
    columns: list[ColumnSchema] = []
    for name in features.columns:
        dtype = str(features[name].dtype)
        if name in numeric:
            columns.append(ColumnSchema(name=name, kind="numeric", dtype=dtype))
        elif name in datetime:
            columns.append(ColumnSchema(name=name, kind="datetime", dtype=dtype))
        elif name in categorical:
            seen = sorted(str(v) for v in features[name].dropna().unique())
            columns.append(
                ColumnSchema(name=name, kind="categorical", dtype=dtype, categories=tuple(seen))
            )
    if not columns:
        raise DataError("no usable feature columns (only the target, text or dropped columns)")
    return InputSchema(
        columns=tuple(columns), target=target, dropped_columns=tuple(drop_columns) + text
    )


def epoch_seconds(series: pd.Series) -> pd.Series:
    """Dates as float seconds since 1970-01-01 UTC, whatever unit pandas stored them in
    (pandas 3 reads CSV dates as microseconds, Parquet often as nanoseconds); NaT -> NaN."""
    import pandas as pd

    stamps = pd.to_datetime(series)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return (stamps - pd.Timestamp(0)) / pd.Timedelta(seconds=1)


def prepare_frame(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """Turn validated columns into what the encoders expect (numbers and strings)."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for column in schema.columns:
        series = frame[column.name]
        if column.kind == "numeric":
            out[column.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        elif column.kind == "datetime":
            out[column.name] = epoch_seconds(series)
        else:
            text = series.astype("string")
            out[column.name] = text.astype(object).where(text.notna(), "__missing__")
    return out


def build_preprocessor(schema: InputSchema, encoding: Encoding, scale: bool) -> ColumnTransformer:
    """The unfitted ColumnTransformer for a schema.

    Args:
        encoding: ``ordinal`` for tree models, ``onehot`` for linear and neural models.
        scale: standardise numeric columns (linear and neural models need it).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = [c.name for c in schema.columns if c.kind in {"numeric", "datetime"}]
    categorical = [c.name for c in schema.columns if c.kind == "categorical"]
    numeric_steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
    ]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    encoder: OneHotEncoder | OrdinalEncoder
    if encoding == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=ONEHOT_MIN_FREQUENCY,
            sparse_output=False,
        )
    else:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=UNKNOWN_CATEGORY_CODE
        )
    transformers: list[tuple[str, object, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        transformers.append(("categorical", encoder, categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def transform(
    preprocessor: ColumnTransformer, frame: pd.DataFrame, schema: InputSchema
) -> np.ndarray:
    """Apply a fitted preprocessor to validated rows: one float64 matrix."""
    import numpy as np

    matrix = preprocessor.transform(prepare_frame(frame, schema))
    return np.asarray(matrix, dtype=np.float64)
