"""Preprocessing fitted on the training split only, saved with the model, reused at inference.

The path is the same for `train`, `predict` and `serve`::

    validate_frame(raw, schema)        # columns, types, categories (data/schema.py)
      -> prepare_frame(frame, schema)  # datetimes -> epoch seconds, categories -> str
      -> preprocessor.transform(...)   # fitted sklearn ColumnTransformer (saved with skops)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from trainwell.data.profile import classify_columns, distinct_values
from trainwell.data.schema import ColumnKind, ColumnSchema, InputSchema, as_float, join_blocks
from trainwell.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer

Encoding = Literal["ordinal", "onehot"]
# One-hot encoding groups categories rarer than this into one "infrequent" column.
ONEHOT_MIN_FREQUENCY = 5
UNKNOWN_CATEGORY_CODE = -1
# what the encoders see for a missing category (serve's records.py feeds the same)
MISSING_CATEGORY = "__missing__"
_KINDS: tuple[ColumnKind, ...] = ("numeric", "datetime", "categorical")


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
    empty = [str(c) for c in features.columns[features.isna().all(axis=0).to_numpy()]]
    if empty:
        raise DataError(
            f"column(s) with no values at all in the training data: {', '.join(empty)} "
            "(drop them with data.drop_columns)"
        )
    numeric, categorical, datetime, text = classify_columns(features)
    kinds: dict[object, ColumnKind] = {name: "numeric" for name in numeric}
    kinds.update({name: "datetime" for name in datetime})
    kinds.update({name: "categorical" for name in categorical})
    seen = dict(zip(categorical, distinct_values(features[list(categorical)]), strict=True))
    dtype_names = {d: str(d) for d in set(features.dtypes)}
    columns: list[ColumnSchema] = []
    for name, dtype in zip(features.columns, features.dtypes, strict=True):
        kind = kinds.get(name)
        if kind is None:  # text: dropped
            continue
        categories = tuple(sorted(str(v) for v in seen[name])) if kind == "categorical" else ()
        columns.append(
            ColumnSchema(name=name, kind=kind, dtype=dtype_names[dtype], categories=categories)
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


def epoch_block(block: pd.DataFrame) -> pd.DataFrame:
    """:func:`epoch_seconds` of every column: time-zone-naive datetime64 columns in one
    operation; the others (time zones, text dates) one by one (a table has few)."""
    import numpy as np
    import pandas as pd

    naive = [
        name
        for name, d in zip(block.columns, block.dtypes, strict=True)
        if isinstance(d, np.dtype) and d.kind == "M"
    ]
    parts: list[pd.DataFrame] = []
    if naive:
        # pandas divides block by block (pandas-stubs has no DataFrame / Timedelta)
        elapsed: Any = block[naive] - pd.Timestamp(0)
        parts.append(elapsed / pd.Timedelta(seconds=1))
    others = [name for name in block.columns if name not in set(naive)]
    if others:
        parts.append(
            pd.DataFrame({name: epoch_seconds(block[name]) for name in others}, index=block.index)
        )
    return join_blocks(parts, block.index, list(block.columns))


def prepare_frame(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """Turn validated columns into what the encoders expect (numbers and strings).

    Works on blocks of one kind (all numeric columns at once, all categorical ones at once) and
    joins them once, in schema order: a 20,000-column table is a few pandas calls.
    """
    names = {kind: [c.name for c in schema.columns if c.kind == kind] for kind in _KINDS}
    parts: list[pd.DataFrame] = []
    if names["numeric"]:
        parts.append(as_float(frame.loc[:, names["numeric"]]))
    if names["datetime"]:
        parts.append(epoch_block(frame.loc[:, names["datetime"]]))
    if names["categorical"]:
        text = frame.loc[:, names["categorical"]].astype("string")
        parts.append(text.astype(object).where(text.notna(), MISSING_CATEGORY))
    return join_blocks(parts, frame.index, schema.feature_names)


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
