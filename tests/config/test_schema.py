"""The config models: defaults, immutability, unknown keys and cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from trainwell.config.schema import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_SEED,
    DEFAULT_TEST_SIZE,
    DEFAULT_VALID_SIZE,
    ChecksConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    OutputConfig,
    TaskConfig,
    TrackingConfig,
    TrainingConfig,
)

SECTIONS = (
    DataConfig,
    TaskConfig,
    ModelConfig,
    TrainingConfig,
    TrackingConfig,
    ChecksConfig,
    OutputConfig,
)


def minimal() -> ExperimentConfig:
    return ExperimentConfig(data=DataConfig(path="sklearn:iris"))


def test_defaults() -> None:
    cfg = minimal()
    assert cfg.name == "experiment"
    assert (cfg.data.valid_size, cfg.data.test_size) == (DEFAULT_VALID_SIZE, DEFAULT_TEST_SIZE)
    assert (DEFAULT_VALID_SIZE, DEFAULT_TEST_SIZE) == (0.15, 0.15)
    assert cfg.data.target is None
    assert cfg.data.drop_columns == ()
    assert cfg.task.kind is None
    assert cfg.model.architecture == "auto"
    assert cfg.model.params == {}
    assert cfg.training.seed == DEFAULT_SEED == 42
    assert cfg.training.epochs == DEFAULT_EPOCHS
    assert cfg.training.batch_size == DEFAULT_BATCH_SIZE
    assert cfg.training.optimizer == "adamw"
    assert cfg.training.grad_clip == 1.0
    assert cfg.training.device == "auto"
    assert cfg.tracking.enabled is True
    assert cfg.tracking.uri is None
    assert cfg.tracking.experiment == "trainwell"
    assert cfg.checks.enabled is True
    assert cfg.checks.downgrade == {}
    assert cfg.output.dir == Path("models")


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.__name__)
def test_every_section_is_frozen_and_forbids_extra_keys(section: type[BaseModel]) -> None:
    assert section.model_config["frozen"] is True
    assert section.model_config["extra"] == "forbid"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        section(not_a_field=1)


def test_assignment_raises() -> None:
    cfg = minimal()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.training.seed = 7  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        cfg.name = "other"  # type: ignore[misc]
    assert cfg.training.seed == DEFAULT_SEED


def test_model_copy_update_leaves_the_original_alone() -> None:
    cfg = minimal()
    changed = cfg.model_copy(update={"training": TrainingConfig(seed=7)})
    assert (cfg.training.seed, changed.training.seed) == (42, 7)


def test_experiment_needs_a_data_source() -> None:
    with pytest.raises(ValidationError, match=r"no data: set `data.path`"):
        ExperimentConfig()


def test_presplit_files_are_a_data_source() -> None:
    cfg = ExperimentConfig(data=DataConfig(train_path="train.csv"))
    assert (cfg.data.path, cfg.data.train_path) == (None, "train.csv")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "a.csv", "train_path": "b.csv"}, "give either `data.path` or the pre-split"),
        ({"valid_path": "v.csv"}, "pre-split data needs `data.train_path`"),
        (
            {"path": "a.csv", "group_column": "g", "time_column": "t"},
            "choose one of `data.group_column` and `data.time_column`",
        ),
    ],
)
def test_data_cross_field_rules(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DataConfig(**fields)


@pytest.mark.parametrize(
    ("section", "field", "bad", "good"),
    [
        (DataConfig, "valid_size", 0.5, 0.49),
        (DataConfig, "test_size", 0.0, 0.01),
        (TrainingConfig, "seed", -1, 0),
        (TrainingConfig, "seed", 2**32, 2**32 - 1),
        (TrainingConfig, "epochs", 0, 1),
        (TrainingConfig, "learning_rate", 0.0, 1e-6),
        (TrainingConfig, "grad_clip", 0.0, None),
        (ChecksConfig, "duplicate_share_fail", 1.5, 1.0),
        (ChecksConfig, "sample_rows", 999, 1000),
    ],
)
def test_range_limits(section: type[BaseModel], field: str, bad: object, good: object) -> None:
    with pytest.raises(ValidationError, match=field):
        section(**{field: bad})
    assert getattr(section(**{field: good}), field) == good


def test_literal_fields_reject_other_values() -> None:
    with pytest.raises(ValidationError, match="'adamw', 'adam' or 'sgd'"):
        TrainingConfig(optimizer="adamx")
    with pytest.raises(ValidationError, match="tabular-classification"):
        TaskConfig(kind="classification")
    with pytest.raises(ValidationError, match="'warn' or 'skip'"):
        ChecksConfig(downgrade={"leakage.duplicate_rows": "ignore"})
