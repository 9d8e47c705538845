"""Image classification through the CLI, as a user runs it: real MNIST and scikit-learn digits,
real bundles, real MLflow; and every bad input for images as one line and an exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.cli_helpers import EXIT_BAD_INPUT, assert_no_bundle, invoke, only_bundle, runner
from tests.image_data import (
    mnist_folders,
    write_class_folders,
    write_corrupt_image,
)

from trainwell.cli import app
from trainwell.tracking import default_tracking_uri

EXIT_CHECK_FAILED = 1
IMAGE_TASK = "task.kind=image-classification"
# the small CNN at 28 px: a couple of epochs on a few hundred MNIST digits
FAST = ("training.epochs=2", "training.batch_size=32", "model.params.hflip=false")


# --- end to end on real digits -----------------------------------------------------------------


@pytest.mark.slow
def test_train_mnist_folders_then_predict_a_folder(tmp_path: Path) -> None:
    root = mnist_folders(tmp_path, per_class=40)
    code, out = invoke("train", f"data.path={root}", IMAGE_TASK, *FAST, "training.epochs=8")
    assert code == 0, out
    assert "400 images (median 28×28 px, L, 10 classes)" in out
    assert "small-cnn" in out and "images is tiny" in out  # auto, with its reason
    bundle = only_bundle(tmp_path / "models")

    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["task"] == "image-classification"
    assert manifest["architecture"] == "small-cnn"
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert set(metrics) == {"valid", "test", "baseline_test", "lift_test"}
    test = metrics["test"]
    assert test["accuracy"] > 0.6 > metrics["baseline_test"]["accuracy"]
    assert 0 <= test["top5_accuracy"] <= 1 and test["top5_accuracy"] >= test["accuracy"]
    assert len(test["recall_per_class"]) == 10
    spec = json.loads((bundle / "image_spec.json").read_text())
    assert spec["classes"] == [str(d) for d in range(10)]
    assert spec["class_to_index"] == {str(d): d for d in range(10)}
    assert spec["mode"] == "L" and spec["native_size"] == [28, 28]
    # the eval transform is data in the bundle, and it is deterministic
    estimator = json.loads((bundle / "model" / "estimator.json").read_text())
    transform = estimator["fitted"]["transform_"]
    assert transform["image_size"] == 28 and transform["channels"] == 1
    checks = {
        c["id"]: c["status"] for c in json.loads((bundle / "checks.json").read_text())["checks"]
    }
    for check in (
        "data.unreadable_images",
        "leakage.duplicate_images",
        "class_balance",
        "one_batch.overfit",
        "eval_mode",
        "augmentation.valid",
        "checkpoint.completeness",
    ):
        assert checks[check] == "pass", (check, checks)
    assert checks["leakage.near_duplicate_images"] == "skip"  # 28 px: too small for a phash

    # the plots, in outputs/ and in the MLflow run
    reports = list((tmp_path / "outputs").glob("*/reports/*/*.png"))
    assert {p.name for p in reports} == {"confusion_matrix.png", "worst_classified.png"}
    client = MlflowClient(default_tracking_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("trainwell").experiment_id])
    assert run.data.tags["trainwell.task"] == "image-classification"
    assert run.data.metrics["test/accuracy"] == pytest.approx(test["accuracy"])
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert "reports/confusion_matrix.png" in logged

    # predict a folder of new files (copies of some digits) and a CSV of their paths
    new = tmp_path / "new"
    new.mkdir()
    sources = sorted((root / "7").glob("*.png"))[:5] + sorted((root / "3").glob("*.png"))[:5]
    for i, source in enumerate(sources):
        shutil.copy(source, new / f"{i:02d}.png")
    output = tmp_path / "p.csv"
    code, out = invoke("predict", str(bundle), "--input", str(new), "--output", str(output))
    assert code == 0, out
    predictions = pd.read_csv(output, dtype={"prediction": str})
    assert list(predictions.columns) == ["path", "prediction", *(f"proba_{d}" for d in range(10))]
    assert [Path(p).name for p in predictions["path"]] == [f"{i:02d}.png" for i in range(10)]
    assert predictions.filter(like="proba_").sum(axis=1).round(6).eq(1).all()
    assert (predictions["prediction"] == ["7"] * 5 + ["3"] * 5).mean() >= 0.6

    listed = tmp_path / "paths.csv"
    pd.DataFrame({"path": [f"new/{i:02d}.png" for i in range(3)]}).to_csv(listed, index=False)
    code, out = invoke("predict", str(bundle), "-i", str(listed), "-o", str(tmp_path / "q.csv"))
    assert code == 0, out
    assert len(pd.read_csv(tmp_path / "q.csv")) == 3

    # a corrupt file: one line naming it and no output; --skip-invalid writes the rest
    write_corrupt_image(new / "zz-broken.png")
    failed = tmp_path / "failed.csv"
    code, out = invoke("predict", str(bundle), "-i", str(new), "-o", str(failed))
    assert code == EXIT_BAD_INPUT
    assert "cannot read image" in out and "zz-broken.png" in out
    assert not failed.exists() and not list(tmp_path.glob(".failed.csv*"))
    code, out = invoke("predict", str(bundle), "-i", str(new), "-o", str(failed), "--skip-invalid")
    assert code == 0, out
    assert len(pd.read_csv(failed)) == 10
    rejected = pd.read_csv(tmp_path / "failed.rejected.csv")
    assert list(rejected.columns) == ["input", "reason"]
    assert rejected["input"].str.endswith("zz-broken.png").tolist() == [True]


@pytest.mark.slow
def test_digits_example_config_learns(repo_root: Path) -> None:
    config = repo_root / "configs" / "examples" / "digits_images.yaml"
    code, out = invoke("train", str(config), "training.epochs=5", "tracking.enabled=false")
    assert code == 0, out
    assert "1797 images (median 8×8 px, L, 10 classes)" in out
    bundle = only_bundle(Path("models"))
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85


def test_csv_of_paths_with_groups_passes_the_checklist(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "imgs", per_class=12, size=(24, 24))
    rows = [
        {"file": str(p.relative_to(tmp_path)), "animal": p.parent.name, "shoot": i // 3}
        for i, p in enumerate(sorted(root.glob("*/*.png")))
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    code, out = invoke(
        "check",
        f"data.path={tmp_path / 'labels.csv'}",
        "data.image_column=file",
        "data.target=animal",
        "data.group_column=shoot",
        IMAGE_TASK,
        "model.architecture=small-cnn",
        "training.batch_size=8",
    )
    assert code == 0, out
    assert "augmentation.valid" in out


@pytest.mark.slow
def test_tune_an_image_config(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "tune",
            "data.path=sklearn:digits",
            IMAGE_TASK,
            "model.architecture=small-cnn",
            "training.epochs=1",
            "training.batch_size=128",
            "--trials",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_trials"] == 2 and summary["metric"] == "accuracy"
    assert {"training.learning_rate", "model.params.crop_scale"} <= set(summary["best_params"])
    assert (Path(summary["bundle_path"]) / "image_spec.json").is_file()


def test_pretrained_from_a_local_safetensors_file(tmp_path: Path) -> None:
    import timm
    from safetensors.torch import save_file

    weights = tmp_path / "resnet18.safetensors"
    save_file(timm.create_model("resnet18", num_classes=1000).state_dict(), str(weights))
    root = write_class_folders(tmp_path / "imgs", per_class=10, size=(32, 32))
    code, out = invoke(
        "train",
        f"data.path={root}",
        IMAGE_TASK,
        "model.architecture=resnet18",
        f"model.weights={weights}",
        "model.params.image_size=32",
        "training.epochs=1",
        "training.batch_size=8",
        "tracking.enabled=false",
    )
    assert code == 0, out
    config = (only_bundle(tmp_path / "models") / "config.yaml").read_text()
    assert f"weights: {weights}" in config


# --- every bad input for images: one line, an exit code, no bundle ----------------------------


def _mnist(tmp_path: Path) -> Path:
    return mnist_folders(tmp_path, per_class=8)


def _empty_class(tmp_path: Path) -> Path:
    root = _mnist(tmp_path)
    (root / "empty").mkdir()
    return root


def _single_class(tmp_path: Path) -> Path:
    root = _mnist(tmp_path)
    for folder in root.iterdir():
        if folder.name != "0":
            shutil.rmtree(folder)
    return root


def _corrupt(tmp_path: Path) -> Path:
    root = _mnist(tmp_path)
    write_corrupt_image(root / "3" / "broken.png")
    return root


def _missing_paths(tmp_path: Path) -> Path:
    root = _mnist(tmp_path)
    rows = [{"path": str(p), "label": p.parent.name} for p in sorted(root.glob("*/*.png"))]
    rows += [{"path": "gone/a.png", "label": "1"}, {"path": "gone/b.png", "label": "2"}]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path / "labels.csv"


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda t: t / "no-such-folder", (), "image folder not found"),
        (_empty_class, (), "empty"),
        (_single_class, (), "one class"),
        (_corrupt, (), "broken.png"),
        (_missing_paths, ("data.image_column=path", "data.target=label"), "do not exist"),
        (_mnist, ("model.architecture=resnet-9000",), "unknown architecture 'resnet-9000'"),
        (_mnist, ("model.architecture=timm:not_a_model",), "unknown timm model 'not_a_model'"),
        (_mnist, ("model.architecture=sklearn-hgb",), "does not serve image-classification"),
        (
            _mnist,
            ("model.architecture=resnet18", "model.pretrained=true"),
            "pretrained weights for resnet18 are not available offline",
        ),
        (_mnist, ("data.image_column=path",), "drop data.image_column"),
    ],
    ids=[
        "missing-folder",
        "empty-class-folder",
        "single-class",
        "corrupt-file",
        "csv-missing-files",
        "unknown-architecture",
        "unknown-timm-model",
        "tabular-architecture",
        "pretrained-unavailable",
        "image-column-on-a-folder",
    ],
)
def test_bad_image_input_is_one_line_and_exit_2(
    tmp_path: Path, make: object, extra: tuple[str, ...], message: str
) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    code, out = invoke("train", f"data.path={source}", IMAGE_TASK, *FAST, *extra)
    assert code == EXIT_BAD_INPUT, out
    assert message in out
    assert "Traceback" not in out
    assert_no_bundle(tmp_path)


def test_truncated_file_fails_the_checklist(tmp_path: Path) -> None:
    # a JPEG cut short: its header reads (indexing passes it), decoding stops half way, and
    # only the checklist, which decodes every image, finds it
    import numpy as np
    from PIL import Image

    root = write_class_folders(tmp_path / "imgs", per_class=20, size=(32, 32))
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    cut = root / "dog" / "cut.jpg"
    Image.fromarray(noise).save(cut, quality=95)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    code, out = invoke("train", f"data.path={root}", IMAGE_TASK, *FAST)
    assert code == EXIT_CHECK_FAILED, out
    assert "data.unreadable_images failed" in out and "cut.jpg" in out
    assert_no_bundle(tmp_path)
