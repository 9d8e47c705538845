"""Multi-process data parallel training (torch DDP), launched through torchrun.

One process per device. ``launch`` starts them through ``torch.distributed.run`` (the API
behind ``torchrun``)::

    # what `trainwell train ... training.devices=2` does:
    launch(["-m", "trainwell.cli", "train", "training.devices=2", ...], nproc=2)

Each process then runs the same command with torchrun's environment (``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); the Trainer calls
:func:`init_distributed`, which joins the process group (gloo on CPU, nccl on CUDA). Only
rank 0 logs, checkpoints and tracks: use :func:`is_main_process` around side effects.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from trainwell.errors import TrainingError
from trainwell.utils.device import resolve_device
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

LOOPBACK = "127.0.0.1"
# Larger than any optimizer step: "no rank saw a non-finite loss" in a MIN all-reduce.
NO_STEP = 2**62


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job.

    Attributes:
        rank: global rank (0 for a single process).
        local_rank: rank on this machine (picks the CUDA device).
        world_size: number of processes (1: no DDP).
        backend: ``gloo`` or ``nccl`` when DDP is on.
        owns_process_group: this context created the process group (and destroys it).
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str | None = None
    owns_process_group: bool = False

    @property
    def enabled(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True in the process that logs, checkpoints and tracks."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise TrainingError(f"environment variable {name}={value!r} is not an integer") from None


def world_size_from_env() -> int:
    """``WORLD_SIZE`` as torchrun set it (1 when not launched by torchrun)."""
    return _env_int("WORLD_SIZE", 1)


def is_launched() -> bool:
    """True inside a process started by torchrun / :func:`launch` with more than one rank."""
    return world_size_from_env() > 1


def is_main_process() -> bool:
    """True unless this is a DDP process of rank > 0 (reads torchrun's ``RANK``)."""
    return _env_int("RANK", 0) == 0


def backend_for(device: torch.device) -> str:
    """nccl for CUDA devices, gloo for CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_distributed(device_name: str) -> tuple[DistributedContext, torch.device]:
    """Join the DDP process group when torchrun started this process; pick the device.

    Args:
        device_name: ``auto``, ``cpu`` or ``cuda``; under DDP on CUDA each process takes
            ``cuda:<LOCAL_RANK>``.

    Returns:
        The context and this process's device. Without torchrun's environment: a
        single-process context.
    """
    world_size = world_size_from_env()
    if world_size <= 1:
        return DistributedContext(), resolve_device(device_name)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    device = resolve_device(device_name, index=local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = backend_for(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
        owns = True
    return DistributedContext(rank, local_rank, world_size, backend, owns), device


def shutdown(context: DistributedContext) -> None:
    """Wait for every rank, then leave the process group if this context created it."""
    if context.owns_process_group and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def gather_objects(value: Any, context: DistributedContext) -> list[Any]:
    """Every rank's ``value``, indexed by rank (``[value]`` without DDP)."""
    if not context.enabled:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def sum_over_ranks(values: Sequence[float], context: DistributedContext) -> list[float]:
    """Element-wise sum of ``values`` over ranks (float64, one all-reduce)."""
    if not context.enabled:
        return list(values)
    device = torch.device("cuda", context.local_rank) if context.backend == "nccl" else None
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return [float(v) for v in tensor.tolist()]


def min_step_over_ranks(step: int | None, context: DistributedContext) -> int | None:
    """The smallest ``step`` any rank reports (None: no rank reported one)."""
    if not context.enabled:
        return step
    device = torch.device("cuda", context.local_rank) if context.backend == "nccl" else None
    tensor = torch.tensor([NO_STEP if step is None else step], dtype=torch.int64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    smallest = int(tensor.item())
    return None if smallest == NO_STEP else smallest


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago (for the rendezvous store)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def launch(
    argv: Sequence[str],
    nproc: int,
    *,
    master_addr: str = LOOPBACK,
    master_port: int | None = None,
) -> None:
    """Run ``python <argv>`` in ``nproc`` processes through ``torch.distributed.run``.

    This process becomes torchrun's agent: it starts the workers with the DDP environment,
    waits for them, and fails if any fails.

    Args:
        argv: what follows ``python`` on the command line: ``["-m", "trainwell.cli", ...]``
            or ``["script.py", "--flag"]``.
        nproc: processes to start (one per device).
        master_addr: the rendezvous address (loopback: this machine only).
        master_port: the rendezvous port; a free one when None.

    Raises:
        TrainingError: ``nproc`` < 1, or a worker exited with an error (the message names
            the failed ranks and their exit codes).

    Example:
        >>> launch(["-m", "trainwell.cli", "train", "training.devices=2"], 2)  # doctest: +SKIP
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if nproc < 1:
        raise TrainingError(f"nproc must be >= 1. Got {nproc} instead.")
    if not argv:
        raise TrainingError("launch needs a command: e.g. ['-m', 'trainwell.cli', 'train']")
    port = master_port if master_port is not None else free_port(master_addr)
    args = parse_args(  # type: ignore[no-untyped-call]
        [
            "--nnodes=1",
            f"--nproc-per-node={nproc}",
            f"--master-addr={master_addr}",
            f"--master-port={port}",
            "--max-restarts=0",
            *argv,
        ]
    )
    logger.info("ddp_launch", nproc=nproc, master=f"{master_addr}:{port}", argv=list(argv))
    try:
        run(args)  # type: ignore[no-untyped-call]
    except ChildFailedError as exc:
        failures = ", ".join(
            f"rank {rank} exit code {failure.exitcode}"
            for rank, failure in sorted(exc.failures.items())
        )
        raise TrainingError(
            f"distributed training failed ({failures}); the first failure's output is above"
        ) from exc
