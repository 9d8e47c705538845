"""The Trainer: each loop feature, bad input, and exact resume (in-process and SIGKILL)."""

from __future__ import annotations

import itertools
import math
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from structlog.testing import capture_logs
from torch import Tensor, nn

from trainwell.errors import TrainingError
from trainwell.models.mlp import TabularMLP
from trainwell.training import checkpoint as ckpt
from trainwell.training.callbacks import Callback
from trainwell.training.data import ArrayDataset, build_loader
from trainwell.training.trainer import (
    FitResult,
    Trainer,
    TrainerSettings,
    build_optimizer,
    lr_factor,
)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(n: int = 36, seed: int = 0) -> ArrayDataset:
    """y = x @ w: a problem a linear model fits exactly."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=generator)
    return ArrayDataset(X, X @ torch.tensor([[1.0], [-2.0], [0.5]]))


def _settings(**overrides: Any) -> TrainerSettings:
    defaults: dict[str, Any] = {"epochs": 2, "batch_size": 8, "progress_bar": False, "seed": 0}
    return TrainerSettings(**{**defaults, **overrides})


def _fit(
    model: nn.Module | None = None,
    data: ArrayDataset | None = None,
    valid: ArrayDataset | None = None,
    callbacks: list[Callback] | None = None,
    architecture: str = "linear",
    **overrides: Any,
) -> tuple[Trainer, FitResult]:
    if model is None:
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
    trainer = Trainer(
        model,
        nn.MSELoss(),
        _settings(**overrides),
        callbacks=callbacks or [],
        architecture=architecture,
    )
    return trainer, trainer.fit(data if data is not None else _data(), valid)


def test_training_fits_a_linear_problem() -> None:
    _, result = _fit(epochs=30, learning_rate=0.05)
    losses = [epoch["train/loss"] for epoch in result.history]
    assert losses[-1] < 0.01 * losses[0]
    assert result.global_step == 30 * math.ceil(36 / 8)


class _ModeProbe(nn.Module):
    """Records (training, inference_mode, dtype of an inner matmul) at every forward."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.calls: list[tuple[bool, bool, torch.dtype]] = []

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.linear(x)
        self.calls.append((self.training, torch.is_inference_mode_enabled(), out.dtype))
        return out.float()


def test_validation_is_in_eval_and_inference_mode_then_back_to_train() -> None:
    probe = _ModeProbe()
    trainer, _ = _fit(probe, valid=_data(8, seed=1), epochs=1)
    train_calls = [c for c in probe.calls if c[0]]
    valid_calls = [c for c in probe.calls if not c[0]]
    assert len(train_calls) == 5 and all(not inference for _, inference, _ in train_calls)
    assert len(valid_calls) == 1 and valid_calls[0][1] is True
    assert probe.training
    assert trainer.state.history[0]["val/loss"] > 0


def test_zero_grad_sets_gradients_to_none() -> None:
    trainer, _ = _fit(epochs=1)
    assert all(p.grad is None for p in trainer.model.parameters())


def test_gradient_accumulation_equals_one_larger_batch() -> None:
    # 36 rows: 9 micro-batches of 4 in groups of 2 (the last group has 1) == batches of 8.
    a, _ = _fit(batch_size=4, grad_accumulation=2, grad_clip=None, epochs=2)
    b, _ = _fit(batch_size=8, grad_accumulation=1, grad_clip=None, epochs=2)
    assert a.state.global_step == b.state.global_step == 10
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_gradient_clipping_bounds_the_update() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    _fit(model, optimizer="sgd", learning_rate=1.0, grad_clip=1e-3, batch_size=36, epochs=1)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm() <= 1e-3 + 1e-7


def test_schedules_with_warmup() -> None:
    def factors(kind: str) -> list[float]:
        return [lr_factor(step, kind=kind, warmup=2, total=10) for step in range(10)]

    assert factors("none") == [0.5, 1.0, *[1.0] * 8]
    cosine = factors("cosine")
    assert cosine[:3] == [0.5, 1.0, 1.0] and cosine[-1] < 0.05
    assert all(x >= y for x, y in itertools.pairwise(cosine[2:]))
    assert factors("linear")[2:] == pytest.approx([1 - k / 8 for k in range(8)])
    assert factors("step")[2:] == pytest.approx([1.0] * 4 + [0.1] * 2 + [0.01] * 2)


def test_the_trainer_applies_the_schedule_per_optimizer_step() -> None:
    lrs: list[float] = []

    class LR(Callback):
        def on_step_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
            assert trainer.optimizer is not None
            lrs.append(trainer.optimizer.param_groups[0]["lr"])

    _fit(callbacks=[LR()], scheduler="linear", warmup_steps=2, learning_rate=0.1, epochs=2)
    total = 10
    expected = [
        0.1 * lr_factor(step, kind="linear", warmup=2, total=total) for step in range(1, 11)
    ]
    assert lrs == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam), ("sgd", torch.optim.SGD)],
)
def test_optimizers_decay_only_matrices(name: str, cls: type[torch.optim.Optimizer]) -> None:
    model = TabularMLP(4, 2, (8,), 0.0)
    optimizer = build_optimizer(model, name, 0.01, 0.1)
    assert isinstance(optimizer, cls)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and all(p.ndim == 2 for p in decay["params"])
    assert no_decay["weight_decay"] == 0.0 and all(p.ndim == 1 for p in no_decay["params"])


def test_bf16_autocast_on_cpu_in_training_and_validation() -> None:
    probe = _ModeProbe()
    _fit(probe, valid=_data(8, seed=1), precision="bf16", epochs=1)
    assert {dtype for _, _, dtype in probe.calls} == {torch.bfloat16}
    assert probe.linear.weight.dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="the fallback is for machines without CUDA")
def test_fp16_on_cpu_falls_back_to_fp32_and_says_so() -> None:
    probe = _ModeProbe()
    with capture_logs() as logs:
        _fit(probe, precision="fp16", epochs=1)
    warning = next(e for e in logs if e["event"] == "precision_fallback")
    assert warning["log_level"] == "warning" and warning["using"] == "fp32"
    assert "training.precision=bf16" in warning["message"]
    assert {dtype for _, _, dtype in probe.calls} == {torch.float32}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 with a GradScaler needs CUDA")
def test_fp16_on_cuda_trains_with_a_grad_scaler_that_is_checkpointed(tmp_path: Path) -> None:
    probe = _ModeProbe()
    trainer, result = _fit(probe, precision="fp16", device="cuda", checkpoint_dir=str(tmp_path))
    assert trainer.scaler.is_enabled()
    assert {dtype for _, _, dtype in probe.calls} == {torch.float16}
    assert math.isfinite(result.history[-1]["train/loss"])
    saved = ckpt.load_checkpoint(ckpt.list_checkpoints(tmp_path)[-1])
    assert saved["scaler"]["scale"] > 0


def test_workers_load_the_same_batches_as_the_training_process() -> None:
    in_process, _ = _fit(num_workers=0, epochs=2)
    with_workers, _ = _fit(num_workers=1, epochs=2)
    for a, b in zip(in_process.model.parameters(), with_workers.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_compile_option_wraps_the_model_and_checkpoints_plain_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[nn.Module] = []
    real_compile = torch.compile

    def eager_compile(model: nn.Module, **kwargs: Any) -> Any:
        compiled.append(model)
        return real_compile(model, backend="eager")  # dynamo without inductor: seconds, not 20

    monkeypatch.setattr(torch, "compile", eager_compile)
    trainer, result = _fit(compile=True, checkpoint_dir=str(tmp_path), epochs=1)
    assert compiled == [trainer.model]
    assert result.history[0]["train/loss"] > 0
    saved = ckpt.load_checkpoint(ckpt.list_checkpoints(tmp_path)[-1])
    assert set(saved["model"]) == {"weight", "bias"}


def test_gradient_checkpointing_is_switched_on_or_refused() -> None:
    torch.manual_seed(0)
    mlp = TabularMLP(3, 1, (8, 8), 0.1)
    _fit(mlp, gradient_checkpointing=True, epochs=1)
    assert mlp.gradient_checkpointing
    with pytest.raises(TrainingError, match="does not support gradient checkpointing"):
        _fit(gradient_checkpointing=True)


def test_non_finite_loss_stops_with_the_step_and_no_checkpoint_after_it(tmp_path: Path) -> None:
    calls = 0

    def loss_fn(outputs: Tensor, targets: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        loss = nn.functional.mse_loss(outputs, targets)
        return loss * float("nan") if calls >= 3 else loss

    trainer = Trainer(
        nn.Linear(3, 1),
        loss_fn,
        _settings(checkpoint_dir=str(tmp_path), checkpoint_every_steps=1, log_every_steps=100),
    )
    with pytest.raises(TrainingError, match=r"non-finite \(NaN or inf\) at step 3 \(epoch 1\)"):
        trainer.fit(_data())
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [
        "step-000000001.pt",
        "step-000000002.pt",
    ]


class _OutOfMemory(nn.Linear):
    def forward(self, x: Tensor) -> Tensor:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_names_the_batch_size_and_what_to_change() -> None:
    with capture_logs() as logs, pytest.raises(TrainingError) as caught:
        _fit(_OutOfMemory(3, 1), batch_size=8)
    message = str(caught.value)
    assert "out of memory on cpu at step 0 with batch_size=8" in message
    assert "lower training.batch_size (e.g. 4)" in message
    assert "training.grad_accumulation (e.g. 2)" in message
    assert isinstance(caught.value.__cause__, torch.cuda.OutOfMemoryError)
    event = next(e for e in logs if e["event"] == "out_of_memory")
    assert event["log_level"] == "error" and event["batch_size"] == 8


def test_batch_larger_than_the_data_is_clamped_with_a_warning() -> None:
    with capture_logs() as logs:
        trainer, result = _fit(batch_size=1000, epochs=3)
    assert trainer.batch_size == 36
    assert result.global_step == 3  # one batch per epoch
    assert any(e["event"] == "batch_size_clamped" for e in logs)


def test_early_stopping_without_validation_data_fails_before_training() -> None:
    with pytest.raises(TrainingError, match="no validation data"):
        _fit(early_stopping_patience=2)


def test_early_stopping_from_settings_stops_and_restores_the_best_epoch() -> None:
    noise = ArrayDataset(torch.randn(16, 3), torch.randn(16, 1) * 100)
    trainer, result = _fit(
        valid=noise, early_stopping_patience=1, epochs=50, learning_rate=0.5, optimizer="sgd"
    )
    assert result.stopped_early and result.epochs_completed < 50
    loader = build_loader(
        noise, batch_size=8, sampler=None, num_workers=0, device=torch.device("cpu"), seed=0
    )
    best = min(epoch["val/loss"] for epoch in result.history)
    assert trainer.evaluate(loader)["val/loss"] == best


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, "'epochs' parameter must be an int >= 1. Got 0"),
        ({"optimizer": "lion"}, "'optimizer' parameter must be one of adamw, adam, sgd"),
        ({"grad_clip": 0.0}, "'grad_clip' parameter must be > 0 or None"),
        ({"learning_rate": -1.0}, "learning_rate must be > 0"),
    ],
)
def test_bad_settings_say_what_was_expected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _settings(**overrides)


def test_structlog_events_for_steps_epochs_and_checkpoints(tmp_path: Path) -> None:
    with capture_logs() as logs:
        _fit(valid=_data(8), checkpoint_dir=str(tmp_path), log_every_steps=2, epochs=1)
    events = [e["event"] for e in logs]
    assert events[0] == "train_start" and events[-1] == "train_end"
    step = next(e for e in logs if e["event"] == "train_step")
    assert {"loss", "lr", "samples_per_s", "memory_mib", "step", "epoch"} <= set(step)
    assert step["samples_per_s"] > 0
    epoch = next(e for e in logs if e["event"] == "epoch_end")
    assert epoch["epoch"] == 1 and {"train_loss", "val_loss", "memory_mib"} <= set(epoch)
    assert "checkpoint_saved" in events


def test_progress_bar_on_request_and_off_when_not_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    _fit(progress_bar=True, epochs=1)
    assert "epoch 1/1" in capsys.readouterr().err
    _fit(progress_bar=None, epochs=1)  # stderr is captured, so not a terminal
    assert "epoch 1/1" not in capsys.readouterr().err


# --- resume ---------------------------------------------------------------------------------


class _InterruptedError(Exception):
    """Stands in for a crash after a given optimizer step."""


class _CrashAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        if trainer.state.global_step == self.step:
            raise _InterruptedError


def _mlp_run(
    checkpoint_dir: Path | None, callbacks: list[Callback] | None = None, **overrides: Any
) -> Trainer:
    torch.manual_seed(0)
    model = TabularMLP(3, 1, (16, 16), dropout=0.2)  # dropout: the RNG must be restored too
    settings = {
        "epochs": 3,
        "scheduler": "cosine",
        "warmup_steps": 2,
        "checkpoint_dir": str(checkpoint_dir) if checkpoint_dir else None,
        "checkpoint_every_steps": 1 if checkpoint_dir else None,
        "resume": "latest" if checkpoint_dir else None,
        "early_stopping_patience": 5,
        **overrides,
    }
    trainer = Trainer(
        model, nn.MSELoss(), _settings(**settings), callbacks=callbacks or [], architecture="mlp"
    )
    trainer.fit(_data(), _data(8, seed=1))
    return trainer


@pytest.mark.parametrize(
    "overrides",
    [{}, {"grad_accumulation": 2, "precision": "bf16", "batch_size": 4}],
    ids=["fp32", "accumulation-bf16"],
)
def test_resume_after_a_crash_is_bitwise_equal(tmp_path: Path, overrides: dict[str, Any]) -> None:
    reference = _mlp_run(None, **overrides)
    for crash_step in (3, 5, 9):  # mid-epoch, epoch boundary, later epoch (5 steps per epoch)
        directory = tmp_path / f"crash-{crash_step}"
        with pytest.raises(_InterruptedError):
            _mlp_run(directory, [_CrashAt(crash_step)], **overrides)
        resumed = _mlp_run(directory, **overrides)
        for name, tensor in reference.model.state_dict().items():
            assert torch.equal(tensor, resumed.model.state_dict()[name]), (crash_step, name)
        assert resumed.state.history == reference.state.history


def test_resume_refuses_another_architecture_or_shape(tmp_path: Path) -> None:
    _mlp_run(tmp_path, epochs=1)
    other = Trainer(
        TabularMLP(3, 1, (16, 16), 0.2),
        nn.MSELoss(),
        _settings(checkpoint_dir=str(tmp_path), resume="latest"),
        architecture="ft-transformer",
    )
    with pytest.raises(TrainingError, match="written by architecture 'mlp'"):
        other.fit(_data())
    wider = Trainer(
        TabularMLP(3, 1, (32, 16), 0.2),
        nn.MSELoss(),
        _settings(checkpoint_dir=str(tmp_path), resume="latest"),
        architecture="mlp",
    )
    with pytest.raises(TrainingError, match=r"'blocks.0.0.weight' has shape \[16, 3\]"):
        wider.fit(_data())


def test_resume_refuses_another_batch_size(tmp_path: Path) -> None:
    _mlp_run(tmp_path, epochs=1)
    with pytest.raises(TrainingError, match="batch_size=8, this run has batch_size=4"):
        _mlp_run(tmp_path, batch_size=4)


def test_a_fresh_run_refuses_a_directory_with_another_runs_checkpoints(tmp_path: Path) -> None:
    _mlp_run(tmp_path, epochs=1)
    with pytest.raises(TrainingError, match="already holds checkpoints of another run"):
        _fit(checkpoint_dir=str(tmp_path))
    _mlp_run(tmp_path, epochs=1)  # continuing it (resume=latest) is fine


def test_resume_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="resume checkpoint not found"):
        _fit(resume=str(tmp_path / "nope.pt"))


def test_resume_of_a_finished_run_trains_no_more(tmp_path: Path) -> None:
    first = _mlp_run(tmp_path, epochs=2)
    again = _mlp_run(tmp_path, epochs=2)
    assert again.state.global_step == first.state.global_step
    for name, tensor in first.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name])


# --- a real process, killed with SIGKILL -----------------------------------------------------

TRAIN_SCRIPT = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    import torch

    torch.set_num_threads(1)
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from trainwell.models.torch_tabular import TabularMLPClassifier, save_torch_estimator
    from trainwell.training.callbacks import Callback
    from trainwell.training.settings import TrainerSettings

    checkpoint_dir, out_dir, pace = sys.argv[1] or None, Path(sys.argv[2]), float(sys.argv[3])


    class Pace(Callback):
        # Slows the run down so the test can kill it part-way; changes no numbers.
        def on_step_end(self, trainer, metrics):
            time.sleep(pace)


    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = TabularMLPClassifier(
        hidden_dims=(32, 32),
        dropout=0.2,
        loop=TrainerSettings(
            epochs=4,
            batch_size=64,
            scheduler="cosine",
            warmup_steps=3,
            early_stopping_patience=10,
            checkpoint_every_steps=1 if checkpoint_dir else None,
            resume="latest" if checkpoint_dir else None,
            progress_bar=False,
            log_every_steps=5,
        ),
        checkpoint_dir=checkpoint_dir,
        callbacks=[Pace()],
        random_state=7,
    )
    clf.fit(X[:450], y[:450], eval_set=(X[450:], y[450:]))
    save_torch_estimator(clf, out_dir)
    """
)


STEPS_PER_EPOCH = 8  # ceil(450 / 64)
TOTAL_STEPS = 4 * STEPS_PER_EPOCH
PACE_SECONDS = 0.12
START_TIMEOUT_SECONDS = 120.0


def _start(script: Path, checkpoint_dir: Path | None, out: Path, pace: float, log: Path) -> Any:
    return subprocess.Popen(
        [sys.executable, str(script), str(checkpoint_dir or ""), str(out), str(pace)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


def _latest_step(directory: Path) -> int:
    found = ckpt.list_checkpoints(directory)
    return int(found[-1].stem.split("-")[1]) if found else 0


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_is_bitwise_equal(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT, encoding="utf-8")
    checkpoints, killed_out, reference_out = tmp_path / "ckpt", tmp_path / "out", tmp_path / "ref"
    reference = _start(script, None, reference_out, 0.0, tmp_path / "reference.log")

    killed_at: list[int] = []
    for threshold in (3, 13, 22):
        log = tmp_path / f"run-{threshold}.log"
        process = _start(script, checkpoints, killed_out, PACE_SECONDS, log)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while _latest_step(checkpoints) < threshold:
            assert process.poll() is None, (
                f"the run ended before step {threshold}:\n{log.read_text()}"
            )
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        assert not killed_out.exists()
        killed_at.append(_latest_step(checkpoints))

    final = _start(script, checkpoints, killed_out, 0.0, tmp_path / "final.log")
    assert final.wait() == 0, (tmp_path / "final.log").read_text()
    assert reference.wait() == 0, (tmp_path / "reference.log").read_text()

    assert all(0 < step < TOTAL_STEPS for step in killed_at), killed_at
    assert any(step % STEPS_PER_EPOCH for step in killed_at), f"no kill mid-epoch: {killed_at}"
    expected = load_file(reference_out / "weights.safetensors")
    resumed = load_file(killed_out / "weights.safetensors")
    assert expected.keys() == resumed.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensor, resumed[name]), name
    assert (reference_out / "weights.safetensors").read_bytes() == (
        killed_out / "weights.safetensors"
    ).read_bytes()
