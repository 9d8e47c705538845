"""The train pipeline's stages on real bundled data: splits, pre-split files, the checklist
gate, include_test for tuning, anomaly detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from trainwell.config.loader import resolve_config
from trainwell.errors import CheckFailedError, DataError
from trainwell.training import pipeline


def config(**sections: object) -> object:
    raw: dict[str, object] = {"tracking": {"enabled": False}}
    raw.update(sections)
    return resolve_config(raw)


@pytest.fixture
def cancer_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_presplit_files_are_used_as_given(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame.iloc[:400].to_csv("train.csv", index=False)
    frame.iloc[400:480].to_csv("valid.csv", index=False)
    frame.iloc[480:].to_csv("test.csv", index=False)
    cfg = config(
        data={
            "train_path": "train.csv",
            "valid_path": "valid.csv",
            "test_path": "test.csv",
            "target": "target",
        }
    )
    prepared = pipeline.prepare_data(cfg)  # type: ignore[arg-type]
    assert prepared.splits.sizes() == {"train": 400, "valid": 80, "test": 89}
    assert prepared.splits.strategy == "files"


def test_presplit_holds_out_only_what_is_missing() -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame.iloc[:400].to_csv("train.csv", index=False)
    frame.iloc[400:].to_csv("test.csv", index=False)
    cfg = config(data={"train_path": "train.csv", "test_path": "test.csv", "target": "target"})
    prepared = pipeline.prepare_data(cfg)  # type: ignore[arg-type]
    sizes = prepared.splits.sizes()
    assert sizes == {"train": 340, "valid": 60, "test": 169}


def test_presplit_columns_must_match() -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame.iloc[:400].to_csv("train.csv", index=False)
    frame.iloc[400:].drop(columns=["mean radius"]).to_csv("valid.csv", index=False)
    cfg = config(data={"train_path": "train.csv", "valid_path": "valid.csv", "target": "target"})
    with pytest.raises(DataError, match="valid file's columns differ"):
        pipeline.prepare_data(cfg)  # type: ignore[arg-type]


def test_include_test_false_never_opens_the_test_file(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame.iloc[:400].to_csv("train.csv", index=False)
    frame.iloc[400:].to_csv("test.csv", index=False)
    opened: list[str] = []
    original = pipeline_load_table()

    def recording(source: str) -> pd.DataFrame:
        opened.append(source)
        return original(source)

    monkeypatch.setattr("trainwell.data.loading.load_table", recording)
    cfg = config(
        data={"train_path": "train.csv", "test_path": "test.csv", "target": "target"},
        model={"architecture": "sklearn-hgb"},
    )
    setup = pipeline.set_up_run(cfg, include_test=False)  # type: ignore[arg-type]
    assert opened == ["train.csv"]
    assert len(setup.prepared.splits.test) == 0
    assert setup.features.X["test"].shape == (0, setup.features.X["train"].shape[1])


def pipeline_load_table():
    from trainwell.data import loading

    return loading.load_table


def test_include_test_false_holds_out_the_same_rows(cancer_csv: Path) -> None:
    cfg = config(data={"path": str(cancer_csv), "target": "target"})
    full = pipeline.prepare_data(cfg)  # type: ignore[arg-type]
    tuning = pipeline.prepare_data(cfg, include_test=False)  # type: ignore[arg-type]
    assert tuning.splits.train.index.equals(full.splits.train.index)
    assert tuning.splits.valid.index.equals(full.splits.valid.index)
    assert len(tuning.splits.test) == 0


def test_rows_without_target_are_dropped_and_reported(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame.astype({"target": "float"})
    frame.loc[:6, "target"] = np.nan
    frame.to_csv("cancer.csv", index=False)
    cfg = config(
        data={"path": "cancer.csv", "target": "target"}, model={"architecture": "sklearn-linear"}
    )
    report = pipeline.check_run(cfg)  # type: ignore[arg-type]
    missing = report.by_id("sanity.target_missing")
    assert missing.status == "warn"
    assert missing.details["rows"] == 7


def test_gate_stops_train_on_a_planted_leak_and_downgrade_records_it(
    tmp_path: Path, cancer_csv: Path
) -> None:
    frame = pd.read_csv(cancer_csv)
    frame["diagnosis_code"] = frame["target"] * 3 + 1
    frame.to_csv("leaky.csv", index=False)
    data = {"path": "leaky.csv", "target": "target"}
    with pytest.raises(CheckFailedError, match=r"leakage.target_proxy failed.*diagnosis_code"):
        pipeline.run_training(config(data=data, model={"architecture": "sklearn-hgb"}))  # type: ignore[arg-type]
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())

    accepted = config(
        data=data,
        model={"architecture": "sklearn-hgb"},
        checks={"downgrade": {"leakage.target_proxy": "warn"}},
    )
    result = pipeline.run_training(accepted)  # type: ignore[arg-type]
    leak = result.checks.by_id("leakage.target_proxy")
    assert (leak.status, leak.downgraded_from) == ("warn", "fail")
    manifest = json.loads((result.bundle_path / "manifest.json").read_text())
    assert manifest["checks"]["downgraded"] == {"leakage.target_proxy": "warn"}
    saved = json.loads((result.bundle_path / "checks.json").read_text())
    assert {c["id"] for c in saved["checks"]} >= {"seeds", "preprocessing.parity", "memory"}


def test_hyperparameters_tracked_check_reads_mlflow_back(tmp_path: Path) -> None:
    cfg = resolve_config(
        {"data": {"path": "sklearn:wine"}, "model": {"architecture": "sklearn-linear"}}
    )
    result = pipeline.run_training(cfg)
    tracked = result.checks.by_id("tracking.hyperparameters")
    assert tracked.status == "pass"
    assert tracked.details["run_id"] == result.run_id


def test_anomaly_detection_with_isolation_forest(tmp_path: Path) -> None:
    cancer = load_breast_cancer(as_frame=True).frame
    normal = cancer[cancer["target"] == 1]
    anomalies = cancer[cancer["target"] == 0].head(25)
    frame = pd.concat([normal, anomalies]).sample(frac=1.0, random_state=0)
    frame = frame.assign(is_anomaly=(frame["target"] == 0).astype(int)).drop(columns=["target"])
    frame.to_csv("anomaly.csv", index=False)
    cfg = config(
        data={"path": "anomaly.csv", "target": "is_anomaly"},
        task={"kind": "anomaly-detection"},
        model={"architecture": "isolation-forest"},
    )
    result = pipeline.run_training(cfg)  # type: ignore[arg-type]
    assert result.primary_metric == "roc_auc"
    # malignant tumours are far from benign ones in this feature space
    assert result.metrics["test"]["roc_auc"] > 0.85
    assert result.metrics["baseline_test"]["roc_auc"] == pytest.approx(0.5)
    from trainwell.inference.predictor import Predictor

    predictions = Predictor.load(result.bundle_path).predict_frame(frame.drop(columns="is_anomaly"))
    flagged = predictions["prediction"]
    assert set(flagged.unique()) == {0, 1}  # 1 = anomaly, 0 = normal
    # the most anomalous scores are the flagged rows
    assert predictions.loc[flagged == 1, "anomaly_score"].min() >= (
        predictions.loc[flagged == 0, "anomaly_score"].max()
    )


# --- training.refit_full: the saved model sees every row, the metrics stay held-out ------------

# one unbootstrapped tree: its root counts exactly the rows it was fitted on
ONE_TREE = {"architecture": "sklearn-rf", "params": {"n_estimators": 1, "bootstrap": False}}


def fitted_rows(bundle: Path) -> int:
    from trainwell.models.sklearn_models import load_sklearn_model

    forest = load_sklearn_model(bundle / "model")
    return int(forest.estimators_[0].tree_.n_node_samples[0])


def test_refit_full_saves_a_model_of_train_and_valid_with_the_held_out_metrics(
    cancer_csv: Path,
) -> None:
    data = {"path": str(cancer_csv), "target": "target"}
    held = pipeline.run_training(config(data=data, model=ONE_TREE, training={"refit_full": False}))
    full = pipeline.run_training(config(data=data, model=ONE_TREE))  # refit_full is the default
    sizes = full.split_sizes
    assert full.refit == pipeline.Refit(
        rows=sizes["train"] + sizes["valid"], splits=("train", "valid")
    )
    assert full.refit.summary() == (
        f"metrics are from held-out rows; the saved model was refit on "
        f"{sizes['train'] + sizes['valid']} rows (train+valid)"
    )
    # the recorded metrics are the held-out model's, exactly as without the refit
    assert full.metrics == held.metrics
    assert (full.bundle_path / "metrics.json").read_text() == (
        held.bundle_path / "metrics.json"
    ).read_text()
    manifest = json.loads((full.bundle_path / "manifest.json").read_text())
    assert manifest["refit"] == {
        "rows": sizes["train"] + sizes["valid"],
        "splits": ["train", "valid"],
        "held_out_metrics": True,
    }
    assert json.loads((held.bundle_path / "manifest.json").read_text())["refit"] is None
    assert held.refit is None
    # the saved trees: fitted on train+valid, and on train alone without the refit
    assert fitted_rows(full.bundle_path) == sizes["train"] + sizes["valid"]
    assert fitted_rows(held.bundle_path) == sizes["train"]
    # a fully grown tree memorises: the refit one predicts every validation row's label
    from trainwell.inference.predictor import Predictor

    frame = pd.read_csv(cancer_csv)
    valid = frame.loc[pipeline.prepare_data(config(data=data)).splits.valid.index]  # type: ignore[arg-type]
    predicted = Predictor.load(full.bundle_path).predict_frame(valid.drop(columns="target"))
    assert (predicted["prediction"].astype(int) == valid["target"]).all()
    held_predicted = Predictor.load(held.bundle_path).predict_frame(valid.drop(columns="target"))
    assert (held_predicted["prediction"].astype(int) != valid["target"]).any()


def test_refit_include_test_adds_the_test_rows(cancer_csv: Path) -> None:
    data = {"path": str(cancer_csv), "target": "target"}
    result = pipeline.run_training(
        config(data=data, model=ONE_TREE, training={"refit_include_test": True})
    )
    assert result.refit is not None and result.refit.splits == ("train", "valid", "test")
    assert fitted_rows(result.bundle_path) == sum(result.split_sizes.values()) == 569


def test_refit_include_test_needs_refit_full() -> None:
    from trainwell.errors import ConfigError

    with pytest.raises(ConfigError, match=r"refit_include_test=true` needs `training\.refit_full"):
        config(
            data={"path": "sklearn:wine"},
            training={"refit_full": False, "refit_include_test": True},
        )


def test_only_estimator_rows_are_refit() -> None:
    from trainwell.models.registry import get_spec

    wine = {"path": "sklearn:wine"}
    default = config(data=wine)
    with_test = config(data=wine, training={"refit_include_test": True})
    assert pipeline.refit_splits(default, get_spec("xgboost")) == ("train", "valid")  # type: ignore[arg-type]
    assert pipeline.refit_splits(with_test, get_spec("sklearn-hgb")) == ("train", "valid", "test")  # type: ignore[arg-type]
    assert pipeline.refit_splits(default, get_spec("mlp")) == ()  # type: ignore[arg-type]
    off = config(data=wine, training={"refit_full": False})
    assert pipeline.refit_splits(off, get_spec("xgboost")) == ()  # type: ignore[arg-type]


def test_refit_and_encoding_reach_the_mlflow_run(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg = resolve_config({"data": {"path": "sklearn:wine"}, "model": {"architecture": "xgboost"}})
    result = pipeline.run_training(cfg)
    run = MlflowClient(result.tracking_uri).get_run(str(result.run_id))
    rows = result.split_sizes["train"] + result.split_sizes["valid"]
    assert run.data.tags["trainwell.refit"] == f"train+valid ({rows} rows)"
    assert run.data.tags["trainwell.categorical_encoding"] == "{}"  # wine: numbers only
    assert run.data.params["training.refit_full"] == "True"
    assert run.data.params["training.native_categorical"] == "True"
