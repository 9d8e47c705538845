"""The CLI end to end, as a user runs it: real bundled data, real MLflow, real bundles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from tests.cli_helpers import EXIT_BAD_INPUT, assert_no_bundle, invoke, only_bundle

from trainwell.inference.predictor import Predictor
from trainwell.tracking import default_tracking_uri

# --- happy paths on three real datasets -------------------------------------------------------


@pytest.mark.slow
def test_train_binary_auto_then_predict(tmp_path: Path) -> None:
    code, out = invoke("train", "data.path=sklearn:breast_cancer", "training.seed=7")
    assert code == 0, out
    assert "tabular-classification" in out
    assert "baseline (majority-class prior)" in out
    assert "mlflow ui --backend-store-uri" in out
    bundle = only_bundle(tmp_path / "models")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["task"] == "tabular-classification"
    assert manifest["seed"] == 7
    assert manifest["decision_reason"]
    metrics = json.loads((bundle / "metrics.json").read_text())
    # a real model on this data beats the prior by a wide margin
    assert metrics["test"]["balanced_accuracy"] > 0.9
    assert metrics["baseline_test"]["balanced_accuracy"] == pytest.approx(0.5)

    frame = load_breast_cancer(as_frame=True).frame
    frame.drop(columns=["target"]).head(25).to_csv("rows.csv", index=False)
    code, out = invoke("predict", str(bundle), "--input", "rows.csv", "--output", "preds.csv")
    assert code == 0, out
    preds = pd.read_csv("preds.csv")
    assert list(preds.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(preds) == 25
    assert (preds["proba_0"] + preds["proba_1"]).round(6).eq(1.0).all()
    # the first rows of this dataset are malignant (0); the model must get most right
    assert (preds["prediction"] == frame["target"].head(25)).mean() > 0.9


@pytest.mark.slow
def test_train_multiclass_named_architecture(tmp_path: Path, repo_root: Path) -> None:
    config = repo_root / "configs" / "examples" / "iris_linear.yaml"
    code, out = invoke("train", str(config), "tracking.enabled=false")
    assert code == 0, out
    assert "sklearn-linear — named in the config" in out
    assert "tracking disabled" in out
    bundle = only_bundle(tmp_path / "models")
    schema = json.loads((bundle / "schema.json").read_text())
    assert schema["classes"] == ["0", "1", "2"]
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85
    assert len(metrics["test"]["confusion_matrix"]) == 3

    iris = load_iris(as_frame=True).frame
    iris.drop(columns=["target"]).to_parquet("rows.parquet")
    code, out = invoke("predict", str(bundle), "-i", "rows.parquet", "-o", "preds.parquet")
    assert code == 0, out
    preds = pd.read_parquet("preds.parquet")
    assert set(preds["prediction"].astype(str)) <= {"0", "1", "2"}
    assert (preds["prediction"].astype(int) == iris["target"]).mean() > 0.9


@pytest.mark.slow
def test_train_regression_from_csv_with_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    diabetes = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    diabetes.to_csv("diabetes.csv", index=False)
    monkeypatch.setenv("TRAINWELL_TRAINING__SEED", "11")
    code, out = invoke(
        "train",
        "data.path=diabetes.csv",
        "data.target=progression",
        "model.architecture=sklearn-hgb",
        "output.dir=out/bundles",
    )
    assert code == 0, out
    assert "tabular-regression" in out
    bundle = only_bundle(tmp_path / "out" / "bundles")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["seed"] == 11
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["test"]["rmse"] < metrics["baseline_test"]["rmse"]
    assert metrics["lift_test"]["rmse"] > 0

    # the run is in MLflow with the config, metrics and tags
    client = MlflowClient(tracking_uri=default_tracking_uri(tmp_path))
    run = client.get_run(manifest["run_id"])
    assert run.data.params["training.seed"] == "11"
    assert run.data.params["data.target"] == "progression"
    assert run.data.metrics["test/rmse"] == pytest.approx(metrics["test"]["rmse"])
    assert run.data.tags["trainwell.data_fingerprint"] == manifest["data_fingerprint"]
    assert run.data.tags["trainwell.config_hash"] == manifest["config_hash"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "bundle")}
    assert "bundle/manifest.json" in artifacts


@pytest.mark.slow
def test_same_seed_reproduces_metrics_and_predictions(tmp_path: Path) -> None:
    # skops names array members after object ids, so the zip bytes differ run to run; what must
    # not differ is every number the model produces.
    wine = load_wine(as_frame=True).frame.drop(columns=["target"])
    outputs = []
    for out_dir in ("a", "b"):
        code, out = invoke(
            "train",
            "data.path=sklearn:wine",
            "model.architecture=sklearn-rf",
            "model.params={n_estimators: 20}",
            "tracking.enabled=false",
            f"output.dir={out_dir}",
        )
        assert code == 0, out
        bundle = only_bundle(tmp_path / out_dir)
        manifest = json.loads((bundle / "manifest.json").read_text())
        proba = Predictor.load(bundle).predict_frame(wine)
        outputs.append(
            (
                manifest["data_fingerprint"],
                manifest["config_hash"],
                (bundle / "metrics.json").read_text(),
                proba,
            )
        )
    (fp_a, hash_a, metrics_a, proba_a), (fp_b, hash_b, metrics_b, proba_b) = outputs
    assert (fp_a, metrics_a) == (fp_b, metrics_b)
    assert hash_a != hash_b  # output.dir differs, so the config hash must too
    pd.testing.assert_frame_equal(proba_a, proba_b, check_exact=True)


def test_print_config_shows_resolved_values() -> None:
    code, out = invoke("train", "--print-config", "training.seed=3", "model.architecture=xgboost")
    assert code == 0, out
    assert "seed: 3" in out
    assert "architecture: xgboost" in out
    assert "path: sklearn:breast_cancer" in out


# --- bad input: one clear line, a non-zero exit, and no partial bundle ------------------------


def write(path: str, text: str) -> str:
    Path(path).write_text(text)
    return path


BAD_INPUTS = [
    pytest.param(
        ["data.path=nope.csv", "data.target=y"], "data file not found: nope.csv", id="missing-file"
    ),
    pytest.param(["data.path=empty.csv", "data.target=y"], "data file is empty", id="empty-csv"),
    pytest.param(
        ["data.path=binary.csv", "data.target=y"], "cannot read data file", id="unreadable-csv"
    ),
    pytest.param(
        ["data.path=ok.csv", "data.target=label"],
        "target column 'label' not found",
        id="missing-target",
    ),
    pytest.param(
        ["data.path=oneclass.csv", "data.target=y"], "has a single class", id="single-class"
    ),
    pytest.param(
        ["data.path=emptycol.csv", "data.target=y"], "no values at all", id="all-empty-column"
    ),
    pytest.param(
        ["data.path=text_target.csv", "data.target=y", "task.kind=tabular-regression"],
        "is not numeric",
        id="non-numeric-regression",
    ),
    pytest.param(["training.sed=3"], "unknown key `training.sed`", id="unknown-key"),
    pytest.param(
        ["training.seed=-1"],
        "`training.seed`: Input should be greater than or equal",
        id="out-of-range",
    ),
    pytest.param(
        ["model.architecture=resnet-9000"],
        "unknown architecture 'resnet-9000'",
        id="unknown-architecture",
    ),
    pytest.param(
        ["data.path=sklearn:iris", "model.architecture=sklearn-linear", "model.params.foo=1"],
        "sklearn-linear refused its parameters (model.params: foo): "
        "LogisticRegression.__init__() got an unexpected keyword argument 'foo'",
        id="unknown-model-param",
    ),
    pytest.param(
        ["data.path=sklearn:iris", "model.architecture=mlp", "model.params.epochs=0"],
        "mlp refused its parameters (model.params: epochs)",
        id="bad-loop-param",
    ),
    pytest.param(
        ["iris", "training.seed=1"],
        "'iris' is neither a config file (.yaml/.yml/.json) nor a key=value override",
        id="not-a-config-file",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i % 3},{i * 2}" for i in range(30))
    write("empty.csv", "")
    Path("binary.csv").write_bytes(b"\xff\xfe\x00\x81" * 64)
    write("ok.csv", "a,b,y\n" + rows + "\n")
    write("oneclass.csv", "a,y\n" + "\n".join(f"{i},1" for i in range(30)) + "\n")
    write("emptycol.csv", "a,b,y\n" + "\n".join(f"{i},,{i % 2}" for i in range(30)) + "\n")
    write("text_target.csv", "a,y\n" + "\n".join(f"{i},{'ab'[i % 2]}" for i in range(30)) + "\n")
    code, out = invoke("train", *args, "tracking.enabled=false")
    assert code == EXIT_BAD_INPUT, out
    assert message in out
    assert out.count("error:") == 1
    assert "Traceback" not in out
    assert_no_bundle(tmp_path)


def test_bad_config_file_names_the_file(tmp_path: Path) -> None:
    write("exp.yaml", "data:\n  path: sklearn:iris\n  targett: target\n")
    code, out = invoke("train", "exp.yaml")
    assert code == EXIT_BAD_INPUT
    assert "exp.yaml: unknown key `data.targett`" in out
    assert "allowed:" in out and "target" in out


def test_missing_config_file() -> None:
    code, out = invoke("train", "nope.yaml")
    assert code == EXIT_BAD_INPUT
    assert "config file not found: nope.yaml" in out


@pytest.mark.slow
def test_predict_refuses_altered_bundle_and_bad_rows(tmp_path: Path) -> None:
    code, out = invoke(
        "train",
        "data.path=sklearn:iris",
        "model.architecture=sklearn-linear",
        "tracking.enabled=false",
    )
    assert code == 0, out
    bundle = only_bundle(tmp_path / "models")
    iris = load_iris(as_frame=True).frame
    iris.drop(columns=["target", "petal width (cm)"]).to_csv("missing.csv", index=False)
    code, out = invoke("predict", str(bundle), "-i", "missing.csv", "-o", "p.csv")
    assert code == EXIT_BAD_INPUT
    assert "missing 1 column(s) the model needs: petal width (cm)" in out
    assert not Path("p.csv").exists()

    bad = iris.drop(columns=["target"]).astype(object)
    bad.loc[3, "sepal length (cm)"] = "five"
    bad.to_csv("badtype.csv", index=False)
    code, out = invoke("predict", str(bundle), "-i", "badtype.csv", "-o", "p.csv")
    assert code == EXIT_BAD_INPUT
    assert "column 'sepal length (cm)' must be numeric; got 'five'" in out

    with (bundle / "schema.json").open("a") as handle:
        handle.write(" ")
    code, out = invoke("predict", str(bundle), "-i", "missing.csv", "-o", "p.csv")
    assert code == EXIT_BAD_INPUT
    assert "was altered: sha256 mismatch for schema.json" in out


def test_predict_missing_bundle() -> None:
    code, out = invoke("predict", "models/none", "-i", "x.csv", "-o", "y.csv")
    assert code == EXIT_BAD_INPUT
    assert "bundle not found: models/none" in out


def test_help_lists_commands_without_heavy_imports() -> None:
    code = (
        "import sys; from trainwell.cli import app; "
        "heavy = [m for m in ('torch', 'sklearn', 'mlflow', 'pandas') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    code_help, out = invoke("--help")
    assert code_help == 0
    for command in ("train", "predict"):
        assert command in out


# --- torch models through the production loop --------------------------------------------------


@pytest.mark.slow
def test_mlp_on_digits_same_seed_writes_identical_weights(tmp_path: Path) -> None:
    digests = []
    for out_dir in ("a", "b"):
        code, out = invoke(
            "train",
            "data.path=sklearn:digits",
            "model.architecture=mlp",
            "training.epochs=5",
            "tracking.enabled=false",
            f"output.dir={out_dir}",
        )
        assert code == 0, out
        bundle = only_bundle(tmp_path / out_dir)
        manifest = json.loads((bundle / "manifest.json").read_text())
        digests.append(manifest["files"]["model/weights.safetensors"])
        metrics = json.loads((bundle / "metrics.json").read_text())
        assert metrics["test"]["accuracy"] > 0.85
        checks = {
            c["id"]: c["status"] for c in json.loads((bundle / "checks.json").read_text())["checks"]
        }
        assert checks["one_batch.overfit"] == checks["eval_mode"] == "pass"
        assert checks["checkpoint.completeness"] == "pass"
    assert digests[0] == digests[1]


@pytest.mark.slow
def test_resume_latest_continues_the_last_run(tmp_path: Path) -> None:
    base = [
        "train",
        "data.path=sklearn:iris",
        "model.architecture=mlp",
        "training.batch_size=16",
        "tracking.enabled=false",
        "checks.enabled=false",
    ]
    code, out = invoke(*base, "training.epochs=2")
    assert code == 0, out
    runs = list((tmp_path / "outputs" / "iris" / "checkpoints").iterdir())
    assert len(runs) == 1
    code, out = invoke(*base, "training.epochs=4", "training.resume=latest")
    assert code == 0, out
    # the resumed run continued in the same directory instead of starting a new one
    assert list((tmp_path / "outputs" / "iris" / "checkpoints").iterdir()) == runs


def test_resume_from_a_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    code, out = invoke(
        "train",
        "data.path=sklearn:iris",
        "model.architecture=mlp",
        "training.resume=ckpt/nope.pt",
        "tracking.enabled=false",
        "checks.enabled=false",
    )
    assert code == EXIT_BAD_INPUT
    assert "nope.pt" in out
    assert_no_bundle(tmp_path)


@pytest.mark.slow
def test_ddp_two_processes_through_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainwell.cli",
            "train",
            "data.path=sklearn:digits",
            "model.architecture=mlp",
            "training.epochs=2",
            "training.devices=2",
            "tracking.enabled=false",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "launching 2 DDP processes" in done.stdout
    assert done.stdout.count("trainwell train") == 1  # only rank 0 reports
    bundle = only_bundle(tmp_path / "models")
    checks = json.loads((bundle / "checks.json").read_text())["checks"]
    skipped = {c["id"] for c in checks if c["status"] == "skip"}
    assert "one_batch.overfit" in skipped  # probes are single-process; check says so
    assert len(list((tmp_path / "outputs" / "digits" / "checkpoints").iterdir())) == 1
