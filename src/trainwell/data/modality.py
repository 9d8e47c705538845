"""The modality contract: how one kind of input is read, split, prepared, checked and saved.

A task kind (``trainwell.tasks.TASKS``) is one modality row and one objective row
(``trainwell.evaluation.objectives``). The training pipeline calls only these functions, so a new
kind of input (images, text, series) is a new row, not new branches in the pipeline:

1. ``load``: the data the config names, profiled, with the target column resolved;
2. ``split``: train/valid/test (the task decides only whether to stratify on the target);
3. ``fit_inputs``: preprocessing fitted on the training split only; every split as model input;
4. ``checks``: the pre-training checklist items that look at the data and its preparation;
5. ``save_inputs``: the input spec and fitted preprocessing written into the bundle;
   ``save_samples`` and ``reference_columns`` add what export and drift monitoring read;
6. ``open_inputs``: at prediction time, the bundle's input spec read back as
   :class:`BundleInputs`, which turns new raw input (a file, a folder, rows) into model input
   exactly as training did.

The table row lives in ``trainwell.data.table``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pydantic import BaseModel

    from trainwell.config.schema import ExperimentConfig
    from trainwell.data.profile import DataProfile
    from trainwell.data.splitting import Splits
    from trainwell.evaluation.checks import CheckResult
    from trainwell.evaluation.objectives import Objective, Targets
    from trainwell.models.registry import ArchitectureSpec


@dataclass(frozen=True)
class Loaded:
    """The data a config names, before splitting.

    Attributes:
        examples: one row per example (a table's rows; an index of files for other inputs).
        parts: pre-split sources by split name (empty when one source is split by trainwell).
        target: the target column (None: learned without labels).
        profile: what the advisor and the checks read.
        fingerprint: sha256 of the content, recorded in the bundle and the run.
        dataset: a short name of the source.
        size_bytes: on-disk size of the source(s), when known.
        target_missing_rows: rows dropped because their target was missing.
    """

    examples: Any
    parts: dict[str, Any]
    target: str | None
    profile: DataProfile
    fingerprint: str
    dataset: str
    size_bytes: int | None
    target_missing_rows: int = 0


@dataclass(frozen=True)
class PreparedData:
    """Splits with the target separated, and what describes them."""

    splits: Splits
    target: str | None
    task: str
    profile: DataProfile
    fingerprint: str
    dataset: str
    size_bytes: int | None
    target_missing_rows: int = 0


@dataclass(frozen=True)
class Features:
    """The input spec and fitted preprocessing, and every split turned into model inputs.

    Attributes:
        schema: the input spec saved in the bundle (``InputSchema`` for tables).
        preprocessor: fitted on the training split only.
        X: model inputs per split.
        y: encoded targets per split (None: no labels).
        classes: class names in index order (empty unless classification).
    """

    schema: BaseModel
    preprocessor: Any
    X: dict[str, Any]
    y: dict[str, Any]
    classes: tuple[str, ...]


@dataclass(frozen=True)
class InputBatch:
    """One chunk of prediction input, read and turned into model input.

    Attributes:
        keys: leading output columns that say which input each row is (an image's ``path``);
            empty for tables, whose predictions keep the input's row order.
        X: model input for the rows that could be read.
        n_rows: how many rows ``X`` holds.
        rejected: (input name, reason) of what was skipped (only with ``skip_invalid``).
    """

    keys: dict[str, list[str]]
    X: Any
    n_rows: int
    rejected: tuple[tuple[str, str], ...] = ()


class BundleInputs(Protocol):
    """A bundle's input spec, loaded: how new input becomes model input (``Predictor``)."""

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in index order (empty unless classification)."""
        ...

    def from_frame(self, frame: pd.DataFrame, *, strict: bool) -> Any:
        """Model input for rows (a table's feature rows; image paths in a column).

        Args:
            strict: refuse what training never saw (a table's unseen categories).
        """
        ...

    def read(
        self, path: Path, *, chunk_rows: int, strict: bool, skip_invalid: bool
    ) -> Iterator[InputBatch]:
        """Model input for a file or folder, in chunks of at most ``chunk_rows``.

        Args:
            skip_invalid: leave out inputs that cannot be read (each reported in
                ``InputBatch.rejected``) instead of stopping at the first.
        """
        ...

    def samples(self) -> Any | None:
        """Model input of the held-out examples the bundle remembers (``save_samples``), or
        None for a bundle written before they were kept. Export measures parity on them."""
        ...

    def preprocess(self, X: Any) -> Any:
        """``for_graph()``'s input -> this modality's model input: the fitted preprocessing an
        exported graph holds (a table's ``ColumnTransformer``); identity otherwise."""
        ...

    def for_graph(self) -> BundleInputs:
        """The inputs an exported graph reads: one that holds this modality's fitted
        preprocessing (a table's ``ColumnTransformer``) takes the validated, prepared columns;
        otherwise the same model input as the native model (``self``)."""
        ...


@dataclass(frozen=True)
class Modality:
    """One row: a kind of input. See the module docstring for the order of the calls.

    Attributes:
        name: ``table``, ...; registry rows name the modality they consume.
        load: (config, target_optional, include_test) -> :class:`Loaded`.
        split: (loaded, config, stratify, include_test) -> the splits.
        fit_inputs: (config, prepared, architecture row, targets) -> :class:`Features`.
        checks: (config, prepared, features, objective) -> data/preparation checklist items.
        save_inputs: (features, bundle directory) -> the file names written.
        input_files: the files ``save_inputs`` writes (a bundle without them is incomplete).
        open_inputs: bundle directory -> :class:`BundleInputs` (what ``save_inputs`` wrote).
        save_samples: (prepared, features, bundle directory) -> the file names written: up to a
            few hundred held-out examples, raw, that export's parity gate runs on.
        reference_columns: (prepared, features, split name) -> that split's feature columns as
            `serve` hands them to the drift monitor (numbers and dates as float64 with NaN for
            missing, dates in epoch seconds; categories as object arrays of str or None), by
            column name; the bundle's drift reference (``reference.json``) is computed on them.
            None: this modality keeps no drift reference.
        seeds_torch: the run seeds torch's generator before loading data (image augmentation
            draws from it). A table's data path never does, and its torch models seed
            themselves when fitted, so table runs leave torch unimported (about 4 s saved).
    """

    name: str
    load: Callable[[ExperimentConfig, bool, bool], Loaded]
    split: Callable[[Loaded, ExperimentConfig, bool, bool], Splits]
    fit_inputs: Callable[[ExperimentConfig, PreparedData, ArchitectureSpec, Targets], Features]
    checks: Callable[[ExperimentConfig, PreparedData, Features, Objective], list[CheckResult]]
    save_inputs: Callable[[Features, Path], list[str]]
    input_files: tuple[str, ...]
    open_inputs: Callable[[Path], BundleInputs]
    save_samples: Callable[[PreparedData, Features, Path], list[str]]
    reference_columns: Callable[[PreparedData, Features, str], dict[str, np.ndarray] | None]
    seeds_torch: bool = True
