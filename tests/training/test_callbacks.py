"""The callback interface: hook order, early stopping, the metrics logger."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
import torch
from torch import nn

from trainwell.errors import TrainingError
from trainwell.training.callbacks import Callback, EarlyStopping, MetricsLogger
from trainwell.training.data import ArrayDataset
from trainwell.training.trainer import Trainer, TrainerSettings


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _trainer(**settings: object) -> Trainer:
    torch.manual_seed(0)
    defaults: dict[str, object] = {"progress_bar": False, "batch_size": 8, "epochs": 3}
    return Trainer(
        nn.Linear(3, 1),
        nn.MSELoss(),
        TrainerSettings(**{**defaults, **settings}),  # type: ignore[arg-type]
    )


def _data(n: int = 32) -> ArrayDataset:
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=generator)
    return ArrayDataset(X, X.sum(dim=1, keepdim=True))


def test_early_stopping_counts_epochs_without_improvement() -> None:
    trainer = _trainer()
    stopper = EarlyStopping("val/loss", "min", patience=2)
    for epoch, value in enumerate([1.0, 0.9, 0.95, 0.91], start=1):
        assert not trainer.should_stop
        stopper.on_epoch_end(trainer, {"epoch": float(epoch), "val/loss": value})
    assert trainer.should_stop
    assert (stopper.best, stopper.best_epoch, stopper.wait) == (0.9, 2, 2)


def test_early_stopping_max_mode_and_min_delta() -> None:
    trainer = _trainer()
    stopper = EarlyStopping("val/accuracy", "max", patience=1, min_delta=0.05)
    stopper.on_epoch_end(trainer, {"val/accuracy": 0.80})
    stopper.on_epoch_end(trainer, {"val/accuracy": 0.90})
    assert stopper.best == 0.90 and not trainer.should_stop
    stopper.on_epoch_end(trainer, {"val/accuracy": 0.93})  # +0.03 < min_delta
    assert trainer.should_stop


def test_early_stopping_restores_the_best_weights_at_the_end() -> None:
    trainer = _trainer()
    stopper = EarlyStopping(patience=5)
    best = trainer.model.weight.detach().clone()
    stopper.on_epoch_end(trainer, {"val/loss": 0.1})
    with torch.no_grad():
        trainer.model.weight.add_(1.0)
    stopper.on_epoch_end(trainer, {"val/loss": 0.2})
    stopper.on_train_end(trainer)
    assert torch.equal(trainer.model.weight, best)


def test_early_stopping_state_round_trips() -> None:
    trainer = _trainer()
    stopper = EarlyStopping(patience=3)
    stopper.on_epoch_end(trainer, {"val/loss": 0.5})
    stopper.on_epoch_end(trainer, {"val/loss": 0.6})
    copy = EarlyStopping(patience=3)
    copy.load_state_dict(stopper.state_dict())
    assert (copy.best, copy.wait, copy.best_epoch) == (0.5, 1, stopper.best_epoch)
    assert copy.best_weights is not None


def test_early_stopping_on_a_missing_metric_says_what_exists() -> None:
    with pytest.raises(
        TrainingError, match=r"monitors 'val/loss' but the epoch metrics are: train/loss"
    ):
        EarlyStopping().on_epoch_end(_trainer(), {"train/loss": 1.0})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "up"}, "'mode' parameter must be 'min' or 'max'"), ({"patience": 0}, ">= 1")],
)
def test_early_stopping_rejects_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)  # type: ignore[arg-type]


def test_metrics_logger_forwards_logging_steps_and_epochs_only() -> None:
    calls: list[tuple[dict[str, float], int]] = []
    logger = MetricsLogger(lambda metrics, step: calls.append((metrics, step)))
    trainer = _trainer()
    trainer.state.global_step = 7
    logger.on_step_end(trainer, {})
    logger.on_step_end(trainer, {"train/loss": 0.5})
    logger.on_epoch_end(trainer, {"val/loss": 0.4})
    assert calls == [({"train/loss": 0.5}, 7), ({"val/loss": 0.4}, 7)]
    assert MetricsLogger.rank_zero_only and not EarlyStopping.rank_zero_only


class _Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[str, int, tuple[str, ...]]] = []

    def on_train_start(self, trainer: Trainer) -> None:
        self.events.append(("train_start", trainer.state.global_step, ()))

    def on_step_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        self.events.append(("step_end", trainer.state.global_step, tuple(sorted(metrics))))

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        self.events.append(("epoch_end", trainer.state.global_step, tuple(sorted(metrics))))

    def on_train_end(self, trainer: Trainer) -> None:
        self.events.append(("train_end", trainer.state.global_step, ()))


def test_hooks_run_in_loop_order_with_metrics_on_logging_steps() -> None:
    recorder = _Recorder()
    trainer = _trainer(epochs=2, log_every_steps=3)
    trainer.callbacks = [recorder]
    trainer.fit(_data(32), _data(8))  # 4 steps per epoch
    names = [name for name, _, _ in recorder.events]
    assert names == [
        "train_start",
        *["step_end"] * 4,
        "epoch_end",
        *["step_end"] * 4,
        "epoch_end",
        "train_end",
    ]
    logged_steps = [step for name, step, keys in recorder.events if name == "step_end" and keys]
    assert logged_steps == [3, 6]
    step_keys = next(keys for name, _, keys in recorder.events if name == "step_end" and keys)
    assert step_keys == ("train/loss", "train/lr", "train/memory_mib", "train/samples_per_s")
    epoch_keys = next(keys for name, _, keys in recorder.events if name == "epoch_end")
    assert {"epoch", "train/loss", "train/lr", "val/loss"} <= set(epoch_keys)


def test_a_callback_can_stop_training_after_the_epoch() -> None:
    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
            trainer.should_stop = True

    trainer = _trainer(epochs=5)
    trainer.callbacks = [StopAfterFirstEpoch()]
    result = trainer.fit(_data())
    assert (result.epochs_completed, result.stopped_early, len(result.history)) == (1, True, 1)
