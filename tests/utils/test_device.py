"""resolve_device and memory_mib."""

from __future__ import annotations

import pytest
import torch

from trainwell.errors import TrainingError
from trainwell.utils.device import memory_mib, resolve_device


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_says_what_to_do() -> None:
    with pytest.raises(TrainingError, match=r"training.device=cpu"):
        resolve_device("cuda")


def test_unknown_device_name() -> None:
    with pytest.raises(TrainingError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_memory_is_a_positive_number_of_mib() -> None:
    assert memory_mib(torch.device("cpu")) > 1.0
