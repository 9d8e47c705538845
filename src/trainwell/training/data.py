"""DataLoaders for the Trainer: in-memory tensors, a resumable sampler, seeded workers.

The playbook's data I/O list, in one place: worker processes, pinned memory on CUDA,
persistent workers, prefetching, and seeding so two runs see the same batches.

    dataset = tensor_dataset(X, y)                                # DataError on NaN/inf
    sampler = ResumableSampler(dataset, seed=42)                  # the data order
    loader = build_loader(dataset, batch_size=64, sampler=sampler, num_workers=0,
                          device=torch.device("cpu"), seed=42)
    sampler.set_epoch(3, start=640)       # epoch 3, skipping the 10 batches already trained on

The order of an epoch is a pure function of ``(seed, epoch)`` (a ``torch.randperm`` drawn from
its own generator, as ``DistributedSampler`` does), so a checkpoint only needs ``epoch`` and
the position inside it to restore the data order exactly, and the global RNG is not touched.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence, Sized
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from trainwell.errors import DataError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

# Batches each worker loads ahead of the training step (DataLoader's default, made explicit).
PREFETCH_FACTOR = 2
NUMPY_SEED_MODULUS = 2**32
MAX_REPORTED_COLUMNS = 5


class ArrayDataset(Dataset[tuple[Tensor, ...]]):
    """Equal-length tensors indexed together, one batch per indexing operation.

    ``__getitems__`` lets the DataLoader fetch a whole batch with one fancy index instead of
    ``batch_size`` single-row lookups followed by ``torch.stack`` (several times faster for
    tabular rows).

    Args:
        tensors: tensors whose first dimension is the row.
    """

    def __init__(self, *tensors: Tensor) -> None:
        lengths = {t.shape[0] for t in tensors}
        if len(lengths) != 1:
            raise DataError(f"tensors of one dataset must have the same number of rows: {lengths}")
        self.tensors = tensors

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, ...]:
        rows = torch.as_tensor(indices, dtype=torch.long)
        return tuple(t[rows] for t in self.tensors)


def keep_batch(batch: Any) -> Any:
    """collate_fn for :class:`ArrayDataset`: ``__getitems__`` already returns a batch."""
    return batch


def check_finite(X: np.ndarray, what: str = "X") -> None:
    """Raise a DataError naming the rows and columns that hold NaN or infinity.

    Raises:
        DataError: ``X`` has a non-finite value.
    """
    finite = np.isfinite(X)
    if finite.all():
        return
    bad = ~finite
    rows = int(bad.any(axis=tuple(range(1, X.ndim))).sum()) if X.ndim > 1 else int(bad.sum())
    columns = np.flatnonzero(bad.any(axis=0)).tolist() if X.ndim > 1 else []
    shown = ", ".join(str(c) for c in columns[:MAX_REPORTED_COLUMNS])
    more = (
        ""
        if len(columns) <= MAX_REPORTED_COLUMNS
        else f" (+{len(columns) - MAX_REPORTED_COLUMNS} more)"
    )
    where = f" in column(s) {shown}{more}" if columns else ""
    raise DataError(
        f"{what} has NaN or infinite values in {rows} row(s){where}: impute or drop them before "
        "training (trainwell's preprocessing imputes when the model is trained through "
        "`trainwell train`)"
    )


def tensor_dataset(X: np.ndarray, *targets: np.ndarray | None) -> ArrayDataset:
    """Float32 features (checked for NaN/inf) and any targets, as an :class:`ArrayDataset`.

    Args:
        X: ``(n_samples, n_features)``, castable to float32.
        targets: arrays with ``n_samples`` rows, kept in their dtype (int64 labels, float32
            regression targets); ``None`` entries are skipped.

    Raises:
        DataError: ``X`` is not 2-D, has NaN/inf, or a target has another number of rows.
    """
    features = np.ascontiguousarray(X, dtype=np.float32)
    if features.ndim != 2:
        raise DataError(f"X must be 2-D (n_samples, n_features). Got shape {features.shape}.")
    check_finite(features)
    tensors = [torch.from_numpy(features)]
    tensors.extend(torch.from_numpy(np.ascontiguousarray(t)) for t in targets if t is not None)
    return ArrayDataset(*tensors)


def clamp_batch_size(batch_size: int, n_samples: int, warn: bool = True) -> int:
    """The batch size to use for ``n_samples`` rows per process.

    A batch larger than the data would silently mean "one batch per epoch"; trainwell uses
    the whole data as one batch and says so (a warning naming the fallback), so small
    datasets work with the default batch size.

    Args:
        batch_size: the requested batch size.
        n_samples: training rows this process reads per epoch.
        warn: log the warning (False in DDP ranks other than 0).

    Raises:
        DataError: there are no rows.
    """
    if n_samples <= 0:
        raise DataError("the training data has no rows")
    if batch_size <= n_samples:
        return batch_size
    if not warn:
        return n_samples
    logger.warning(
        "batch_size_clamped",
        batch_size=batch_size,
        n_samples=n_samples,
        using=n_samples,
        message=(
            f"training.batch_size={batch_size} is larger than the {n_samples} training rows "
            f"per process: using batch_size={n_samples} (one batch per epoch)"
        ),
    )
    return n_samples


class ResumableSampler(DistributedSampler[int]):
    """``DistributedSampler`` that can start an epoch part-way through.

    With ``num_replicas=1`` (the default) it is a seeded shuffling sampler for one process;
    under DDP each rank takes its strided share of the same permutation, padded to equal
    length, exactly as ``DistributedSampler`` does.

    Args:
        dataset: anything with a length.
        seed: the data-order seed; epoch ``e`` uses permutation ``randperm(seed + e)``.
        shuffle: shuffle each epoch (False: dataset order).
        num_replicas: number of DDP processes.
        rank: this process's rank.
    """

    def __init__(
        self,
        dataset: Sized,
        *,
        seed: int,
        shuffle: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(
            dataset,  # type: ignore[arg-type]  # DistributedSampler only calls len() on it
            num_replicas=num_replicas,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=False,
        )
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's permutation and skip its first ``start`` samples (this rank's)."""
        super().set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start

    def state_dict(self) -> dict[str, int]:
        """The data order's state: seed, epoch and the samples of the epoch already used."""
        return {"seed": self.seed, "epoch": self.epoch, "start": self.start}


def seed_worker(worker_id: int) -> None:
    """worker_init_fn: seed python and numpy in a worker from torch's per-worker seed.

    torch seeds each worker with ``base_seed + worker_id`` (base_seed drawn from the
    loader's generator); python's and numpy's generators would otherwise be copies of the
    parent's in every worker (https://pytorch.org/docs/stable/notes/randomness.html).
    """
    del worker_id  # already folded into torch.initial_seed()
    worker_seed = torch.initial_seed() % NUMPY_SEED_MODULUS
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def build_loader(
    dataset: Dataset[Any],
    *,
    batch_size: int,
    sampler: ResumableSampler | None,
    num_workers: int,
    device: torch.device,
    seed: int,
) -> DataLoader[Any]:
    """A DataLoader with the playbook's I/O settings.

    Args:
        dataset: an :class:`ArrayDataset` (batched fetching) or any map-style dataset.
        batch_size: rows per batch.
        sampler: the training sampler; ``None`` reads the data in order (validation).
        num_workers: worker processes (0: load in the training process).
        device: pinned host memory is used when this is a CUDA device.
        seed: seeds the loader's own generator, which draws the workers' base seed; passing
            a generator also keeps the DataLoader from drawing from torch's global RNG, which
            would shift dropout masks between an interrupted and an uninterrupted run.
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    workers = num_workers > 0
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=keep_batch if isinstance(dataset, ArrayDataset) else None,
        pin_memory=device.type == "cuda",
        drop_last=False,
        worker_init_fn=seed_worker if workers else None,
        generator=generator,
        prefetch_factor=PREFETCH_FACTOR if workers else None,
        persistent_workers=workers,
    )
