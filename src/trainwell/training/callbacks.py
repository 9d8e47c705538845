"""The Trainer's callback interface: four hooks, plus state for exact resume.

A callback overrides only the hooks it needs::

    class PrintLR(Callback):
        def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
            logger.info("lr", lr=metrics["train/lr"])

When the hooks run (see ``Trainer.fit``):

- ``on_train_start(trainer)``: after setup and resume, before the first step;
- ``on_step_end(trainer, metrics)``: after every optimizer step. ``metrics`` is empty except
  on logging steps (every ``log_every_steps``): reading the loss every step would force a
  device sync;
- ``on_epoch_end(trainer, metrics)``: after the epoch's validation; ``metrics`` holds
  ``train/loss``, ``val/*`` and ``train/lr``. Set ``trainer.should_stop = True`` to end
  training after this epoch;
- ``on_train_end(trainer)``: after the last epoch (also when training stopped early).

A callback with state that changes what training does (early stopping's patience counter)
returns it from ``state_dict`` so a resumed run continues exactly. Callbacks with
``rank_zero_only = True`` (logging, tracking) run only in the DDP process of rank 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from torch import Tensor

from trainwell.errors import TrainingError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from trainwell.training.trainer import Trainer

logger = get_logger(__name__)

MonitorMode = Literal["min", "max"]


class Callback:
    """Base class: every hook is a no-op until overridden."""

    rank_zero_only: ClassVar[bool] = False

    def on_train_start(self, trainer: Trainer) -> None:
        """Called once, before the first training step (after a resume is applied)."""

    def on_step_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """Called after every optimizer step; ``metrics`` is empty except on logging steps."""

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """Called after each epoch's validation with the epoch's metrics."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Called once, after the last epoch."""

    def state_dict(self) -> dict[str, Any]:
        """State saved in checkpoints (tensors, numbers, strings, containers of them)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: an epoch metric, e.g. ``val/loss`` or ``val/accuracy``.
        mode: ``min`` (lower is better) or ``max``.
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        restore_best_weights: load the best epoch's weights into the model when training ends.

    Raises:
        TrainingError: at the first epoch end, when ``monitor`` is not among the metrics.
    """

    def __init__(
        self,
        monitor: str = "val/loss",
        mode: MonitorMode = "min",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"The 'mode' parameter must be 'min' or 'max'. Got {mode!r} instead.")
        if patience < 1:
            raise ValueError(f"The 'patience' parameter must be >= 1. Got {patience} instead.")
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.best_weights: dict[str, Tensor] | None = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """Track the best value; ask the trainer to stop after ``patience`` epochs without one."""
        if self.monitor not in metrics:
            known = ", ".join(sorted(metrics))
            raise TrainingError(
                f"early stopping monitors {self.monitor!r} but the epoch metrics are: {known}; "
                "pass validation data (fit(..., eval_set=(X_val, y_val))) or set "
                "training.monitor to one of those"
            )
        value = float(metrics[self.monitor])
        epoch = int(metrics.get("epoch", trainer.state.epoch + 1))
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {
                    name: tensor.detach().clone()
                    for name, tensor in trainer.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.should_stop = True
            if trainer.is_main_process:
                logger.info(
                    "early_stopping",
                    monitor=self.monitor,
                    best=self.best,
                    best_epoch=self.best_epoch,
                    epoch=epoch,
                    patience=self.patience,
                )

    def on_train_end(self, trainer: Trainer) -> None:
        """Load the best epoch's weights when asked to."""
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            if trainer.is_main_process:
                logger.info("best_weights_restored", epoch=self.best_epoch, best=self.best)

    def state_dict(self) -> dict[str, Any]:
        """Best value and epoch, patience counter, and the best weights."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the counters and the best weights."""
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.wait = state["wait"]
        self.best_weights = state["best_weights"]


class MetricsLogger(Callback):
    """Send step and epoch metrics to ``log_metrics(metrics, step)`` (rank 0 only).

    Plug MLflow in with the tracker's method: ``MetricsLogger(tracker.log_metrics)``.

    Args:
        log_metrics: called with a fresh dict of floats and the global optimizer step.
        log_steps: also log the metrics of logging steps (not only epoch ends).
    """

    rank_zero_only: ClassVar[bool] = True

    def __init__(
        self, log_metrics: Callable[[dict[str, float], int], None], log_steps: bool = True
    ) -> None:
        self.log_metrics = log_metrics
        self.log_steps = log_steps

    def on_step_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """Forward logging-step metrics."""
        if metrics and self.log_steps:
            self.log_metrics(dict(metrics), trainer.state.global_step)

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """Forward the epoch's metrics."""
        self.log_metrics(dict(metrics), trainer.state.global_step)
