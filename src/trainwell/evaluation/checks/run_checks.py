"""Checks on the run itself: seeds, one-batch shapes, preprocessing parity, memory, tracking.

The torch-specific checks (overfit one batch, eval mode, checkpoint completeness, the measured
memory of one step) live in ``torch_checks.py``; for estimator models they report ``skip``.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.evaluation.checks.result import CheckResult, fired, passed, skipped

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from trainwell.data.schema import InputSchema
    from trainwell.tracking import NullTracker, RunTracker

ONE_BATCH_ROWS = 64
MATRIX_NDIM = 2
PARITY_SAMPLE_ROWS = 256
# Fitting an estimator needs a few copies of the feature matrix (sklearn's own validation,
# sorting/binning). Used to estimate the peak from the matrix size.
ESTIMATOR_MEMORY_FACTOR = 4
MEMORY_WARN_SHARE = 0.8
BYTES_PER_MIB = 1 << 20
BYTES_PER_KIB = 1 << 10  # /proc/meminfo reports kB
MEMINFO = Path("/proc/meminfo")


def verify_seeds(seed: int, deterministic: bool, *, torch: bool = True) -> CheckResult:
    """Compare the global RNGs with fresh generators seeded with ``seed``.

    Call it right after seeding, before anything draws a random number. ``torch=False``: the
    run does not use torch (``seed_everything(..., torch=False)``), its generator is not checked.
    """
    import numpy as np

    cid = "seeds"
    problems = []
    if random.getstate() != random.Random(seed).getstate():
        problems.append("python `random`")
    expected = np.random.RandomState(seed).get_state(legacy=False)
    actual = np.random.get_state(legacy=False)
    if not np.array_equal(expected["state"]["key"], actual["state"]["key"]) or (
        expected["state"]["pos"] != actual["state"]["pos"]
    ):
        problems.append("numpy global RNG")
    torch_seed: int | None = None
    if torch:
        try:
            import torch as torch_module
        except ImportError:
            torch_module = None  # type: ignore[assignment]
        if torch_module is not None:
            torch_seed = int(torch_module.initial_seed())
            if torch_seed != seed:
                problems.append("torch")
    if problems:
        return fired(
            cid,
            "fail",
            f"seed {seed} was not applied to: {', '.join(problems)}",
            "seed through trainwell.utils.seeding.seed_everything before building data or model",
            seed=seed,
        )
    return passed(
        cid,
        f"seed {seed} applied to python, numpy{' and torch' if torch_seed is not None else ''}; "
        f"deterministic mode {'on' if deterministic else 'off'}",
        seed=seed,
        deterministic=deterministic,
    )


def check_one_batch_shapes(
    target_problems: Callable[[np.ndarray, int], list[str]],
    X_train: np.ndarray,
    y_train: np.ndarray | None,
    schema: InputSchema,
    n_features_out: int,
    n_classes: int,
) -> CheckResult:
    """One batch through preprocessing: shapes, dtypes and values the model and loss expect.

    Args:
        target_problems: the objective's rule for one batch of encoded targets
            (``Objective.batch_problems``).
    """
    import numpy as np

    cid = "one_batch.shapes"
    batch = X_train[:ONE_BATCH_ROWS]
    problems: list[str] = []
    if batch.ndim != MATRIX_NDIM or batch.shape[1] != n_features_out:
        problems.append(f"features shape {batch.shape}, expected (n, {n_features_out})")
    if not np.issubdtype(batch.dtype, np.floating):
        problems.append(f"features dtype {batch.dtype}, expected floating point")
    if not np.isfinite(batch).all():
        problems.append("non-finite values after preprocessing")
    details: dict[str, Any] = {"input_columns": len(schema.columns), "features": list(batch.shape)}
    if y_train is not None:
        y_batch = y_train[:ONE_BATCH_ROWS]
        details["target"] = [list(y_batch.shape), str(y_batch.dtype)]
        if y_batch.shape != (len(batch),):
            problems.append(f"target shape {y_batch.shape}, expected ({len(batch)},)")
        problems += target_problems(y_batch, n_classes)
    if problems:
        return fired(
            cid,
            "fail",
            "; ".join(problems),
            "check the schema and preprocessing for this task",
            **details,
        )
    target = (
        f", target {tuple(details['target'][0])} {details['target'][1]}"
        if ("target" in details)
        else ""
    )
    return passed(
        cid,
        f"batch of {len(batch)}: {len(schema.columns)} input columns -> features "
        f"{tuple(batch.shape)} {batch.dtype}{target}",
        **details,
    )


def check_preprocessing_parity(
    preprocessor: Any, schema: InputSchema, train_raw: pd.DataFrame, X_train: np.ndarray
) -> CheckResult:
    """Rows through the saved-and-reloaded preprocessing (the predict/serve path) must equal
    the training features exactly."""
    import numpy as np

    from trainwell.data.preprocessing import transform
    from trainwell.data.schema import validate_frame
    from trainwell.models.sklearn_models import load_skops, save_skops

    cid = "preprocessing.parity"
    rows = min(PARITY_SAMPLE_ROWS, len(train_raw))
    with tempfile.TemporaryDirectory(prefix="trainwell-parity-") as tmp:
        save_skops(preprocessor, Path(tmp), "preprocessing.skops")
        reloaded = load_skops(Path(tmp) / "preprocessing.skops")
    sample = train_raw.iloc[:rows][schema.feature_names]
    served = transform(reloaded, validate_frame(sample, schema), schema)
    trained = X_train[:rows]
    if served.shape == trained.shape and np.array_equal(served, trained, equal_nan=True):
        return passed(
            cid,
            f"{rows} rows through the saved preprocessing equal the training features exactly",
            rows=rows,
        )
    if served.shape != trained.shape:
        detail = f"shape {served.shape} at inference vs {trained.shape} in training"
    else:
        diff = np.argwhere(~np.isclose(served, trained, rtol=0, atol=0, equal_nan=True))
        detail = f"{len(diff)} values differ (first at row {diff[0][0]}, feature {diff[0][1]})"
    return fired(
        cid,
        "fail",
        f"inference preprocessing differs from training: {detail}",
        "fit preprocessing once on train and ship that object with the model",
        rows=rows,
    )


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), or None where it cannot be read."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * BYTES_PER_KIB
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_estimator_memory(X_train: np.ndarray) -> CheckResult:
    """Estimate an estimator's peak memory from the feature matrix and compare with RAM."""
    cid = "memory"
    estimate = int(X_train.nbytes * ESTIMATOR_MEMORY_FACTOR)
    available = available_memory_bytes()
    details = {
        "estimated_peak_mib": round(estimate / BYTES_PER_MIB, 1),
        "available_mib": None if available is None else round(available / BYTES_PER_MIB),
    }
    if available is not None and estimate > MEMORY_WARN_SHARE * available:
        return fired(
            cid,
            "warn",
            f"fitting needs about {details['estimated_peak_mib']} MiB; only "
            f"{details['available_mib']} MiB are available",
            "sample the data, use a GBM with histogram binning, or a bigger machine",
            **details,
        )
    return passed(
        cid,
        f"estimated peak {details['estimated_peak_mib']} MiB of "
        f"{details['available_mib']} MiB available",
        **details,
    )


def check_hyperparameters_tracked(
    tracker: NullTracker | RunTracker | None, params: dict[str, str]
) -> CheckResult:
    """The run's config reached the experiment tracker (read back, not assumed)."""
    cid = "tracking.hyperparameters"
    if tracker is None:
        return skipped(cid, "checked during `train`, when a run is open")
    if tracker.run_id is None:
        return fired(
            cid,
            "warn",
            "tracking is disabled: hyperparameters are not recorded",
            "set tracking.enabled=true (the default) so every run is comparable",
        )
    logged = tracker.logged_params()
    missing = sorted(k for k in params if k not in logged)
    wrong = sorted(k for k in params if k in logged and logged[k] != params[k][: len(logged[k])])
    if missing or wrong:
        return fired(
            cid,
            "fail",
            f"{len(missing)} parameter(s) missing and {len(wrong)} "
            f"different in the tracker (e.g. {(missing or wrong)[0]})",
            "log the flattened config with log_params before training",
            missing=missing[:10],
            different=wrong[:10],
        )
    return passed(
        cid, f"{len(params)} config values logged to run {tracker.run_id}", run_id=tracker.run_id
    )


def estimator_only(check_id: str, what: str) -> CheckResult:
    """The result of a torch-only check for an estimator model."""
    return skipped(check_id, f"{what} applies to torch models; this architecture is an estimator")


def skipped_under_ddp(check_id: str, what: str) -> CheckResult:
    """Torch probe checks train single-process models; inside DDP workers they are skipped."""
    return skipped(
        check_id,
        f"{what} is not run inside DDP workers; run `trainwell check` "
        "with the same config (one process) to get it",
    )
