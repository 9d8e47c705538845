"""`trainwell export`: every registry row exports with parity or refuses with its reason; the
parity gate, the waiver, the manifest and the bad-input paths, end to end through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from tests.cli_helpers import EXIT_BAD_INPUT, invoke, only_bundle

from trainwell.inference import export as export_module
from trainwell.inference.bundle import verify_bundle
from trainwell.models.registry import ARCHITECTURES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"
# small ensembles and two epochs keep every row a few seconds
FAST: dict[str, tuple[str, ...]] = {
    "sklearn-hgb": ("model.params.max_iter=20",),
    "sklearn-rf": ("model.params.n_estimators=20",),
    "xgboost": ("model.params.n_estimators=20",),
    "lightgbm": ("model.params.n_estimators=20",),
    "catboost": ("model.params.iterations=20",),
    "isolation-forest": ("model.params.n_estimators=20",),
}
DATA_FOR_TASK = {
    "tabular-classification": "sklearn:breast_cancer",
    "tabular-regression": "sklearn:diabetes",
    "anomaly-detection": "sklearn:breast_cancer",
    "image-classification": "sklearn:digits",
}
TABLE_ROWS = sorted(n for n, s in ARCHITECTURES.items() if s.modality == "table")
# one row per network family: the rows of a family (resnet18/34/50, efficientnet_b0/b1/b2, the
# three ViTs) share their timm code and so their export path; each family's smallest stands for it
IMAGE_ROWS = ["efficientnet_b0", "resnet18", "small-cnn", "vit_tiny_patch16_224"]


def train(tmp_path: Path, architecture: str, task: str, *extra: str) -> Path:
    out = tmp_path / "models"
    args = [
        f"data.path={DATA_FOR_TASK[task]}",
        f"task.kind={task}",
        f"model.architecture={architecture}",
        "tracking.enabled=false",
        "training.epochs=2",
        f"output.dir={out}",
        *FAST.get(architecture, ()),
        *extra,
    ]
    code, output = invoke("train", *args)
    assert code == 0, output
    return only_bundle(out)


def _tasks(name: str) -> list[str]:
    return sorted(ARCHITECTURES[name].tasks)


def assert_exported(bundle: Path, fmt: str) -> dict[str, object]:
    code, out = invoke("export", str(bundle), "--format", fmt)
    assert code == 0, out
    assert "parity passed" in out
    manifest = verify_bundle(bundle).manifest  # still verifies, with the export in it
    entry = manifest["exports"][fmt]
    assert entry["parity_passed"] is True and entry["waived"] is False
    parity = json.loads((bundle / f"export/parity-{fmt}.json").read_text())
    assert parity["passed"] and parity["rows"] > 0
    assert parity["batches"][0]["batch_size"] == 1
    assert all(b["max_abs_diff"] <= parity["atol"] + 1e-3 for b in parity["batches"])
    return parity


@pytest.mark.parametrize(("name", "task"), [(n, t) for n in TABLE_ROWS for t in _tasks(n)], ids=str)
def test_every_table_row_exports_with_parity_or_refuses(
    tmp_path: Path, name: str, task: str
) -> None:
    bundle = train(tmp_path, name, task)
    parity = assert_exported(bundle, "onnx")
    if task == "tabular-classification":
        assert {b["label_agreement"] for b in parity["batches"]} == {1.0}
    if task == "anomaly-detection":
        assert min(b["rank_agreement"] for b in parity["batches"]) >= 0.999
    code, out = invoke("export", str(bundle), "--format", "torchscript")
    if ARCHITECTURES[name].export == "torch":
        assert code == 0, out
    else:
        assert code == EXIT_BAD_INPUT
        assert "--format torchscript applies to torch models" in out
        assert "use --format onnx" in out


def _family(name: str) -> str:
    return name.split("_", maxsplit=1)[0].rstrip("0123456789")


def test_the_image_walk_covers_every_network_family() -> None:
    rows = {n for n, s in ARCHITECTURES.items() if s.modality == "image"}
    assert set(IMAGE_ROWS) <= rows
    assert {_family(n) for n in rows} == {_family(n) for n in IMAGE_ROWS}


@pytest.mark.slow
@pytest.mark.parametrize("name", IMAGE_ROWS)
def test_every_image_row_exports_with_parity(tmp_path: Path, name: str) -> None:
    size = 16 if name.startswith("vit") else 32
    params = (
        "model.params.hflip=false",
        f"model.params.image_size={size}",
        "training.epochs=1",
        # a random-init network at 32px need not fit one batch in 60 steps; export is the point
        "checks.downgrade={one_batch.overfit: warn}",
    )
    bundle = train(tmp_path, name, "image-classification", *params)
    assert_exported(bundle, "onnx")
    assert_exported(bundle, "torchscript")


@pytest.fixture(scope="module")
def linear_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("linear"), "sklearn-linear", "tabular-classification")


@pytest.fixture
def bundle(linear_bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / linear_bundle.name
    shutil.copytree(linear_bundle, copy)
    return copy


def test_predict_with_onnx_gives_the_native_labels(bundle: Path, tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    rows = (
        load_breast_cancer(as_frame=True).frame.drop(columns="target").sample(150, random_state=3)
    )
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, out = invoke(
        "predict", str(bundle), "-i", str(tmp_path / "rows.csv"), "-o", str(tmp_path / "n.csv")
    )
    assert code == 0, out
    code, out = invoke("predict", str(bundle), "-i", str(tmp_path / "rows.csv"), "-o",
                       str(tmp_path / "o.csv"), "--runtime", "onnx")  # fmt: skip
    assert code == EXIT_BAD_INPUT
    assert "has no onnx export: run `trainwell export" in out
    assert invoke("export", str(bundle))[0] == 0
    code, out = invoke("predict", str(bundle), "-i", str(tmp_path / "rows.csv"), "-o",
                       str(tmp_path / "o.csv"), "--runtime", "onnx")  # fmt: skip
    assert code == 0, out
    native = pd.read_csv(tmp_path / "n.csv")
    onnx = pd.read_csv(tmp_path / "o.csv")
    assert (native["prediction"] == onnx["prediction"]).all()
    proba = [c for c in native.columns if c.startswith("proba_")]
    assert (native[proba] - onnx[proba]).abs().to_numpy().max() < 1e-4


def test_parity_failure_exits_1_and_writes_nothing(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (bundle / "manifest.json").read_bytes()
    monkeypatch.setitem(export_module.TOLERANCES, "probabilities", (0.0, 0.0))
    code, out = invoke("export", str(bundle))
    if code == 0:  # the graph happened to match bit for bit: nothing to fail on
        pytest.skip("the export matched exactly")
    assert code == 1
    assert "parity gate: the onnx export FAILED on" in out
    assert "nothing was written" in out
    assert (bundle / "manifest.json").read_bytes() == before
    assert not (bundle / "export").exists()
    code, out = invoke("export", str(bundle), "--allow-mismatch")
    assert code == 0, out
    assert "waiver recorded" in out
    entry = verify_bundle(bundle).manifest["exports"]["onnx"]
    assert entry["waived"] is True and entry["parity_passed"] is False


def test_a_tampered_export_is_refused(bundle: Path, tmp_path: Path) -> None:
    assert invoke("export", str(bundle))[0] == 0
    onnx_file = bundle / "export" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    code, out = invoke("predict", str(bundle), "-i", "x.csv", "-o", str(tmp_path / "p.csv"),
                       "--runtime", "onnx")  # fmt: skip
    assert code == EXIT_BAD_INPUT
    assert "was altered: sha256 mismatch for export/model.onnx" in out
    code, out = invoke("export", str(bundle))
    assert code == EXIT_BAD_INPUT
    assert "was altered" in out


def test_reexport_replaces_and_keeps_other_formats(bundle: Path) -> None:
    assert invoke("export", str(bundle), "--opset", "15")[0] == 0
    assert invoke("export", str(bundle), "--opset", "17")[0] == 0
    manifest = verify_bundle(bundle).manifest
    assert manifest["exports"]["onnx"]["opset"] == 17
    assert not list(bundle.parent.glob(f".{bundle.name}.*"))  # no staging left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--opset", "9"), "opset 9 is not available for this model: its converter (skl2onnx)"),
        (("--format", "savedmodel"), "--format must be one of onnx, torchscript"),
        (("--format", "torchscript"), "--format torchscript applies to torch models"),
    ],
)
def test_bad_export_requests_exit_2(bundle: Path, args: tuple[str, ...], message: str) -> None:
    code, out = invoke("export", str(bundle), *args)
    assert code == EXIT_BAD_INPUT
    assert message in out
    assert "exports" not in verify_bundle(bundle).manifest


def test_not_a_bundle_exits_2(tmp_path: Path) -> None:
    code, out = invoke("export", str(tmp_path / "nope"))
    assert code == EXIT_BAD_INPUT
    assert "bundle not found" in out
    (tmp_path / "empty").mkdir()
    code, out = invoke("export", str(tmp_path / "empty"))
    assert code == EXIT_BAD_INPUT
    assert "is not a trainwell bundle: manifest.json is missing" in out


def test_a_bundle_without_samples_says_retrain(tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(FIXTURES / "v1-sklearn-linear-iris" / "bundle", old)
    code, out = invoke("export", str(old))
    assert code == EXIT_BAD_INPUT
    assert "keeps no held-out rows to measure parity on" in out
    assert "retrain it" in out


def test_export_api_records_the_file_sha256(tmp_path: Path) -> None:
    bundle = train(tmp_path, "sklearn-hgb", "tabular-classification")
    result = export_module.export_bundle(bundle)
    assert result.parity.passed
    assert result.sha256 == verify_bundle(bundle).manifest["exports"]["onnx"]["sha256"]


def _wine_with_a_category(tmp_path: Path) -> Path:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["band"] = pd.cut(frame["alcohol"], 3, labels=["low", "mid", "high"]).astype(str)
    frame.drop(columns="alcohol").to_csv(tmp_path / "wine.csv", index=False)
    return tmp_path / "wine.csv"


@pytest.mark.parametrize("architecture", ["sklearn-hgb", "catboost"])
def test_native_categorical_models_without_an_onnx_route_are_refused(
    tmp_path: Path, architecture: str
) -> None:
    """skl2onnx writes HistGradientBoosting's categorical splits as thresholds and CatBoost's
    ONNX writer takes numbers only: both refuse in one line, with the way out."""
    out = tmp_path / "models"
    code, output = invoke(
        "train", f"data.path={_wine_with_a_category(tmp_path)}", "data.target=target",
        f"model.architecture={architecture}", "tracking.enabled=false", f"output.dir={out}",
        *FAST[architecture],
    )  # fmt: skip
    assert code == 0, output
    code, output = invoke("export", str(only_bundle(out)))
    assert code == EXIT_BAD_INPUT, output
    assert "native categorical column(s) cannot be exported to ONNX" in output
    assert "training.native_categorical=false" in output
    assert not (only_bundle(out) / "export").exists()


@pytest.mark.parametrize("architecture", ["sklearn-rf", "lightgbm", "xgboost"])
def test_string_categories_export_with_parity(tmp_path: Path, architecture: str) -> None:
    """String categories go through the graph's LabelEncoder (ai.onnx.ml 2+), even when the
    model's own converter writes ai.onnx.ml 1."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["band"] = pd.cut(frame["alcohol"], 3, labels=["low", "mid", "high"]).astype(str)
    frame = frame.drop(columns="alcohol")
    frame.to_csv(tmp_path / "wine.csv", index=False)
    out = tmp_path / "models"
    code, output = invoke(
        "train", f"data.path={tmp_path / 'wine.csv'}", "data.target=target",
        f"model.architecture={architecture}", "tracking.enabled=false", f"output.dir={out}",
        *FAST[architecture],
    )  # fmt: skip
    assert code == 0, output
    parity = assert_exported(only_bundle(out), "onnx")
    assert {b["label_agreement"] for b in parity["batches"]} == {1.0}
