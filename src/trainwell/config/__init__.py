"""Experiment configuration: Pydantic models, YAML loading, dotted and environment overrides.

Import-light on purpose: nothing here imports torch, scikit-learn or MLflow, so config errors and
``--help`` stay fast.
"""

from trainwell.config.loader import load_config, resolve_config
from trainwell.config.schema import (
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    OutputConfig,
    TaskConfig,
    TrackingConfig,
    TrainingConfig,
)

__all__ = [
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "OutputConfig",
    "TaskConfig",
    "TrackingConfig",
    "TrainingConfig",
    "load_config",
    "resolve_config",
]
