"""A study's outputs: the best config `train` accepts, PNG plots, the trial table, the summary."""

from __future__ import annotations

from pathlib import Path

import optuna
import yaml
from optuna.distributions import FloatDistribution, IntDistribution
from rich.console import Console

from trainwell.config.loader import load_config
from trainwell.tune.pipeline import TuneResult
from trainwell.tune.report import (
    HISTORY_PLOT,
    IMPORTANCE_PLOT,
    render_tune_result,
    write_best_config,
    write_plots,
    write_trials,
)

from .helpers import experiment

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LR, LEAVES = "model.params.learning_rate", "model.params.num_leaves"


def study_with(n_complete: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for i in range(n_complete):
        study.add_trial(
            optuna.trial.create_trial(
                value=0.8 + i / 100,
                params={LR: 0.01 * (i + 1), LEAVES: 4 + i},
                distributions={LR: FloatDistribution(0.001, 1.0), LEAVES: IntDistribution(2, 64)},
            )
        )
    return study


def test_best_config_is_a_config_train_accepts(tmp_path: Path) -> None:
    config = experiment(num_leaves=9)
    path = write_best_config(config, tmp_path / "out" / "best.yaml", ["trial 3 of study s"])
    assert path.is_absolute()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# trial 3 of study s\n")
    assert "tune" not in yaml.safe_load(text)  # the search space stays with the study
    assert load_config(path) == config


def test_plots_are_pngs(tmp_path: Path) -> None:
    written = write_plots(study_with(6), tmp_path, seed=0)
    assert [p.name for p in written] == [HISTORY_PLOT, IMPORTANCE_PLOT]
    for plot in written:
        assert plot.read_bytes().startswith(PNG_SIGNATURE)


def test_importances_need_two_complete_trials(tmp_path: Path) -> None:
    written = write_plots(study_with(1), tmp_path, seed=0)
    assert [p.name for p in written] == [HISTORY_PLOT]


def test_trial_table(tmp_path: Path) -> None:
    path = write_trials(study_with(3), tmp_path / "trials.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert f"params_{LR}" in lines[0]


def test_summary_shows_the_best_trials_first(tmp_path: Path) -> None:
    trials = (
        {"number": 0, "state": "complete", "value": 0.91, "params": {LR: 0.1}},
        {"number": 1, "state": "pruned", "value": None, "params": {LR: 0.001}},
        {"number": 2, "state": "complete", "value": 0.97, "params": {LR: 0.05}},
    )
    result = TuneResult(
        study="s",
        storage=tmp_path / "optuna.db",
        backend="optuna",
        resumed=False,
        metric="balanced_accuracy",
        direction="maximize",
        n_trials=3,
        counts={"complete": 2, "pruned": 1, "failed": 0},
        best_trial=2,
        best_value=0.97,
        best_params={LR: 0.05},
        best_config_path=tmp_path / "best_config.yaml",
        bundle_path=tmp_path / "models" / "b",
        test_metrics={"balanced_accuracy": 0.95},
        output_dir=tmp_path,
        plots=(tmp_path / HISTORY_PLOT,),
        trials=trials,
        parent_run_id=None,
        final_run_id=None,
        tracking_uri=None,
        duration_s=1.5,
        architecture="lightgbm",
    )
    assert [t["number"] for t in result.top_trials(10)] == [2, 0, 1]
    console = Console(record=True, width=200)
    render_tune_result(console, result)
    text = console.export_text()
    assert "3 in the study: 2 complete, 1 pruned, 0 failed" in text
    assert "trial 2: balanced_accuracy = 0.9700" in text
    assert "learning_rate=0.05" in text
    assert "balanced_accuracy 0.9500 (evaluated once)" in text
    assert str(tmp_path / "best_config.yaml") in text
    summary = result.as_dict()
    assert {
        "study",
        "n_trials",
        "best_value",
        "best_params",
        "best_config_path",
        "bundle_path",
    } <= set(summary)
