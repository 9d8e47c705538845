"""The whole `tune` job on real data, MLflow and bundles; and proof that trials never see test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer

import trainwell.training.pipeline as training_pipeline
from trainwell.config.loader import load_config, resolve_config
from trainwell.config.tune import TuneConfig
from trainwell.data import loading
from trainwell.errors import ConfigError
from trainwell.tune.pipeline import prepare_study, run_trials, run_tuning
from trainwell.tune.report import BEST_CONFIG_FILE, HISTORY_PLOT, IMPORTANCE_PLOT
from trainwell.tune.tracking import PARENT_TAG

from .helpers import experiment, tune_config


def test_tune_end_to_end(tmp_path: Path) -> None:
    config = experiment("lightgbm", tracking=True, n_estimators=30)
    result = run_tuning(config, tune_config(n_trials=4, study_name="e2e"))

    assert result.study == "e2e" and result.n_trials == 4
    assert sum(result.counts.values()) == 4
    complete = [t["value"] for t in result.trials if t["state"] == "complete"]
    assert result.best_value == max(complete)
    # the best config: a ready-to-use experiment with the best parameters and the architecture
    assert result.best_config_path == tmp_path / "outputs" / "tune" / "e2e" / BEST_CONFIG_FILE
    best = load_config(result.best_config_path)
    assert best.model.architecture == "lightgbm"
    assert best.model.params == {
        "n_estimators": 30,
        **{k.removeprefix("model.params."): v for k, v in result.best_params.items()},
    }
    # ... trained once, with its bundle and its single test evaluation
    assert result.bundle_path is not None and (result.bundle_path / "manifest.json").is_file()
    metrics = json.loads((result.bundle_path / "metrics.json").read_text())
    assert metrics["test"]["balanced_accuracy"] == result.test_metrics["balanced_accuracy"] > 0.85
    assert {p.name for p in result.plots} == {HISTORY_PLOT, IMPORTANCE_PLOT}

    # MLflow: a parent run, 4 nested trial runs, the final train run nested too
    client = MlflowClient(result.tracking_uri)
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best/balanced_accuracy"] == result.best_value
    assert parent.data.metrics["test/balanced_accuracy"] == result.test_metrics["balanced_accuracy"]
    assert parent.data.tags["trainwell.best_trial"] == str(result.best_trial)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`{PARENT_TAG}` = '{result.parent_run_id}'"
    )
    trial_runs = {run.info.run_name for run in children if run.info.run_id != result.final_run_id}
    assert trial_runs == {"trial-0", "trial-1", "trial-2", "trial-3"}
    assert result.final_run_id in {run.info.run_id for run in children}
    logged = {f.path for f in client.list_artifacts(result.parent_run_id, "tune")}
    assert f"tune/{BEST_CONFIG_FILE}" in logged and f"tune/{HISTORY_PLOT}" in logged


def write_presplit(directory: Path) -> dict[str, str]:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [str(c) for c in frame.columns]
    shuffled = frame.sample(frac=1.0, random_state=0)
    paths = {}
    for name, part in (
        ("train", shuffled[:350]),
        ("valid", shuffled[350:460]),
        ("test", shuffled[460:]),
    ):
        path = directory / f"{name}.csv"
        part.to_csv(path, index=False)
        paths[name] = str(path)
    return paths


def test_tuning_never_reads_the_test_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_presplit(tmp_path)
    raw: dict[str, Any] = {
        "data": {
            "train_path": paths["train"],
            "valid_path": paths["valid"],
            "test_path": paths["test"],
            "target": "target",
        },
        "model": {"architecture": "lightgbm", "params": {"n_estimators": 20}},
        "tracking": {"enabled": False},
    }
    config = resolve_config(raw, environ={})
    reads: list[tuple[str, bool]] = []
    final_training = {"started": False}
    real_load, real_train = loading.load_table, training_pipeline.run_training

    def spy_load(source: str) -> pd.DataFrame:
        reads.append((source, final_training["started"]))
        return real_load(source)

    def spy_train(config: Any) -> Any:
        final_training["started"] = True
        return real_train(config)

    monkeypatch.setattr(loading, "load_table", spy_load)
    monkeypatch.setattr(training_pipeline, "run_training", spy_train)

    # the trials alone: train and valid are read, test never
    prepared = prepare_study(config, tune_config(n_trials=3, study_name="no-test"))
    run_trials(prepared, lambda trial: None)
    assert [source for source, _ in reads] == [paths["train"], paths["valid"]]
    assert prepared.setup.features.X["test"].shape[0] == 0

    # the whole job: the test file is read exactly once, by the final training
    reads.clear()
    result = run_tuning(config, tune_config(n_trials=3, study_name="no-test-e2e"))
    test_reads = [during_final for source, during_final in reads if source == paths["test"]]
    assert test_reads == [True]
    assert result.test_metrics


def test_a_carved_test_split_is_emptied_for_trials() -> None:
    prepared = prepare_study(experiment(n_estimators=10), tune_config(n_trials=1, study_name="x"))
    assert prepared.setup.features.X["test"].shape[0] == 0
    assert len(prepared.setup.prepared.splits.test) == 0
    assert prepared.setup.features.X["valid"].shape[0] > 0


def test_auto_architecture_is_decided_once_with_its_default_space() -> None:
    config = experiment("auto")
    prepared = prepare_study(config, TuneConfig(study_name="auto"))
    architecture = prepared.setup.spec.name
    assert architecture != "auto"
    assert prepared.study.user_attrs["trainwell.architecture"] == architecture
    assert prepared.space  # the architecture's default space


def test_anomaly_detection_without_labels_cannot_be_scored(tmp_path: Path) -> None:
    features = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    features.to_csv(tmp_path / "rows.csv", index=False)
    raw = {
        "data": {"path": str(tmp_path / "rows.csv")},
        "task": {"kind": "anomaly-detection"},
        "model": {"architecture": "isolation-forest"},
        "tracking": {"enabled": False},
    }
    with pytest.raises(ConfigError, match="tuning needs labelled validation rows"):
        prepare_study(resolve_config(raw, environ={}), TuneConfig(study_name="x"))
