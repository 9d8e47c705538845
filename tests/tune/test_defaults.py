"""Every row of the default-space table: valid, known to its estimator, and trainable."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from trainwell.config.loader import resolve_config
from trainwell.config.tune import CategoricalParam, TuneConfig
from trainwell.errors import ConfigError
from trainwell.models.registry import ARCHITECTURES, is_available
from trainwell.training.pipeline import set_up_run
from trainwell.tune.defaults import DEFAULT_SPACES, default_space
from trainwell.tune.objective import resolve_objective, run_trial
from trainwell.tune.space import suggest, validate_space

from .helpers import RecordingReporter

ENTRIES = [(arch, task) for arch, by_task in DEFAULT_SPACES.items() for task in by_task]
DATA_FOR_TASK: dict[str, dict[str, Any]] = {
    # 8x8 digits: timm models from scratch run at 32 px (16 px for ViTs), one short epoch
    "image-classification": {
        "data": {"path": "sklearn:digits"},
        "task": {"kind": "image-classification"},
        "training": {"epochs": 1, "batch_size": 128},
    },
    "tabular-classification": {"data": {"path": "sklearn:iris"}},
    "tabular-regression": {
        "data": {"path": "sklearn:diabetes"},
        "task": {"kind": "tabular-regression"},
    },
    "anomaly-detection": {
        "data": {"path": "sklearn:breast_cancer"},
        "task": {"kind": "anomaly-detection"},
    },
}


def test_every_architecture_and_task_has_a_default_space() -> None:
    missing = [
        (name, task)
        for name, spec in ARCHITECTURES.items()
        for task in sorted(spec.tasks)
        if task not in DEFAULT_SPACES.get(name, {})
    ]
    assert missing == []


def test_no_default_for_an_unknown_pair() -> None:
    with pytest.raises(
        ConfigError, match="no default search space for lightgbm on anomaly-detection"
    ):
        default_space("lightgbm", "anomaly-detection")


def lowest(space: dict[str, Any]) -> dict[str, Any]:
    """The cheapest corner of a space: every range at its low end, every first choice."""
    return {
        key: spec.choices[0] if isinstance(spec, CategoricalParam) else spec.low
        for key, spec in space.items()
    }


@pytest.mark.parametrize(("architecture", "task"), ENTRIES)
def test_default_space_validates_and_trains(architecture: str, task: str) -> None:
    space = default_space(architecture, task)
    assert space
    if architecture not in ARCHITECTURES:
        pytest.skip(f"{architecture} is not in the registry yet (its row waits for it)")
    if not is_available(architecture):
        pytest.skip(f"{architecture} is not installed here")
    raw = {
        **DATA_FOR_TASK[task],
        "model": {"architecture": architecture},
        "tracking": {"enabled": False},
    }
    config = resolve_config(raw, environ={})
    setup = set_up_run(config, include_test=False)
    assert setup.prepared.task == task
    validate_space(space, config, setup.spec, task)
    params = suggest(space, optuna.trial.FixedTrial(lowest(space)))
    objective = resolve_objective(TuneConfig(), task)
    outcome = run_trial(setup, params, objective, RecordingReporter(), report_every=25)
    assert outcome.value == outcome.metrics[objective.metric]
