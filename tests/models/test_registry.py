"""The shared contract every architecture in the registry must pass.

Parametrized over ``ARCHITECTURES`` itself, so a new row is built, fitted, saved and reloaded
here without anyone editing this file.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler

from trainwell.config.schema import TASK_KINDS
from trainwell.errors import ModelError
from trainwell.models.registry import (
    ARCHITECTURES,
    architectures_for,
    get_spec,
    is_available,
    require_available,
)
from trainwell.models.sklearn_models import OutlierLabels
from trainwell.tasks import get_task

SEED = 0
N_ROWS = 200
# Smaller ensembles keep this file fast; only for names known to accept these keywords.
FAST_PARAMS: dict[str, dict[str, Any]] = {
    "sklearn-hgb": {"max_iter": 20},
    "sklearn-rf": {"n_estimators": 20},
    "xgboost": {"n_estimators": 20},
    "lightgbm": {"n_estimators": 20},
    "catboost": {"iterations": 20},
    "isolation-forest": {"n_estimators": 20},
}
# Image rows: a few short epochs on 64 8x8 digits 0 and 1 (timm models from scratch at 32 px,
# ViTs at 16 px), batches of 8 so batch-norm statistics settle: every row beats the majority
# class on its training rows in ~5-25 s.
IMAGE_FAST = {"epochs": 6, "batch_size": 8, "hflip": False, "crop_scale": 0.8}
IMAGE_ROWS = 64
# The larger variants of the same families share their code with the rows above: one short
# epoch proves they build, fit, save and reload identically (learning is shown by the others).
IMAGE_ONE_EPOCH = frozenset(
    {
        "resnet34",
        "resnet50",
        "efficientnet_b1",
        "efficientnet_b2",
        "vit_small_patch16_224",
        "vit_base_patch16_224",
    }
)
FAST_PARAMS.update(
    {name: IMAGE_FAST for name, spec in ARCHITECTURES.items() if spec.modality == "image"}
)
FAST_PARAMS.update(
    {name: {**IMAGE_FAST, "epochs": 1, "batch_size": 32} for name in IMAGE_ONE_EPOCH}
)
# Task -> the real datasets every architecture serving it is trained on.
DATASETS_FOR_TASK: dict[str, tuple[str, ...]] = {
    "tabular-classification": ("breast_cancer", "iris"),
    "tabular-regression": ("diabetes",),
    "anomaly-detection": ("breast_cancer",),
    "image-classification": ("digits_images",),
}
CLASSIFICATION_TASKS = ("tabular-classification", "image-classification")
# The names users type (issue #2); they must stay in the table.
PUBLIC_NAMES = ("sklearn-hgb", "sklearn-rf", "sklearn-linear", "xgboost", "lightgbm", "catboost")


@functools.cache
def dataset(name: str) -> tuple[Any, np.ndarray]:
    """``N_ROWS`` rows of a bundled dataset (shuffled with a fixed seed), labels 0..k-1."""
    if name == "digits_images":
        from trainwell.data.image_io import ImageSet, bundled_images

        images, labels = bundled_images("sklearn:digits")
        zeros_and_ones = np.flatnonzero(labels < 2)
        order = np.random.default_rng(SEED).permutation(zeros_and_ones)[:IMAGE_ROWS]
        return ImageSet.from_arrays(images[order], "sklearn:digits", "L"), labels[order]
    loader = {"breast_cancer": load_breast_cancer, "iris": load_iris, "diabetes": load_diabetes}
    X, y = loader[name](return_X_y=True)
    order = np.random.default_rng(SEED).permutation(len(X))[:N_ROWS]
    return X[order].astype(np.float64), y[order]


CASES = [
    pytest.param(name, task, data, id=f"{name}-{task.removeprefix('tabular-')}-{data}")
    for name, spec in ARCHITECTURES.items()
    for task in sorted(spec.tasks)
    for data in DATASETS_FOR_TASK.get(task, ("<no dataset for this task>",))
]


def outputs(model: Any, task: str, X: Any) -> dict[str, np.ndarray]:
    """Everything a model answers for ``X`` that a bundle's user relies on."""
    out = {"predict": np.asarray(model.predict(X))}
    if task in CLASSIFICATION_TASKS:
        out["predict_proba"] = np.asarray(model.predict_proba(X))
    if task == "anomaly-detection" and hasattr(model, "score_samples"):
        out["score_samples"] = np.asarray(model.score_samples(X))
    return out


def written_files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


@pytest.mark.parametrize(("name", "task", "data"), CASES)
def test_build_fit_save_load_gives_identical_predictions(
    name: str, task: str, data: str, tmp_path: Path
) -> None:
    assert task in DATASETS_FOR_TASK, f"add a small real dataset for {task!r} to DATASETS_FOR_TASK"
    spec = ARCHITECTURES[name]
    X, y = dataset(data)
    if spec.scale:
        X = StandardScaler().fit_transform(X)

    model = spec.build(get_task(task).objective.name, SEED, FAST_PARAMS.get(name, {}))
    fitted = model.fit(X) if task == "anomaly-detection" else model.fit(X, y)
    assert fitted is model, "fit must return self"

    saved_to = tmp_path / "model"
    saved_to.mkdir()
    names = spec.save(model, saved_to)
    assert sorted(names) == written_files(saved_to), "save must return every file it wrote"
    loaded = spec.load(saved_to)

    before, after = outputs(model, task, X), outputs(loaded, task, X)
    if isinstance(loaded, OutlierLabels):  # loading answers trainwell's 1 = anomaly
        before["predict"] = (before["predict"] == OutlierLabels.SKLEARN_OUTLIER).astype(np.int64)
    assert before.keys() == after.keys()
    for key, expected in before.items():
        np.testing.assert_array_equal(after[key], expected, err_msg=f"{name}: {key} changed")

    # and the model learned something on its own training rows
    if name in IMAGE_ONE_EPOCH:
        return
    predicted = before["predict"].ravel()
    if task in CLASSIFICATION_TASKS:
        n_classes = len(np.unique(y))
        assert before["predict_proba"].shape == (len(X), n_classes)
        np.testing.assert_allclose(before["predict_proba"].sum(axis=1), 1.0, rtol=1e-6)
        majority = np.bincount(y).max() / len(y)
        assert np.mean(predicted.astype(y.dtype) == y) > majority
    elif task == "tabular-regression":
        r2 = 1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2)
        assert r2 > 0
    else:
        scores = before.get("score_samples", predicted)
        assert np.ptp(scores) > 0


def test_every_case_has_a_dataset() -> None:
    tasks = {task for spec in ARCHITECTURES.values() for task in spec.tasks}
    missing = tasks - set(DATASETS_FOR_TASK)
    assert not missing, f"add a small real dataset for {sorted(missing)} to DATASETS_FOR_TASK"


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_spec_is_consistent(name: str) -> None:
    spec = ARCHITECTURES[name]
    assert spec.name == name
    assert spec.tasks and spec.tasks <= set(TASK_KINDS)
    assert {get_task(task).modality.name for task in spec.tasks} == {spec.modality}
    assert spec.encoding in {"ordinal", "onehot"}
    assert spec.requires
    assert spec.summary and "\n" not in spec.summary


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_installed_architectures_are_available(name: str) -> None:
    assert is_available(name)
    require_available(ARCHITECTURES[name])


def test_public_names_are_registered() -> None:
    assert set(PUBLIC_NAMES) <= set(ARCHITECTURES)


def test_unknown_name_is_not_available() -> None:
    assert is_available("no-such-model") is False
    assert is_available("auto") is False


def test_get_spec() -> None:
    assert get_spec("xgboost") is ARCHITECTURES["xgboost"]


def test_get_spec_unknown_lists_the_known_names() -> None:
    with pytest.raises(ModelError) as exc:
        get_spec("xgbost")
    message = str(exc.value)
    assert (
        message
        == f"unknown architecture 'xgbost' (known: auto, {', '.join(sorted(ARCHITECTURES))}, "
        "or timm:<any timm model>)"
    )
    assert all(name in message for name in ARCHITECTURES)


def test_timm_passthrough_is_a_row_for_any_timm_model() -> None:
    spec = get_spec("timm:mobilenetv3_small_050")
    assert spec.tasks == {"image-classification"} and spec.modality == "image" and spec.loop
    assert spec.pretrained and spec.extra == "vision"
    assert is_available("timm:mobilenetv3_small_050")
    with pytest.raises(ModelError, match="unknown timm model 'not_a_model'"):
        get_spec("timm:not_a_model")


def test_require_available_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataclasses.replace(ARCHITECTURES["xgboost"], requires=("no_such_module_trainwell",))
    monkeypatch.setitem(ARCHITECTURES, "xgboost", spec)
    assert is_available("xgboost") is False
    with pytest.raises(ModelError) as exc:
        require_available(spec)
    assert str(exc.value) == (
        "architecture 'xgboost' is not installed here: pip install 'trainwell[tabular]'"
    )


def test_require_available_core_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataclasses.replace(ARCHITECTURES["sklearn-hgb"], requires=("no_such_module_trainwell",))
    monkeypatch.setitem(ARCHITECTURES, "sklearn-hgb", spec)
    with pytest.raises(ModelError, match=r"is not installed here: reinstall trainwell$"):
        require_available(spec)


def test_architectures_for() -> None:
    regression = architectures_for("tabular-regression")
    assert regression == sorted(regression)
    assert set(PUBLIC_NAMES) <= set(regression)
    assert "isolation-forest" not in regression
    assert "isolation-forest" in architectures_for("anomaly-detection")
    assert "sklearn-hgb" not in architectures_for("anomaly-detection")
    images = architectures_for("image-classification")
    assert {"resnet18", "efficientnet_b0", "vit_tiny_patch16_224", "small-cnn"} <= set(images)
    assert not set(images) & set(regression)
    assert architectures_for("object-detection") == []


# --- native categorical columns -------------------------------------------------------------

NATIVE_ROWS = sorted(n for n, s in ARCHITECTURES.items() if s.native_categorical is not None)
# one split, one tree: enough for a category set, never for codes {1, 3} among 0..5 as numbers
ONE_SPLIT: dict[str, dict[str, Any]] = {
    "sklearn-hgb": {"max_iter": 1, "max_leaf_nodes": 2, "learning_rate": 1.0},
    "xgboost": {"n_estimators": 1, "max_depth": 1, "learning_rate": 1.0},
    "lightgbm": {
        "n_estimators": 1,
        "num_leaves": 2,
        "learning_rate": 1.0,
        "min_child_samples": 1,
        "min_data_per_group": 1,  # LightGBM's default, 100, is more than a category here has
    },
    "catboost": {"iterations": 1, "depth": 1, "learning_rate": 1.0},
}


def category_set_data() -> tuple[np.ndarray, np.ndarray]:
    """Column 0 noise, column 1 ordinal codes 0..5 (20 rows each): label = code in {1, 3}."""
    codes = np.repeat(np.arange(6), 20).astype(np.float64)
    noise = np.random.default_rng(SEED).normal(size=len(codes))
    return np.column_stack([noise, codes]), np.isin(codes, [1, 3]).astype(np.int64)


def test_every_gbm_row_takes_native_categoricals() -> None:
    assert NATIVE_ROWS == ["catboost", "lightgbm", "sklearn-hgb", "xgboost"]
    assert set(ONE_SPLIT) == set(NATIVE_ROWS)


@pytest.mark.parametrize("name", NATIVE_ROWS)
def test_native_categorical_splits_a_category_set_ordinal_codes_cannot(
    name: str, tmp_path: Path
) -> None:
    from trainwell.models.fitting import FitInputs

    spec = ARCHITECTURES[name]
    X, y = category_set_data()
    accuracy = {}
    for categorical in ((), (1,)):
        model = spec.build("classification", SEED, dict(ONE_SPLIT[name]))
        data = FitInputs(X, y, X[:0], y[:0], categorical=categorical)
        fitted = spec.fit(model, data, None)
        accuracy[categorical] = float(np.mean(fitted.predict(X).ravel().astype(int) == y))
    # one threshold on the codes separates at most {0}, {0, 1}, ...: never {1, 3} alone
    assert accuracy[()] < 1.0
    assert accuracy[(1,)] == 1.0


@pytest.mark.parametrize("name", NATIVE_ROWS)
def test_native_categorical_model_reloads_and_takes_unknown_codes(
    name: str, tmp_path: Path
) -> None:
    from trainwell.models.fitting import FitInputs

    spec = ARCHITECTURES[name]
    X, y = category_set_data()
    X_refit = np.vstack([X, [[0.0, -1.0], [0.5, -1.0]]])  # a refit union may hold -1 codes
    y_refit = np.concatenate([y, [0, 0]])
    model = spec.build("classification", SEED, dict(FAST_PARAMS[name]))
    fitted = spec.fit(model, FitInputs(X_refit, y_refit, X[:0], y[:0], categorical=(1,)), None)
    names = spec.save(fitted, tmp_path)
    assert sorted(names) == written_files(tmp_path)
    loaded = spec.load(tmp_path)
    unknown = np.array([[0.0, -1.0], [0.0, 1.0], [0.0, 4.0]])
    for rows in (X, unknown):
        np.testing.assert_array_equal(loaded.predict_proba(rows), fitted.predict_proba(rows))
