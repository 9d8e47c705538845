"""The image modality row: indexing sources, the input spec, the image checks, prediction input."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image
from tests.image_data import write_class_folders, write_corrupt_image

from trainwell.config.loader import resolve_config
from trainwell.data import image
from trainwell.errors import ConfigError, DataError
from trainwell.training.pipeline import set_up_run

IMAGE_TASK = {"kind": "image-classification"}


def config(data: dict[str, Any], **model: Any) -> Any:
    raw = {
        "data": data,
        "task": IMAGE_TASK,
        "model": {"architecture": "small-cnn", **model},
        "tracking": {"enabled": False},
    }
    return resolve_config(raw, environ={})


def checks_by_id(setup: Any) -> dict[str, Any]:
    results = image.checks(setup.config, setup.prepared, setup.features, setup.objective)
    return {r.id: r for r in results}


def test_a_folder_becomes_an_index_table_with_an_explicit_class_map(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "imgs", per_class=10, classes=("dog", "cat", "emu"))
    setup = set_up_run(config({"path": str(root)}))
    spec = setup.features.schema
    assert isinstance(spec, image.ImageSpec)
    assert spec.classes == ("cat", "dog", "emu")  # sorted labels, not folder order
    assert spec.class_to_index == {"cat": 0, "dog": 1, "emu": 2}
    assert spec.mode == "RGB" and spec.native_size == (32, 32) and spec.input_size == 32
    assert spec.conversion_rule
    sizes = {name: len(setup.features.X[name]) for name in ("train", "valid", "test")}
    assert sum(sizes.values()) == 30 and min(sizes.values()) > 0
    assert setup.prepared.profile.describe() == "30 images (median 32×32 px, RGB, 3 classes)"
    # every split's labels are indices into the same map
    train = setup.prepared.splits.train
    names = [spec.classes[i] for i in setup.features.y["train"]]
    assert names == train["label"].tolist()


def test_same_content_gives_the_same_fingerprint(tmp_path: Path) -> None:
    first = write_class_folders(tmp_path / "a", per_class=6)
    second = shutil.copytree(first, tmp_path / "b")
    fingerprint = image.load(config({"path": str(first)}), False, True).fingerprint
    assert image.load(config({"path": str(second)}), False, True).fingerprint == fingerprint
    Image.new("RGB", (32, 32), "white").save(second / "cat" / "000.png")
    assert image.load(config({"path": str(second)}), False, True).fingerprint != fingerprint


def test_bundled_digits_are_in_memory_grayscale_images() -> None:
    setup = set_up_run(config({"path": "sklearn:digits"}))
    X = setup.features.X["train"]
    assert X.mode == "L" and X.arrays is not None
    assert X.names[0].startswith("sklearn:digits#")
    assert setup.features.schema.native_size == (8, 8)


def test_a_csv_needs_its_image_column_and_target(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "imgs", per_class=6)
    rows = [
        {"file": f"imgs/{p.parent.name}/{p.name}", "y": p.parent.name} for p in root.glob("*/*")
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    csv = str(tmp_path / "labels.csv")
    with pytest.raises(ConfigError, match=r"set data\.image_column"):
        image.load(config({"path": csv, "target": "y"}), False, True)
    with pytest.raises(ConfigError, match=r"set data\.target"):
        image.load(config({"path": csv, "image_column": "file"}), False, True)
    loaded = image.load(config({"path": csv, "image_column": "file", "target": "y"}), False, True)
    assert all(Path(p).is_absolute() for p in loaded.examples[image.IMAGE_COLUMN])


def _presplit(tmp_path: Path) -> tuple[Path, Path]:
    train = write_class_folders(tmp_path / "train", per_class=12, size=(48, 48), seed=1)
    valid = write_class_folders(tmp_path / "valid", per_class=6, size=(48, 48), seed=2)
    return train, valid


def test_clean_presplit_folders_pass_the_image_checks(tmp_path: Path) -> None:
    train, valid = _presplit(tmp_path)
    setup = set_up_run(config({"train_path": str(train), "valid_path": str(valid)}))
    assert setup.prepared.splits.strategy.startswith("files")
    found = checks_by_id(setup)
    for cid in ("data.unreadable_images", "leakage.duplicate_images", "class_balance"):
        assert found[cid].status == "pass", found[cid]
    assert found["leakage.near_duplicate_images"].status == "pass"


def test_copies_across_splits_are_found(tmp_path: Path) -> None:
    train, valid = _presplit(tmp_path)
    source = sorted((train / "cat").glob("*.png"))[0]
    shutil.copy(source, valid / "cat" / "exact-copy.png")  # byte-identical
    with Image.open(source) as original:  # the same picture, re-encoded smaller
        original.resize((40, 40)).save(valid / "cat" / "resized-copy.jpg", quality=90)
    setup = set_up_run(config({"train_path": str(train), "valid_path": str(valid)}))
    found = checks_by_id(setup)
    duplicate = found["leakage.duplicate_images"]
    assert duplicate.status in {"warn", "fail"} and duplicate.details["valid"] == 1
    near = found["leakage.near_duplicate_images"]
    assert near.status == "warn" and near.details["valid"] >= 1


def test_imbalance_and_small_images_warn(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "imgs", per_class=4, size=(20, 20), classes=("a",))
    write_class_folders(tmp_path / "imgs", per_class=100, size=(20, 20), classes=("b",), seed=3)
    setup = set_up_run(config({"path": str(root)}, params={"image_size": 64}), include_test=True)
    found = checks_by_id(setup)
    assert found["class_balance"].status == "warn"
    assert "model.params.class_weight=balanced" in found["class_balance"].hint
    assert found["data.image_size"].status == "warn"
    assert found["data.image_size"].details["input_size"] == 64


def test_prediction_input_from_a_folder_skips_what_cannot_be_read(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "imgs", per_class=3)
    write_corrupt_image(root / "dog" / "zz.png")
    spec = image.ImageSpec(
        classes=("cat", "dog"),
        class_to_index={"cat": 0, "dog": 1},
        mode="RGB",
        conversion_rule="rule",
        image_column="path",
        native_size=(32, 32),
        input_size=32,
    )
    image.save_inputs(_features(spec), tmp_path)
    inputs = image.open_inputs(tmp_path)
    assert inputs.classes == ("cat", "dog")
    (batch,) = list(inputs.read(root, chunk_rows=100, strict=False, skip_invalid=True))
    assert batch.n_rows == 6 and len(batch.X) == 6
    assert [Path(p).name for p in batch.keys["path"]][:3] == ["000.png", "001.png", "002.png"]
    assert [Path(name).name for name, _ in batch.rejected] == ["zz.png"]
    (whole,) = list(inputs.read(root, chunk_rows=100, strict=False, skip_invalid=False))
    assert whole.n_rows == 7
    with pytest.raises(DataError, match="no 'path' column"):
        inputs.from_frame(pd.DataFrame({"file": ["a.png"]}), strict=False)


def _features(spec: image.ImageSpec) -> Any:
    from trainwell.data.modality import Features

    return Features(schema=spec, preprocessor=None, X={}, y={}, classes=spec.classes)
