"""The Ray Tune backend for real: a local Ray runtime (2 CPUs), ASHA, OptunaSearch, tiny trials."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import ray

from trainwell.tune.cli import load_tune_experiment
from trainwell.tune.pipeline import prepare_study, run_trials

from .test_cli import EXPERIMENT, invoke, write_config

pytestmark = pytest.mark.slow


def test_ray_study_through_the_cli_then_resumed(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    args = ["--backend", "ray", "--n-jobs", "2", "--study", "r"]
    result = invoke(config_path, *args, "--trials", "3", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # Ray wrote nothing to stdout
    assert summary["backend"] == "ray" and summary["n_trials"] == 3
    assert summary["n_complete"] >= 1
    assert Path(summary["best_config_path"]).is_file()
    assert (Path(summary["bundle_path"]) / "manifest.json").is_file()
    assert not ray.is_initialized()  # the local runtime it started is shut down

    # resume the same study for two more trials, warm-started from the first three
    config, tune = load_tune_experiment(
        [config_path], {"backend": "ray", "n_jobs": 2, "study_name": "r", "n_trials": 5}, {}
    )
    prepared = prepare_study(config, tune)
    assert prepared.resumed
    seen: list[optuna.trial.FrozenTrial] = []
    run_trials(prepared, seen.append)
    assert len(seen) == 2 and len(prepared.study.trials) == 5
    for trial in prepared.study.trials:
        assert trial.state.name in {"COMPLETE", "PRUNED"}
        assert set(trial.params) == set(EXPERIMENT["tune"]["space"])
        if trial.state.name == "COMPLETE":
            assert trial.value == trial.user_attrs["valid_metrics"]["log_loss"]
            assert sorted(trial.intermediate_values) == [5, 10, 15, 20]
