"""Trainer overhead: the same model, data and steps through four loops, side by side.

    .venv/bin/python benchmarks/bench_trainer.py [--rows 50000] [--epochs 3] [--repeats 9]

(a) a minimal hand-written loop in the playbook's template (TensorDataset + DataLoader with
    shuffle, AdamW, clip, ``loss.item()`` per step);
(a') the same hand-written loop on trainwell's batched loader (``ArrayDataset`` +
    ``ResumableSampler``), so the difference to (b) is the loop alone;
(b) trainwell's ``Trainer`` with checkpointing (every ``--checkpoint-every`` steps and at each
    epoch end, fsync'd) and a ``MetricsLogger`` on (an in-memory logger, as MLflow's client
    would be called: every ``log_every_steps`` steps and at epoch ends);
(c) PyTorch Lightning's ``Trainer`` when it is importable (reported as "not installed" when
    it is not; trainwell does not depend on it).

Every variant runs ``--repeats`` times, interleaved in a shuffled order, after one warm-up
each. The table shows the best run's samples/s per wall-clock second (the run least disturbed
by other processes on a shared machine), the median, the best per CPU second of this process,
and the ratios of the best runs to (a'). One CPU thread for torch.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import structlog
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from trainwell.models.mlp import TabularMLP
from trainwell.training.callbacks import MetricsLogger
from trainwell.training.data import ArrayDataset, ResumableSampler, build_loader
from trainwell.training.trainer import Trainer, TrainerSettings

N_FEATURES = 64
N_CLASSES = 10
HIDDEN = (256, 256)
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
GRAD_CLIP = 1.0
SEED = 0
CPU = torch.device("cpu")


def make_data(rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random features with labels from a random linear map (a learnable problem)."""
    generator = torch.Generator().manual_seed(SEED)
    X = torch.randn(rows, N_FEATURES, generator=generator)
    y = (X @ torch.randn(N_FEATURES, N_CLASSES, generator=generator)).argmax(dim=1)
    return X, y


def new_model() -> nn.Module:
    """The same initial weights for every variant."""
    torch.manual_seed(SEED)
    return TabularMLP(N_FEATURES, N_CLASSES, HIDDEN, dropout=0.1)


def hand_written(loader: DataLoader[tuple[torch.Tensor, ...]], epochs: int) -> int:
    """The playbook's template loop; returns the number of samples trained on."""
    model = new_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    criterion = nn.CrossEntropyLoss()
    samples = 0
    for _ in range(epochs):
        model.train()
        total_loss = 0.0
        for inputs, targets in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(inputs), targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=GRAD_CLIP)
            optimizer.step()
            total_loss += loss.item()
            samples += inputs.shape[0]
    return samples


def run_textbook(X: torch.Tensor, y: torch.Tensor, epochs: int) -> int:
    """(a): TensorDataset + DataLoader(shuffle=True)."""
    generator = torch.Generator().manual_seed(SEED)
    loader = DataLoader(
        TensorDataset(X, y), batch_size=BATCH_SIZE, shuffle=True, generator=generator
    )
    return hand_written(loader, epochs)


def run_same_loader(X: torch.Tensor, y: torch.Tensor, epochs: int) -> int:
    """(a'): the hand-written loop over trainwell's batched loader."""
    dataset = ArrayDataset(X, y)
    sampler = ResumableSampler(dataset, seed=SEED)
    loader = build_loader(
        dataset, batch_size=BATCH_SIZE, sampler=sampler, num_workers=0, device=CPU, seed=SEED
    )

    class EpochLoader:
        """Advances the sampler's epoch like the Trainer does."""

        def __init__(self) -> None:
            self.epoch = 0

        def __iter__(self):  # type: ignore[no-untyped-def]
            sampler.set_epoch(self.epoch)
            self.epoch += 1
            return iter(loader)

    return hand_written(EpochLoader(), epochs)  # type: ignore[arg-type]


def run_trainwell(X: torch.Tensor, y: torch.Tensor, epochs: int, checkpoint_every: int) -> int:
    """(b): the Trainer with checkpoints and a metrics logger."""
    logged: list[tuple[dict[str, float], int]] = []
    with tempfile.TemporaryDirectory() as directory:
        settings = TrainerSettings(
            epochs=epochs,
            batch_size=BATCH_SIZE,
            learning_rate=LEARNING_RATE,
            grad_clip=GRAD_CLIP,
            checkpoint_dir=directory,
            checkpoint_every_steps=checkpoint_every,
            progress_bar=False,
            seed=SEED,
            device="cpu",
        )
        trainer = Trainer(
            new_model(),
            nn.CrossEntropyLoss(),
            settings,
            callbacks=[MetricsLogger(lambda metrics, step: logged.append((metrics, step)))],
            architecture="mlp",
        )
        result = trainer.fit(ArrayDataset(X, y))
        assert logged and list(Path(directory).glob("step-*.pt"))
    return X.shape[0] * result.epochs_completed


def run_lightning(X: torch.Tensor, y: torch.Tensor, epochs: int) -> int:
    """(c): Lightning's Trainer, same model/optimizer/clip, no logger or checkpoints."""
    import lightning as L  # noqa: N812  # optional; only when installed

    class Module(L.LightningModule):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.model = new_model()
            self.criterion = nn.CrossEntropyLoss()

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            inputs, targets = batch
            return self.criterion(self.model(inputs), targets)

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.AdamW(self.parameters(), lr=LEARNING_RATE)

    generator = torch.Generator().manual_seed(SEED)
    loader = DataLoader(
        TensorDataset(X, y), batch_size=BATCH_SIZE, shuffle=True, generator=generator
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        gradient_clip_val=GRAD_CLIP,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Module(), loader)
    return X.shape[0] * epochs


def lightning_available() -> bool:
    """True when `lightning` imports here."""
    return importlib.util.find_spec("lightning") is not None


def measure(run: Callable[[], int]) -> tuple[float, float]:
    """Samples per second of one run: per wall-clock second and per CPU second of this process.

    CPU time (all threads of this process, the checkpoint writer's included) is less disturbed
    by other processes on a shared machine than wall time.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    samples = run()
    return samples / (time.perf_counter() - wall), samples / (time.process_time() - cpu)


TEXTBOOK = "(a) hand-written, textbook DataLoader"
SAME_LOADER = "(a') hand-written, trainwell's loader"
TRAINWELL = "(b) trainwell Trainer + ckpt + logger"
LIGHTNING = "(c) Lightning Trainer"


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    args = parser.parse_args()

    torch.set_num_threads(1)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    X, y = make_data(args.rows)
    variants: dict[str, Callable[[], int]] = {
        TEXTBOOK: lambda: run_textbook(X, y, args.epochs),
        SAME_LOADER: lambda: run_same_loader(X, y, args.epochs),
        TRAINWELL: lambda: run_trainwell(X, y, args.epochs, args.checkpoint_every),
    }
    if lightning_available():
        variants[LIGHTNING] = lambda: run_lightning(X, y, args.epochs)

    steps = args.epochs * -(-args.rows // BATCH_SIZE)
    print(
        f"MLP {N_FEATURES}->{'->'.join(map(str, HIDDEN))}->{N_CLASSES}, {args.rows} rows, "
        f"batch {BATCH_SIZE}, {args.epochs} epochs = {steps} steps, 1 CPU thread, "
        f"{args.repeats} runs each; checkpoint every {args.checkpoint_every} steps + epoch ends"
    )
    for run in variants.values():  # warm-up: lazy initialisation, allocator, caches
        run()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for repeat in range(args.repeats):
        random.Random(repeat).shuffle(order)  # no variant always runs right after another
        for name in order:
            wall_rate, cpu_rate = measure(variants[name])
            wall[name].append(wall_rate)
            cpu[name].append(cpu_rate)
    best_wall = {name: max(values) for name, values in wall.items()}
    best_cpu = {name: max(values) for name, values in cpu.items()}
    header = ("variant", "wall best/s", "wall median", "cpu best/s", "wall vs (a')", "cpu vs (a')")
    print(
        f"{header[0]:40} {header[1]:>11} {header[2]:>11} {header[3]:>11} "
        f"{header[4]:>12} {header[5]:>11}"
    )
    for name in variants:
        print(
            f"{name:40} {best_wall[name]:11,.0f} {statistics.median(wall[name]):11,.0f} "
            f"{best_cpu[name]:11,.0f} {best_wall[name] / best_wall[SAME_LOADER]:12.3f} "
            f"{best_cpu[name] / best_cpu[SAME_LOADER]:11.3f}"
        )
    if not lightning_available():
        print(f"{LIGHTNING:40} not installed (pip install lightning): not compared")
    print(
        "trainwell / hand-written loop on the same loader: "
        f"{best_wall[TRAINWELL] / best_wall[SAME_LOADER]:.3f}x wall, "
        f"{best_cpu[TRAINWELL] / best_cpu[SAME_LOADER]:.3f}x CPU time "
        "(target >= 0.99x, never below 0.97x); vs the textbook loop: "
        f"{best_wall[TRAINWELL] / best_wall[TEXTBOOK]:.3f}x wall"
    )


if __name__ == "__main__":
    main()
