"""`trainwell export`: a bundle's model as ONNX or TorchScript, with numerical parity as a gate.

The exported artefact covers what the native predictor does from raw rows: a table model's
graph holds the fitted ``ColumnTransformer`` too (inputs are the prepared columns), so parity
is measured from raw rows; an image model's graph starts after the saved evaluation transform,
which both runtimes apply identically.

Parity is measured on the held-out examples the bundle remembers (``samples.csv`` /
``samples/``, written by ``train``), at batch 1, an odd batch and all of them at once, against
the native model on the same rows:

* every output element within ``atol + rtol * |native|`` (float32-aware tolerances below);
* classifiers: 100 % label agreement (a row whose native top probabilities tie within the
  tolerance agrees with either label); detectors: 100 % flag agreement and a Spearman rank
  correlation of the scores of at least ``MIN_RANK_AGREEMENT``.

A failure raises :class:`~trainwell.errors.ParityError` (exit 1) and writes nothing;
``allow_mismatch`` records the export with a visible waiver. The exported file, its record and
its parity report enter the bundle together with a new manifest, in one directory swap, so the
bundle stays verifiable: a tampered export is refused like any other file.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from trainwell import __version__
from trainwell.errors import ExportError, ParityError
from trainwell.inference import converters
from trainwell.inference.runtime import (
    EXPORT_DIR,
    FILES,
    ExportedModel,
    ExportRecord,
    Format,
    InputKind,
    record_path,
)
from trainwell.utils.files import write_json
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

# float32 graphs against float64 (scikit-learn, GBMs) or float32 (torch) natives
TOLERANCES: dict[str, tuple[float, float]] = {  # output -> (rtol, atol)
    converters.PROBABILITIES: (0.0, 1e-4),
    converters.PREDICTION: (1e-4, 1e-6),  # atol scaled by max(1, max |native|)
    converters.SCORE: (1e-4, 1e-6),
}
MIN_RANK_AGREEMENT = 0.999
ODD_BATCH = 7


class BatchParity(BaseModel):
    """Parity of one batch size over all remembered rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int
    max_abs_diff: float
    max_rel_diff: float
    within_tolerance: bool
    label_agreement: float | None
    rank_agreement: float | None


class ParityReport(BaseModel):
    """``export/parity-<format>.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Format
    output: str
    rows: int
    rtol: float
    atol: float
    min_label_agreement: float | None
    min_rank_agreement: float | None
    batches: tuple[BatchParity, ...]
    passed: bool
    waived: bool = False

    def summary(self) -> str:
        """One line: the worst batch's figures against the tolerances."""
        worst = max(self.batches, key=lambda b: b.max_abs_diff)
        parts = [
            f"max |diff| {worst.max_abs_diff:.3g} (atol {self.atol:.3g} + rtol {self.rtol:.3g}"
            f" x |native|) at batch {worst.batch_size}"
        ]
        labels = [b.label_agreement for b in self.batches if b.label_agreement is not None]
        if labels:
            parts.append(f"label agreement {min(labels):.2%}")
        ranks = [b.rank_agreement for b in self.batches if b.rank_agreement is not None]
        if ranks:
            parts.append(f"rank agreement {min(ranks):.6f}")
        return (
            f"{'passed' if self.passed else 'FAILED'} on {self.rows} held-out rows: "
            + ", ".join(parts)
        )


@dataclass(frozen=True)
class ExportResult:
    """What ``export_bundle`` wrote."""

    path: Path
    record: ExportRecord
    parity: ParityReport
    sha256: str
    size_bytes: int
    seconds: float


# --- parity ---------------------------------------------------------------------------------


def _rows(X: Any, start: int, stop: int) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[start:stop]
    return X[start:stop]


def _outputs(model: Any, objective: str, X: Any) -> tuple[Any, Any]:
    """(the compared output ``(n, k)`` float64, the labels or flags or None)."""
    import numpy as np

    if objective == "classification":
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        return proba, np.argmax(proba, axis=1)
    if objective == "anomaly":
        scores = np.asarray(model.score_samples(X), dtype=np.float64).reshape(len(X), -1)
        return scores, np.asarray(model.predict(X)).astype(np.int64)
    return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), -1), None


def _batched(model: Any, objective: str, X: Any, batch_size: int) -> tuple[Any, Any]:
    import numpy as np

    values, labels = [], []
    for start in range(0, len(X), batch_size):
        v, lab = _outputs(model, objective, _rows(X, start, start + batch_size))
        values.append(v)
        labels.append(lab)
    merged = np.concatenate(values)
    return merged, None if labels[0] is None else np.concatenate(labels)


def batch_sizes(n_rows: int) -> list[int]:
    """Batch 1, an odd batch and all rows at once (distinct, ascending)."""
    return sorted({1, min(ODD_BATCH, n_rows), n_rows})


def measure_parity(
    native: Any,
    native_X: Any,
    exported: Any,
    exported_X: Any,
    objective: str,
    fmt: Format,
) -> ParityReport:
    """Compare ``exported`` with ``native`` on the same rows at every batch size."""
    import numpy as np
    from scipy.stats import spearmanr

    output = converters.output_name(objective)
    rtol, atol = TOLERANCES[output]
    reference, ref_labels = _outputs(native, objective, native_X)
    if output != converters.PROBABILITIES:
        atol *= max(1.0, float(np.max(np.abs(reference))) if reference.size else 1.0)
    batches = []
    for size in batch_sizes(len(native_X)):
        try:
            values, labels = _batched(exported, objective, exported_X, size)
        except ExportError as exc:
            raise ParityError(
                f"parity gate: the {fmt} export fails at batch {size}: {exc}"
            ) from exc
        if values.shape != reference.shape:
            raise ParityError(
                f"the {fmt} export returns shape {values.shape} at batch {size}, "
                f"the native model {reference.shape}"
            )
        diff = np.abs(values - reference)
        finite = bool(np.isfinite(values).all())
        rel = diff / np.maximum(np.abs(reference), np.finfo(np.float32).tiny)
        within = finite and bool((diff <= atol + rtol * np.abs(reference)).all())
        agreement = None
        if labels is not None:
            agrees = labels == ref_labels
            if objective == "classification":
                # an exact tie (say 10 of 20 trees each way) breaks either way in float32: a
                # label whose native probability is within the tolerance of the top one agrees
                chosen = reference[np.arange(len(reference)), labels]
                agrees |= chosen >= reference.max(axis=1) - atol
            agreement = float(np.mean(agrees))
        rank = None
        if objective == "anomaly":
            if len(reference) > 1 and np.ptp(reference) > 0:
                rank = float(spearmanr(reference[:, 0], values[:, 0]).statistic)
            else:
                rank = 1.0 if finite and within else 0.0
        batches.append(
            BatchParity(
                batch_size=size,
                max_abs_diff=float(diff.max()) if finite else math.inf,
                max_rel_diff=float(rel.max()) if finite else math.inf,
                within_tolerance=within,
                label_agreement=agreement,
                rank_agreement=rank,
            )
        )
    passed = all(
        b.within_tolerance
        and (b.label_agreement is None or b.label_agreement == 1.0)
        and (b.rank_agreement is None or b.rank_agreement >= MIN_RANK_AGREEMENT)
        for b in batches
    )
    return ParityReport(
        format=fmt,
        output=output,
        rows=len(native_X),
        rtol=rtol,
        atol=atol,
        min_label_agreement=None if ref_labels is None else 1.0,
        min_rank_agreement=MIN_RANK_AGREEMENT if objective == "anomaly" else None,
        batches=tuple(batches),
        passed=passed,
    )


# --- writing the export ---------------------------------------------------------------------


def _refuse(spec: Any, fmt: Format) -> None:
    if spec.export is None:
        raise ExportError(f"{spec.name} cannot be exported: {spec.export_refusal}")
    if fmt == "torchscript" and spec.export != "torch":
        raise ExportError(
            f"--format torchscript applies to torch models; {spec.name} is a {spec.library} "
            "model: use --format onnx"
        )


def _convert(
    predictor: Any, spec: Any, fmt: Format, opset: int | None, destination: Path
) -> tuple[ExportRecord, int | None]:
    """Write the exported file to ``destination``; return its record (parity file unset)."""
    objective = predictor.task.objective.name
    model = predictor.model
    table = predictor.task.modality.name == "table"
    route = str(spec.export)
    transform = None
    if not table:
        transform = model.transform_.model_dump(mode="json")
    cutoff = None
    if objective == "anomaly":
        from trainwell.models.sklearn_models import OutlierLabels

        # scikit-learn flags score_samples < offset_; the autoencoder error > threshold_
        if isinstance(model, OutlierLabels):
            cutoff = float(model.estimator.offset_)
        else:
            cutoff = float(model.score_cutoff)
    if fmt == "torchscript":
        converters.torchscript_program(model, destination)
        input_kind: InputKind = "matrix" if table else "images"
        names: tuple[str, ...] = (converters.FEATURES,)
        columns = names
        used_opset = None
    else:
        import onnx

        used_opset = converters.resolve_opset(route, opset)
        if table:
            inputs = predictor.inputs
            graph = converters.table_graph(
                route, model, inputs.preprocessor, inputs.schema, objective, used_opset
            )
            input_kind = "columns"
        else:
            graph = converters.torch_graph(model, objective, used_opset)
            input_kind = "images"
        try:
            onnx.checker.check_model(graph)
        except onnx.checker.ValidationError as exc:
            raise ExportError(f"the exported graph is not valid ONNX: {exc}") from exc
        onnx.save(graph, str(destination))
        names = tuple(i.name for i in graph.graph.input)
        columns = tuple(c.name for c in predictor.inputs.schema.columns) if table else names
    record = ExportRecord(
        format=fmt,
        file=f"{EXPORT_DIR}/{FILES[fmt]}",
        route=route,
        opset=used_opset,
        objective=objective,
        output=converters.output_name(objective),
        input_kind=input_kind,
        input_names=names,
        columns=columns,
        score_cutoff=cutoff,
        transform=transform,
        parity_file=f"{EXPORT_DIR}/parity-{fmt}.json",
    )
    return record, used_opset


def export_bundle(
    path: Path,
    fmt: Format = "onnx",
    *,
    opset: int | None = None,
    allow_mismatch: bool = False,
    threads: int | None = None,
) -> ExportResult:
    """Export the bundle's model, gate it on parity, and record it in the bundle.

    Raises:
        BundleError: not a bundle, or an altered one.
        ExportError: the model cannot be exported in ``fmt``/``opset``, or the bundle keeps no
            held-out rows to measure parity on.
        ParityError: the export's outputs differ beyond the tolerances (without
            ``allow_mismatch``); nothing is written.
    """
    from trainwell.inference.bundle import update_bundle
    from trainwell.inference.predictor import Predictor
    from trainwell.models.registry import get_spec, require_available

    start = time.perf_counter()
    predictor = Predictor.load(path)
    spec = get_spec(str(predictor.bundle.manifest.get("architecture", "")))
    _refuse(spec, fmt)
    require_available(spec)
    native_X = predictor.inputs.samples()
    if native_X is None or len(native_X) == 0:
        raise ExportError(
            f"bundle {path} keeps no held-out rows to measure parity on (it was written before "
            "trainwell kept them, or had no test or validation split): retrain it"
        )
    with tempfile.TemporaryDirectory(prefix="trainwell-export-") as tmp:
        staged = Path(tmp) / FILES[fmt]
        record, _ = _convert(predictor, spec, fmt, opset, staged)
        exported = ExportedModel(staged, record, threads)
        graph_X = (
            predictor.inputs.for_graph().samples() if record.input_kind == "columns" else native_X
        )
        parity = measure_parity(predictor.model, native_X, exported, graph_X, record.objective, fmt)
        if not parity.passed and not allow_mismatch:
            raise ParityError(
                f"parity gate: the {fmt} export {parity.summary()}; nothing was written "
                "(--allow-mismatch records it with a waiver)"
            )
        if not parity.passed:
            parity = parity.model_copy(update={"waived": True})
            record = record.model_copy(update={"waived": True})
            logger.warning("parity_waived", format=fmt, summary=parity.summary())
        from trainwell.utils.environment import sha256_file

        digest = sha256_file(staged)
        size = staged.stat().st_size

        def add(directory: Path) -> None:
            folder = directory / EXPORT_DIR
            folder.mkdir(exist_ok=True)
            shutil.copyfile(staged, directory / record.file)
            write_json(directory / record.parity_file, parity.model_dump(mode="json"))
            write_json(directory / record_path(fmt), record.model_dump(mode="json"))

        def entry(manifest: dict[str, Any]) -> dict[str, Any]:
            exports = dict(manifest.get("exports") or {})
            exports[fmt] = {
                "file": record.file,
                "sha256": digest,
                "size_bytes": size,
                "route": record.route,
                "opset": record.opset,
                "parity_passed": parity.passed,
                "waived": parity.waived,
                "exported_at": datetime.now(UTC).isoformat(),
                "trainwell_version": __version__,
            }
            return {**manifest, "exports": exports}

        update_bundle(path, add, entry)
    seconds = time.perf_counter() - start
    logger.info("exported", bundle=str(path), format=fmt, seconds=round(seconds, 3))
    return ExportResult(path / record.file, record, parity, digest, size, seconds)
