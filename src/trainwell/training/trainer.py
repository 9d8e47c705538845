"""The training loop every torch model in trainwell trains through.

    trainer = Trainer(model, nn.CrossEntropyLoss(), TrainerSettings(epochs=5), architecture="mlp")
    result = trainer.fit(ArrayDataset(X, y), ArrayDataset(X_val, y_val))

``Trainer.fit`` reads top to bottom in the order things happen (as nanoGPT's ``train.py``):

1. devices and processes (DDP when torchrun started us), precision;
2. data: the resumable sampler and the loaders;
3. model on its device, gradient checkpointing, optimizer, LR schedule, grad scaler;
4. resume: weights, optimizer, schedule, scaler, position in the data, callbacks, RNG;
5. ``torch.compile``; DDP wrap;
6. the loop. Per micro-batch: forward under autocast, backward. Every ``grad_accumulation``
   micro-batches: clip, step, schedule, ``zero_grad(set_to_none=True)``, log, callbacks,
   checkpoint. Per epoch: validate, callbacks (early stopping), checkpoint.

How a batch becomes a loss is the step function: ``step(model, inputs, targets) -> loss``, run
under autocast. The default is ``compute_loss(model(inputs), targets)`` (Keras's override point:
subclass and change it); a task family passes its own step (mixup on image batches, a causal-LM
step with masked labels) and keeps everything else the loop does.
The caller seeds the RNGs before building the model (``seed_everything``); ``settings.seed``
fixes the data order.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no stubs in the pinned set

from trainwell.errors import TrainingError
from trainwell.training import checkpoint as ckpt
from trainwell.training import distributed
from trainwell.training.callbacks import Callback, EarlyStopping
from trainwell.training.data import ResumableSampler, build_loader, clamp_batch_size
from trainwell.training.settings import TrainerSettings
from trainwell.utils.device import memory_mib
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

LossFn = Callable[[Tensor, Tensor], Tensor]
MetricsFn = Callable[[Tensor, Tensor], Mapping[str, float]]
# step(model, inputs, targets) -> the batch's loss (under autocast); None: compute_loss(model(x), y)
StepFn = Callable[[nn.Module, Tensor, Tensor], Tensor]
SGD_MOMENTUM = 0.9
# The `step` schedule multiplies the LR by STEP_GAMMA at each fraction of the post-warmup steps.
STEP_GAMMA = 0.1
STEP_MILESTONES = (0.5, 0.75)
# Cosine annealing: lr factor = 0.5 * (1 + cos(pi * progress)), from 1 down to 0.
COSINE_MIDPOINT = 0.5
NO_METRICS: Mapping[str, float] = MappingProxyType({})
MIN_SECONDS = 1e-9  # guards throughput divisions against a zero-length timing window


@dataclass
class TrainState:
    """Where training is; saved in every checkpoint.

    Attributes:
        epoch: the epoch in progress (0-based); ``epochs`` when training is done.
        batch_in_epoch: micro-batches of ``epoch`` already trained on (its data position).
        global_step: optimizer steps taken.
        stopped: a callback (early stopping) ended training.
        epoch_loss_sum, epoch_loss_count: this epoch's training losses so far.
        history: one dict of metrics per finished epoch.
    """

    epoch: int = 0
    batch_in_epoch: int = 0
    global_step: int = 0
    stopped: bool = False
    epoch_loss_sum: float = 0.0
    epoch_loss_count: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class FitResult:
    """What :meth:`Trainer.fit` returns."""

    history: list[dict[str, float]]
    global_step: int
    epochs_completed: int
    stopped_early: bool
    resumed_from: str | None
    last_checkpoint: str | None


def lr_factor(step: int, *, kind: str, warmup: int, total: int) -> float:
    """The LR multiplier after ``step`` optimizer steps: linear warmup, then the schedule."""
    if step < warmup:
        return (step + 1) / warmup
    if kind == "none":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "cosine":
        return COSINE_MIDPOINT * (1.0 + math.cos(math.pi * progress))
    if kind == "linear":
        return 1.0 - progress
    return float(STEP_GAMMA ** sum(progress >= m for m in STEP_MILESTONES))


def build_optimizer(
    model: nn.Module, name: str, learning_rate: float, weight_decay: float
) -> torch.optim.Optimizer:
    """AdamW / Adam / SGD; weight decay only on matrices (not biases or norms), as nanoGPT.

    Parameter order follows ``model.parameters()``, so a resumed run maps optimizer state
    back onto the same tensors.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=learning_rate)
    if name == "adam":
        return torch.optim.Adam(groups, lr=learning_rate)
    return torch.optim.SGD(groups, lr=learning_rate, momentum=SGD_MOMENTUM)


class Trainer:
    """Train a ``nn.Module`` on map-style datasets of ``(inputs, targets)`` batches.

    Args:
        model: the module; its ``forward(inputs)`` returns what ``loss_fn`` compares.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``.
        settings: the loop's settings (defaults: :class:`TrainerSettings`).
        callbacks: see :mod:`trainwell.training.callbacks`; early stopping is added from
            ``settings.early_stopping_patience``.
        metrics_fn: extra validation metrics from all outputs and targets, logged as ``val/*``.
        optimizer: an optimizer built on ``model.parameters()`` instead of ``settings.optimizer``
            (parameter groups with their own learning rates, e.g. a slower backbone).
        architecture: the name checkpoints record (a resume refuses another one).
        step: how one training batch becomes a loss (see the module docstring); validation
            always uses ``compute_loss(model(inputs), targets)``.

    Example:
        >>> trainer = Trainer(nn.Linear(4, 1), nn.MSELoss(), TrainerSettings(epochs=1))
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        settings: TrainerSettings | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        metrics_fn: MetricsFn | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        architecture: str | None = None,
        step: StepFn | None = None,
    ) -> None:
        self.model = model
        self.step = step
        self.loss_fn = loss_fn
        self.settings = settings if settings is not None else TrainerSettings()
        self.callbacks = list(callbacks)
        self.metrics_fn = metrics_fn
        self.optimizer = optimizer
        self.architecture = architecture or type(model).__name__
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        self.scaler = torch.amp.GradScaler("cpu", enabled=False)
        self.state = TrainState()
        self.should_stop = False
        self.device = torch.device("cpu")
        self.dist = distributed.DistributedContext()
        self.batch_size = self.settings.batch_size
        self._fit_callbacks: list[Callback] = []  # user callbacks + the trainer's own
        self._active_callbacks: list[Callback] = []  # those that run in this process
        self._pending_losses: list[Tensor] = []
        self._pending_steps: list[int] = []

    @property
    def is_main_process(self) -> bool:
        """True in the process that logs and checkpoints (rank 0)."""
        return self.dist.is_main

    def compute_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The loss of one batch; the one override point (runs under autocast)."""
        return self.loss_fn(outputs, targets)

    def fit(self, train_data: Dataset[Any], valid_data: Dataset[Any] | None = None) -> FitResult:
        """Train; see the module docstring for the order of events.

        Args:
            train_data: a map-style dataset of ``(inputs, ..., targets)`` rows.
            valid_data: evaluated after every epoch (``val/loss`` and ``metrics_fn``).

        Raises:
            TrainingError: out of memory, a non-finite loss, an unusable checkpoint, early
                stopping without its metric, or gradient checkpointing on a model without it.
        """
        s = self.settings
        # 1. devices, processes, precision
        self.dist, self.device = distributed.init_distributed(s.device)
        try:
            return self._fit(train_data, valid_data)
        finally:
            distributed.shutdown(self.dist)

    def _fit(self, train_data: Dataset[Any], valid_data: Dataset[Any] | None) -> FitResult:
        s, device = self.settings, self.device
        self.state = TrainState()
        self._pending_losses.clear()
        self._pending_steps.clear()
        precision = s.precision
        if precision == "fp16" and device.type != "cuda":
            self._warn(
                "precision_fallback",
                requested="fp16",
                using="fp32",
                message=(
                    f"fp16 needs CUDA (its GradScaler); training in fp32 on {device.type}. "
                    "Use training.precision=bf16 for mixed precision on CPU"
                ),
            )
            precision = "fp32"
        autocast = self._autocast_factory(precision)
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

        # 2. data: every rank reads its share of the same seeded permutation
        sampler = ResumableSampler(
            cast(Sized, train_data),
            seed=s.seed,
            num_replicas=self.dist.world_size,
            rank=self.dist.rank,
        )
        self.batch_size = clamp_batch_size(s.batch_size, sampler.num_samples, self.is_main_process)
        train_loader = build_loader(
            train_data,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=s.num_workers,
            device=device,
            seed=s.seed,
        )
        valid_loader = None
        if valid_data is not None and len(cast(Sized, valid_data)) > 0:
            valid_loader = build_loader(
                valid_data,
                batch_size=self.batch_size,
                sampler=None,
                num_workers=s.num_workers,
                device=device,
                seed=s.seed,
            )
        n_batches = math.ceil(sampler.num_samples / self.batch_size)  # micro-batches per epoch
        steps_per_epoch = math.ceil(n_batches / s.grad_accumulation)
        callbacks = [*self.callbacks]
        if s.early_stopping_patience is not None:
            callbacks.append(EarlyStopping(s.monitor, s.monitor_mode, s.early_stopping_patience))
        for callback in callbacks:
            if (
                isinstance(callback, EarlyStopping)
                and callback.monitor.startswith("val/")
                and valid_loader is None
            ):
                raise TrainingError(
                    f"early stopping monitors {callback.monitor!r} but there is no validation "
                    "data: pass it (fit(..., eval_set=(X_val, y_val))) or set "
                    "training.monitor=train/loss"
                )
        self._fit_callbacks = callbacks
        self._active_callbacks = [
            c for c in callbacks if self.is_main_process or not c.rank_zero_only
        ]

        # 3. model, optimizer, schedule
        self.model.to(device)
        if s.gradient_checkpointing:
            enable = getattr(self.model, "enable_gradient_checkpointing", None)
            if enable is None:
                raise TrainingError(
                    f"{type(self.model).__name__} does not support gradient checkpointing "
                    "(no enable_gradient_checkpointing method): set "
                    "training.gradient_checkpointing=false"
                )
            enable()
        if self.optimizer is None:
            self.optimizer = build_optimizer(
                self.model, s.optimizer, s.learning_rate, s.weight_decay
            )
        optimizer = self.optimizer
        if s.scheduler != "none" or s.warmup_steps > 0:
            schedule = functools.partial(
                lr_factor, kind=s.scheduler, warmup=s.warmup_steps, total=s.epochs * steps_per_epoch
            )
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        params = [p for p in self.model.parameters() if p.requires_grad]

        # 4. resume
        checkpoint_dir = Path(s.checkpoint_dir) if s.checkpoint_dir else None
        resume_path = ckpt.resolve_resume(s.resume, checkpoint_dir) if s.resume else None
        if s.resume is not None and resume_path is None:
            self._info("resume_starts_fresh", checkpoint_dir=s.checkpoint_dir, reason="none yet")
        if checkpoint_dir is not None:
            ckpt.check_not_another_run(checkpoint_dir, resume_path)
        rng_state: Mapping[str, Any] | None = None
        if resume_path is not None:
            rng_state = self._load_checkpoint(resume_path, callbacks)
        self.should_stop = self.state.stopped

        # 5. compile, DDP
        train_model: nn.Module = self.model
        if s.compile:
            train_model = torch.compile(train_model)  # type: ignore[assignment]
        ddp_model: DistributedDataParallel | None = None
        if self.dist.enabled:
            ddp_model = DistributedDataParallel(
                train_model, device_ids=[device.index] if device.type == "cuda" else None
            )
            train_model = ddp_model
        # RNG last: nothing above may draw from it after it is restored.
        if rng_state is not None:
            ckpt.restore_rng_state(rng_state)
        elif self.dist.enabled:
            torch.manual_seed(s.seed + self.dist.rank)  # different dropout masks per rank
        for callback in self._active_callbacks:
            callback.on_train_start(self)
        self._info(
            "train_start",
            architecture=self.architecture,
            device=str(device),
            world_size=self.dist.world_size,
            precision=precision,
            epochs=s.epochs,
            batch_size=self.batch_size,
            steps_per_epoch=steps_per_epoch,
            resumed_from=str(resume_path) if resume_path else None,
            epoch=self.state.epoch,
            global_step=self.state.global_step,
        )

        # 6. the loop
        state = self.state
        writer = (
            ckpt.CheckpointWriter(checkpoint_dir, s.keep_checkpoints)
            if checkpoint_dir is not None and self.is_main_process
            else None
        )
        show_bar = self.is_main_process and (
            s.progress_bar if s.progress_bar is not None else sys.stderr.isatty()
        )
        train_model.train()
        try:
            while state.epoch < s.epochs and not self.should_stop:
                epoch_started = time.perf_counter()
                sampler.set_epoch(state.epoch, start=state.batch_in_epoch * self.batch_size)
                samples = 0
                window_started, window_samples = time.perf_counter(), 0
                bar = tqdm(
                    total=n_batches,
                    initial=state.batch_in_epoch,
                    desc=f"epoch {state.epoch + 1}/{s.epochs}",
                    unit="batch",
                    disable=not show_bar,
                    leave=False,
                    dynamic_ncols=True,
                )
                for batch in train_loader:
                    # Micro-batches are grouped by grad_accumulation; the last group of an
                    # epoch may be shorter, and its loss is averaged over its own size.
                    first_in_group = (
                        state.batch_in_epoch - state.batch_in_epoch % s.grad_accumulation
                    )
                    group_size = min(s.grad_accumulation, n_batches - first_in_group)
                    steps_now = state.batch_in_epoch + 1 == first_in_group + group_size
                    inputs, targets = (
                        t.to(device, non_blocking=True) for t in (batch[0], batch[-1])
                    )
                    sync = (
                        ddp_model.no_sync()
                        if ddp_model is not None and not steps_now
                        else contextlib.nullcontext()
                    )
                    with sync:  # DDP all-reduces gradients only on the group's last backward
                        with autocast():
                            loss = (
                                self.compute_loss(train_model(inputs), targets)
                                if self.step is None
                                else self.step(train_model, inputs, targets)
                            )
                        scaled = self.scaler.scale(loss / group_size if group_size > 1 else loss)
                        scaled.backward()  # type: ignore[no-untyped-call]
                    self._pending_losses.append(loss.detach())
                    self._pending_steps.append(state.global_step + 1)
                    state.batch_in_epoch += 1
                    samples += inputs.shape[0]
                    window_samples += inputs.shape[0]
                    bar.update()
                    if not steps_now:
                        continue

                    if s.grad_clip is not None:
                        self.scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(params, s.grad_clip)
                    self.scaler.step(optimizer)
                    self.scaler.update()
                    if self.scheduler is not None:
                        self.scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    state.global_step += 1

                    metrics = NO_METRICS
                    if state.global_step % s.log_every_steps == 0:
                        seconds = time.perf_counter() - window_started
                        metrics = self._log_step(window_samples, seconds)
                        bar.set_postfix(loss=f"{metrics['train/loss']:.4g}")
                        window_started, window_samples = time.perf_counter(), 0
                    for callback in self._active_callbacks:
                        callback.on_step_end(self, metrics)
                    if (
                        checkpoint_dir is not None
                        and s.checkpoint_every_steps is not None
                        and state.global_step % s.checkpoint_every_steps == 0
                    ):
                        self._save_checkpoint(writer)
                bar.close()
                train_seconds = max(time.perf_counter() - epoch_started, MIN_SECONDS)

                epoch_metrics = self._end_epoch(valid_loader, autocast)
                epoch_metrics["train/samples_per_s"] = (
                    samples * self.dist.world_size / train_seconds
                )
                self._info(
                    "epoch_end",
                    **{k.replace("/", "_"): v for k, v in epoch_metrics.items() if k != "epoch"},
                    epoch=state.epoch + 1,
                    seconds=time.perf_counter() - epoch_started,
                    memory_mib=memory_mib(device),
                )
                for callback in self._active_callbacks:
                    callback.on_epoch_end(self, epoch_metrics)
                state.epoch += 1
                state.batch_in_epoch = 0
                state.epoch_loss_sum, state.epoch_loss_count = 0.0, 0
                state.stopped = self.should_stop
                if checkpoint_dir is not None:
                    self._save_checkpoint(writer)
        except torch.cuda.OutOfMemoryError as exc:
            raise self._out_of_memory(exc) from exc
        finally:
            last_checkpoint = writer.close() if writer is not None else None  # on disk now

        for callback in self._active_callbacks:
            callback.on_train_end(self)
        self._info(
            "train_end",
            epochs_completed=state.epoch,
            global_step=state.global_step,
            stopped_early=state.stopped,
        )
        return FitResult(
            history=list(state.history),
            global_step=state.global_step,
            epochs_completed=min(state.epoch, s.epochs),
            stopped_early=state.stopped,
            resumed_from=str(resume_path) if resume_path else None,
            last_checkpoint=str(last_checkpoint) if last_checkpoint else None,
        )

    # --- helpers, in the order the loop uses them -------------------------------------------

    def _autocast_factory(
        self, precision: str
    ) -> Callable[[], contextlib.AbstractContextManager[Any]]:
        if precision == "fp32":
            return contextlib.nullcontext
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return functools.partial(torch.autocast, device_type=self.device.type, dtype=dtype)

    def _load_checkpoint(self, path: Path, callbacks: Sequence[Callback]) -> Mapping[str, Any]:
        """Apply a checkpoint to the model, optimizer, schedule, scaler, state and callbacks.

        Returns:
            This rank's RNG state, restored by the caller once nothing else draws from it.
        """
        s = self.settings
        state = ckpt.load_checkpoint(path)
        ckpt.check_compatible(state, path, self.architecture, ckpt.parameter_shapes(self.model))
        expected = {
            "world_size": self.dist.world_size,
            "batch_size": self.batch_size,
            "grad_accumulation": s.grad_accumulation,
        }
        for key, value in expected.items():
            if state.get(key, value) != value:
                raise TrainingError(
                    f"checkpoint {path} was written with {key}={state[key]}, this run has "
                    f"{key}={value}: the position inside the epoch is counted in batches, so "
                    f"resume with the same {key}"
                )
        assert self.optimizer is not None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.state = TrainState(
            epoch=state["epoch"],
            batch_in_epoch=state["batch_in_epoch"],
            global_step=state["global_step"],
            stopped=state.get("stopped", False),
            epoch_loss_sum=state.get("epoch_loss_sum", 0.0),
            epoch_loss_count=state.get("epoch_loss_count", 0),
            history=list(state.get("history", [])),
        )
        saved_callbacks: Mapping[str, Any] = state.get("callbacks", {})
        for key, callback in self._callback_keys(callbacks):
            if key in saved_callbacks:
                callback.load_state_dict(saved_callbacks[key])
        changed = {
            k: (v, getattr(s, k))
            for k, v in state.get("settings", {}).items()
            if k not in ("resume", "progress_bar") and getattr(s, k, v) != v
        }
        if changed:
            self._warn("resume_settings_changed", changed={k: list(v) for k, v in changed.items()})
        self._info(
            "resumed",
            path=str(path),
            epoch=self.state.epoch,
            batch_in_epoch=self.state.batch_in_epoch,
            global_step=self.state.global_step,
        )
        rng_states: list[Mapping[str, Any]] = state["rng"]
        return rng_states[self.dist.rank]

    @staticmethod
    def _callback_keys(callbacks: Sequence[Callback]) -> Iterator[tuple[str, Callback]]:
        """``EarlyStopping:0``-style keys: stable when callbacks of other types come and go."""
        seen: dict[str, int] = {}
        for callback in callbacks:
            name = type(callback).__name__
            seen[name] = seen.get(name, -1) + 1
            yield f"{name}:{seen[name]}", callback

    def _flush_losses(self) -> list[float]:
        """Read the losses recorded since the last flush (one device sync) and check them.

        Reading one loss per step would sync the GPU every step; the losses are kept as
        tensors and read here, at logging steps, checkpoints and epoch ends.

        Raises:
            TrainingError: a loss was NaN or infinite (naming the first such step, over all
                ranks, so every DDP process stops together).
        """
        if not self._pending_losses:
            return []
        values = torch.stack(self._pending_losses).float().tolist()
        bad = next(
            (
                step
                for value, step in zip(values, self._pending_steps, strict=True)
                if not math.isfinite(value)
            ),
            None,
        )
        bad = distributed.min_step_over_ranks(bad, self.dist)
        if bad is not None:
            raise TrainingError(
                f"the training loss became non-finite (NaN or inf) at step {bad} "
                f"(epoch {self.state.epoch + 1}): lower training.learning_rate, keep "
                "training.grad_clip on, check the features for extreme values, or train in fp32"
            )
        self._pending_losses.clear()
        self._pending_steps.clear()
        self.state.epoch_loss_sum += sum(values)
        self.state.epoch_loss_count += len(values)
        return values

    def _current_lr(self) -> float:
        assert self.optimizer is not None
        return float(self.optimizer.param_groups[0]["lr"])

    def _log_step(self, window_samples: int, seconds: float) -> dict[str, float]:
        values = self._flush_losses()
        metrics = {
            "train/loss": sum(values) / max(len(values), 1),
            "train/lr": self._current_lr(),
            "train/samples_per_s": window_samples
            * self.dist.world_size
            / max(seconds, MIN_SECONDS),
            "train/memory_mib": memory_mib(self.device),
        }
        self._info(
            "train_step",
            step=self.state.global_step,
            epoch=self.state.epoch + 1,
            loss=metrics["train/loss"],
            lr=metrics["train/lr"],
            samples_per_s=metrics["train/samples_per_s"],
            memory_mib=metrics["train/memory_mib"],
        )
        return metrics

    def _save_checkpoint(self, writer: ckpt.CheckpointWriter | None) -> None:
        """Every rank hands over its RNG state; rank 0's writer writes the file.

        The writer snapshots the state here and writes it on its own thread.
        """
        self._flush_losses()  # never checkpoint weights trained past a non-finite loss
        rng = distributed.gather_objects(ckpt.capture_rng_state(), self.dist)
        if writer is None:  # ranks other than 0
            return
        assert self.optimizer is not None
        s, state = self.settings, self.state
        shapes = ckpt.parameter_shapes(self.model)
        payload = {
            "format_version": ckpt.CHECKPOINT_FORMAT_VERSION,
            "architecture": self.architecture,
            "fingerprint": ckpt.architecture_fingerprint(shapes),
            "param_shapes": shapes,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "epoch": state.epoch,
            "batch_in_epoch": state.batch_in_epoch,
            "global_step": state.global_step,
            "stopped": state.stopped,
            "epoch_loss_sum": state.epoch_loss_sum,
            "epoch_loss_count": state.epoch_loss_count,
            "history": state.history,
            "rng": rng,
            "data": {
                "seed": s.seed,
                "epoch": state.epoch,
                "start": state.batch_in_epoch * self.batch_size,
            },
            "callbacks": {
                key: callback.state_dict()
                for key, callback in self._callback_keys(self._fit_callbacks)
            },
            "world_size": self.dist.world_size,
            "batch_size": self.batch_size,
            "grad_accumulation": s.grad_accumulation,
            "settings": {k: v for k, v in asdict(s).items() if k != "progress_bar"},
        }
        writer.submit(payload, state.global_step)

    def _end_epoch(
        self,
        valid_loader: DataLoader[Any] | None,
        autocast: Callable[[], contextlib.AbstractContextManager[Any]],
    ) -> dict[str, float]:
        """Close the epoch's training loss (over all ranks) and validate."""
        self._flush_losses()
        state = self.state
        loss_sum, loss_count = distributed.sum_over_ranks(
            [state.epoch_loss_sum, float(state.epoch_loss_count)], self.dist
        )
        metrics: dict[str, float] = {
            "epoch": float(state.epoch + 1),
            "train/loss": loss_sum / max(loss_count, 1.0),
            "train/lr": self._current_lr(),
        }
        if valid_loader is not None:
            metrics.update(self.evaluate(valid_loader, autocast))
        state.history.append(dict(metrics))
        return metrics

    def evaluate(
        self,
        loader: DataLoader[Any],
        autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    ) -> dict[str, float]:
        """``val/loss`` and ``metrics_fn``'s metrics over ``loader``, in eval mode.

        The model is switched to ``eval()`` under ``torch.inference_mode()`` and back to
        ``train()`` afterwards. Every DDP rank evaluates the whole set (the weights are
        equal), so every rank takes the same early-stopping decision without communication.
        """
        self.model.eval()
        outputs: list[Tensor] = []
        targets: list[Tensor] = []
        try:
            with torch.inference_mode(), autocast():
                for batch in loader:
                    inputs = batch[0].to(self.device, non_blocking=True)
                    outputs.append(self.model(inputs).float())
                    targets.append(batch[-1].to(self.device, non_blocking=True))
                all_outputs, all_targets = torch.cat(outputs), torch.cat(targets)
                metrics = {"val/loss": float(self.compute_loss(all_outputs, all_targets))}
                if self.metrics_fn is not None:
                    extra = self.metrics_fn(all_outputs, all_targets)
                    metrics.update({f"val/{k}": float(v) for k, v in extra.items()})
        finally:
            self.model.train()
        return metrics

    def _out_of_memory(self, exc: torch.cuda.OutOfMemoryError) -> TrainingError:
        s = self.settings
        peak = memory_mib(self.device) if self.device.type == "cuda" else None
        logger.error(
            "out_of_memory",
            batch_size=self.batch_size,
            grad_accumulation=s.grad_accumulation,
            precision=s.precision,
            step=self.state.global_step,
            device=str(self.device),
            peak_memory_mib=peak,
        )
        smaller = max(1, self.batch_size // 2)
        return TrainingError(
            f"out of memory on {self.device} at step {self.state.global_step} with "
            f"batch_size={self.batch_size}: lower training.batch_size (e.g. {smaller}) and "
            f"raise training.grad_accumulation (e.g. {s.grad_accumulation * 2}) to keep the "
            "effective batch, or set training.precision=bf16 or "
            "training.gradient_checkpointing=true"
        )

    def _info(self, event: str, **values: Any) -> None:
        if self.is_main_process:
            logger.info(event, **values)

    def _warn(self, event: str, **values: Any) -> None:
        if self.is_main_process:
            logger.warning(event, **values)
