"""Validated batch inference from a saved bundle — the same path `predict` and `serve` use.

The predictor knows no modality: the bundle's task row names one, whose ``open_inputs`` reads
the input spec the bundle holds and turns new input (rows, a file, a folder of images) into model
input exactly as training did; the objective's ``outputs`` turns model output into columns.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import BundleError, ConfigError, DataError, ModelError
from trainwell.inference.bundle import MODEL_DIR, VerifiedBundle, verify_bundle
from trainwell.tasks import TaskSpec, get_task
from trainwell.utils.logging import get_logger, summarise_warnings

if TYPE_CHECKING:
    import pandas as pd

    from trainwell.data.modality import BundleInputs, InputBatch
    from trainwell.inference.runtime import Runtime

logger = get_logger(__name__)

DEFAULT_CHUNK_ROWS = 50_000
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
REJECTED_SUFFIX = ".rejected.csv"


@dataclass(frozen=True)
class PredictionReport:
    """What ``predict_file`` wrote.

    Attributes:
        rows: predictions written.
        rejected: inputs skipped because they could not be read (``skip_invalid``).
        rejected_path: the CSV listing them (name, reason), when any were skipped.
    """

    rows: int
    rejected: int = 0
    rejected_path: Path | None = None


@dataclass(frozen=True)
class Predictor:
    """A loaded, verified bundle ready to predict.

    Example:
        >>> predictor = Predictor.load(Path("models/breast-cancer-sklearn-hgb-1a2b3c"))
        >>> predictor.predict_frame(rows)  # doctest: +SKIP
    """

    bundle: VerifiedBundle
    inputs: BundleInputs
    model: Any
    task: TaskSpec
    runtime: Runtime = "native"

    @classmethod
    def load(cls, path: Path, runtime: Runtime = "native", threads: int | None = None) -> Predictor:
        """Verify the bundle's hashes, then load its input spec and its model.

        Args:
            runtime: ``native`` (the model as trained), or an export written by
                ``trainwell export``: ``onnx`` (ONNX Runtime) or ``torchscript``.
            threads: intra-op threads of an exported model (None: the usable cores, at most 4).

        Raises:
            BundleError: the bundle is missing, altered, or names an unknown task or
                architecture.
            ExportError: ``runtime`` names an export the bundle does not have.
        """
        from trainwell.models.registry import get_spec

        bundle = verify_bundle(path)
        try:
            task = get_task(str(bundle.manifest.get("task", "")))
        except ConfigError as exc:
            raise BundleError(f"bundle {path}: {exc}") from exc
        architecture = str(bundle.manifest.get("architecture", ""))
        try:
            spec = get_spec(architecture)
        except ModelError as exc:
            raise BundleError(f"bundle {path}: {exc}") from exc
        inputs = task.modality.open_inputs(path)
        if runtime == "native":
            return cls(bundle=bundle, inputs=inputs, model=spec.load(path / MODEL_DIR), task=task)
        from trainwell.inference.runtime import open_export

        exported = open_export(path, bundle.manifest, runtime, threads)
        if exported.record.input_kind == "columns":
            inputs = inputs.for_graph()
        return cls(bundle=bundle, inputs=inputs, model=exported.model, task=task, runtime=runtime)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in index order (empty unless classification)."""
        return self.inputs.classes

    def features(self, frame: pd.DataFrame, *, strict_categories: bool = False) -> Any:
        """Model input for ``frame``, validated against the bundle's input spec."""
        return self.inputs.from_frame(frame, strict=strict_categories)

    def predict_frame(
        self, frame: pd.DataFrame, *, strict_categories: bool = False
    ) -> pd.DataFrame:
        """Predictions for ``frame``: labels (+ one probability column per class) or values."""
        import pandas as pd

        X = self.features(frame, strict_categories=strict_categories)
        columns = self.task.objective.outputs(self.model, X, self.classes)
        return pd.DataFrame(columns, index=frame.index)

    def _predict_batch(self, batch: InputBatch) -> pd.DataFrame:
        import pandas as pd

        if batch.n_rows == 0:
            return pd.DataFrame()
        columns = self.task.objective.outputs(self.model, batch.X, self.classes)
        return pd.DataFrame({**batch.keys, **columns})

    def predict_file(
        self,
        input_path: Path,
        output_path: Path,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        strict_categories: bool = False,
        skip_invalid: bool = False,
    ) -> PredictionReport:
        """Predict a file or folder in chunks and write a CSV/Parquet of predictions.

        The output keeps the input's order. It is written to a temporary file first and renamed,
        so a failure leaves no partial output. With ``skip_invalid``, inputs that cannot be read
        are left out and listed in ``<output stem>.rejected.csv`` (name, reason).

        Raises:
            DataError: an input cannot be read (without ``skip_invalid``), or none could.
            SchemaError: rows do not match the bundle's schema.
        """
        import pandas as pd

        output_path.parent.mkdir(parents=True, exist_ok=True)
        staging = output_path.with_name(f".{output_path.name}.partial")
        parquet = output_path.suffix.lower() in PARQUET_SUFFIXES
        parts: list[pd.DataFrame] = []
        rejected: list[tuple[str, str]] = []
        rows = 0
        # a warning repeated per chunk or per column is logged once, with its count
        with summarise_warnings("predict"):
            try:
                batches = self.inputs.read(
                    input_path,
                    chunk_rows=chunk_rows,
                    strict=strict_categories,
                    skip_invalid=skip_invalid,
                )
                for batch in batches:
                    rejected.extend(batch.rejected)
                    predicted = self._predict_batch(batch)
                    if predicted.empty:
                        continue
                    rows += len(predicted)
                    if parquet:
                        parts.append(predicted)
                    else:  # CSV: written batch by batch
                        first = rows == len(predicted)
                        predicted.to_csv(
                            staging, mode="w" if first else "a", header=first, index=False
                        )
                if rows == 0:
                    raise DataError(f"nothing could be predicted from {input_path}")
                if parquet:
                    pd.concat(parts).to_parquet(staging, index=False)
                staging.replace(output_path)
            finally:
                staging.unlink(missing_ok=True)
        report = PredictionReport(rows=rows, rejected=len(rejected))
        if rejected:
            rejected_path = output_path.with_name(output_path.stem + REJECTED_SUFFIX)
            with rejected_path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["input", "reason"])
                writer.writerows(rejected)
            report = PredictionReport(rows, len(rejected), rejected_path)
            logger.warning("inputs_rejected", count=len(rejected), listed_in=str(rejected_path))
        logger.info("predictions_written", path=str(output_path), rows=rows)
        return report
