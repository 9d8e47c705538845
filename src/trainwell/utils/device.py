"""Pick the torch device a run trains on, and measure its memory for the logs.

device = resolve_device("auto")          # cuda:0 when a GPU is visible, else cpu
device = resolve_device("cuda", index=1)  # a DDP rank's GPU (its LOCAL_RANK)
"""

from __future__ import annotations

import resource
import sys
from typing import Literal

import torch

from trainwell.errors import TrainingError

DeviceName = Literal["auto", "cpu", "cuda"]
BYTES_PER_MIB = 2**20
# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
MAXRSS_BYTES_PER_UNIT = 1 if sys.platform == "darwin" else 1024


def resolve_device(name: DeviceName | str, index: int = 0) -> torch.device:
    """The device for ``name``: ``auto`` means CUDA when available, else CPU.

    Args:
        name: ``auto``, ``cpu`` or ``cuda``.
        index: the CUDA device index (a DDP process passes its local rank).

    Raises:
        TrainingError: CUDA was asked for but is not available, or the name is unknown.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError(
                "training.device=cuda but torch sees no CUDA device here: "
                "use training.device=cpu (or auto), or install a CUDA build of torch"
            )
        if index >= torch.cuda.device_count():
            raise TrainingError(
                f"CUDA device {index} was asked for but only {torch.cuda.device_count()} "
                "are visible: lower training.devices or check CUDA_VISIBLE_DEVICES"
            )
        return torch.device("cuda", index)
    raise TrainingError(f"unknown device {name!r}: use auto, cpu or cuda")


def memory_mib(device: torch.device) -> float:
    """Peak memory so far in MiB: allocated tensors on CUDA, the process's peak RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / BYTES_PER_MIB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * MAXRSS_BYTES_PER_UNIT
    return peak / BYTES_PER_MIB
