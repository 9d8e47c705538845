"""trainwell's public Python API: the same jobs as the CLI, as functions.

    from trainwell.api import load_config, train, check, Predictor

    config = load_config("configs/experiment.yaml", ["training.seed=7"])
    report = check(config)              # the pre-training checklist
    result = train(config)              # -> TrainResult (bundle_path, metrics, run_id, ...)
    predictor = Predictor.load(result.bundle_path)
    predictions = predictor.predict_frame(new_rows)

Everything here imports lazily, so ``import trainwell.api`` is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.config.loader import load_config as _load_config

if TYPE_CHECKING:
    from trainwell.config.schema import ExperimentConfig
    from trainwell.evaluation.checks import CheckReport
    from trainwell.inference.predictor import Predictor
    from trainwell.training.pipeline import TrainResult

__all__ = ["Predictor", "check", "load_config", "train"]


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Load an experiment YAML (``None``: the built-in default) and apply ``key=value``
    overrides and ``TRAINWELL_*`` environment variables."""
    from trainwell.config.defaults import DEFAULT_EXPERIMENT

    return _load_config(
        None if path is None else Path(path), list(overrides), default=DEFAULT_EXPERIMENT
    )


def train(config: ExperimentConfig) -> TrainResult:
    """Run `trainwell train` for a config: checklist, fit, evaluation, bundle, MLflow."""
    from trainwell.training.pipeline import run_training

    return run_training(config)


def check(config: ExperimentConfig) -> CheckReport:
    """Run the pre-training checklist alone."""
    from trainwell.training.pipeline import check_run

    return check_run(config)


def __getattr__(name: str) -> Any:
    if name == "Predictor":
        from trainwell.inference.predictor import Predictor

        return Predictor
    raise AttributeError(name)
