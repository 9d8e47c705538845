"""The Optuna backend with real Optuna, SQLite storage and LightGBM on bundled data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from trainwell.errors import ConfigError
from trainwell.tune.pipeline import PreparedStudy, prepare_study, run_trials

from .helpers import LIGHTGBM_SPACE, experiment, tune_config


def run(config: Any, tune: Any) -> tuple[PreparedStudy, list[FrozenTrial]]:
    prepared = prepare_study(config, tune)
    seen: list[FrozenTrial] = []
    run_trials(prepared, seen.append)
    return prepared, seen


def states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def test_a_study_is_stored_in_sqlite_and_resumes_where_it_stopped(tmp_path: Path) -> None:
    config = experiment(n_estimators=20)
    first, seen = run(config, tune_config(n_trials=3, study_name="resume-me"))
    assert first.resumed is False
    assert (tmp_path / "mlruns" / "optuna.db").is_file()
    assert len(seen) == 3  # every finished trial reaches on_trial
    before = [(t.number, t.params, t.value) for t in first.study.get_trials()]

    second, seen_again = run(config, tune_config(n_trials=5, study_name="resume-me"))
    assert second.resumed is True
    assert len(seen_again) == 2  # n_trials counts the whole study: only 2 more ran
    trials = second.study.get_trials()
    assert len(trials) == 5
    assert [(t.number, t.params, t.value) for t in trials[:3]] == before
    attrs = second.study.user_attrs
    assert attrs["trainwell.metric"] == "balanced_accuracy"
    assert attrs["trainwell.architecture"] == "lightgbm"

    done, nothing = run(config, tune_config(n_trials=5, study_name="resume-me"))
    assert nothing == [] and len(done.study.trials) == 5  # a full study runs no more trials


def test_tpe_is_seeded_from_the_run_seed() -> None:
    def sampled(study: str, seed: int) -> list[dict[str, Any]]:
        config = experiment(n_estimators=10).model_copy(
            update={"training": experiment().training.model_copy(update={"seed": seed})}
        )
        prepared, _ = run(config, tune_config(n_trials=3, study_name=study, pruner="none"))
        return [t.params for t in prepared.study.trials]

    assert sampled("a", 7) == sampled("b", 7)
    assert sampled("c", 7) != sampled("d", 8)


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_weak_trials_are_pruned(pruner: str) -> None:
    prepared, seen = run(
        experiment(n_estimators=40), tune_config(n_trials=8, pruner=pruner, study_name=pruner)
    )
    found = states(prepared.study)
    assert "PRUNED" in found and "COMPLETE" in found
    pruned = [t for t in seen if t.state == TrialState.PRUNED]
    # a pruned trial stopped before its last boosting iteration
    assert all(max(t.intermediate_values) < 40 for t in pruned)


def test_parallel_trials_overlap(tmp_path: Path) -> None:
    prepared, _ = run(
        experiment(n_estimators=150),
        tune_config(n_trials=4, n_jobs=2, pruner="none", study_name="parallel"),
    )
    trials = prepared.study.get_trials()
    assert states(prepared.study) == ["COMPLETE"] * 4
    spans = [(t.datetime_start, t.datetime_complete) for t in trials]
    overlapping = any(
        a_start < b_end and b_start < a_end
        for i, (a_start, a_end) in enumerate(spans)
        for b_start, b_end in spans[i + 1 :]
    )
    assert overlapping


def test_failed_trials_are_recorded_and_the_study_goes_on() -> None:
    space = {
        **LIGHTGBM_SPACE,
        "model.params.num_leaves": {
            "type": "categorical",
            "choices": [1, 8],
        },  # 1: LightGBM refuses
    }
    _, seen = run(
        experiment(n_estimators=10),
        tune_config(n_trials=6, space=space, pruner="none", study_name="failing"),
    )
    failed = [t for t in seen if t.state == TrialState.FAIL]
    assert failed and len(seen) == 6
    assert all(t.params["model.params.num_leaves"] == 1 for t in failed)
    assert "lightgbm failed to fit" in failed[0].user_attrs["error"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"config": experiment(n_estimators=11)}, "config_hash: study has"),
        (
            {"space": {"model.params.num_leaves": {"type": "int", "low": 4, "high": 8}}},
            "space_hash",
        ),
        ({"metric": "log_loss"}, "metric: study has 'balanced_accuracy', now 'log_loss'"),
    ],
)
def test_a_study_name_from_a_different_config_is_refused(
    change: dict[str, Any], message: str
) -> None:
    run(experiment(n_estimators=10), tune_config(n_trials=1, study_name="taken"))
    config = change.pop("config", experiment(n_estimators=10))
    with pytest.raises(ConfigError) as info:
        prepare_study(config, tune_config(n_trials=2, study_name="taken", **change))
    text = str(info.value)
    assert text.startswith("study 'taken' in ")
    assert "belongs to a different config" in text and message in text
    assert "choose a new --study name" in text
