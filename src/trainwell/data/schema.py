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

    Raises:
        SchemaError: the rows cannot be turned into the features the model expects.
    """
    import pandas as pd

    expected = schema.feature_names
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"input is missing {len(missing)} column(s) the model needs: {', '.join(missing)}"
        )
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        logger.warning("extra_columns_dropped", columns=extra)
    out = frame.loc[:, expected].copy()
    for column in schema.columns:
        series = out[column.name]
        if column.kind == "numeric":
            coerced = pd.to_numeric(series, errors="coerce")
            bad = series[coerced.isna() & series.notna()]
            if not bad.empty:
                raise SchemaError(
                    f"column {column.name!r} must be numeric; got "
                    f"{_examples(bad.tolist())} (rows {_examples(bad.index.tolist())})"
                )
            out[column.name] = coerced.astype("float64")
        elif column.kind == "datetime":
            try:
                out[column.name] = pd.to_datetime(series)
            except (ValueError, TypeError) as exc:
                raise SchemaError(f"column {column.name!r} must hold dates: {exc}") from exc
        else:
            as_text = series.astype("string")
            known = set(column.categories)
            unseen = sorted({v for v in as_text.dropna().unique() if v not in known})
            if unseen:
                if strict_categories:
                    raise SchemaError(
                        f"column {column.name!r} has categories never seen in training: "
                        f"{_examples(list(unseen))}"
                    )
                logger.warning(
                    "unseen_categories", column=column.name, values=unseen[:MAX_EXAMPLES_SHOWN]
                )
            out[column.name] = as_text.astype(object).where(as_text.notna(), None)
    return out
