"""`trainwell bench`: native vs exported runtimes, per batch size, measured the same way.

What is timed is the inference a runtime does from validated, prepared input rows: for a table,
the fitted preprocessing and the model (native: ``ColumnTransformer`` + estimator; ONNX: the one
graph that holds both); for images, the evaluation transform and the model. Validation of the
raw rows is the same code for every runtime and is done once, outside the loop.

The inputs are the held-out rows the bundle remembers, repeated to fill each batch. Each
measurement runs windows of calls (each at least ``window_s`` seconds) until the throughput of the
last three windows agrees within 10 % (at most ten windows), the rule Triton's perf_analyzer
uses; ``settled`` says whether it did. Latency percentiles come from every timed call.

Peak memory (RSS) and cold start (bundle load + first call) are measured in a fresh Python
process per runtime, with the same thread settings. Threads are pinned (torch intra-op, ONNX
Runtime intra-op, ``OMP_NUM_THREADS`` for the child) and recorded.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from trainwell.errors import ConfigError, ExportError
from trainwell.inference.runtime import FORMATS, Runtime
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

DEFAULT_BATCH_SIZES = (1, 8, 64)
SETTLE_WINDOWS = 3
MAX_WINDOWS = 10
SETTLE_TOLERANCE = 0.10
WARMUP_CALLS = 3
Progress = Callable[[str], None]


class BenchRow(BaseModel):
    """One runtime at one batch size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: str
    batch_size: int
    calls: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    throughput: float
    windows: int
    settled: bool
    speedup: float | None  # native p50 / this p50


class RuntimeFacts(BaseModel):
    """What one runtime costs outside the loop (a fresh process)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: str
    file_size_bytes: int
    peak_rss_mb: float | None
    cold_start_s: float | None


class BenchReport(BaseModel):
    """Everything `bench` measured; ``--output`` writes it as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bundle: str
    architecture: str
    unit: str
    threads: int
    omp_num_threads: str
    window_s: float
    rows: tuple[BenchRow, ...]
    runtimes: tuple[RuntimeFacts, ...]


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """``"1,8,64"`` -> (1, 8, 64).

    Raises:
        ConfigError: a size is not an integer or not positive.
    """
    sizes = []
    for part in text.split(","):
        try:
            size = int(part.strip())
        except ValueError:
            raise ConfigError(f"--batch-sizes: {part.strip()!r} is not an integer") from None
        if size <= 0:
            raise ConfigError(f"--batch-sizes: every batch size must be at least 1, got {size}")
        sizes.append(size)
    return tuple(dict.fromkeys(sizes))


def resolve_runtimes(requested: str, manifest: dict[str, Any]) -> list[Runtime]:
    """``all`` -> native and every export the bundle has; else the named runtime(s).

    Raises:
        ExportError: a named export is missing from the bundle.
        ConfigError: an unknown runtime name.
    """
    exports = set((manifest.get("exports") or {}).keys())
    if requested == "all":
        return ["native", *[f for f in FORMATS if f in exports]]
    names: list[Runtime] = []
    for name in (part.strip() for part in requested.split(",")):
        if name == "native":
            names.append("native")
        elif name in FORMATS:
            if name not in exports:
                raise ExportError(
                    f"the bundle has no {name} export to bench: run `trainwell export BUNDLE "
                    f"--format {name}` first"
                )
            names.append(name)
        else:
            raise ConfigError(f"unknown runtime {name!r} (native, onnx, torchscript or all)")
    if "native" not in names:
        names.insert(0, "native")
    return names


def _tile(X: Any, n: int) -> Any:
    """The first ``n`` rows of X repeated as often as needed."""
    import numpy as np

    length = len(X)
    index = np.arange(n) % length
    if hasattr(X, "iloc"):
        return X.iloc[index].reset_index(drop=True)
    if hasattr(X, "arrays") and hasattr(X, "names"):  # an ImageSet
        from trainwell.data.image_io import ImageSet

        arrays = None if X.arrays is None else X.arrays[index]
        return ImageSet(tuple(X.names[i] for i in index), X.mode, arrays)
    return X[index]


def call_for(predictor: Any, batch: Any) -> Callable[[], Any]:
    """The timed call: preprocessing (where the graph holds it) + the model's verb."""
    objective = predictor.task.objective.name
    model = predictor.model
    verb = {
        "classification": "predict_proba",
        "regression": "predict",
        "anomaly": "score_samples",
    }[objective]
    method = getattr(model, verb)
    if predictor.runtime == "onnx":  # the graph holds the fitted preprocessing
        return lambda: method(batch)
    preprocess = predictor.inputs.preprocess  # identity for images
    return lambda: method(preprocess(batch))


def time_call(call: Callable[[], Any], window_s: float) -> tuple[list[float], int, bool]:
    """Per-call latencies (seconds), windows run, and whether the throughput settled."""
    for _ in range(WARMUP_CALLS):
        call()
    latencies: list[float] = []
    rates: list[float] = []
    settled = False
    clock = time.perf_counter
    while len(rates) < MAX_WINDOWS:
        start = clock()
        calls = 0
        while True:
            t0 = clock()
            call()
            t1 = clock()
            latencies.append(t1 - t0)
            calls += 1
            if t1 - start >= window_s:
                break
        rates.append(calls / (clock() - start))
        if len(rates) >= SETTLE_WINDOWS:
            last = rates[-SETTLE_WINDOWS:]
            if (max(last) - min(last)) / statistics.fmean(last) <= SETTLE_TOLERANCE:
                settled = True
                break
    return latencies, len(rates), settled


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def _file_size(bundle: Path, runtime: str, manifest: dict[str, Any]) -> int:
    if runtime == "native":
        model_dir = bundle / "model"
        size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
        pre = bundle / "preprocessing.skops"
        return size + (pre.stat().st_size if pre.exists() else 0)
    return int(manifest["exports"][runtime]["size_bytes"])


def fresh_process_facts(
    bundle: Path, runtime: str, batch_size: int, threads: int
) -> dict[str, Any]:
    """Peak RSS and cold start of ``runtime`` in a new interpreter (see ``_probe``)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [
        sys.executable, "-m", "trainwell.inference.bench", str(bundle), runtime,
        str(batch_size), str(threads),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        logger.warning("fresh_process_failed", runtime=runtime, stderr=done.stderr[-500:])
        return {"peak_rss_mb": None, "cold_start_s": None}
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def bench_bundle(
    bundle: Path,
    *,
    runtimes: str = "all",
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    threads: int = 1,
    window_s: float = 0.2,
    fresh_process: bool = True,
    progress: Progress | None = None,
) -> BenchReport:
    """Measure every requested runtime at every batch size.

    Raises:
        BundleError: not a bundle, or an altered one.
        ExportError: a requested export is missing.
        ConfigError: a batch size below 1, or an unknown runtime.
    """
    import torch

    from trainwell.inference.bundle import verify_bundle
    from trainwell.inference.predictor import Predictor

    if any(size <= 0 for size in batch_sizes):
        raise ConfigError("every batch size must be at least 1")
    manifest = verify_bundle(bundle).manifest
    names = resolve_runtimes(runtimes, manifest)
    torch.set_num_threads(threads)
    rows: list[BenchRow] = []
    facts: list[RuntimeFacts] = []
    native_p50: dict[int, float] = {}
    unit = "rows/s"
    for name in names:
        predictor = Predictor.load(bundle, runtime=name, threads=threads)
        if predictor.task.modality.name == "image":
            unit = "images/s"
        base = predictor.inputs.for_graph().samples()
        if base is None:
            raise ExportError(f"bundle {bundle} keeps no held-out rows to bench on: retrain it")
        for size in batch_sizes:
            if progress is not None:
                progress(f"{name} batch {size}")
            latencies, windows, settled = time_call(
                call_for(predictor, _tile(base, size)), window_s
            )
            p50 = _percentile(latencies, 50)
            if name == "native":
                native_p50[size] = p50
            mean = statistics.fmean(latencies)
            rows.append(
                BenchRow(
                    runtime=name,
                    batch_size=size,
                    calls=len(latencies),
                    p50_ms=p50 * 1e3,
                    p95_ms=_percentile(latencies, 95) * 1e3,
                    p99_ms=_percentile(latencies, 99) * 1e3,
                    mean_ms=mean * 1e3,
                    throughput=size / mean,
                    windows=windows,
                    settled=settled,
                    speedup=native_p50[size] / p50 if size in native_p50 else None,
                )
            )
            if not settled:
                logger.warning("bench_not_settled", runtime=name, batch_size=size)
        measured: dict[str, Any] = {"peak_rss_mb": None, "cold_start_s": None}
        if fresh_process:
            if progress is not None:
                progress(f"{name} fresh process")
            measured = fresh_process_facts(bundle, name, max(batch_sizes), threads)
        facts.append(
            RuntimeFacts(
                runtime=name, file_size_bytes=_file_size(bundle, name, manifest), **measured
            )
        )
    return BenchReport(
        bundle=str(bundle),
        architecture=str(manifest.get("architecture", "")),
        unit=unit,
        threads=threads,
        omp_num_threads=os.environ.get("OMP_NUM_THREADS", "unset"),
        window_s=window_s,
        rows=tuple(rows),
        runtimes=tuple(facts),
    )


def _probe(bundle: Path, runtime: Runtime, batch_size: int, threads: int) -> dict[str, Any]:
    """In a fresh process: load the bundle in ``runtime``, run one batch; report the time
    that took (cold start) and the process's peak RSS."""
    import resource

    start = time.perf_counter()
    from trainwell.inference.predictor import Predictor

    predictor = Predictor.load(bundle, runtime=runtime, threads=threads)
    if "torch" in sys.modules:  # only runtimes that need torch pay for importing it
        sys.modules["torch"].set_num_threads(threads)
    base = predictor.inputs.for_graph().samples()
    call_for(predictor, _tile(base, batch_size))()
    cold = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"peak_rss_mb": peak_kib / 1024, "cold_start_s": cold}


if __name__ == "__main__":
    facts = _probe(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))  # type: ignore[arg-type]
    sys.stdout.write(json.dumps(facts) + "\n")


def tracked(bundle: Path, report: BenchReport) -> str | None:
    """Log the report to the bundle's MLflow run (``bench/bench.json`` and ``bench/*`` p50 and
    throughput metrics) when the bundle was trained with tracking on; the run id, or None.

    Raises:
        TrackingError: the tracking store refused the write.
    """
    import tempfile

    import yaml

    from trainwell.errors import TrackingError
    from trainwell.inference.bundle import verify_bundle
    from trainwell.tracking.mlflow_tracker import default_tracking_uri

    verified = verify_bundle(bundle)
    run_id = verified.manifest.get("run_id")
    config = yaml.safe_load((bundle / "config.yaml").read_text(encoding="utf-8")) or {}
    tracking = config.get("tracking") or {}
    if not run_id or not tracking.get("enabled", True):
        return None
    uri = tracking.get("uri") or default_tracking_uri()
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    try:
        client.get_run(str(run_id))
    except MlflowException:
        logger.warning("bench_run_not_found", run_id=run_id, uri=uri)
        return None
    try:
        for row in report.rows:
            key = f"bench/{row.runtime}/batch_{row.batch_size}"
            client.log_metric(str(run_id), f"{key}/p50_ms", row.p50_ms)
            client.log_metric(str(run_id), f"{key}/throughput", row.throughput)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.json"
            path.write_text(json.dumps(report.model_dump(mode="json"), indent=2))
            client.log_artifact(str(run_id), str(path), "bench")
    except MlflowException as exc:
        raise TrackingError(f"could not log the benchmark to run {run_id}: {exc}") from exc
    return str(run_id)
