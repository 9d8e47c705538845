"""The table modality: CSV/Parquet files or bundled datasets, one row per example.

``TABLE`` is the row every tabular task kind names (``trainwell.tasks.TASKS``). Loading,
profiling and splitting reuse ``loading``, ``profile`` and ``splitting``; the input spec is the
``InputSchema`` and the preprocessing a scikit-learn ``ColumnTransformer`` fitted on the
training split only (``preprocessing``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.data.modality import Features, InputBatch, Loaded, Modality, PreparedData
from trainwell.errors import ConfigError, DataError
from trainwell.utils.files import write_json
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from trainwell.config.schema import ExperimentConfig
    from trainwell.data.schema import InputSchema
    from trainwell.data.splitting import Splits
    from trainwell.evaluation.checks import CheckResult
    from trainwell.evaluation.objectives import Objective, Targets
    from trainwell.models.registry import ArchitectureSpec

logger = get_logger(__name__)

SCHEMA_FILE = "schema.json"
PREPROCESSING_FILE = "preprocessing.skops"
SAMPLES_FILE = "samples.csv"
# held-out rows a bundle keeps for export's parity gate
SAMPLE_ROWS = 256
SPLIT_NAMES = ("train", "valid", "test")
# training rows the drift reference is computed on, at most (a fixed-seed sample beyond)
REFERENCE_ROWS = 100_000
REFERENCE_SAMPLE_SEED = 0
# A text target is a numeric target with typos (an error naming them), not class labels, when
# at least this share of its values are numbers.
NUMERIC_TARGET_SHARE = 0.9
# bad target values (and their rows) an error names; the count is always given
MAX_TARGET_SHOWN = 5


def dataset_name(config: ExperimentConfig) -> str:
    """The source's short name: ``sklearn:iris`` or the file name."""
    source = config.data.path or config.data.train_path or "data"
    if source.startswith("sklearn:"):
        return source
    return Path(source).name


def _resolve_target(config: ExperimentConfig, target_optional: bool) -> str | None:
    from trainwell.data.loading import BUNDLED_TARGET, is_bundled

    if config.data.target is not None:
        return config.data.target
    source = config.data.path or config.data.train_path or ""
    if is_bundled(source):
        return BUNDLED_TARGET
    if target_optional:
        return None
    raise ConfigError("`data.target` is required: name the column to predict (data.target=...)")


def _drop_missing_target(
    frame: pd.DataFrame, target: str | None, where: str, dropped: list[int]
) -> pd.DataFrame:
    """Rows without a target cannot be learned from; drop them and count them in ``dropped``."""
    if target is None or target not in frame.columns:
        return frame
    missing = int(frame[target].isna().sum())
    if missing == len(frame):
        raise DataError(f"target column {target!r} has no values in the {where} data")
    if missing:
        logger.warning("rows_without_target_dropped", rows=missing, split=where)
        dropped.append(missing)
        return frame[frame[target].notna()]
    return frame


def _refuse_broken_numeric_target(frame: pd.DataFrame, target: str | None, source: str) -> None:
    """A text target that is numbers with a few typos is an error, not a set of class labels.

    ``load_table`` has already read missing-value tokens as missing in a column of numbers, so
    what is left here are values neither numbers nor tokens. When at least
    ``NUMERIC_TARGET_SHARE`` of the values are numbers, the rest are named; string labels
    (``yes``/``no``) and labels that only partly look like numbers stay valid.

    Raises:
        DataError: naming the column, a few bad values (repr) with their data rows, the count.
    """
    import pandas as pd

    if target is None or target not in frame.columns:
        return
    series = frame[target]
    if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return
    values = series[series.notna()]
    if values.empty:
        return
    text = values.astype(str).str.strip()
    is_number = pd.to_numeric(text, errors="coerce").notna()
    n_numbers = int(is_number.sum())
    if n_numbers == len(values) or n_numbers < NUMERIC_TARGET_SHARE * len(values):
        return
    bad = values[~is_number]
    # load_table's frames keep the file's order: position + 1 is the 1-based data row
    positions = [int(p) + 1 for p in frame.index.get_indexer(bad.index[:MAX_TARGET_SHOWN])]
    distinct = bad.drop_duplicates()
    shown = ", ".join(repr(v) for v in distinct.iloc[:MAX_TARGET_SHOWN].tolist())
    more = ", ..." if len(distinct) > MAX_TARGET_SHOWN else ""
    more_rows = ", ..." if len(bad) > MAX_TARGET_SHOWN else ""
    raise DataError(
        f"target column {target!r} in {source} holds numbers, but {len(bad)} of its "
        f"{len(values)} values are not: {shown}{more} (data rows "
        f"{', '.join(map(str, positions))}{more_rows}); fix them, or leave those cells empty to "
        "drop the rows"
    )


def _refuse_no_features(frame: pd.DataFrame, reserved: set[str], source: str) -> None:
    """A table whose every column is the target, dropped or a split column has nothing to
    learn from (said here, before splitting copies of target-only rows can fail first)."""
    if any(column not in reserved for column in frame.columns):
        return
    if len(frame.columns) == 1:
        only = f"its only column is the target {frame.columns[0]!r}"
    else:
        names = ", ".join(repr(c) for c in frame.columns)
        only = f"its columns ({names}) are the target, dropped or split columns"
    raise DataError(f"no feature columns in {source}: {only}; add the columns to learn from")


def _read_part(
    source: str, target: str | None, where: str, dropped: list[int], reserved: set[str]
) -> pd.DataFrame:
    """One file through ``load_table``, the target rules, and the rows without a target."""
    from trainwell.data.loading import load_table

    frame = load_table(source)
    _refuse_no_features(frame, reserved, source)
    _refuse_broken_numeric_target(frame, target, source)
    return _drop_missing_target(frame, target, where, dropped)


def load(config: ExperimentConfig, target_optional: bool, include_test: bool) -> Loaded:
    """Read and profile the table(s) the config names.

    Args:
        target_optional: the task learns without labels (a bundled dataset's labels are still
            used to score it).
        include_test: False for tuning: a pre-split test file is never opened.
    """
    import pandas as pd

    from trainwell.data.loading import fingerprint_frame, source_size_bytes
    from trainwell.data.profile import profile_frame

    data = config.data
    target = _resolve_target(config, target_optional)
    dropped: list[int] = []
    parts: dict[str, pd.DataFrame] = {}
    reserved = {c for c in (target, *data.drop_columns, *_split_columns(config)) if c}
    if data.path is not None:
        frame = _read_part(data.path, target, "input", dropped, reserved)
        profile = profile_frame(frame, target)
        size_bytes = source_size_bytes(data.path)
    else:
        assert data.train_path is not None  # guaranteed by DataConfig's validator
        train = _read_part(data.train_path, target, "training", dropped, reserved)
        parts = {"train": train}
        for name, path in (("valid", data.valid_path), ("test", data.test_path)):
            if name == "test" and path is not None and not include_test:
                parts[name] = train.iloc[0:0]
                continue
            if path is not None:
                part = _read_part(path, target, name, dropped, reserved)
                if list(part.columns) != list(train.columns):
                    raise DataError(
                        f"the {name} file's columns differ from the training file's: {path}"
                    )
                parts[name] = part
        frame = pd.concat(parts.values(), keys=list(parts), names=["split", None])
        profile = profile_frame(frame.reset_index(drop=True), target)
        size_bytes = sum(
            source_size_bytes(p) or 0
            for p in (data.train_path, data.valid_path, data.test_path)
            if p
        )
    return Loaded(
        examples=frame,
        parts=parts,
        target=target,
        profile=profile,
        fingerprint=fingerprint_frame(frame.reset_index(drop=True)),
        dataset=dataset_name(config),
        size_bytes=size_bytes,
        target_missing_rows=sum(dropped),
    )


def split(loaded: Loaded, config: ExperimentConfig, stratify: bool, include_test: bool) -> Splits:
    """train/valid/test from one table, or the given files (a missing split is held out).

    Args:
        stratify: keep the target's class shares in every split (labels, not values).
        include_test: False for tuning: a test split carved from the data is held out exactly
            as in `train`, then emptied, so no trial can see a test row.
    """
    from trainwell.data.splitting import Splits, split_frame

    data = config.data
    stratify_on = loaded.target if stratify else None
    if data.path is not None:
        splits = split_frame(
            loaded.examples,
            valid_size=data.valid_size,
            test_size=data.test_size,
            seed=config.training.seed,
            stratify_on=stratify_on,
            group_column=data.group_column,
            time_column=data.time_column,
            ignore_columns=_not_compared(config, loaded),
        )
    else:
        splits = _complete_presplit(
            loaded.parts, config, stratify_on, _not_compared(config, loaded)
        )
    if not include_test:
        splits = Splits(splits.train, splits.valid, splits.test.iloc[0:0], splits.strategy)
    return splits


def _not_compared(config: ExperimentConfig, loaded: Loaded) -> tuple[str, ...]:
    """Columns that do not make two rows different copies (dropped and free-text columns are
    never features, and the duplicate check compares without them)."""
    return (*config.data.drop_columns, *loaded.profile.text_columns)


def _complete_presplit(
    parts: dict[str, pd.DataFrame],
    config: ExperimentConfig,
    stratify: str | None,
    ignore_columns: tuple[str, ...] = (),
) -> Splits:
    """Use the given files; hold a missing validation or test split out of training."""
    from trainwell.data.splitting import Splits, split_off

    train = parts["train"]
    strategy = "files"
    held: dict[str, pd.DataFrame] = {}
    for name, size in (("test", config.data.test_size), ("valid", config.data.valid_size)):
        if name in parts:
            held[name] = parts[name]
            continue
        train, held[name], how = split_off(
            train,
            size,
            config.training.seed,
            stratify,
            config.data.group_column,
            config.data.time_column,
            ignore_columns,
        )
        strategy = f"files+{how}"
    return Splits(train=train, valid=held["valid"], test=held["test"], strategy=strategy)


def _split_columns(config: ExperimentConfig) -> tuple[str, ...]:
    return tuple(c for c in (config.data.group_column, config.data.time_column) if c)


def fit_inputs(
    config: ExperimentConfig, prepared: PreparedData, spec: ArchitectureSpec, targets: Targets
) -> Features:
    """Fit the preprocessing on the training split only and transform every split."""
    import numpy as np

    from trainwell.data.preprocessing import (
        build_preprocessor,
        build_schema,
        prepare_frame,
        transform,
    )
    from trainwell.utils.logging import summarise_warnings

    splits = prepared.splits
    with summarise_warnings("preprocessing"):
        schema = build_schema(
            splits.train, prepared.target, (*config.data.drop_columns, *_split_columns(config))
        )
        schema = schema.model_copy(update={"classes": targets.classes})
        preprocessor = build_preprocessor(schema, spec.encoding, spec.scale)
        preprocessor.fit(prepare_frame(splits.train, schema))
        X = {
            name: transform(preprocessor, part, schema)
            if len(part := getattr(splits, name))
            else np.empty((0, len(preprocessor.get_feature_names_out())))
            for name in SPLIT_NAMES
        }
    return Features(
        schema=schema, preprocessor=preprocessor, X=X, y=targets.y, classes=targets.classes
    )


def checks(
    config: ExperimentConfig, prepared: PreparedData, features: Features, objective: Objective
) -> list[CheckResult]:
    """Leakage and sanity checks on the raw splits, one batch's shapes, preprocessing parity."""
    from trainwell.data.schema import InputSchema
    from trainwell.evaluation.checks import run_checks as rc
    from trainwell.evaluation.checks.data_checks import DataCheckInput, run_data_checks

    schema = features.schema
    assert isinstance(schema, InputSchema)
    splits = prepared.splits
    results = run_data_checks(
        DataCheckInput(
            train=splits.train,
            valid=splits.valid,
            test=splits.test,
            target=prepared.target,
            labels=objective.labels,
            feature_columns=tuple(schema.feature_names),
            categorical_columns=tuple(c.name for c in schema.columns if c.kind == "categorical"),
            group_column=config.data.group_column,
            time_column=config.data.time_column,
            thresholds=config.checks,
            seed=config.training.seed,
            target_missing_rows=prepared.target_missing_rows,
        )
    )
    X_train = features.X["train"]
    results.append(
        rc.check_one_batch_shapes(
            objective.batch_problems,
            X_train,
            features.y["train"],
            schema,
            X_train.shape[1],
            len(features.classes),
        )
    )
    results.append(
        rc.check_preprocessing_parity(features.preprocessor, schema, splits.train, X_train)
    )
    return results


def save_inputs(features: Features, directory: Path) -> list[str]:
    """``schema.json`` and the fitted ``ColumnTransformer`` (skops, never pickle)."""
    from trainwell.models.sklearn_models import save_skops

    write_json(directory / SCHEMA_FILE, features.schema.model_dump(mode="json"))
    save_skops(features.preprocessor, directory, PREPROCESSING_FILE)
    return [SCHEMA_FILE, PREPROCESSING_FILE]


def save_samples(prepared: PreparedData, features: Features, directory: Path) -> list[str]:
    """Up to ``SAMPLE_ROWS`` raw held-out rows (test split, else validation), feature columns
    only, as ``samples.csv``: what export's parity gate feeds both runtimes."""
    from trainwell.data.schema import InputSchema

    schema = features.schema
    assert isinstance(schema, InputSchema)
    splits = prepared.splits
    held = splits.test if len(splits.test) else splits.valid
    if not len(held):
        return []
    rows = held[list(schema.feature_names)].iloc[:SAMPLE_ROWS]
    rows.to_csv(directory / SAMPLES_FILE, index=False)
    return [SAMPLES_FILE]


def drift_columns(frame: pd.DataFrame, schema: InputSchema) -> dict[str, np.ndarray]:
    """Rows as the drift monitor observes them, validated like `predict` validates them.

    Numeric columns become float64 (NaN: missing), datetime columns float64 epoch seconds (what
    ``prepare_frame`` feeds the preprocessing), categorical columns object arrays of str (None:
    missing); keyed by feature name, in schema order. Each kind is one matrix whose columns are
    the arrays (contiguous views), not one pandas call per column.

    Raises:
        SchemaError: the rows do not match the schema.
    """
    import numpy as np

    from trainwell.data.preprocessing import prepare_frame
    from trainwell.data.schema import validate_frame

    validated = validate_frame(frame[schema.feature_names], schema)
    prepared = prepare_frame(validated, schema)
    categorical = [c.name for c in schema.columns if c.kind == "categorical"]
    numbers = [c.name for c in schema.columns if c.kind != "categorical"]
    columns: dict[str, np.ndarray] = {}
    for names, source, dtype in (
        (numbers, prepared, "float64"),
        (categorical, validated, object),
    ):
        if names:
            # (rows, columns), column-major: each column a contiguous array
            matrix = np.asfortranarray(source.loc[:, names].to_numpy(dtype=dtype))
            columns.update(zip(names, matrix.T, strict=True))
    return {name: columns[name] for name in schema.feature_names}


def reference_columns(
    prepared: PreparedData, features: Features, split: str
) -> dict[str, np.ndarray] | None:
    """One split's feature columns for the bundle's drift reference (:func:`drift_columns`):
    at most ``REFERENCE_ROWS`` of its rows, sampled with a fixed seed (memory stays bounded)."""
    from trainwell.data.schema import InputSchema
    from trainwell.utils.logging import summarise_warnings

    schema = features.schema
    assert isinstance(schema, InputSchema)
    part = getattr(prepared.splits, split)
    if len(part) > REFERENCE_ROWS:
        part = part.sample(n=REFERENCE_ROWS, random_state=REFERENCE_SAMPLE_SEED).sort_index()
    with summarise_warnings("drift_reference"):
        return drift_columns(part, schema)


@dataclass(frozen=True)
class TableInputs:
    """A bundle's ``schema.json`` and fitted preprocessing: rows -> the model's feature matrix.

    Attributes:
        raw: ``from_frame`` stops before the fitted preprocessing and returns the validated,
            prepared columns (numbers as float64, categories as strings): the input of an
            exported graph that holds the ``ColumnTransformer`` itself (:meth:`for_graph`).
        directory: the bundle directory (where ``samples.csv`` is).
    """

    schema: InputSchema
    preprocessor: Any
    raw: bool = False
    directory: Path | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in index order (empty unless classification)."""
        return tuple(self.schema.classes)

    def from_frame(self, frame: pd.DataFrame, *, strict: bool) -> Any:
        """Validate rows against the schema and run the saved preprocessing.

        Raises:
            SchemaError: a column is missing or has the wrong type (or, with ``strict``, a
                category training never saw).
        """
        from trainwell.data.preprocessing import prepare_frame, transform
        from trainwell.data.schema import validate_frame

        validated = validate_frame(frame, self.schema, strict_categories=strict)
        if self.raw:
            return prepare_frame(validated, self.schema)
        return transform(self.preprocessor, validated, self.schema)

    def samples(self) -> Any | None:
        """The remembered held-out rows as model input (None when the bundle has none)."""
        from trainwell.data.loading import load_table

        if self.directory is None or not (self.directory / SAMPLES_FILE).is_file():
            return None
        return self.from_frame(load_table(str(self.directory / SAMPLES_FILE)), strict=False)

    def preprocess(self, X: Any) -> Any:
        """Prepared columns (``raw``'s output) through the fitted ``ColumnTransformer``."""
        import numpy as np

        return np.asarray(self.preprocessor.transform(X), dtype=np.float64)

    def for_graph(self) -> TableInputs:
        """The same spec, stopping before the ``ColumnTransformer`` (an exported graph holds it)."""
        from dataclasses import replace

        return replace(self, raw=True)

    def read(
        self, path: Path, *, chunk_rows: int, strict: bool, skip_invalid: bool
    ) -> Iterator[InputBatch]:
        """A CSV/Parquet file in chunks of rows (row order kept, no key columns).

        Raises:
            ConfigError: ``skip_invalid`` (a table is validated as a whole).
        """
        from trainwell.data.loading import load_table

        if skip_invalid:
            raise ConfigError(
                "--skip-invalid applies to inputs read one by one (image files); a table is "
                "validated as a whole: fix or drop the rows the error names"
            )
        frame = load_table(str(path))
        for start in range(0, len(frame), chunk_rows):
            chunk = frame.iloc[start : start + chunk_rows]
            yield InputBatch(keys={}, X=self.from_frame(chunk, strict=strict), n_rows=len(chunk))


def open_inputs(directory: Path) -> TableInputs:
    """The schema and the fitted ``ColumnTransformer`` a bundle holds."""
    import json

    from trainwell.data.schema import InputSchema
    from trainwell.errors import BundleError
    from trainwell.models.sklearn_models import load_skops

    path = directory / SCHEMA_FILE
    try:
        schema = InputSchema.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    return TableInputs(
        schema=schema, preprocessor=load_skops(directory / PREPROCESSING_FILE), directory=directory
    )


TABLE = Modality(
    name="table",
    load=load,
    split=split,
    fit_inputs=fit_inputs,
    checks=checks,
    save_inputs=save_inputs,
    input_files=(SCHEMA_FILE, PREPROCESSING_FILE),
    open_inputs=open_inputs,
    save_samples=save_samples,
    reference_columns=reference_columns,
    seeds_torch=False,
)
