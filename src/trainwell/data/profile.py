"""Profile a table: what the decision framework and the checks need to know about the data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from trainwell.errors import DataError
from trainwell.utils.logging import summarise_warnings

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pandas.api.extensions import ExtensionDtype

TargetKind = Literal["binary", "multiclass", "continuous"]

# A numeric target with at most this many distinct integer values is treated as class labels
# (digits has 10, wine 3); more distinct values make it a regression target.
MAX_CLASSES_FOR_INTEGER_TARGET = 20
# An object column whose values average more than this many characters and contain spaces is
# free text, not a category (names of categories are short).
TEXT_MIN_MEAN_LENGTH = 30
# ... and when more than this share of its values contain a space (words, not codes).
TEXT_MIN_SPACE_SHARE = 0.5
BINARY_CLASS_COUNT = 2


class DataProfile(BaseModel):
    """What a table looks like, computed once and shown to the user and the advisor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_rows: int
    n_columns: int
    memory_bytes: int
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    datetime_columns: tuple[str, ...]
    text_columns: tuple[str, ...]
    missing: dict[str, int]
    target: str | None
    target_kind: TargetKind | None
    n_classes: int | None
    class_counts: dict[str, int]
    inferred_task: str | None
    categorical_share: float
    # images: the median (height, width) and the channel mode every image is converted to
    image_size: tuple[int, int] | None = None
    image_mode: str | None = None

    def describe(self) -> str:
        """One line on what the data is, for the `train` summary."""
        if self.image_size is not None:
            height, width = self.image_size
            classes = f", {self.n_classes} classes" if self.n_classes else ""
            return f"{self.n_rows} images (median {height}×{width} px, {self.image_mode}{classes})"
        return (
            f"{self.n_rows} rows × {self.n_features} features "
            f"({len(self.numeric_columns)} numeric, {len(self.categorical_columns)} categorical)"
        )

    @property
    def n_features(self) -> int:
        """Number of feature columns (target excluded)."""
        return (
            len(self.numeric_columns)
            + len(self.categorical_columns)
            + len(self.datetime_columns)
            + len(self.text_columns)
        )


def _text_columns(frame: pd.DataFrame) -> set[object]:
    """The columns of ``frame`` (object-like, none numeric) that hold free text.

    One pass over all of them at once: every present value as ``str`` in one long array, its
    length and whether it has a space, averaged per column (``np.bincount``).
    """
    import numpy as np
    import pandas as pd

    if frame.shape[1] == 0 or len(frame) == 0:
        return set()
    # (rows, columns) -> column after column, the column of each value alongside
    values = pd.Series(frame.to_numpy(dtype=object).ravel(order="F"), dtype=object)
    owner = np.repeat(np.arange(frame.shape[1]), len(frame))
    present = values.notna().to_numpy()
    text = values[present].astype(str)
    owner = owner[present]
    n_columns = frame.shape[1]
    counts = np.bincount(owner, minlength=n_columns)
    lengths = np.bincount(
        owner, weights=text.str.len().to_numpy(dtype=np.float64), minlength=n_columns
    )
    spaced = np.bincount(
        owner, weights=text.str.contains(" ").to_numpy(dtype=np.float64), minlength=n_columns
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        is_text = (
            (counts > 0)
            & (lengths / counts > TEXT_MIN_MEAN_LENGTH)
            & (spaced / counts > TEXT_MIN_SPACE_SHARE)
        )
    return set(frame.columns[is_text])


def distinct_values(frame: pd.DataFrame) -> list[list[object]]:
    """Each column's distinct present values, in order of first appearance (``unique``'s).

    All columns at once: the values as one long (column, value) table, deduplicated by pandas;
    only the distinct pairs reach Python.
    """
    import numpy as np
    import pandas as pd

    n_rows, n_columns = frame.shape
    found: list[list[object]] = [[] for _ in range(n_columns)]
    if n_rows == 0 or n_columns == 0:
        return found
    pairs = pd.DataFrame(
        {
            "column": np.repeat(np.arange(n_columns), n_rows),
            "value": pd.Series(frame.to_numpy(dtype=object).ravel(order="F"), dtype=object),
        }
    )
    pairs = pairs[pairs["value"].notna()].drop_duplicates()
    for column, value in zip(pairs["column"].tolist(), pairs["value"].tolist(), strict=True):
        found[column].append(value)
    return found


def _dtype_kind(
    dtype: np.dtype[Any] | ExtensionDtype,
) -> Literal["numeric", "categorical", "datetime", "other"]:
    """What a column's dtype alone says: bool is categorical, ``other`` may be text."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "other"


def classify_columns(
    frame: pd.DataFrame,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Split columns into (numeric, categorical, datetime, text) by dtype and content.

    The dtype decides once per distinct dtype; the content (free text or categories) of all
    object-like columns is read in one pass, so 20,000 columns cost no 20,000 pandas calls.
    """
    by_dtype = {d: _dtype_kind(d) for d in set(frame.dtypes)}
    kinds = [by_dtype[d] for d in frame.dtypes]
    names = list(frame.columns)
    others = [i for i, kind in enumerate(kinds) if kind == "other"]
    text = _text_columns(frame.iloc[:, others]) if others else set()
    numeric: list[str] = []
    categorical: list[str] = []
    datetime: list[str] = []
    texts: list[str] = []
    for name, kind in zip(names, kinds, strict=True):
        if kind == "numeric":
            numeric.append(name)
        elif kind == "datetime":
            datetime.append(name)
        elif kind == "other" and name in text:
            texts.append(name)
        else:
            categorical.append(name)
    return tuple(numeric), tuple(categorical), tuple(datetime), tuple(texts)


def infer_target_kind(target: pd.Series) -> TargetKind:
    """binary / multiclass for labels, continuous for real-valued targets."""
    import numpy as np
    import pandas as pd

    values = target.dropna()
    n_unique = int(values.nunique())
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "binary" if n_unique <= BINARY_CLASS_COUNT else "multiclass"
    as_float = values.to_numpy(dtype=float)
    is_integer = bool(np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)))
    if is_integer and n_unique <= MAX_CLASSES_FOR_INTEGER_TARGET:
        return "binary" if n_unique <= BINARY_CLASS_COUNT else "multiclass"
    return "continuous"


def profile_frame(frame: pd.DataFrame, target: str | None) -> DataProfile:
    """Profile ``frame``; the target column (when given) is described, not counted as a feature.

    Raises:
        DataError: the target column does not exist.
    """
    if target is not None and target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        raise DataError(f"target column {target!r} not found (columns: {shown})")
    with summarise_warnings("profile"):
        return _profile(frame, target)


def _profile(frame: pd.DataFrame, target: str | None) -> DataProfile:
    """:func:`profile_frame` once the target is known to exist."""
    features = frame.drop(columns=[target]) if target is not None else frame
    numeric, categorical, datetime, text = classify_columns(features)
    target_kind: TargetKind | None = None
    n_classes: int | None = None
    class_counts: dict[str, int] = {}
    inferred_task: str | None = None
    if target is not None:
        target_kind = infer_target_kind(frame[target])
        if target_kind == "continuous":
            inferred_task = "tabular-regression"
        else:
            counts = frame[target].value_counts(dropna=True)
            class_counts = {str(k): int(v) for k, v in counts.items()}
            n_classes = len(class_counts)
            inferred_task = "tabular-classification"
    n_features = features.shape[1]
    missing = {str(c): int(n) for c, n in frame.isna().sum().items() if int(n) > 0}
    return DataProfile(
        n_rows=len(frame),
        n_columns=frame.shape[1],
        memory_bytes=int(frame.memory_usage(deep=True).sum()),
        numeric_columns=numeric,
        categorical_columns=categorical,
        datetime_columns=datetime,
        text_columns=text,
        missing=missing,
        target=target,
        target_kind=target_kind,
        n_classes=n_classes,
        class_counts=class_counts,
        inferred_task=inferred_task,
        categorical_share=(len(categorical) / n_features) if n_features else 0.0,
    )
