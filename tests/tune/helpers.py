"""Helpers for the tune tests: tiny real configs and a recording reporter."""

from __future__ import annotations

from typing import Any

from trainwell.config.loader import resolve_config
from trainwell.config.schema import ExperimentConfig
from trainwell.config.tune import TuneConfig


def experiment(
    architecture: str = "lightgbm",
    data: str = "sklearn:breast_cancer",
    tracking: bool = False,
    **params: Any,
) -> ExperimentConfig:
    """A real, small experiment (bundled data); tracking off unless asked for."""
    raw: dict[str, Any] = {
        "data": {"path": data},
        "model": {"architecture": architecture, "params": params},
        "training": {"seed": 7},
        "tracking": {"enabled": tracking},
    }
    return resolve_config(raw, environ={})


LIGHTGBM_SPACE: dict[str, Any] = {
    "model.params.learning_rate": {"type": "float", "low": 0.005, "high": 0.5, "log": True},
    "model.params.num_leaves": {"type": "int", "low": 4, "high": 32, "log": True},
}


def tune_config(**settings: Any) -> TuneConfig:
    """Small budgets: few trials, frequent reports, pruning from the second trial."""
    base: dict[str, Any] = {
        "n_trials": 4,
        "report_every": 5,
        "pruner_startup_trials": 1,
        "space": LIGHTGBM_SPACE,
    }
    return TuneConfig.model_validate({**base, **settings})


class RecordingReporter:
    """Keeps every (step, value); raises ``stop`` at ``stop_at`` when given."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.reports: list[tuple[int, float]] = []
        self.stop_at = stop_at

    def report(self, step: int, value: float) -> None:
        self.reports.append((step, value))
        if self.stop_at is not None and step >= self.stop_at:
            raise StopTrialError(step)


class StopTrialError(Exception):
    """What RecordingReporter raises to stop a trial (as Optuna's TrialPruned would)."""
