"""One served model: a verified bundle loaded, its request codec built, warmed up.

A table bundle with an ONNX export whose graph holds the preprocessing is served on the fast path:
validated records become the graph's column feeds directly (no pandas, no scikit-learn import).
Any other bundle is served through :class:`~trainwell.inference.predictor.Predictor` on a pandas
frame, exactly as ``trainwell predict`` runs it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trainwell.data.schema import InputSchema
from trainwell.data.table import SAMPLES_FILE, SCHEMA_FILE, TABLE
from trainwell.errors import BundleError, ConfigError, ExportError, TrainwellError
from trainwell.evaluation.objectives import PREDICTION_COLUMN, SCORE_COLUMN
from trainwell.inference.bundle import METRICS_FILE, verify_bundle
from trainwell.inference.serve.records import (
    RecordCodec,
    ValidatedBatch,
    read_examples,
    synthetic_example,
)
from trainwell.tasks import TaskSpec, get_task
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

    from trainwell.inference.drift import DriftMonitor, DriftThresholds

logger = get_logger(__name__)

ServedRuntime = Literal["onnx", "native"]


@dataclass(frozen=True)
class ModelIdentity:
    """Which model an arm serves.

    Attributes:
        arm: the arm's name in responses and metrics (an alias, ``v3``, or ``default``).
        name: the registered model name, or the bundle directory's name.
        version: the registry version, or the first 12 hex digits of the bundle's manifest hash.
        alias: the registry alias the arm follows (None: a fixed version or a bundle path).
    """

    arm: str
    name: str
    version: str
    alias: str | None = None


@dataclass(frozen=True)
class ServedModel:
    """A loaded arm: everything a request needs, immutable (a swap replaces the whole object)."""

    identity: ModelIdentity
    path: Path
    task: TaskSpec
    architecture: str
    runtime: ServedRuntime
    codec: RecordCodec
    model: Any
    fast_path: bool
    predictor: Any
    monitor: DriftMonitor | None
    training_metrics: dict[str, Any]
    manifest: dict[str, Any]
    loaded_in_s: float

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in index order (empty unless classification)."""
        return tuple(self.codec.schema.classes)

    def predict(self, batch: ValidatedBatch) -> dict[str, np.ndarray]:
        """Output columns (``prediction``, ``proba_<class>`` / ``anomaly_score``) for a batch.

        Raises:
            SchemaError: the native path's validation refused the rows.
            ExportError: the runtime failed on them.
        """
        if self.fast_path:
            X = self.codec.graph_input(batch)
            out: dict[str, np.ndarray] = self.task.objective.outputs(self.model, X, self.classes)
            return out
        frame = self.predictor.predict_frame(
            self.codec.frame(batch), strict_categories=self.codec.strict_categories
        )
        return {column: frame[column].to_numpy() for column in frame.columns}

    def observed(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """What the drift monitor tracks of the predictions: scores for detectors, else the
        prediction column (labels or values)."""
        return outputs.get(SCORE_COLUMN, outputs[PREDICTION_COLUMN])

    def describe(self) -> dict[str, Any]:
        """What ``GET /v1/model`` says about this arm."""
        return {
            "arm": self.identity.arm,
            "name": self.identity.name,
            "version": self.identity.version,
            "alias": self.identity.alias,
            "task": self.task.name,
            "architecture": self.architecture,
            "runtime": self.runtime,
            "bundle": self.path.name,
            "run_id": self.manifest.get("run_id"),
            "created_at": self.manifest.get("created_at"),
            "trainwell_version": self.manifest.get("trainwell_version"),
            "drift_reference": self.monitor is not None,
            "training_metrics": self.training_metrics,
        }


def _bundle_version(path: Path) -> str:
    from trainwell.utils.environment import sha256_file

    return sha256_file(path / "manifest.json")[:12]


def _runtime(manifest: dict[str, Any], asked: str) -> ServedRuntime:
    exports = manifest.get("exports", {})
    has_onnx = isinstance(exports, dict) and "onnx" in exports
    if asked == "onnx" and not has_onnx:
        raise ExportError(
            "the bundle has no ONNX export: run `trainwell export BUNDLE --format onnx` first, "
            "or serve with --runtime native"
        )
    if asked == "native" or not has_onnx:
        return "native"
    return "onnx"


def load_served(
    path: Path,
    identity: ModelIdentity,
    *,
    runtime: str = "auto",
    threads: int = 1,
    strict_categories: bool = False,
    drift: bool = True,
    thresholds: DriftThresholds | None = None,
) -> ServedModel:
    """Verify, load and warm up the bundle at ``path`` (one prediction on a real record).

    Raises:
        BundleError: missing, altered, not a table bundle, or the warm-up failed.
        ExportError: ``runtime='onnx'`` and the bundle has no ONNX export.
    """
    started = time.perf_counter()
    bundle = verify_bundle(path)
    manifest = bundle.manifest
    try:
        task = get_task(str(manifest.get("task", "")))
    except ConfigError as exc:
        raise BundleError(f"bundle {path}: {exc}") from exc
    if task.modality is not TABLE:
        raise BundleError(
            f"bundle {path} is a {task.name} model: serve answers JSON records of a table "
            "bundle; use `trainwell predict` for this one"
        )
    schema = _read_schema(path)
    served_runtime = _runtime(manifest, runtime)
    monitor, ranges = _drift(path, drift, thresholds)
    examples = read_examples(path / SAMPLES_FILE, schema) or [synthetic_example(schema)]
    codec = RecordCodec(
        schema, strict_categories=strict_categories, ranges=ranges, examples=examples
    )
    model, predictor, fast_path = _open_model(path, served_runtime, threads)
    served = ServedModel(
        identity=identity,
        path=path,
        task=task,
        architecture=str(manifest.get("architecture", "")),
        runtime=served_runtime,
        codec=codec,
        model=model,
        fast_path=fast_path,
        predictor=predictor,
        monitor=monitor,
        training_metrics=_metrics(path),
        manifest=manifest,
        loaded_in_s=0.0,
    )
    _warm_up(served, examples)
    from dataclasses import replace

    served = replace(served, loaded_in_s=time.perf_counter() - started)
    logger.info(
        "model_loaded",
        arm=identity.arm,
        name=identity.name,
        version=identity.version,
        runtime=served_runtime,
        fast_path=fast_path,
        seconds=round(served.loaded_in_s, 3),
    )
    return served


def _read_schema(path: Path) -> InputSchema:
    try:
        return InputSchema.model_validate_json((path / SCHEMA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path / SCHEMA_FILE}: {exc}") from exc


def _metrics(path: Path) -> dict[str, Any]:
    try:
        metrics = json.loads((path / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path / METRICS_FILE}: {exc}") from exc
    return metrics if isinstance(metrics, dict) else {}


def _open_model(path: Path, runtime: ServedRuntime, threads: int) -> tuple[Any, Any, bool]:
    """(model, predictor or None, fast path?)."""
    from trainwell.inference.predictor import Predictor

    if runtime == "onnx":
        from trainwell.inference.runtime import open_export

        exported = open_export(path, verify_bundle(path).manifest, "onnx", threads)
        if exported.record.input_kind == "columns":
            return exported.model.load(), None, True
    predictor = Predictor.load(path, runtime=runtime, threads=threads)
    return predictor.model, predictor, False


def _drift(
    path: Path, enabled: bool, thresholds: DriftThresholds | None
) -> tuple[DriftMonitor | None, dict[str, tuple[float, float]]]:
    """The drift monitor and the training ranges (both empty for a bundle without reference)."""
    from trainwell.inference.drift import DriftMonitor, DriftThresholds, load_reference

    reference = load_reference(path)
    if reference is None:
        logger.warning(
            "drift_off",
            bundle=path.name,
            reason="the bundle has no training reference "
            "(trained before trainwell wrote one); retrain to monitor drift",
        )
        return None, {}
    ranges = reference.numeric_ranges()
    if not enabled:
        return None, ranges
    return DriftMonitor(reference, thresholds or DriftThresholds()), ranges


def _warm_up(served: ServedModel, examples: list[dict[str, Any]]) -> None:
    records, _, errors = served.codec.validate(examples[:1])
    if errors:
        raise BundleError(
            f"bundle {served.path}: its own sample record does not validate: {errors[0].msg}"
        )
    try:
        served.predict(served.codec.columns(records))
    except TrainwellError as exc:
        raise BundleError(f"bundle {served.path}: the warm-up prediction failed: {exc}") from exc
