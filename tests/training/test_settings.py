"""TrainerSettings: defaults, validation, the config mapping and the builder parameters."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest

from trainwell.config.schema import TrainingConfig
from trainwell.training.settings import JOB_FIELDS, TrainerSettings

# What the estimators' loop keywords defaulted to before `loop` (trainwell at ef163e7).
DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 256,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "optimizer": "adamw",
    "scheduler": "none",
    "warmup_steps": 0,
    "precision": "fp32",
    "grad_clip": 1.0,
    "grad_accumulation": 1,
    "compile": False,
    "gradient_checkpointing": False,
    "early_stopping_patience": None,
    "monitor": "val/loss",
    "monitor_mode": "min",
    "num_workers": 0,
    "checkpoint_dir": None,
    "checkpoint_every_steps": None,
    "keep_checkpoints": 2,
    "resume": None,
    "device": "auto",
    "seed": 0,
    "log_every_steps": 50,
    "progress_bar": None,
    "deterministic": False,
    "devices": 1,
}


def test_importing_the_settings_does_not_import_torch() -> None:
    code = (
        "import sys, trainwell.training.settings; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_defaults() -> None:
    assert dataclasses.asdict(TrainerSettings()) == DEFAULTS


def test_the_trainer_runs_with_these_settings() -> None:
    from trainwell.training import trainer

    assert trainer.TrainerSettings is TrainerSettings


def test_from_config_copies_every_training_config_field() -> None:
    cfg = TrainingConfig(
        seed=5,
        deterministic=True,
        epochs=2,
        batch_size=8,
        learning_rate=0.02,
        weight_decay=0.1,
        optimizer="sgd",
        scheduler="step",
        warmup_steps=3,
        precision="bf16",
        grad_clip=None,
        grad_accumulation=4,
        compile=True,
        gradient_checkpointing=True,
        early_stopping_patience=2,
        monitor="val/accuracy",
        monitor_mode="max",
        num_workers=1,
        checkpoint_every_steps=10,
        resume="latest",
        devices=2,
        device="cpu",
    )
    settings = TrainerSettings.from_config(cfg)
    loop_fields = set(TrainingConfig.model_fields) - JOB_FIELDS
    for name in loop_fields:
        assert getattr(settings, name) == getattr(cfg, name), name
    not_config = {"checkpoint_dir", "keep_checkpoints", "log_every_steps", "progress_bar"}
    assert set(DEFAULTS) - loop_fields == not_config
    # the job's fields are config fields the loop never sees
    assert set(TrainingConfig.model_fields) >= JOB_FIELDS
    assert not JOB_FIELDS & set(DEFAULTS)
    for name in not_config:
        assert getattr(settings, name) == DEFAULTS[name], name


def test_from_config_of_the_default_config_is_the_default_settings() -> None:
    assert TrainerSettings.from_config(TrainingConfig()) == TrainerSettings(seed=42)


def test_as_params_names_the_seed_random_state() -> None:
    settings = TrainerSettings(seed=7, epochs=3, checkpoint_dir="runs/a")
    params = settings.as_params()
    assert params["random_state"] == 7 and "seed" not in params
    assert params["epochs"] == 3 and params["checkpoint_dir"] == "runs/a"
    assert set(params) == set(DEFAULTS) - {"seed"} | {"random_state"}


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainerSettings().epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, r"'epochs' parameter must be an int >= 1\. Got 0"),
        ({"keep_checkpoints": 0}, r"'keep_checkpoints' parameter must be an int >= 1"),
        ({"scheduler": "cyclic"}, "'scheduler' parameter must be one of none, cosine"),
        ({"precision": "fp8"}, "'precision' parameter must be one of fp32, bf16, fp16"),
        ({"monitor_mode": "up"}, "'monitor_mode' parameter must be one of min, max"),
        ({"weight_decay": -1.0}, "weight_decay >= 0"),
        ({"num_workers": -1}, "'num_workers' parameter must be >= 0"),
    ],
)
def test_bad_settings_say_what_was_expected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainerSettings(**overrides)
