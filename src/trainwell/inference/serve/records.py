"""Request bodies: a record model generated from a bundle's input schema, and the conversion of
validated records into columns (for drift), model input (for the graph or the native model) and
warnings — the same policies as ``trainwell predict`` (docs/predict.md), without pandas on the
ONNX path.

Policies:
* a body is one JSON object (a record) or a list of them; every feature column is required,
  ``null`` is a missing value (imputed as in training);
* numbers must be finite and within float32's range (``NaN``/``Infinity`` are not JSON;
  ``1e39`` is refused: an exported graph computes in float32);
* numeric strings are read as numbers and numbers in a categorical column as strings;
* a category never seen in training is served as "unknown" with a warning (``--strict-categories``
  refuses it); a number outside the range seen in training is served with a warning;
* fields that are not features are ignored with a warning (a sticky-key field may be one).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    TypeAdapter,
    create_model,
)

from trainwell.data.schema import InputSchema
from trainwell.errors import SchemaError

if TYPE_CHECKING:
    import numpy as np

    from trainwell.inference.runtime import PreparedColumns

MISSING_CATEGORY = "__missing__"  # what prepare_frame feeds the encoders for a missing category
MAX_TEXT_LENGTH = 10_000
MAX_EXAMPLE_ROWS = 2
MAX_WARNED_VALUES = 3
# an exported graph computes in float32: a larger magnitude would become infinite in it
FLOAT32_MAX = 3.4028234663852886e38
# checked in RecordCodec.columns (one vector comparison, not a validator call per field)
FiniteNumber = Annotated[
    FiniteFloat, Field(json_schema_extra={"minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX})
]


_NUMBER_TYPES = (float, int, type(None))  # exact types: a bool is not a number here
_TEXT_TYPES = (str, type(None))


class RecordError(SchemaError):
    """Records that validated field by field but cannot be served (field errors attached)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors))
        self.errors = errors


class FieldError(BaseModel):
    """One problem with a request, located like FastAPI's validation errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    loc: tuple[str | int, ...]
    msg: str
    type: str


@dataclass(frozen=True)
class ValidatedBatch:
    """Validated records as columns.

    Attributes:
        n_rows: records in the request.
        numeric: ``(n, numeric columns)`` float64, NaN for missing, in ``codec.numeric_names``
            order (datetimes as epoch seconds).
        categorical: column -> object array of str (None for missing).
        extras: the first record's fields that are not features (a sticky-key field).
        warnings: what was served with a caveat (unseen categories, values outside the
            training range, ignored fields).
    """

    n_rows: int
    numeric: np.ndarray
    categorical: dict[str, np.ndarray]
    extras: dict[str, Any]
    warnings: tuple[str, ...]


def _field_name(index: int) -> str:
    return f"f{index}"


class RecordCodec:
    """The request model of one bundle's schema and the conversions a request goes through.

    Args:
        schema: the bundle's ``schema.json``.
        strict_categories: refuse categories never seen in training (a 422).
        ranges: numeric column -> (min, max) seen in training (warnings only).
        examples: up to two real records (OpenAPI examples).
    """

    def __init__(
        self,
        schema: InputSchema,
        *,
        strict_categories: bool = False,
        ranges: dict[str, tuple[float, float]] | None = None,
        examples: Sequence[dict[str, Any]] = (),
    ) -> None:
        import numpy as np

        self.schema = schema
        self.strict_categories = strict_categories
        self.numeric_names = [c.name for c in schema.columns if c.kind != "categorical"]
        self.datetime_names = frozenset(c.name for c in schema.columns if c.kind == "datetime")
        self.categorical_names = [c.name for c in schema.columns if c.kind == "categorical"]
        self._known = {c.name: frozenset(c.categories) for c in schema.columns}
        self._fields = {c.name: _field_name(i) for i, c in enumerate(schema.columns)}
        self._numeric_fields = [self._fields[n] for n in self.numeric_names]
        self._categorical_fields = [self._fields[n] for n in self.categorical_names]
        self._column_set = frozenset(self._fields)
        self._aliases = frozenset(self._fields)
        self.examples = list(examples)
        self.record_model = self._build_model()
        self._one: TypeAdapter[Any] = TypeAdapter(self.record_model)
        self._many: TypeAdapter[Any] = TypeAdapter(list[self.record_model])  # type: ignore[name-defined]
        ranges = ranges or {}
        # a column without a training range (an old bundle) only has float32's
        unbounded = (-FLOAT32_MAX, FLOAT32_MAX)
        self._mins = np.asarray(
            [ranges.get(n, unbounded)[0] for n in self.numeric_names], dtype=np.float64
        )
        self._maxs = np.asarray(
            [ranges.get(n, unbounded)[1] for n in self.numeric_names], dtype=np.float64
        )
        self._bounded = frozenset(ranges)

    # --- the request model (validation and the OpenAPI document) ---

    def _build_model(self) -> type[BaseModel]:
        fields: dict[str, Any] = {}
        for column in self.schema.columns:
            field = self._fields[column.name]
            annotation: Any
            if column.kind == "numeric":
                annotation = FiniteNumber | None
                description = "a finite number; null when missing"
            elif column.kind == "datetime":
                annotation = Annotated[str, AfterValidator(_epoch_seconds)] | None
                description = "a date or timestamp (ISO 8601); null when missing"
            else:
                shown = ", ".join(column.categories[:10])
                more = " …" if len(column.categories) > 10 else ""
                description = f"a category seen in training: {shown}{more}; null when missing"
                if self.strict_categories and column.categories:
                    annotation = Literal[column.categories] | None
                else:
                    annotation = str | None
                    description += " (others are served as unknown, with a warning)"
            fields[field] = (annotation, Field(..., alias=column.name, description=description))
        examples: Any = self.examples[:MAX_EXAMPLE_ROWS]
        config = ConfigDict(
            extra="allow",
            frozen=True,
            coerce_numbers_to_str=True,
            str_max_length=MAX_TEXT_LENGTH,
            json_schema_extra={"examples": examples},
        )
        model: type[BaseModel] = create_model("Record", __config__=config, **fields)
        return model

    def json_schema(self) -> dict[str, Any]:
        """The record's JSON schema (``$defs``-free: the record model has no nested models)."""
        return self.record_model.model_json_schema(by_alias=True)

    # --- a request's records ---

    def validate(self, body: object) -> tuple[list[BaseModel], bool, list[FieldError]]:
        """Records of a parsed body (one object or a list), whether it was a single record, and
        the field errors (empty when valid)."""
        from pydantic import ValidationError

        single = isinstance(body, dict)
        try:
            if single:
                return [self._one.validate_python(body)], True, []
            return list(self._many.validate_python(body)), False, []
        except ValidationError as exc:
            return [], single, self._errors(exc, single)

    def _errors(self, exc: Any, single: bool) -> list[FieldError]:
        names = {f: name for name, f in self._fields.items()}
        out: list[FieldError] = []
        for error in exc.errors(include_url=False, include_input=False):
            loc = tuple(names.get(str(p), p) if isinstance(p, str) else p for p in error["loc"])
            out.append(FieldError(loc=("body", *loc), msg=str(error["msg"]), type=error["type"]))
        return out

    def columns(self, records: Sequence[BaseModel]) -> ValidatedBatch:
        """Validated records as columns, with the warnings they earn.

        Raises:
            RecordError: a number beyond float32's range (an exported graph computes in it).
        """
        values = [r.__dict__ for r in records]
        extras = dict(records[0].model_extra or {}) if records else {}
        return self._batch(values, self._numeric_fields, self._categorical_fields, extras)

    def plain_columns(self, body: object) -> ValidatedBatch | None:
        """The same batch as ``validate`` + ``columns`` for the common body, without the model.

        A body qualifies when every record holds exactly the feature columns, numbers as JSON
        numbers (not booleans or strings) or null, categories as strings or null, and the codec
        has no date columns or strict categories. orjson has already refused NaN, Infinity and
        numbers that overflow a double, so such values are finite. Anything else returns None:
        the caller validates with the record model, which coerces or names the error.

        Raises:
            RecordError: a number beyond float32's range.
        """
        if self.datetime_names or self.strict_categories:
            return None
        records = [body] if isinstance(body, dict) else body
        if not isinstance(records, list):
            return None
        expected = self._column_set
        for record in records:
            if not isinstance(record, dict) or record.keys() != expected:
                return None
            for name in self.numeric_names:
                if type(record[name]) not in _NUMBER_TYPES:
                    return None
            for name in self.categorical_names:
                if type(record[name]) not in _TEXT_TYPES:
                    return None
        return self._batch(records, self.numeric_names, self.categorical_names, {})

    def _batch(
        self,
        values: list[dict[str, Any]],
        numeric_keys: Sequence[str],
        categorical_keys: Sequence[str],
        extras: dict[str, Any],
    ) -> ValidatedBatch:
        import numpy as np

        warnings: list[str] = []
        numeric = np.array([[v[f] for f in numeric_keys] for v in values], dtype=np.float64)
        numeric = numeric.reshape(len(values), len(numeric_keys))  # dates: already epoch seconds
        outside = (numeric < self._mins) | (numeric > self._maxs)  # NaN: never outside
        if outside.any():  # rare: the common path is these four ufunc calls
            too_large = np.abs(numeric) > FLOAT32_MAX
            if too_large.any():
                raise RecordError(self._too_large(too_large, numeric, len(values) == 1))
            for j in np.flatnonzero(outside.any(axis=0)):
                if self.numeric_names[j] not in self._bounded:
                    continue
                warnings.append(
                    f"{self.numeric_names[j]}: {int(outside[:, j].sum())} value(s) outside the "
                    f"training range [{self._mins[j]:g}, {self._maxs[j]:g}]"
                )
        categorical: dict[str, np.ndarray] = {}
        for name, key in zip(self.categorical_names, categorical_keys, strict=True):
            column = np.array([v[key] for v in values], dtype=object)
            known = self._known[name]
            unseen = sorted({x for x in column if x is not None and x not in known})
            if unseen:
                shown = ", ".join(repr(x) for x in unseen[:MAX_WARNED_VALUES])
                warnings.append(
                    f"{name}: categories never seen in training served as unknown: {shown}"
                )
            categorical[name] = column
        if extras:
            ignored = ", ".join(sorted(extras)[:MAX_WARNED_VALUES])
            warnings.append(f"fields that are not features were ignored: {ignored}")
        return ValidatedBatch(len(values), numeric, categorical, extras, tuple(warnings))

    def _too_large(self, mask: np.ndarray, numeric: np.ndarray, single: bool) -> list[FieldError]:
        import numpy as np

        errors = []
        for row, column in zip(*np.nonzero(mask), strict=True):
            loc: tuple[str | int, ...] = (self.numeric_names[column],)
            if not single:
                loc = (int(row), *loc)
            errors.append(
                FieldError(
                    loc=("body", *loc),
                    msg=f"{numeric[row, column]:g} is beyond ±3.4e38, the float32 range an "
                    "exported graph computes in",
                    type="float32_range",
                )
            )
        return errors

    def drift_columns(self, batch: ValidatedBatch) -> dict[str, np.ndarray]:
        """Column name -> values, what the drift monitor observes."""
        out: dict[str, np.ndarray] = dict(zip(self.numeric_names, batch.numeric.T, strict=True))
        out.update(batch.categorical)
        return out

    def graph_input(self, batch: ValidatedBatch) -> PreparedColumns:
        """A column graph's feeds (what ``prepare_frame`` gives, as ``(n, 1)`` arrays)."""
        import numpy as np

        from trainwell.inference.runtime import PreparedColumns

        n_numeric, n_rows = len(self.numeric_names), batch.n_rows
        if n_rows == 1:  # (1, columns) is already laid out as (columns, 1, 1)
            block = batch.numeric.astype(np.float32).reshape(n_numeric, 1, 1)
        else:
            block = np.ascontiguousarray(batch.numeric.T, dtype=np.float32)
            block = block.reshape(n_numeric, n_rows, 1)
        # iterating a (columns, n, 1) block yields the (n, 1) views without a call per column
        arrays: dict[str, np.ndarray] = dict(zip(self.numeric_names, block, strict=True))
        for name, column in batch.categorical.items():
            filled = np.array([MISSING_CATEGORY if x is None else x for x in column], dtype=object)
            arrays[name] = filled.reshape(-1, 1)
        return PreparedColumns(arrays=arrays, n_rows=batch.n_rows)

    def frame(self, batch: ValidatedBatch) -> Any:
        """A pandas frame of the raw feature columns (the native model's path)."""
        import pandas as pd

        data: dict[str, Any] = {}
        for column in self.schema.columns:
            if column.kind == "categorical":
                data[column.name] = batch.categorical[column.name]
            else:
                values = batch.numeric[:, self.numeric_names.index(column.name)]
                if column.kind == "datetime":
                    data[column.name] = pd.to_datetime(values, unit="s")
                else:
                    data[column.name] = values
        return pd.DataFrame(data)


def _epoch_seconds(value: str) -> float:
    """A date string as seconds since 1970 UTC, as training's ``epoch_seconds`` computes it.

    Raises:
        ValueError: not a date (pydantic reports it as a field error: a 422).
    """
    import pandas as pd

    from trainwell.data.preprocessing import epoch_seconds

    try:
        return float(epoch_seconds(pd.Series([value])).iloc[0])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{value!r} is not a date: {exc}") from exc


def read_examples(samples_csv: Path, schema: InputSchema) -> list[dict[str, Any]]:
    """Up to two real records from a bundle's ``samples.csv`` (OpenAPI examples, warm-up)."""
    if not samples_csv.is_file():
        return []
    kinds = {c.name: c.kind for c in schema.columns}
    out: list[dict[str, Any]] = []
    with samples_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            record: dict[str, Any] = {}
            for name, kind in kinds.items():
                text = row.get(name, "")
                if text in {"", None}:
                    record[name] = None
                elif kind == "numeric":
                    try:
                        record[name] = float(text)
                    except ValueError:
                        record[name] = None
                else:
                    record[name] = text
            out.append(record)
            if len(out) >= MAX_EXAMPLE_ROWS:
                break
    return out


def synthetic_example(schema: InputSchema) -> dict[str, Any]:
    """A record for a bundle without samples: 0 for numbers, the first category, a date."""
    record: dict[str, Any] = {}
    for column in schema.columns:
        if column.kind == "numeric":
            record[column.name] = 0.0
        elif column.kind == "datetime":
            record[column.name] = "2020-01-01"
        else:
            record[column.name] = column.categories[0] if column.categories else None
    return record
