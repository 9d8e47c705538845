"""Training checkpoints: written atomically, loaded with ``weights_only=True``, checked on resume.

A checkpoint is one flat, named dict (nanoGPT's shape, with more in it)::

    {"format_version": 1, "architecture": "mlp", "fingerprint": "3f2a...",
     "param_shapes": {"blocks.0.weight": [64, 30], ...},
     "model": ..., "optimizer": ..., "scheduler": ... or None, "scaler": ...,
     "epoch": 2, "batch_in_epoch": 5, "global_step": 23, "stopped": False,
     "epoch_loss_sum": ..., "epoch_loss_count": ..., "history": [...],
     "rng": [{"python": ..., "numpy": ..., "torch": ..., "cuda": [...]}, ...],   # one per rank
     "data": {"seed": 42, "epoch": 2, "start": 320}, "callbacks": {...},
     "world_size": 1, "batch_size": 64, "grad_accumulation": 1, "settings": {...}}

Files are ``<dir>/step-<global step>.pt``. A save writes a temporary file in the same
directory, fsyncs it, then ``os.replace``-s it onto the final name, so a process killed during
a save leaves either the previous checkpoints or the new one, never a half-written file under a
checkpoint name. ``latest`` is the checkpoint with the highest step.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import re
import tempfile
import zipfile
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainwell.errors import TrainingError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

CHECKPOINT_FORMAT_VERSION = 1
LATEST = "latest"
CHECKPOINT_PATTERN = re.compile(r"^step-(\d+)\.pt$")
TEMP_PREFIX = ".tmp-step-"
FINGERPRINT_LENGTH = 16
REQUIRED_KEYS = frozenset(
    {
        "format_version",
        "architecture",
        "fingerprint",
        "param_shapes",
        "model",
        "optimizer",
        "epoch",
        "batch_in_epoch",
        "global_step",
        "rng",
        "world_size",
    }
)
# What torch.load raises on a truncated, corrupted or non-checkpoint file.
UNREADABLE_ERRORS = (
    RuntimeError,
    EOFError,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
    ValueError,
    OSError,
)


def checkpoint_name(global_step: int) -> str:
    """The file name of the checkpoint taken after ``global_step`` optimizer steps."""
    return f"step-{global_step:09d}.pt"


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoints in ``directory``, oldest step first (temporary files excluded)."""
    if not directory.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in directory.iterdir()
        if (match := CHECKPOINT_PATTERN.match(path.name))
    ]
    return [path for _, path in sorted(found)]


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (the directory entry), where the OS allows it."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    state: Mapping[str, Any], directory: Path, global_step: int, keep_last: int
) -> Path:
    """Write ``state`` atomically as ``directory/step-<global_step>.pt``; keep the newest few.

    Args:
        state: the checkpoint dict (tensors, numbers, strings and containers of them only).
        directory: created if missing.
        global_step: names the file.
        keep_last: how many checkpoints to keep; older ones are deleted after the save.

    Returns:
        The checkpoint's path.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / checkpoint_name(global_step)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".pt", dir=directory)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(final)  # os.replace: atomic on POSIX and Windows
    finally:
        temp.unlink(missing_ok=True)  # only left behind when the write failed
    _fsync_directory(directory)
    _prune(directory, keep_last)
    return final


def _prune(directory: Path, keep_last: int) -> None:
    for old in list_checkpoints(directory)[:-keep_last]:
        old.unlink(missing_ok=True)
    # Temporary files of saves that were killed mid-write (only one process writes here).
    for stale in directory.glob(f"{TEMP_PREFIX}*"):
        stale.unlink(missing_ok=True)


_CONTAINERS = (torch.Tensor, dict, list, tuple)


def snapshot(value: Any) -> Any:
    """A copy of ``value`` whose tensors are fresh CPU copies (nested dicts, lists, tuples).

    Training may go on while a checkpoint is written, so the writer gets tensors nobody else
    holds: parameters and optimizer state keep changing in place.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if not any(isinstance(item, _CONTAINERS) for item in value):
            return type(value)(value)  # numbers and strings (an RNG key): a shallow copy
        return type(value)(snapshot(item) for item in value)
    return value


class CheckpointWriter:
    """Writes checkpoints on one background thread, so training does not wait for the disk.

    ``submit`` snapshots the state (the only part the training loop waits for), then
    serialises, fsyncs and renames on the writer thread; at most one write is in flight (a
    second ``submit`` first waits for the first). ``wait`` returns the last written path and
    re-raises a failed write. A process killed mid-write leaves the previous checkpoints.

    Args:
        directory: where checkpoints go.
        keep_last: how many to keep.
    """

    def __init__(self, directory: Path, keep_last: int) -> None:
        self.directory = directory
        self.keep_last = keep_last
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending: Future[Path] | None = None
        self.last_path: Path | None = None

    def submit(self, state: Mapping[str, Any], global_step: int) -> None:
        """Snapshot ``state`` now and write it as ``step-<global_step>.pt`` in the background."""
        self.wait()
        copy = snapshot(dict(state))
        self._pending = self._executor.submit(self._write, copy, global_step)

    def _write(self, state: dict[str, Any], global_step: int) -> Path:
        path = save_checkpoint(state, self.directory, global_step, self.keep_last)
        logger.info("checkpoint_saved", path=str(path), step=global_step, epoch=state["epoch"])
        return path

    def wait(self) -> Path | None:
        """Block until the write in flight (if any) is on disk; re-raise its error."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.last_path = pending.result()
        return self.last_path

    def close(self) -> Path | None:
        """Finish the write in flight and stop the thread."""
        try:
            return self.wait()
        finally:
            self._executor.shutdown(wait=True)


def resolve_resume(resume: str, checkpoint_dir: Path | None) -> Path | None:
    """The checkpoint file ``resume`` names.

    Args:
        resume: ``latest`` (the newest checkpoint in ``checkpoint_dir``), a checkpoint file, or
            a directory (its newest checkpoint).
        checkpoint_dir: where this run writes checkpoints.

    Returns:
        The file, or None for ``latest`` when no checkpoint exists yet (a fresh start, so a
        preempted job can always be restarted with ``resume=latest``).

    Raises:
        TrainingError: ``latest`` without a checkpoint directory, or a path that does not
            exist or holds no checkpoint.
    """
    if resume == LATEST:
        if checkpoint_dir is None:
            raise TrainingError(
                "training.resume=latest needs a checkpoint directory to look in: "
                "set checkpoint_dir (or resume from a checkpoint file path)"
            )
        found = list_checkpoints(checkpoint_dir)
        return found[-1] if found else None
    path = Path(resume).expanduser()
    if path.is_dir():
        found = list_checkpoints(path)
        if not found:
            raise TrainingError(f"no checkpoint (step-*.pt) in the resume directory {path}")
        return found[-1]
    if not path.is_file():
        nearby = list_checkpoints(checkpoint_dir) if checkpoint_dir is not None else []
        hint = (
            f"; checkpoints in {checkpoint_dir}: {', '.join(p.name for p in nearby)}"
            if nearby
            else ""
        )
        raise TrainingError(f"resume checkpoint not found: {path}{hint}")
    return path


def check_not_another_run(checkpoint_dir: Path, resume_path: Path | None) -> None:
    """Refuse to start a run whose checkpoints would mix with another run's.

    Pruning keeps the highest steps, so a fresh run writing into a directory that holds
    another run's checkpoints would delete its own and leave the other's as ``latest``.

    Raises:
        TrainingError: ``checkpoint_dir`` holds checkpoints and this run does not continue
            from one of them.
    """
    existing = list_checkpoints(checkpoint_dir)
    if not existing:
        return
    if resume_path is not None and resume_path.resolve().parent == checkpoint_dir.resolve():
        return
    raise TrainingError(
        f"the checkpoint directory {checkpoint_dir} already holds checkpoints of another run "
        f"(latest: {existing[-1].name}): continue it with training.resume=latest, or choose "
        "another checkpoint directory (or delete those files) to start fresh"
    )


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    Raises:
        TrainingError: the file is missing, corrupted or truncated, holds objects other than
            tensors and plain containers, is not a trainwell checkpoint, or comes from a newer
            trainwell.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainingError(f"resume checkpoint not found: {path}") from None
    except UNREADABLE_ERRORS as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(
            f"checkpoint {path} cannot be read (corrupted, truncated or not a trainwell "
            f"checkpoint: {reason}); resume from an earlier checkpoint or start fresh"
        ) from exc
    if not isinstance(state, dict):
        raise TrainingError(f"{path} is not a trainwell checkpoint (it holds a {type(state)})")
    missing = sorted(REQUIRED_KEYS - state.keys())
    if missing:
        raise TrainingError(f"{path} is not a trainwell checkpoint: missing {', '.join(missing)}")
    if state["format_version"] > CHECKPOINT_FORMAT_VERSION:
        raise TrainingError(
            f"{path} was written by a newer trainwell (checkpoint format "
            f"{state['format_version']}, this one reads {CHECKPOINT_FORMAT_VERSION}): upgrade"
        )
    return state


def parameter_shapes(model: nn.Module) -> dict[str, list[int]]:
    """Name -> shape of every parameter and buffer in ``model.state_dict()``."""
    return {name: list(tensor.shape) for name, tensor in model.state_dict().items()}


def architecture_fingerprint(shapes: Mapping[str, list[int]]) -> str:
    """A short hash of the parameter names and shapes (changes with any architecture change)."""
    text = json.dumps(dict(shapes), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def check_compatible(
    state: Mapping[str, Any], path: Path, architecture: str, shapes: Mapping[str, list[int]]
) -> None:
    """Refuse a checkpoint written for another architecture or other parameter shapes.

    Raises:
        TrainingError: naming both architectures, or the first parameter that differs.
    """
    if state["architecture"] != architecture:
        raise TrainingError(
            f"checkpoint {path} was written by architecture {state['architecture']!r}, but "
            f"this run trains {architecture!r}: resume with the same model.architecture, or "
            "start fresh (training.resume=null)"
        )
    if state["fingerprint"] == architecture_fingerprint(shapes):
        return
    saved: Mapping[str, list[int]] = state["param_shapes"]
    names = [*shapes, *(name for name in saved if name not in shapes)]  # model order
    first = next(name for name in names if saved.get(name) != shapes.get(name))
    raise TrainingError(
        f"checkpoint {path} does not fit this {architecture} model: parameter {first!r} has "
        f"shape {saved.get(first)} in the checkpoint and {shapes.get(first)} here (different "
        "hyperparameters or number of features); resume with the settings it was trained with"
    )


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG state this process uses, in a form ``weights_only`` loading accepts.

    numpy's legacy ``get_state()`` tuple is refused by ``weights_only=True``; its dict form
    is stored with the key as a plain list.
    """
    numpy_state = np.random.get_state(legacy=False)
    assert isinstance(numpy_state, dict)  # legacy=False always returns the dict form
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {
        "python": random.getstate(),
        "numpy": {
            "bit_generator": numpy_state["bit_generator"],
            "key": numpy_state["state"]["key"].tolist(),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "cuda": cuda,
    }


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Put back what :func:`capture_rng_state` captured."""
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": numpy_state["bit_generator"],
            "state": {
                "key": np.asarray(numpy_state["key"], dtype=np.uint32),
                "pos": numpy_state["pos"],
            },
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    cuda_states = state["cuda"]
    if cuda_states and torch.cuda.is_available():
        if len(cuda_states) != torch.cuda.device_count():
            logger.warning(
                "cuda_rng_not_restored",
                saved_devices=len(cuda_states),
                visible_devices=torch.cuda.device_count(),
            )
            return
        torch.cuda.set_rng_state_all(cuda_states)
