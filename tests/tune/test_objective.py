"""One trial on real data: intermediate scores at aligned steps, pruning, errors, metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from trainwell.config.loader import resolve_config
from trainwell.config.tune import TuneConfig
from trainwell.errors import ConfigError, ModelError
from trainwell.evaluation.metrics import classification_metrics, classification_score
from trainwell.tasks import get_task
from trainwell.training.pipeline import RunSetup, evaluate, fit_model, set_up_run
from trainwell.tune.objective import (
    Objective,
    epoch_pruning_callback,
    resolve_objective,
    run_trial,
)

from .helpers import RecordingReporter, StopTrialError, experiment

BALANCED = Objective("balanced_accuracy", "maximize")
CLASSIFICATION_METRICS = get_task("tabular-classification").objective.metric_names
SetupFactory = Callable[..., RunSetup]


@pytest.fixture(scope="module")
def setups() -> SetupFactory:
    """set_up_run per (architecture, params), cached for the module."""
    cache: dict[str, RunSetup] = {}

    def make(architecture: str, **params: Any) -> RunSetup:
        key = f"{architecture}{sorted(params.items())}"
        if key not in cache:
            cache[key] = set_up_run(experiment(architecture, **params), include_test=False)
        return cache[key]

    return make


@pytest.mark.parametrize(
    ("raw", "task"),
    [
        ({"data": {"path": "sklearn:wine"}, "model": {"architecture": "sklearn-linear"}}, None),
        ({"data": {"path": "sklearn:diabetes"}, "model": {"architecture": "sklearn-linear"}}, None),
        (
            {
                "data": {"path": "sklearn:breast_cancer"},
                "task": {"kind": "anomaly-detection"},
                "model": {"architecture": "isolation-forest", "params": {"n_estimators": 20}},
            },
            "anomaly-detection",
        ),
    ],
)
def test_task_metrics_match_what_evaluate_produces(raw: dict[str, Any], task: str | None) -> None:
    setup = set_up_run(resolve_config(raw, environ={}), include_test=False)
    if task is not None:
        assert setup.prepared.task == task
    produced = {
        k for k, v in evaluate(setup, fit_model(setup), "valid").items() if isinstance(v, float)
    }
    assert produced == set(setup.objective.metric_names)


def test_resolve_objective() -> None:
    assert resolve_objective(TuneConfig(), "tabular-classification") == BALANCED
    assert resolve_objective(TuneConfig(), "tabular-regression") == Objective("rmse", "minimize")
    assert resolve_objective(
        TuneConfig(metric="log_loss", direction="minimize"), "tabular-classification"
    ) == Objective("log_loss", "minimize")
    assert Objective("rmse", "minimize").ray_mode == "min"


def test_a_metric_the_task_does_not_produce() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_objective(TuneConfig(metric="rmse"), "tabular-classification")
    assert str(info.value) == (
        "tune.metric 'rmse' is not a metric tabular-classification produces "
        "(choose one of: accuracy, balanced_accuracy, f1_macro, log_loss, roc_auc)"
    )


def test_a_direction_that_contradicts_the_metric() -> None:
    with pytest.raises(ConfigError, match="'maximize' contradicts log_loss"):
        resolve_objective(
            TuneConfig(metric="log_loss", direction="maximize"), "tabular-classification"
        )


@pytest.mark.parametrize(
    ("architecture", "params", "steps"),
    [
        ("lightgbm", {"n_estimators": 20}, [5, 10, 15, 20]),
        ("xgboost", {"n_estimators": 20}, [5, 10, 15, 20]),
        ("sklearn-hgb", {"max_iter": 20}, [5, 10, 15, 20]),
        ("sklearn-rf", {"n_estimators": 12}, [5, 10, 12]),
        ("sklearn-linear", {}, []),
    ],
)
def test_intermediate_scores_every_report_every_iterations(
    setups: SetupFactory, architecture: str, params: dict[str, Any], steps: list[int]
) -> None:
    reporter = RecordingReporter()
    outcome = run_trial(setups(architecture, **params), {}, BALANCED, reporter, report_every=5)
    assert [step for step, _ in reporter.reports] == steps
    assert outcome.history == reporter.reports
    assert set(outcome.metrics) == set(CLASSIFICATION_METRICS)
    assert outcome.value == outcome.metrics["balanced_accuracy"] > 0.85
    if steps:  # the last intermediate score is the finished model's score
        assert reporter.reports[-1][1] == pytest.approx(outcome.value)


@pytest.mark.parametrize(
    ("architecture", "params"),
    [
        ("lightgbm", {"n_estimators": 40}),
        ("xgboost", {"n_estimators": 40}),
        ("sklearn-hgb", {"max_iter": 40}),
    ],
)
def test_a_reporter_stops_the_trial_mid_training(
    setups: SetupFactory, architecture: str, params: dict[str, Any]
) -> None:
    reporter = RecordingReporter(stop_at=10)
    with pytest.raises(StopTrialError):
        run_trial(setups(architecture, **params), {}, BALANCED, reporter, report_every=5)
    assert [step for step, _ in reporter.reports] == [5, 10]


def test_sampled_params_reach_the_estimator(setups: SetupFactory) -> None:
    setup = setups("lightgbm", n_estimators=10)
    built: list[dict[str, Any]] = []
    original = setup.spec.build

    def spy(task: str, seed: int, params: dict[str, Any]) -> Any:
        built.append(dict(params))
        return original(task, seed, params)

    spied = dataclasses.replace(setup, spec=dataclasses.replace(setup.spec, build=spy))
    run_trial(
        spied,
        {"model.params.num_leaves": 7},
        BALANCED,
        RecordingReporter(),
        report_every=5,
        threads=1,
    )
    assert built == [{"n_estimators": 10, "num_leaves": 7, "n_jobs": 1}]
    # a thread count the config sets wins
    run_trial(
        spied, {"model.params.n_jobs": 2}, BALANCED, RecordingReporter(), report_every=5, threads=1
    )
    assert built[-1]["n_jobs"] == 2


@pytest.mark.parametrize(
    ("architecture", "params"),
    [
        ("lightgbm", {"model.params.num_leaves": 1}),
        ("sklearn-hgb", {"model.params.learning_rate": -1.0}),
    ],
)
def test_parameters_the_estimator_refuses(
    setups: SetupFactory, architecture: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ModelError, match=f"{architecture} failed to fit"):
        run_trial(setups(architecture), params, BALANCED, RecordingReporter(), report_every=5)


def test_parameters_the_config_refuses(setups: SetupFactory) -> None:
    with pytest.raises(ConfigError, match=r"training\.epochs"):
        run_trial(
            setups("lightgbm"),
            {"training.epochs": 0},
            BALANCED,
            RecordingReporter(),
            report_every=5,
        )


def test_epoch_pruning_callback_reports_the_trainer_metric() -> None:
    trainer = SimpleNamespace(state=SimpleNamespace(epoch=0))
    reporter = RecordingReporter()
    accuracy = epoch_pruning_callback(reporter, "accuracy", "maximize")
    accuracy.on_epoch_end(trainer, {"epoch": 1, "val/loss": 0.7, "val/accuracy": 0.8})
    # the tuned metric is not among the Trainer's: the validation loss, in the study's direction
    balanced = epoch_pruning_callback(reporter, "balanced_accuracy", "maximize")
    balanced.on_epoch_end(trainer, {"epoch": 2, "val/loss": 0.5, "val/accuracy": 0.9})
    rmse = epoch_pruning_callback(reporter, "rmse", "minimize")
    rmse.on_epoch_end(trainer, {"val/loss": 0.25})
    assert reporter.reports == [(1, 0.8), (2, -0.5), (1, 0.25)]


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.filterwarnings("ignore:A single label was found")
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("metric", CLASSIFICATION_METRICS)
def test_intermediate_scores_use_the_evaluation_definitions(metric: str, n_classes: int) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, n_classes, size=40)
    proba = rng.dirichlet(np.ones(n_classes), size=40)
    expected = classification_metrics(y, proba, n_classes)[metric]
    assert classification_score(metric, y, proba, n_classes) == pytest.approx(expected)
    one_class = np.zeros(40, dtype=np.int64)
    expected_one = classification_metrics(one_class, proba, n_classes)[metric]
    assert classification_score(metric, one_class, proba, n_classes) == (
        pytest.approx(expected_one) if expected_one is not None else None
    )
    # the last class absent from both the truth and the predictions
    y_short = rng.integers(0, n_classes - 1, size=40)
    proba_short = proba.copy()
    proba_short[:, -1] = 0.0
    proba_short /= proba_short.sum(axis=1, keepdims=True)
    expected_short = classification_metrics(y_short, proba_short, n_classes)[metric]
    assert classification_score(metric, y_short, proba_short, n_classes) == (
        pytest.approx(expected_short) if expected_short is not None else None
    )
