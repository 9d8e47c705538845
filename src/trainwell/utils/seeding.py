"""Seed every random number generator a run touches, and say what was applied.

    from trainwell.utils.seeding import seed_everything
    report = seed_everything(42, deterministic=True)   # recorded in the bundle manifest

Seeds python's ``random``, numpy's global generator, torch's CPU generator and every CUDA
device's generator. ``deterministic=True`` also asks torch for deterministic kernels
(``torch.use_deterministic_algorithms(True)``), turns cuDNN autotuning off and sets
``CUBLAS_WORKSPACE_CONFIG`` (cuBLAS needs it to be deterministic on CUDA >= 10.2).

Note:
    ``PYTHONHASHSEED`` only takes effect when set before the interpreter starts; the report
    records its value so a run can be repeated with the same hash seed.
"""

from __future__ import annotations

import os
import random
from typing import TypedDict

import numpy as np

# cuBLAS picks reduction strategies per workspace; a fixed workspace makes GEMMs deterministic.
# https://docs.nvidia.com/cuda/cublas/index.html#results-reproducibility
CUBLAS_WORKSPACE_ENV = "CUBLAS_WORKSPACE_CONFIG"
CUBLAS_DETERMINISTIC_WORKSPACE = ":4096:8"
MAX_SEED = 2**32 - 1


class SeedReport(TypedDict):
    """What :func:`seed_everything` applied (plain JSON values, stored in bundle manifests)."""

    seed: int
    deterministic: bool
    python: bool
    numpy: bool
    torch: bool
    cuda_devices: int
    torch_deterministic_algorithms: bool
    cudnn_deterministic: bool
    cudnn_benchmark: bool
    cublas_workspace_config: str | None
    pythonhashseed: str | None


def seed_everything(seed: int, deterministic: bool, *, torch: bool = True) -> SeedReport:
    """Seed python, numpy and torch (CPU and every CUDA device); optionally force determinism.

    Args:
        seed: the seed, in ``[0, 2**32 - 1]`` (numpy's limit).
        deterministic: ask torch for deterministic algorithms (and error on ops that have
            none), turn cuDNN benchmarking off and set ``CUBLAS_WORKSPACE_CONFIG``. With
            ``False`` torch's deterministic mode is switched off again, so a process that
            seeds twice ends in the state it asked for last.
        torch: also seed torch. A run that never touches torch (a scikit-learn or GBM table
            model) passes False and does not import it: importing torch and switching its
            deterministic mode costs about 4 s, more than fitting a small table. Torch models
            seed themselves when they are built (``TorchEstimator.fit``), so nothing random
            in torch escapes; the report records ``torch: false``.

    Returns:
        The settings applied, as plain values.

    Raises:
        ValueError: ``seed`` is outside ``[0, 2**32 - 1]``.

    Example:
        >>> report = seed_everything(7, deterministic=False)
        >>> report["seed"], report["torch"]
        (7, True)
    """
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}]. Got {seed} instead.")
    random.seed(seed)
    np.random.seed(seed)
    if deterministic:
        os.environ[CUBLAS_WORKSPACE_ENV] = CUBLAS_DETERMINISTIC_WORKSPACE
    if not torch:
        return SeedReport(
            seed=seed,
            deterministic=deterministic,
            python=True,
            numpy=True,
            torch=False,
            cuda_devices=0,
            torch_deterministic_algorithms=False,
            cudnn_deterministic=False,
            cudnn_benchmark=False,
            cublas_workspace_config=os.environ.get(CUBLAS_WORKSPACE_ENV),
            pythonhashseed=os.environ.get("PYTHONHASHSEED"),
        )
    return _seed_torch(seed, deterministic)


def _seed_torch(seed: int, deterministic: bool) -> SeedReport:
    import torch

    torch.manual_seed(seed)  # also seeds every CUDA device when CUDA is initialised
    cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if cuda_devices:
        torch.cuda.manual_seed_all(seed)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    # Autotuning picks kernels by timing, so results can change between runs: always off.
    torch.backends.cudnn.benchmark = False
    return SeedReport(
        seed=seed,
        deterministic=deterministic,
        python=True,
        numpy=True,
        torch=True,
        cuda_devices=cuda_devices,
        torch_deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
        cudnn_deterministic=bool(torch.backends.cudnn.deterministic),
        cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
        cublas_workspace_config=os.environ.get(CUBLAS_WORKSPACE_ENV),
        pythonhashseed=os.environ.get("PYTHONHASHSEED"),
    )
