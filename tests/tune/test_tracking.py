"""The study's MLflow parent run and its nested trial runs, in a real local MLflow store."""

from __future__ import annotations

from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from trainwell.tracking import default_tracking_uri
from trainwell.tune.tracking import PARENT_RUN_ATTR, PARENT_TAG, StudyTracker

from .helpers import experiment

LEAVES = "model.params.num_leaves"


def add_trial(study: optuna.Study, state: TrialState, leaves: int, **extra: object) -> None:
    study.add_trial(
        optuna.trial.create_trial(
            state=state,
            value=0.9 if state == TrialState.COMPLETE else None,
            params={LEAVES: leaves},
            distributions={LEAVES: IntDistribution(1, 64)},
            intermediate_values={5: 0.7, 10: 0.8},
            user_attrs=dict(extra),
        )
    )


def test_parent_run_with_nested_trial_runs_and_reattach(tmp_path: Path) -> None:
    config = experiment(tracking=True)
    study = optuna.create_study(study_name="tracked", direction="maximize")
    tracker = StudyTracker.open(config, study, {"tune.metric": "balanced_accuracy"})
    assert tracker is not None
    assert study.user_attrs[PARENT_RUN_ATTR] == tracker.run_id
    add_trial(
        study, TrialState.COMPLETE, 8, valid_metrics={"balanced_accuracy": 0.9, "log_loss": 0.2}
    )
    add_trial(study, TrialState.PRUNED, 16)
    add_trial(study, TrialState.FAIL, 1, error="lightgbm failed to fit: num_leaves must be > 1")
    for trial in study.get_trials():
        tracker.log_trial(trial, "balanced_accuracy")
    tracker.finish("FINISHED")

    client = MlflowClient(default_tracking_uri())
    parent = client.get_run(tracker.run_id)
    assert parent.data.params["tune.metric"] == "balanced_accuracy"
    assert parent.data.params["model.architecture"] == "lightgbm"  # the experiment config
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`{PARENT_TAG}` = '{tracker.run_id}'"
    )
    by_name = {run.info.run_name: run for run in children}
    assert set(by_name) == {"trial-0", "trial-1", "trial-2"}
    complete, pruned, failed = by_name["trial-0"], by_name["trial-1"], by_name["trial-2"]
    assert (complete.info.status, pruned.info.status, failed.info.status) == (
        "FINISHED",
        "KILLED",
        "FAILED",
    )
    assert complete.data.params[LEAVES] == "8"
    assert complete.data.metrics["valid/balanced_accuracy"] == 0.9
    history = client.get_metric_history(complete.info.run_id, "intermediate/balanced_accuracy")
    assert [(m.step, m.value) for m in history] == [(5, 0.7), (10, 0.8)]
    assert "num_leaves must be > 1" in failed.data.tags["trainwell.error"]

    # resuming the study adds trials under the same parent run
    again = StudyTracker.open(config, study, {"tune.metric": "changed"})
    assert again is not None and again.run_id == tracker.run_id
    assert client.get_run(tracker.run_id).info.status == "RUNNING"
    again.finish("FINISHED")


def test_no_tracker_when_tracking_is_off() -> None:
    study = optuna.create_study()
    assert StudyTracker.open(experiment(tracking=False), study, {}) is None
