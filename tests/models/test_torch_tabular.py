"""The scikit-learn estimators over the Trainer: contract, behaviour on real data, save/load."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from trainwell.config.schema import TrainingConfig
from trainwell.errors import BundleError, DataError, ModelError, TrainingError
from trainwell.models import torch_tabular as tt
from trainwell.models.torch_estimator import TorchEstimator, save_torch_estimator
from trainwell.models.torch_tabular import (
    AutoEncoderDetector,
    FTTransformerClassifier,
    FTTransformerRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
    load_torch_estimator,
)
from trainwell.training.settings import TrainerSettings

ALL = (
    TabularMLPClassifier,
    TabularMLPRegressor,
    FTTransformerClassifier,
    FTTransformerRegressor,
    AutoEncoderDetector,
)
TINY_FTT = {"n_blocks": 1, "d_block": 16, "attention_n_heads": 4}


def quiet(**settings: Any) -> dict[str, Any]:
    """Constructor keywords: ``loop`` with ``settings`` and no progress bar, seed 0."""
    return {"loop": TrainerSettings(progress_bar=False, **settings), "random_state": 0}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _anomalies() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal rows near a 2-D plane in 8-D; anomalies scattered off it."""
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, 8))
    normal = rng.normal(size=(400, 2)) @ basis + 0.05 * rng.normal(size=(400, 8))
    anomalies = rng.normal(size=(20, 8)) * 2
    X = np.vstack([normal, anomalies])
    return normal, X, np.r_[np.zeros(400), np.ones(20)]


# --- the scikit-learn contract --------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
def test_constructor_only_stores_and_clone_round_trips(cls: type[Any]) -> None:
    loop = TrainerSettings(epochs=3, batch_size=16)
    estimator = cls(loop=loop, checkpoint_dir="ckpt")
    params = estimator.get_params()
    assert params["loop"] is loop and params["checkpoint_dir"] == "ckpt"
    assert not [name for name in vars(estimator) if name.endswith("_")]
    copy = clone(estimator)
    assert copy.get_params() == params and copy is not estimator
    five = dataclasses.replace(loop, epochs=5)
    assert copy.set_params(loop=five) is copy and copy.loop.epochs == 5
    assert estimator.loop.epochs == 3  # the original is untouched
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", ALL)
def test_every_estimator_ends_with_the_shared_parameters(cls: type[Any]) -> None:
    """Hyperparameters, then TorchEstimator's four, all keyword-only; no loop setting is
    repeated as a constructor parameter."""
    shared = inspect.signature(TorchEstimator.__init__).parameters
    parameters = inspect.signature(cls.__init__).parameters
    names = list(parameters)[1:]
    assert names[-4:] == ["loop", "checkpoint_dir", "callbacks", "random_state"]
    for name in names:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    for name in names[-4:]:
        assert parameters[name].default == shared[name].default, (cls, name)
    fields = {f.name for f in dataclasses.fields(TrainerSettings)}
    assert not fields & set(names[:-4]), "a loop setting belongs in `loop`"


def test_trainer_settings_take_the_estimators_seed_and_checkpoint_dir() -> None:
    loop = TrainerSettings(epochs=2, seed=99, checkpoint_dir="ignored")
    estimator = TabularMLPClassifier(loop=loop, checkpoint_dir="runs/a", random_state=7)
    assert estimator.trainer_settings() == dataclasses.replace(
        loop, seed=7, checkpoint_dir="runs/a"
    )
    with pytest.raises(TypeError, match=r"'loop' parameter must be a TrainerSettings\. Got dict"):
        TabularMLPClassifier(loop={"epochs": 2}).trainer_settings()


def test_config_settings_reach_every_estimator_through_the_builders() -> None:
    cfg = TrainingConfig(seed=5, epochs=2, precision="bf16", resume="latest", devices=1)
    settings = TrainerSettings.from_config(cfg)
    builders = {
        tt.build_mlp: ("classification", "regression"),
        tt.build_ft_transformer: ("classification", "regression"),
        tt.build_autoencoder: ("anomaly",),
    }
    for build, objectives in builders.items():
        for objective in objectives:
            estimator = build(objective, 0, settings.as_params())
            assert estimator.random_state == 5 and estimator.loop.resume == "latest"
            assert estimator.trainer_settings() == settings


def test_registry_builders_pick_the_class_for_the_objective() -> None:
    assert isinstance(tt.build_mlp("classification", 3, {}), TabularMLPClassifier)
    regressor = tt.build_mlp("regression", 3, {"epochs": 2, "hidden_dims": (8,)})
    assert isinstance(regressor, TabularMLPRegressor) and regressor.random_state == 3
    assert regressor.loop == TrainerSettings(epochs=2) and regressor.hidden_dims == (8,)
    assert isinstance(tt.build_ft_transformer("regression", 1, TINY_FTT), FTTransformerRegressor)
    assert isinstance(
        tt.build_ft_transformer("classification", 1, TINY_FTT), FTTransformerClassifier
    )
    assert isinstance(tt.build_autoencoder("anomaly", 1, {}), AutoEncoderDetector)
    for build, objective in [(tt.build_mlp, "anomaly"), (tt.build_autoencoder, "regression")]:
        with pytest.raises(ModelError, match=f"no estimator for objective '{objective}'"):
            build(objective, 0, {})
    with pytest.raises(ModelError, match="no estimator for objective 'tabular-classification'"):
        tt.build_mlp("tabular-classification", 0, {})


def test_builder_params_split_into_loop_and_estimator_parameters() -> None:
    callbacks: list[Any] = []
    params = {
        "epochs": 4,
        "devices": 1,
        "deterministic": True,
        "keep_checkpoints": 3,
        "checkpoint_dir": "runs/x",
        "callbacks": callbacks,
        "random_state": 11,  # wins over the seed argument
        "dropout": 0.3,
    }
    clf = tt.build_mlp("classification", 0, params)
    assert clf.loop == TrainerSettings(epochs=4, deterministic=True, keep_checkpoints=3)
    assert clf.checkpoint_dir == "runs/x" and clf.callbacks is callbacks
    assert clf.random_state == 11 and clf.dropout == 0.3
    # a `loop` entry is the base; flat loop keys win over its fields
    base = TrainerSettings(epochs=9, batch_size=8)
    assert tt.build_mlp("classification", 0, {"loop": base, "epochs": 2}).loop == (
        dataclasses.replace(base, epochs=2)
    )
    assert tt.build_mlp("classification", 0, {"loop": base}).loop is base


def test_builders_refuse_unknown_parameters_and_bad_loop_settings() -> None:
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'hidden_dim'"):
        tt.build_mlp("classification", 0, {"hidden_dim": (8,)})
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'seed'"):
        tt.build_autoencoder("anomaly", 0, {"seed": 1})  # the seed is random_state
    with pytest.raises(ValueError, match=r"'epochs' parameter must be an int >= 1\. Got 0"):
        tt.build_ft_transformer("regression", 0, {"epochs": 0})


# --- behaviour on real data -----------------------------------------------------------------


def test_mlp_classifier_learns_breast_cancer_with_original_labels(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")
    clf = TabularMLPClassifier(hidden_dims=(32,), **quiet(epochs=5, batch_size=32))
    assert clf.fit(X[:450], labels[:450], eval_set=(X[450:], labels[450:])) is clf
    assert clf.classes_.tolist() == ["benign", "malignant"]
    assert clf.score(X[450:], labels[450:]) > 0.93
    proba = clf.predict_proba(X[450:])
    assert proba.shape == (119, 2) and proba.dtype == np.float64
    assert np.allclose(proba.sum(axis=1), 1.0, rtol=0.0, atol=1e-12)
    assert set(clf.predict(X[:5])) <= {"benign", "malignant"}
    assert clf.n_features_in_ == 30 and clf.n_iter_ == 5
    assert [h["epoch"] for h in clf.history_] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert clf.history_[-1]["val/accuracy"] > 0.93


def test_mlp_classifier_on_digits_five_epochs() -> None:
    X, y = load_digits(return_X_y=True)
    clf = TabularMLPClassifier(hidden_dims=(64,), **quiet(epochs=5))
    clf.fit(X[:1500] / 16, y[:1500])
    assert clf.classes_.tolist() == list(range(10))
    assert clf.score(X[1500:] / 16, y[1500:]) > 0.6


def test_mlp_regressor_predicts_in_target_units(diabetes: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = diabetes
    reg = TabularMLPRegressor(hidden_dims=(32,), **quiet(epochs=20, batch_size=32))
    reg.fit(X[:350], y[:350], eval_set=(X[350:], y[350:]))
    assert reg.score(X[350:], y[350:]) > 0.4
    assert reg.predict(X[350:]).shape == (92,)
    assert reg.y_mean_ == pytest.approx(y[:350].mean())
    assert abs(reg.predict(X).mean() - y.mean()) < 0.25 * y.std()


def test_ft_transformer_classifier_and_regressor_train(
    cancer: tuple[np.ndarray, np.ndarray], diabetes: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = cancer
    clf = FTTransformerClassifier(**TINY_FTT, **quiet(epochs=5, batch_size=32))
    clf.fit(X[:450], y[:450])
    assert clf.score(X[450:], y[450:]) > 0.9
    Xr, yr = diabetes
    reg = FTTransformerRegressor(**TINY_FTT, **quiet(epochs=5, batch_size=32)).fit(Xr, yr)
    assert reg.history_[-1]["train/loss"] < reg.history_[0]["train/loss"]


def test_ft_transformer_width_must_divide_into_heads(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    with pytest.raises(
        ModelError, match=r"d_block \(18\) must be a multiple of attention_n_heads \(4\)"
    ):
        FTTransformerClassifier(n_blocks=1, d_block=18, attention_n_heads=4, **quiet()).fit(X, y)


def test_autoencoder_scores_anomalies_and_thresholds_by_contamination() -> None:
    normal, X, labels = _anomalies()
    detector = AutoEncoderDetector(
        hidden_dims=(16,), latent_dim=2, contamination=0.05, **quiet(epochs=40, batch_size=32)
    )
    assert detector.fit(normal, eval_set=normal[:50]) is detector
    assert roc_auc_score(labels, -detector.score_samples(X)) > 0.95
    assert detector.predict(normal).mean() == pytest.approx(0.05, abs=0.01)
    predictions = detector.predict(X)
    assert set(np.unique(predictions)) == {0, 1} and predictions[400:].mean() > 0.9
    assert np.array_equal(predictions == 1, detector.decision_function(X) < 0)
    assert np.allclose(
        detector.decision_function(X), detector.threshold_ + detector.score_samples(X)
    )
    assert "val/loss" in detector.history_[-1]


def test_autoencoder_contamination_is_checked() -> None:
    with pytest.raises(ValueError, match=r"'contamination' parameter must be in \(0, 0.5\]"):
        AutoEncoderDetector(contamination=0.7, **quiet()).fit(np.zeros((10, 2)))


# --- bad input ------------------------------------------------------------------------------


def test_nan_in_features_is_a_data_error_before_training(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    X = X.copy()
    X[3, 7] = np.nan
    for estimator in (TabularMLPClassifier(**quiet()), AutoEncoderDetector(**quiet())):
        with pytest.raises(
            DataError, match=r"X has NaN or infinite values in 1 row\(s\) in column\(s\) 7"
        ):
            estimator.fit(X, y)
    with pytest.raises(DataError, match="eval_set X has NaN"):
        TabularMLPRegressor(**quiet()).fit(cancer[0], y, eval_set=(X, y))


def test_label_and_shape_errors(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    with pytest.raises(DataError, match="at least 2 classes"):
        TabularMLPClassifier(**quiet()).fit(X, np.zeros(len(X)))
    with pytest.raises(DataError, match=r"never seen in training: \[7\]"):
        TabularMLPClassifier(**quiet()).fit(X, y, eval_set=(X[:3], [0, 1, 7]))
    with pytest.raises(DataError, match="X has 569 rows but y has 10"):
        TabularMLPClassifier(**quiet()).fit(X, y[:10])
    clf = TabularMLPClassifier(hidden_dims=(4,), **quiet(epochs=1)).fit(X, y)
    with pytest.raises(DataError, match="X has 29 features, but the model was fitted with 30"):
        clf.predict(X[:, 1:])


def test_devices_above_one_needs_torchrun(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(TrainingError, match=r"training.devices=2 needs one process per device"):
        TabularMLPClassifier(**quiet(devices=2)).fit(*cancer)


# --- save and load --------------------------------------------------------------------------


def test_save_then_load_predicts_the_same_without_pickle(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = cancer
    clf = TabularMLPClassifier(hidden_dims=(16, 8), **quiet(epochs=2)).fit(X, y)
    files = save_torch_estimator(clf, tmp_path)
    assert files == ["weights.safetensors", "estimator.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    document = json.loads((tmp_path / "estimator.json").read_text())
    assert document["class"] == "TabularMLPClassifier" and document["architecture"] == "mlp"
    assert document["fitted"]["classes_"] == [0, 1] and document["params"]["hidden_dims"] == [16, 8]
    assert document["format_version"] == 2 and document["params"]["random_state"] == 0
    assert document["params"]["loop"] == dataclasses.asdict(clf.loop)
    assert document["params"]["loop"]["epochs"] == 2 and "epochs" not in document["params"]
    loaded = load_torch_estimator(tmp_path)
    assert loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# What save_torch_estimator wrote before the loop settings were nested (format 1, trainwell
# at ef163e7): every loop setting flat among the params, `seed` as `random_state`.
V1_PARAMS: dict[str, Any] = {
    "batch_size": 16,
    "callbacks": None,
    "checkpoint_dir": None,
    "checkpoint_every_steps": None,
    "compile": False,
    "deterministic": True,
    "device": "auto",
    "devices": 1,
    "dropout": 0.1,
    "early_stopping_patience": None,
    "epochs": 3,
    "grad_accumulation": 2,
    "grad_clip": 0.5,
    "gradient_checkpointing": False,
    "hidden_dims": [16],
    "learning_rate": 0.01,
    "log_every_steps": 50,
    "monitor": "val/loss",
    "monitor_mode": "min",
    "num_workers": 0,
    "optimizer": "sgd",
    "precision": "fp32",
    "progress_bar": False,
    "random_state": 3,
    "resume": None,
    "scheduler": "cosine",
    "warmup_steps": 2,
    "weight_decay": 0.01,
}


def test_a_format_1_estimator_json_still_loads(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = cancer
    loop = TrainerSettings(
        epochs=3,
        batch_size=16,
        optimizer="sgd",
        scheduler="cosine",
        warmup_steps=2,
        weight_decay=0.01,
        grad_accumulation=2,
        learning_rate=0.01,
        grad_clip=0.5,
        progress_bar=False,
        deterministic=True,
    )
    clf = TabularMLPClassifier(hidden_dims=(16,), loop=loop, random_state=3).fit(X, y)
    save_torch_estimator(clf, tmp_path)
    document = {
        "architecture": "mlp",
        "class": "TabularMLPClassifier",
        "fitted": {"classes_": [0, 1], "n_features_in_": 30, "n_outputs_": 2},
        "format_version": 1,
        "params": V1_PARAMS,
    }
    (tmp_path / "estimator.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    loaded = load_torch_estimator(tmp_path)
    assert type(loaded) is TabularMLPClassifier
    assert loaded.loop == loop and loaded.random_state == 3 and loaded.hidden_dims == (16,)
    assert loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_estimator_json_from_a_newer_trainwell_or_with_bad_params_is_refused(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    clf = TabularMLPClassifier(hidden_dims=(4,), **quiet(epochs=1)).fit(*cancer)
    save_torch_estimator(clf, tmp_path)
    path = tmp_path / "estimator.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "format_version": 3}))
    with pytest.raises(BundleError, match="saved by a newer trainwell"):
        load_torch_estimator(tmp_path)
    loop = {**document["params"]["loop"], "warp_speed": 9}
    path.write_text(json.dumps({**document, "params": {**document["params"], "loop": loop}}))
    with pytest.raises(BundleError, match="has parameters TabularMLPClassifier does not take"):
        load_torch_estimator(tmp_path)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (TabularMLPRegressor, {"hidden_dims": (8,)}),
        (FTTransformerRegressor, TINY_FTT),
        (AutoEncoderDetector, {"hidden_dims": (8,), "latent_dim": 2}),
    ],
)
def test_every_estimator_round_trips(
    cls: type[Any],
    params: dict[str, Any],
    diabetes: tuple[np.ndarray, np.ndarray],
    tmp_path: Path,
) -> None:
    X, y = diabetes
    estimator = cls(**params, **quiet(epochs=1)).fit(X, y)
    save_torch_estimator(estimator, tmp_path)
    loaded = load_torch_estimator(tmp_path)
    assert type(loaded) is cls
    assert np.array_equal(loaded.predict(X), estimator.predict(X))


def test_same_seed_writes_byte_identical_files(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = cancer
    settings = {"hidden_dims": (16,), "dropout": 0.2, **quiet(epochs=2, batch_size=64)}
    for run in ("a", "b"):
        clf = TabularMLPClassifier(**settings).fit(X, y)
        save_torch_estimator(clf, tmp_path / run)
    for name in ("weights.safetensors", "estimator.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = TabularMLPClassifier(**{**settings, "random_state": 1}).fit(X, y)
    save_torch_estimator(other, tmp_path / "c")
    assert (tmp_path / "c" / "weights.safetensors").read_bytes() != (
        tmp_path / "a" / "weights.safetensors"
    ).read_bytes()


def test_loading_a_damaged_bundle_is_a_bundle_error(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    clf = TabularMLPClassifier(hidden_dims=(4,), **quiet(epochs=1)).fit(*cancer)
    save_torch_estimator(clf, tmp_path)
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])
    with pytest.raises(BundleError, match="does not fit TabularMLPClassifier"):
        load_torch_estimator(tmp_path)
    weights.unlink()
    with pytest.raises(BundleError, match="missing weights file"):
        load_torch_estimator(tmp_path)
    document = json.loads((tmp_path / "estimator.json").read_text())
    (tmp_path / "estimator.json").write_text(json.dumps({**document, "class": "Evil"}))
    with pytest.raises(BundleError, match="unknown class: 'Evil'"):
        load_torch_estimator(tmp_path)
    with pytest.raises(BundleError, match="cannot read"):
        load_torch_estimator(tmp_path / "nowhere")


def test_saving_needs_a_fitted_trainwell_estimator(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a trainwell torch estimator"):
        save_torch_estimator(object(), tmp_path)
    with pytest.raises(NotFittedError):
        save_torch_estimator(TabularMLPClassifier(), tmp_path)


def test_the_module_is_left_in_eval_mode_on_its_device(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    clf = TabularMLPClassifier(hidden_dims=(4,), dropout=0.5, **quiet(epochs=1))
    clf.fit(*cancer)
    assert not clf.module_.training
    assert next(clf.module_.parameters()).device == torch.device("cpu")
    assert np.array_equal(clf.predict_proba(cancer[0]), clf.predict_proba(cancer[0]))
