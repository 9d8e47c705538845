"""Checks that need a torch model: overfit one batch, eval mode, measured memory, checkpoints.

Each runs the real estimator (and so the real Trainer) on a few rows with a probe callback:

* a *probe fit* (two short epochs, a checkpoint every step, a tiny validation set) records every
  forward pass — its batch size, ``module.training`` and whether autograd was on — to prove
  validation ran in ``eval()`` without gradients and training resumed in ``train()``; it
  measures the peak memory of those steps and loads the first checkpoint to see what it holds;
* models that augment their training inputs (``augments_inputs``, e.g. image classifiers) also
  get ``augmentation.valid``: the probe's two validation passes over the same rows must have
  fed the model identical inputs, which random transforms on validation would break;
* an *overfit fit* trains on one small batch for ``OVERFIT_STEPS`` steps and requires the
  loss to fall to ``OVERFIT_LOSS_RATIO`` of its first value.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from trainwell.errors import DataError
from trainwell.evaluation.checks.result import CheckResult, fired, passed
from trainwell.evaluation.checks.run_checks import (
    BYTES_PER_MIB,
    MEMORY_WARN_SHARE,
    available_memory_bytes,
)
from trainwell.training.callbacks import Callback

if TYPE_CHECKING:
    from trainwell.training.trainer import Trainer

OVERFIT_ROWS = 32
OVERFIT_STEPS = 60
# A model that can learn at all memorises 32 rows: its loss falls well below half.
OVERFIT_LOSS_RATIO = 0.5
PROBE_TRAIN_ROWS = 48
# Validation batches get a size no training batch has, so the probe can tell them apart.
PROBE_VALID_ROWS = 7
PROBE_EPOCHS = 2
TORCH_CHECK_IDS = ("one_batch.overfit", "eval_mode", "memory", "checkpoint.completeness")
PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")
RESET_PEAK_RSS = "5"
KIB = 1024


@dataclass
class ForwardRecord:
    """One forward pass the probe saw."""

    batch: int
    training: bool
    grad_enabled: bool
    inputs_sha256: str | None = None


@dataclass
class Probe(Callback):
    """Hooks the model when training starts and records every forward pass."""

    records: list[ForwardRecord] = field(default_factory=list)
    repeat_equal: bool | None = None
    valid_inputs: torch.Tensor | None = None
    handle: Any = None

    def on_train_start(self, trainer: Trainer) -> None:
        """Register the forward hook on the model the Trainer trains."""

        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            del output
            first = args[0] if args else None
            batch, digest = -1, None
            if isinstance(first, torch.Tensor):
                batch = int(first.shape[0])
                data = first.detach().float().cpu().contiguous().numpy().tobytes()
                digest = hashlib.sha256(data).hexdigest()
            self.records.append(
                ForwardRecord(batch, module.training, torch.is_grad_enabled(), digest)
            )

        self.handle = trainer.model.register_forward_hook(hook)

    def on_train_end(self, trainer: Trainer) -> None:
        """Two validation passes in eval mode must give identical outputs; then stop recording
        (what the estimator does after training, e.g. a detector scoring its training rows to
        set a threshold, is not a training step)."""
        try:
            self._check_repeat(trainer)
        finally:
            if self.handle is not None:
                self.handle.remove()
                self.handle = None

    def _check_repeat(self, trainer: Trainer) -> None:
        if self.valid_inputs is None:
            return
        model = trainer.model
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            inputs = self.valid_inputs.to(trainer.device)
            first, second = model(inputs), model(inputs)
        self.repeat_equal = bool(torch.equal(first, second))
        model.train(was_training)


def _peak_rss_bytes() -> int | None:
    try:
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * KIB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        PROC_CLEAR_REFS.write_text(RESET_PEAK_RSS)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class TorchCheckInput:
    """What the torch checks need from a run, and nothing more.

    Attributes:
        build: ``build(**overrides)`` -> an unfitted estimator with the run's loop settings
            (no resume, no progress bar, no early stopping, one device) and the overrides
            applied (the checks' short fits set epochs, batch size, checkpoints, callbacks).
        X_train, X_valid: model inputs (arrays, or what the modality produces: they are
            sliced by rows and handed to the estimator).
        y_train, y_valid: encoded targets; None when the objective is unsupervised.
        batch_size, device, scheduler: the run's `training.*` values.
    """

    build: Callable[..., Any]
    X_train: Any
    y_train: np.ndarray | None
    X_valid: Any
    y_valid: np.ndarray | None
    batch_size: int
    device: str
    scheduler: str


def _fit(run: TorchCheckInput, model: Any, rows: slice, valid_rows: slice | None) -> Any:
    y_train = None if run.y_train is None else run.y_train[rows]
    eval_set: Any = None
    if valid_rows is not None:
        x_valid = run.X_valid[valid_rows]
        eval_set = x_valid if run.y_valid is None else (x_valid, run.y_valid[valid_rows])
    return model.fit(run.X_train[rows], y_train, eval_set=eval_set)


def check_overfit_one_batch(run: TorchCheckInput) -> CheckResult:
    """A few steps on one small batch must drive the training loss down."""
    cid = "one_batch.overfit"
    rows = min(OVERFIT_ROWS, len(run.X_train))
    model = run.build(
        epochs=OVERFIT_STEPS,
        batch_size=rows,
        grad_accumulation=1,
        checkpoint_dir=None,
        checkpoint_every_steps=None,
        scheduler="none",
        warmup_steps=0,
    )
    _fit(run, model, slice(0, rows), None)
    losses = [float(h["train/loss"]) for h in model.history_ if "train/loss" in h]
    first, last = losses[0], losses[-1]
    details = {"rows": rows, "steps": len(losses), "first_loss": first, "last_loss": last}
    if not np.isfinite(last) or last > first * OVERFIT_LOSS_RATIO:
        return fired(
            cid,
            "fail",
            f"{len(losses)} steps on one batch of {rows} rows took the loss only "
            f"from {first:.4g} to {last:.4g}: the model cannot fit even one batch",
            "check the learning rate, the loss against the targets, frozen or disconnected "
            "layers, and the preprocessing (are the features scaled?)",
            **details,
        )
    return passed(
        cid,
        f"one batch of {rows} rows: loss {first:.4g} -> {last:.4g} in {len(losses)} steps",
        **details,
    )


@dataclass(frozen=True)
class ProbeResult:
    """What the probe fit observed."""

    records: list[ForwardRecord]
    repeat_equal: bool | None
    peak_bytes: int | None
    measured: bool
    checkpoint: Mapping[str, Any] | None
    valid_batch: int


def probe_valid_rows(run: TorchCheckInput, batch: int) -> int:
    """A validation size that no training batch has (so its forward passes are recognisable)."""
    n_valid = min(PROBE_VALID_ROWS, len(run.X_valid))
    return n_valid if n_valid < batch else max(batch - 1, 1)


def probe_fit(run: TorchCheckInput) -> ProbeResult:
    """Two short epochs with a checkpoint every step, watched by a :class:`Probe`."""
    from trainwell.training.checkpoint import list_checkpoints, load_checkpoint

    available_rows = min(PROBE_TRAIN_ROWS, len(run.X_train))
    batch = min(run.batch_size, available_rows)
    n_train = batch * (available_rows // batch)  # whole batches only: every one has `batch` rows
    n_valid = probe_valid_rows(run, batch)
    probe = Probe(valid_inputs=run.build().input_tensor(run.X_valid[:n_valid]))
    with tempfile.TemporaryDirectory(prefix="trainwell-probe-") as tmp:
        model = run.build(
            epochs=PROBE_EPOCHS,
            batch_size=batch,
            checkpoint_dir=tmp,
            checkpoint_every_steps=1,
            callbacks=[probe],
        )
        cuda = torch.cuda.is_available() and run.device != "cpu"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        measured = cuda or _reset_peak_rss()
        _fit(run, model, slice(0, n_train), slice(0, n_valid) if n_valid else None)
        peak = int(torch.cuda.max_memory_allocated()) if cuda else _peak_rss_bytes()
        found = list_checkpoints(Path(tmp))
        checkpoint = load_checkpoint(found[0]) if found else None
    return ProbeResult(probe.records, probe.repeat_equal, peak, measured, checkpoint, n_valid)


def check_eval_mode(run: TorchCheckInput, probe: ProbeResult) -> CheckResult:
    """Validation forward passes ran in eval mode without gradients, then training resumed."""
    cid = "eval_mode"
    valid_batches = [r for r in probe.records if r.batch == probe.valid_batch]
    train_steps = [r for r in probe.records if r.batch != probe.valid_batch]
    problems = []
    if not valid_batches:
        problems.append("no validation pass was seen")
    if any(r.training for r in valid_batches):
        problems.append("validation ran with the model in train() mode (dropout/batch-norm active)")
    if any(r.grad_enabled for r in valid_batches):
        problems.append("validation ran with autograd on (no torch.no_grad/inference_mode)")
    if not all(r.training for r in train_steps):
        problems.append("a training step ran in eval() mode after validation")
    if probe.repeat_equal is False:
        problems.append("two eval-mode passes over the same rows gave different outputs")
    details = {"validation_passes": len(valid_batches), "forward_passes": len(probe.records)}
    if problems:
        return fired(
            cid,
            "fail",
            "; ".join(problems),
            "call model.eval() and wrap validation in torch.inference_mode(); switch "
            "back with model.train() before the next step",
            **details,
        )
    return passed(
        cid,
        f"validation ran in eval() under inference mode ({len(valid_batches)} "
        "passes); outputs identical twice in a row; train() restored",
        **details,
    )


def check_torch_memory(run: TorchCheckInput, probe: ProbeResult) -> CheckResult:
    """Peak memory of the probe's training steps against what the machine has."""
    cid = "memory"
    if probe.peak_bytes is None or not probe.measured:
        return fired(
            cid,
            "warn",
            "peak memory could not be measured on this platform",
            "watch nvidia-smi / torch.cuda.memory_summary() during the first epoch",
        )
    device = "cuda" if torch.cuda.is_available() and run.device != "cpu" else ("cpu")
    if device == "cuda":
        available = int(torch.cuda.mem_get_info()[0])
    else:
        available = available_memory_bytes() or 0
    peak_mib = round(probe.peak_bytes / BYTES_PER_MIB, 1)
    available_mib = round(available / BYTES_PER_MIB)
    details = {
        "device": device,
        "peak_mib": peak_mib,
        "available_mib": available_mib,
        "batch_size": min(run.batch_size, len(run.X_train)),
    }
    what = "process RSS" if device == "cpu" else "CUDA allocated"
    if available and probe.peak_bytes > MEMORY_WARN_SHARE * available:
        return fired(
            cid,
            "warn",
            f"one training step peaked at {peak_mib} MiB ({what}) of {available_mib} MiB available",
            "lower training.batch_size, use precision=bf16, or gradient checkpointing",
            **details,
        )
    return passed(
        cid,
        f"one training step at batch size {details['batch_size']} peaked at "
        f"{peak_mib} MiB ({what}); {available_mib} MiB available",
        **details,
    )


def check_checkpoint_completeness(run: TorchCheckInput, probe: ProbeResult) -> CheckResult:
    """The first checkpoint holds what an exact resume needs."""
    cid = "checkpoint.completeness"
    state = probe.checkpoint
    if state is None:
        return fired(
            cid,
            "fail",
            "the probe run wrote no checkpoint",
            "set training.checkpoint_every_steps or check the checkpoint directory",
        )
    missing = [
        key
        for key in ("model", "optimizer", "scaler", "rng", "global_step", "epoch")
        if key not in state or state[key] is None
    ]
    optimizer_state = (state.get("optimizer") or {}).get("state")
    if not optimizer_state:
        missing.append("optimizer state (moments)")
    if run.scheduler != "none" and not state.get("scheduler"):
        missing.append("scheduler")
    if missing:
        return fired(
            cid,
            "fail",
            f"the first checkpoint lacks: {', '.join(missing)}",
            "save model, optimizer, scheduler and scaler state_dicts with the RNG "
            "states and the step",
            keys=sorted(state),
        )
    return passed(
        cid,
        f"the first checkpoint holds model, optimizer ({len(optimizer_state or {})} "
        "parameter states), scheduler, scaler, RNG and position",
        keys=sorted(state),
    )


def check_valid_augmentation(probe: ProbeResult) -> CheckResult:
    """Two validation passes over the same rows must feed the model identical inputs."""
    cid = "augmentation.valid"
    digests = [r.inputs_sha256 for r in probe.records if r.batch == probe.valid_batch]
    details = {"validation_passes": len(digests)}
    if len(digests) < PROBE_EPOCHS:
        return fired(
            cid,
            "warn",
            f"saw {len(digests)} validation pass(es), need {PROBE_EPOCHS} to compare inputs",
            "give the run a validation split of at least a few rows",
            **details,
        )
    if len(set(digests)) > 1:
        return fired(
            cid,
            "fail",
            "two validation passes over the same rows fed the model different inputs: "
            "random augmentation is applied to validation data",
            "use the deterministic eval transform (resize, center crop, normalise) for "
            "validation, test and prediction; augment only the training split",
            **details,
        )
    return passed(
        cid,
        f"{len(digests)} validation passes over the same rows fed identical inputs "
        "(augmentation is applied to training only)",
        **details,
    )


def run_torch_checks(run: TorchCheckInput) -> list[CheckResult]:
    """Overfit one batch, eval mode, memory and checkpoint completeness for a torch model
    (and the validation-augmentation check for models that augment their inputs)."""
    try:
        probe = probe_fit(run)
        overfit = check_overfit_one_batch(run)
    except DataError as exc:  # the rows cannot be read (a corrupt image): say so per check
        return [
            fired(
                cid,
                "fail",
                f"the probe fit could not read its rows: {exc}",
                "fix the data first (the data checks above name the files)",
            )
            for cid in TORCH_CHECK_IDS
        ]
    results = [
        overfit,
        check_eval_mode(run, probe),
        check_torch_memory(run, probe),
        check_checkpoint_completeness(run, probe),
    ]
    if getattr(run.build(), "augments_inputs", False):
        results.insert(2, check_valid_augmentation(probe))
    return results
