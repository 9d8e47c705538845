"""DataLoader construction: resumable order, batched fetching, seeded workers, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from structlog.testing import capture_logs
from torch.utils.data import Dataset

from trainwell.errors import DataError
from trainwell.training.data import (
    ArrayDataset,
    ResumableSampler,
    build_loader,
    clamp_batch_size,
    tensor_dataset,
)

CPU = torch.device("cpu")


def test_epoch_order_is_a_function_of_seed_and_epoch() -> None:
    data = list(range(20))
    a, b = ResumableSampler(data, seed=3), ResumableSampler(data, seed=3)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    assert sorted(a) == data
    b.set_epoch(2)
    assert list(a) != list(b)
    assert list(ResumableSampler(data, seed=4)) != list(ResumableSampler(data, seed=3))


def test_start_skips_the_samples_already_used_in_the_epoch() -> None:
    sampler = ResumableSampler(list(range(20)), seed=0)
    sampler.set_epoch(5)
    full = list(sampler)
    sampler.set_epoch(5, start=8)
    assert list(sampler) == full[8:]
    assert len(sampler) == 12
    assert sampler.state_dict() == {"seed": 0, "epoch": 5, "start": 8}
    sampler.set_epoch(6)
    assert len(sampler) == 20


def test_ranks_take_disjoint_shares_of_one_permutation() -> None:
    data = list(range(10))
    shares = [ResumableSampler(data, seed=1, num_replicas=2, rank=r) for r in (0, 1)]
    for share in shares:
        share.set_epoch(0)
    first, second = list(shares[0]), list(shares[1])
    assert len(first) == len(second) == 5
    assert sorted(first + second) == data


def test_array_dataset_fetches_whole_batches_in_sampler_order() -> None:
    X = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    y = torch.arange(10)
    sampler = ResumableSampler(range(10), seed=0)
    loader = build_loader(
        ArrayDataset(X, y), batch_size=4, sampler=sampler, num_workers=0, device=CPU, seed=0
    )
    batches = list(loader)
    order = list(sampler)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert torch.cat([b[1] for b in batches]).tolist() == order
    assert torch.equal(batches[0][0], X[order[:4]])


def test_loader_settings_and_no_draw_from_the_global_rng() -> None:
    dataset = ArrayDataset(torch.zeros(8, 2), torch.zeros(8))
    loader = build_loader(
        dataset,
        batch_size=4,
        sampler=ResumableSampler(dataset, seed=0),
        num_workers=0,
        device=CPU,
        seed=0,
    )
    assert loader.pin_memory is False
    assert loader.generator is not None
    before = torch.get_rng_state()
    list(loader)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned memory is for CUDA")
def test_loader_pins_host_memory_for_cuda() -> None:
    dataset = ArrayDataset(torch.zeros(8, 2), torch.zeros(8))
    loader = build_loader(
        dataset, batch_size=4, sampler=None, num_workers=0, device=torch.device("cuda"), seed=0
    )
    assert loader.pin_memory
    assert all(t.is_pinned() for t in next(iter(loader)))


class _NoisyRows(Dataset[float]):
    """Each row is a numpy draw made inside the worker that loads it."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> float:
        return float(np.random.rand())


def test_workers_are_persistent_prefetching_and_seeded_from_the_loader_seed() -> None:
    def draws(seed: int) -> list[float]:
        loader = build_loader(
            _NoisyRows(), batch_size=2, sampler=None, num_workers=1, device=CPU, seed=seed
        )
        assert loader.persistent_workers
        assert loader.prefetch_factor == 2
        return torch.cat(list(loader)).tolist()

    assert draws(5) == draws(5)
    assert draws(5) != draws(6)


def test_nan_in_features_is_a_data_error_naming_rows_and_columns() -> None:
    X = np.ones((5, 3))
    X[1, 2] = np.nan
    X[3, 0] = np.inf
    with pytest.raises(
        DataError, match=r"NaN or infinite values in 2 row\(s\) in column\(s\) 0, 2"
    ):
        tensor_dataset(X, np.zeros(5))


def test_features_must_be_two_dimensional() -> None:
    with pytest.raises(DataError, match=r"X must be 2-D"):
        tensor_dataset(np.ones(5))


def test_targets_must_have_one_row_per_sample() -> None:
    with pytest.raises(DataError, match="same number of rows"):
        tensor_dataset(np.ones((5, 2)), np.zeros(4))


def test_batch_larger_than_the_data_is_clamped_with_a_warning() -> None:
    with capture_logs() as logs:
        assert clamp_batch_size(256, 100) == 100
    assert logs[0]["event"] == "batch_size_clamped"
    assert logs[0]["log_level"] == "warning"
    assert "using batch_size=100" in logs[0]["message"]
    with capture_logs() as logs:
        assert clamp_batch_size(64, 100) == 64
        assert clamp_batch_size(256, 100, warn=False) == 100
    assert logs == []


def test_no_rows_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no rows"):
        clamp_batch_size(8, 0)
