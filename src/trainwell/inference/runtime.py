"""Exported models behind the native model's verbs, so the predictor runs them unchanged.

An :class:`ExportedModel` answers ``predict_proba`` / ``predict`` / ``score_samples`` from an
ONNX Runtime session or a TorchScript program, given what the bundle's ``export/<format>.json``
records: the objective, the graph's output, how its input is fed, and (detectors) the cutoff.

ONNX Runtime sessions are created on the first call, never at import or load time (a session
used before ``os.fork`` can hang the child), with their thread counts set explicitly.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from trainwell.errors import BundleError, ExportError

Format = Literal["onnx", "torchscript"]
Runtime = Literal["native", "onnx", "torchscript"]
FORMATS: tuple[Format, ...] = ("onnx", "torchscript")
RUNTIMES: tuple[Runtime, ...] = ("native", "onnx", "torchscript")
EXPORT_DIR = "export"
FILES: dict[Format, str] = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}
# what each format's graph reads: prepared columns (a table's preprocessing is in the graph),
# the native model's input (TorchScript of a table model: a feature matrix), or images
InputKind = Literal["columns", "matrix", "images"]


@dataclass(frozen=True)
class PreparedColumns:
    """Prepared columns already converted for a column graph (``serve``'s request path).

    Numeric (and datetime, as epoch seconds) columns are float32 ``(n, 1)`` arrays; categorical
    columns are object ``(n, 1)`` arrays of strings with ``"__missing__"`` for a missing value,
    exactly what ``prepare_frame`` produces, without a pandas frame in between.

    Attributes:
        arrays: column name -> ``(n, 1)`` array.
        n_rows: rows in every array.
    """

    arrays: dict[str, Any]
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows


def default_threads() -> int:
    """Intra-op threads for a session: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _ort_errors() -> tuple[type[Exception], ...]:
    """ONNX Runtime's own exception types (they do not derive from RuntimeError)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    names = ("Fail", "InvalidArgument", "InvalidGraph", "RuntimeException", "NotImplemented")
    return tuple(getattr(state, n) for n in names if hasattr(state, n))


class ExportRecord(BaseModel):
    """``export/<format>.json``: how to run the exported file like the native model.

    Attributes:
        format: ``onnx`` or ``torchscript``.
        file: the exported file, relative to the bundle.
        route: the converter (``ArchitectureSpec.export``).
        opset: the main-domain opset (ONNX only).
        objective: ``classification``, ``regression`` or ``anomaly``.
        output: the graph's output name.
        input_kind: see :data:`InputKind`.
        input_names: the graph's input names, in order.
        columns: the column each input is fed from (``columns`` input), in the same order.
        score_cutoff: detectors: a row whose score is below it is an anomaly.
        transform: image models: the evaluation transform (``TransformSpec``) as JSON.
        parity_file: the parity report, relative to the bundle.
        waived: parity failed and ``--allow-mismatch`` recorded the export anyway.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Format
    file: str
    route: str
    opset: int | None
    objective: str
    output: str
    input_kind: InputKind
    input_names: tuple[str, ...]
    columns: tuple[str, ...]
    score_cutoff: float | None = None
    transform: dict[str, Any] | None = None
    parity_file: str
    waived: bool = False


def record_path(fmt: Format) -> str:
    """Where a format's record lives inside the bundle."""
    return f"{EXPORT_DIR}/{fmt}.json"


class ExportedModel:
    """An exported file answering with the native model's verbs.

    Args:
        path: the exported file.
        record: what ``export`` recorded about it.
        threads: intra-op threads (ONNX Runtime's session options; ``torch.set_num_threads``).
    """

    def __init__(self, path: Path, record: ExportRecord, threads: int | None = None) -> None:
        self.path = path
        self.record = record
        self.threads = threads or default_threads()
        self._session: Any = None
        self._transform: Any = None
        self._columns: tuple[list[tuple[str, str]], list[tuple[str, str]]] | None = None
        self._lock = threading.Lock()

    # --- running ---

    def _onnx_session(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.log_severity_level = 3
                try:
                    self._session = ort.InferenceSession(
                        str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
                    )
                except (*_ort_errors(), RuntimeError, ValueError) as exc:  # type: ignore[misc]
                    raise BundleError(f"ONNX Runtime cannot load {self.path}: {exc}") from exc
            return self._session

    def _torchscript(self) -> Any:
        with self._lock:
            if self._session is None:
                import torch

                try:
                    program = torch.jit.load(str(self.path), map_location="cpu")  # type: ignore[no-untyped-call]
                    self._session = program.eval()
                except RuntimeError as exc:
                    raise BundleError(f"cannot load TorchScript {self.path}: {exc}") from exc
            return self._session

    def load(self) -> ExportedModel:
        """Create the session now (a cold start measured on purpose)."""
        if self.record.format == "onnx":
            self._onnx_session()
        else:
            self._torchscript()
        return self

    def _image_batch(self, images: Any) -> Any:
        """Evaluation-transform an ImageSet into a ``(n, C, H, W)`` float32 array."""
        import numpy as np

        if self._transform is None:
            from trainwell.models.torch_vision import TransformSpec, build_eval_transform

            assert self.record.transform is not None
            spec = TransformSpec.model_validate(self.record.transform)
            self._transform = build_eval_transform(spec)
        tensors = [self._transform(images.open(i)).numpy() for i in range(len(images))]
        return np.stack(tensors).astype(np.float32, copy=False)

    def _dense(self, X: Any) -> Any:
        import numpy as np

        if self.record.input_kind == "images":
            return self._image_batch(X)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _feeds(self, X: Any) -> dict[str, Any]:
        """ONNX Runtime feeds for X (prepared columns, a feature matrix or images).

        A column graph takes one ``(n, 1)`` input per column. An all-numeric frame is converted
        in one call and handed over as row views of its transpose: at batch 1, looking the
        columns up one by one in pandas costs ten times the graph itself.
        """
        import numpy as np

        if self.record.input_kind != "columns":
            return {self.record.input_names[0]: self._dense(X)}
        numeric, strings = self._column_inputs()
        feeds: dict[str, Any] = {}
        if isinstance(X, PreparedColumns):
            try:
                return {name: X.arrays[column] for name, column in (*numeric, *strings)}
            except KeyError as exc:
                raise ExportError(f"the rows lack the column {exc.args[0]!r}") from exc
        frame_columns = X.columns.tolist()
        if not strings and len(frame_columns) == len(numeric):
            # an all-numeric frame: one conversion, then the graph's column order
            where = {column: i for i, column in enumerate(frame_columns)}
            try:
                order = [where[column] for _, column in numeric]
            except KeyError as exc:
                raise ExportError(f"the rows lack the column {exc.args[0]!r}") from exc
            block = np.ascontiguousarray(X.to_numpy(dtype=np.float32)[:, order].T)
            for i, (name, _) in enumerate(numeric):
                feeds[name] = block[i].reshape(-1, 1)
            return feeds
        for name, column in numeric:
            feeds[name] = X[column].to_numpy().astype(np.float32).reshape(-1, 1)
        for name, column in strings:
            feeds[name] = X[column].to_numpy().astype(str).astype(object).reshape(-1, 1)
        return feeds

    def _column_inputs(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The graph's (input, column) pairs, split into float and string inputs."""
        if self._columns is None:
            kinds = {i.name: i.type for i in self._onnx_session().get_inputs()}
            pairs = list(zip(self.record.input_names, self.record.columns, strict=True))
            strings = [(n, c) for n, c in pairs if kinds.get(n) == "tensor(string)"]
            numeric = [(n, c) for n, c in pairs if kinds.get(n) != "tensor(string)"]
            self._columns = (numeric, strings)
        return self._columns

    def raw(self, X: Any) -> Any:
        """The graph's one output for X, float64, ``(n, k)``."""
        import numpy as np

        n_rows = len(X)
        if self.record.format == "onnx":
            session = self._onnx_session()
            try:
                out = session.run([self.record.output], self._feeds(X))[0]
            except _ort_errors() as exc:
                raise ExportError(f"ONNX Runtime failed on {n_rows} row(s): {exc}") from exc
        else:
            import torch

            program = self._torchscript()
            torch.set_num_threads(self.threads)
            try:
                with torch.inference_mode():
                    out = program(torch.from_numpy(self._dense(X))).numpy()
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[-1]
                raise ExportError(f"TorchScript failed on {n_rows} row(s): {first}") from exc
        return np.asarray(out, dtype=np.float64).reshape(n_rows, -1)

    # --- the native verbs ---

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities ``(n, classes)``."""
        self._expect("classification")
        return self.raw(X)

    def score_samples(self, X: Any) -> Any:
        """Detector scores (lower = more abnormal), ``(n,)``."""
        self._expect("anomaly")
        return self.raw(X)[:, 0]

    def predict(self, X: Any) -> Any:
        """Values (regression), 1 = anomaly / 0 (detectors), class codes (classification)."""
        import numpy as np

        objective = self.record.objective
        if objective == "regression":
            return self.raw(X)[:, 0]
        if objective == "anomaly":
            assert self.record.score_cutoff is not None
            return (self.score_samples(X) < self.record.score_cutoff).astype(np.int64)
        return np.argmax(self.predict_proba(X), axis=1)

    def _expect(self, objective: str) -> None:
        if self.record.objective != objective:
            raise ExportError(f"this {self.record.objective} export has no {objective} output")


@dataclass(frozen=True)
class LoadedExport:
    """An exported model and its record."""

    model: ExportedModel
    record: ExportRecord


def open_export(
    bundle: Path, manifest: dict[str, Any], fmt: Format, threads: int | None
) -> LoadedExport:
    """The bundle's export in ``fmt`` (the bundle was verified by the caller).

    Raises:
        ExportError: the bundle has no export in that format.
    """
    import json

    exports = manifest.get("exports", {})
    if not isinstance(exports, dict) or fmt not in exports:
        raise ExportError(
            f"bundle {bundle} has no {fmt} export: run `trainwell export {bundle} --format {fmt}`"
            " first"
        )
    path = bundle / record_path(fmt)
    try:
        record = ExportRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    return LoadedExport(ExportedModel(bundle / record.file, record, threads), record)
