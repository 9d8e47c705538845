"""Checkpoint files: atomic writes, weights_only loading, clear errors, RNG round trips."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from trainwell.errors import TrainingError
from trainwell.training import checkpoint as ckpt


def _state(step: int, model: nn.Module | None = None) -> dict[str, Any]:
    model = model or nn.Linear(3, 2)
    shapes = ckpt.parameter_shapes(model)
    return {
        "format_version": ckpt.CHECKPOINT_FORMAT_VERSION,
        "architecture": "linear",
        "fingerprint": ckpt.architecture_fingerprint(shapes),
        "param_shapes": shapes,
        "model": model.state_dict(),
        "optimizer": {},
        "epoch": 0,
        "batch_in_epoch": step,
        "global_step": step,
        "rng": [ckpt.capture_rng_state()],
        "world_size": 1,
    }


def test_save_then_load_round_trips_tensors_and_rng(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    path = ckpt.save_checkpoint(_state(4, model), tmp_path, global_step=4, keep_last=2)
    assert path.name == "step-000000004.pt"
    loaded = ckpt.load_checkpoint(path)
    assert loaded["global_step"] == 4
    assert torch.equal(loaded["model"]["weight"], model.weight.detach())


def test_only_the_newest_checkpoints_are_kept_and_stale_temp_files_go(tmp_path: Path) -> None:
    (tmp_path / f"{ckpt.TEMP_PREFIX}killed.pt").write_bytes(b"half a checkpoint")
    for step in (1, 2, 3):
        ckpt.save_checkpoint(_state(step), tmp_path, global_step=step, keep_last=2)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [
        "step-000000002.pt",
        "step-000000003.pt",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000000002.pt", "step-000000003.pt"]


def test_a_failed_write_leaves_the_previous_checkpoint_and_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ckpt.save_checkpoint(_state(1), tmp_path, global_step=1, keep_last=5)

    def dies_half_way(obj: Any, handle: Any) -> None:
        handle.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(_state(2), tmp_path, global_step=2, keep_last=5)
    assert [p.name for p in tmp_path.iterdir()] == ["step-000000001.pt"]
    assert ckpt.load_checkpoint(tmp_path / "step-000000001.pt")["global_step"] == 1


def test_latest_ignores_temporary_files(tmp_path: Path) -> None:
    ckpt.save_checkpoint(_state(3), tmp_path, global_step=3, keep_last=5)
    (tmp_path / f"{ckpt.TEMP_PREFIX}abc.pt").write_bytes(b"killed during a save")
    assert ckpt.resolve_resume("latest", tmp_path) == tmp_path / "step-000000003.pt"


@pytest.mark.parametrize(
    "content",
    [b"not a checkpoint at all", b""],
    ids=["garbage", "empty"],
)
def test_corrupted_file_is_a_clear_training_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "step-000000001.pt"
    path.write_bytes(content)
    with pytest.raises(TrainingError, match=r"cannot be read \(corrupted, truncated"):
        ckpt.load_checkpoint(path)


def test_truncated_checkpoint_is_a_clear_training_error(tmp_path: Path) -> None:
    path = ckpt.save_checkpoint(_state(1), tmp_path, global_step=1, keep_last=1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrainingError, match="corrupted, truncated"):
        ckpt.load_checkpoint(path)


class _Payload:
    """An arbitrary object: weights_only loading must refuse it."""


def test_arbitrary_objects_are_refused_by_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": _Payload()}, path)
    with pytest.raises(TrainingError, match="cannot be read"):
        ckpt.load_checkpoint(path)


def test_a_dict_without_trainwell_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(TrainingError, match="not a trainwell checkpoint: missing architecture"):
        ckpt.load_checkpoint(path)


def test_a_newer_format_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "new.pt"
    torch.save({**_state(1), "format_version": ckpt.CHECKPOINT_FORMAT_VERSION + 1}, path)
    with pytest.raises(TrainingError, match="newer trainwell"):
        ckpt.load_checkpoint(path)


def test_resume_path_that_does_not_exist_lists_the_checkpoints_there(tmp_path: Path) -> None:
    ckpt.save_checkpoint(_state(7), tmp_path, global_step=7, keep_last=1)
    with pytest.raises(TrainingError, match=r"resume checkpoint not found: .*step-000000007\.pt"):
        ckpt.resolve_resume(str(tmp_path / "missing.pt"), tmp_path)


def test_latest_needs_a_directory_and_starts_fresh_when_it_is_empty(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="needs a checkpoint directory"):
        ckpt.resolve_resume("latest", None)
    assert ckpt.resolve_resume("latest", tmp_path / "none-yet") is None


def test_resume_from_a_directory_takes_its_newest_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no checkpoint"):
        ckpt.resolve_resume(str(tmp_path), None)
    for step in (2, 10):
        ckpt.save_checkpoint(_state(step), tmp_path, global_step=step, keep_last=5)
    assert ckpt.resolve_resume(str(tmp_path), None) == tmp_path / "step-000000010.pt"


def test_another_architecture_is_refused_by_name() -> None:
    state = _state(1)
    shapes = ckpt.parameter_shapes(nn.Linear(3, 2))
    with pytest.raises(
        TrainingError, match="written by architecture 'linear', but this run trains 'mlp'"
    ):
        ckpt.check_compatible(state, Path("c.pt"), "mlp", shapes)


def test_other_parameter_shapes_name_the_first_difference() -> None:
    state = _state(1, nn.Linear(3, 2))
    shapes = ckpt.parameter_shapes(nn.Linear(4, 2))
    with pytest.raises(
        TrainingError,
        match=r"parameter 'weight' has shape \[2, 3\] in the checkpoint and \[2, 4\] here",
    ):
        ckpt.check_compatible(state, Path("c.pt"), "linear", shapes)
    ckpt.check_compatible(state, Path("c.pt"), "linear", ckpt.parameter_shapes(nn.Linear(3, 2)))


def test_fingerprint_changes_with_any_shape() -> None:
    a = ckpt.architecture_fingerprint({"w": [2, 3]})
    assert a == ckpt.architecture_fingerprint({"w": [2, 3]})
    assert a != ckpt.architecture_fingerprint({"w": [3, 2]})
    assert a != ckpt.architecture_fingerprint({"v": [2, 3]})


def test_rng_state_survives_a_weights_only_round_trip(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    np.random.randn()  # leaves a cached gaussian in numpy's state
    path = tmp_path / "rng.pt"
    torch.save({"rng": ckpt.capture_rng_state()}, path)
    expected = (random.random(), np.random.randn(), torch.rand(2).tolist())
    ckpt.restore_rng_state(torch.load(path, weights_only=True)["rng"])
    assert (random.random(), np.random.randn(), torch.rand(2).tolist()) == expected


def test_snapshot_copies_every_tensor() -> None:
    weight = torch.zeros(3)
    state = {"model": {"w": weight}, "rng": [(1, weight)], "step": 4}
    copy = ckpt.snapshot(state)
    weight.add_(1.0)
    assert copy["model"]["w"].tolist() == [0.0, 0.0, 0.0]
    assert copy["rng"][0][1].tolist() == [0.0, 0.0, 0.0] and copy["step"] == 4


def test_background_writer_saves_the_state_as_it_was_at_submit(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    expected = model.weight.detach().clone()
    writer = ckpt.CheckpointWriter(tmp_path, keep_last=2)
    writer.submit(_state(5, model), global_step=5)
    with torch.no_grad():
        model.weight.add_(1.0)  # training goes on while the file is written
    path = writer.close()
    assert path == tmp_path / "step-000000005.pt"
    assert torch.equal(ckpt.load_checkpoint(path)["model"]["weight"], expected)


def test_background_write_errors_surface_at_the_next_wait(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    writer = ckpt.CheckpointWriter(not_a_directory, keep_last=2)
    writer.submit(_state(1), global_step=1)
    with pytest.raises(OSError):
        writer.close()
