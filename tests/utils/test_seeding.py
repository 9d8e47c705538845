"""seed_everything: every generator seeded, determinism switched on and off, a JSON report."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from trainwell.utils.seeding import CUBLAS_WORKSPACE_ENV, seed_everything


@pytest.fixture(autouse=True)
def _restore_determinism(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(CUBLAS_WORKSPACE_ENV, raising=False)
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)
    torch.backends.cudnn.deterministic = False


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != CUBLAS_WORKSPACE_ENV}


def _draws() -> tuple[float, float, list[float]]:
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_same_seed_gives_the_same_draws_in_python_numpy_and_torch() -> None:
    seed_everything(123, deterministic=False)
    first = _draws()
    seed_everything(123, deterministic=False)
    assert _draws() == first
    seed_everything(124, deterministic=False)
    assert _draws() != first


def test_report_records_what_was_applied_as_json() -> None:
    report = seed_everything(7, deterministic=False)
    assert report["seed"] == 7
    assert report["python"] and report["numpy"] and report["torch"]
    assert report["torch_deterministic_algorithms"] is False
    assert report["cudnn_benchmark"] is False
    assert report["cuda_devices"] == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert json.loads(json.dumps(report)) == report


def test_deterministic_mode_sets_torch_cudnn_and_cublas_then_switches_off() -> None:
    report = seed_everything(1, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic
    assert os.environ[CUBLAS_WORKSPACE_ENV] == ":4096:8"
    assert report["torch_deterministic_algorithms"] is True
    assert report["cublas_workspace_config"] == ":4096:8"

    seed_everything(1, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.deterministic


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seed_out_of_range_is_refused(seed: int) -> None:
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\]"):
        seed_everything(seed, deterministic=False)


def test_without_torch_python_and_numpy_are_seeded_and_torch_is_not_imported() -> None:
    code = (
        "import random, sys, numpy as np\n"
        "from trainwell.utils.seeding import seed_everything\n"
        "report = seed_everything(11, deterministic=True, torch=False)\n"
        "a = (random.random(), float(np.random.rand()))\n"
        "random.seed(11); np.random.seed(11)\n"
        "assert a == (random.random(), float(np.random.rand())), a\n"
        "assert report['torch'] is False and report['numpy'] and report['python'], report\n"
        "assert report['cublas_workspace_config'] == ':4096:8', report\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_clean_env()
    )
    assert done.stdout.strip() == "False"
