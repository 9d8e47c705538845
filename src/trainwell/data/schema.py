"""The input schema a bundle was trained on, and validation of new rows against it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from trainwell.errors import SchemaError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import pandas as pd

logger = get_logger(__name__)

ColumnKind = Literal["numeric", "categorical", "datetime"]
MAX_EXAMPLES_SHOWN = 3
# a column that cannot be converted, and the error naming it
Problem = tuple[str, SchemaError]


class ColumnSchema(BaseModel):
    """One feature column: its kind, training dtype, and (categorical) the values seen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: ColumnKind
    dtype: str
    categories: tuple[str, ...] = ()


class InputSchema(BaseModel):
    """What `predict` and `serve` accept: the feature columns, in training order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: tuple[ColumnSchema, ...]
    target: str | None
    classes: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        """Feature column names in training order."""
        return [c.name for c in self.columns]


def _examples(values: list[object]) -> str:
    return ", ".join(repr(v) for v in values[:MAX_EXAMPLES_SHOWN])


def join_blocks(parts: list[pd.DataFrame], index: pd.Index, names: list[str]) -> pd.DataFrame:
    """``parts`` (blocks of columns over ``index``) joined once, columns in ``names`` order."""
    import pandas as pd

    if not parts:
        return pd.DataFrame(index=index)
    out = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
    return out if list(out.columns) == names else out.loc[:, names]


def as_float(block: pd.DataFrame) -> pd.DataFrame:
    """``block``'s columns as float64: numeric dtypes in one ``astype``; columns of another
    dtype (text that should hold numbers, rare) through ``pd.to_numeric`` (not a number: NaN)."""
    import numpy as np
    import pandas as pd

    is_number = {d: pd.api.types.is_numeric_dtype(d) for d in set(block.dtypes)}
    other = [name for name, d in zip(block.columns, block.dtypes, strict=True) if not is_number[d]]
    if not other:
        # one matrix, not ``astype`` block by block: pandas 3's read_csv gives every column a
        # block of its own, and 20,000 blocks cost 20,000 Python-level steps
        # (``to_numpy`` may return a view of ``block``: the copy keeps the input unshared)
        matrix = block.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.DataFrame(matrix, index=block.index, columns=block.columns, copy=True)
    numbers = as_float(block.drop(columns=other))
    coerced = pd.DataFrame(
        {name: pd.to_numeric(block[name], errors="coerce").astype("float64") for name in other},
        index=block.index,
    )
    return join_blocks([numbers, coerced], block.index, list(block.columns))


def _numeric_block(block: pd.DataFrame) -> tuple[pd.DataFrame, Problem | None]:
    """Numeric columns as float64, and the error for the first that holds text, if any.

    Columns of a numeric dtype cannot hold text: they go through one ``astype``. Only columns
    of another dtype (object: the file had text there) are coerced and checked one by one.
    """
    import pandas as pd

    is_number = {d: pd.api.types.is_numeric_dtype(d) for d in set(block.dtypes)}
    other = [name for name, d in zip(block.columns, block.dtypes, strict=True) if not is_number[d]]
    for name in other:
        series = block[name]
        bad = series[pd.to_numeric(series, errors="coerce").isna() & series.notna()]
        if not bad.empty:
            return block, (
                name,
                SchemaError(
                    f"column {name!r} must be numeric; got "
                    f"{_examples(bad.tolist())} (rows {_examples(bad.index.tolist())})"
                ),
            )
    return as_float(block), None


def _datetime_block(block: pd.DataFrame) -> tuple[pd.DataFrame, Problem | None]:
    """Datetime columns parsed (those already datetime64 kept as they are); the error for the
    first that does not parse, if any."""
    import pandas as pd

    parsed: dict[str, pd.Series] = {}
    for name, dtype in zip(block.columns, block.dtypes, strict=True):
        if pd.api.types.is_datetime64_any_dtype(dtype):
            continue
        try:
            parsed[name] = pd.to_datetime(block[name])
        except (ValueError, TypeError) as exc:
            return block, (name, SchemaError(f"column {name!r} must hold dates: {exc}"))
    return (block.assign(**parsed) if parsed else block), None


def _unseen_categories(text: pd.DataFrame, schema: InputSchema) -> dict[str, list[str]]:
    """Per categorical column (schema order), the sorted values training never saw."""
    from trainwell.data.profile import distinct_values

    known = {c.name: set(c.categories) for c in schema.columns if c.kind == "categorical"}
    unseen: dict[str, list[str]] = {}
    for name, values in zip(text.columns, distinct_values(text), strict=True):
        new = sorted({str(v) for v in values if v not in known[name]})
        if new:
            unseen[name] = new
    return unseen


def validate_frame(
    frame: pd.DataFrame, schema: InputSchema, *, strict_categories: bool = False
) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return the feature columns, coerced, in order.

    Handling (documented in docs/predict.md):
    * a missing feature column is an error;
    * extra columns (the target included) are dropped with a warning;
    * a numeric column with values that are not numbers is an error naming examples;
    * a datetime column that does not parse is an error;
    * a category never seen in training is encoded as "unknown" (the encoders were fitted with
      ``handle_unknown``) with a warning — or an error with ``strict_categories=True``.

    Columns are checked and converted in blocks of one kind (every numeric column in one
    ``astype``), so a wide table costs a few pandas calls; when several columns are wrong, the
    error names the first in schema order.

    Raises:
        SchemaError: the rows cannot be turned into the features the model expects.
    """
    expected = schema.feature_names
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"input is missing {len(missing)} column(s) the model needs: {', '.join(missing)}"
        )
    wanted = set(expected)
    extra = [c for c in frame.columns if c not in wanted]
    if extra:
        logger.warning("extra_columns_dropped", columns=extra)
    selected = frame.loc[:, expected]
    names = {
        kind: [c.name for c in schema.columns if c.kind == kind]
        for kind in ("numeric", "datetime", "categorical")
    }
    problems: list[Problem] = []
    parts: list[pd.DataFrame] = []
    if names["numeric"]:
        numbers, problem = _numeric_block(selected.loc[:, names["numeric"]])
        parts.append(numbers)
        problems += [problem] if problem else []
    if names["datetime"]:
        dates, problem = _datetime_block(selected.loc[:, names["datetime"]])
        parts.append(dates)
        problems += [problem] if problem else []
    unseen: dict[str, list[str]] = {}
    if names["categorical"]:
        as_text = selected.loc[:, names["categorical"]].astype("string")
        unseen = _unseen_categories(as_text, schema)
        if unseen and strict_categories:
            name, values = next(iter(unseen.items()))
            message = (
                f"column {name!r} has categories never seen in training: {_examples(list(values))}"
            )
            problems.append((name, SchemaError(message)))
        parts.append(as_text.astype(object).where(as_text.notna(), None))
    if problems:
        position = {name: i for i, name in enumerate(expected)}
        raise min(problems, key=lambda problem: position[problem[0]])[1]
    for name, values in unseen.items():
        logger.warning("unseen_categories", column=name, values=values[:MAX_EXAMPLES_SHOWN])
    return join_blocks(parts, selected.index, expected)
