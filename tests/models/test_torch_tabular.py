"""The scikit-learn estimators over the Trainer: contract, behaviour on real data, save/load."""

from __future__ import annotations

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
from trainwell.models.torch_tabular import (
    AutoEncoderDetector,
    FTTransformerClassifier,
    FTTransformerRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
    load_torch_estimator,
    save_torch_estimator,
    training_kwargs,
)

ALL = (
    TabularMLPClassifier,
    TabularMLPRegressor,
    FTTransformerClassifier,
    FTTransformerRegressor,
    AutoEncoderDetector,
)
QUIET = {"progress_bar": False, "random_state": 0}
TINY_FTT = {"n_blocks": 1, "d_block": 16, "attention_n_heads": 4}


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
    estimator = cls(epochs=3, batch_size=16)
    params = estimator.get_params()
    assert params["epochs"] == 3 and params["batch_size"] == 16
    assert not [name for name in vars(estimator) if name.endswith("_")]
    copy = clone(estimator)
    assert copy.get_params() == params and copy is not estimator
    assert copy.set_params(epochs=5) is copy and copy.epochs == 5
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 3)))


def test_loop_settings_are_the_same_everywhere() -> None:
    """The loop kwargs are written out in three __init__s; this keeps them identical."""
    reference = inspect.signature(tt._MLPEstimator.__init__).parameters
    for cls in ALL:
        parameters = inspect.signature(cls.__init__).parameters
        for name in tt.LOOP_PARAMS:
            assert parameters[name].default == reference[name].default, (cls, name)
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert set(tt.LOOP_PARAMS) <= set(parameters)


def test_training_kwargs_cover_every_training_config_field() -> None:
    cfg = TrainingConfig(seed=5, epochs=2, precision="bf16", resume="latest", devices=1)
    kwargs = training_kwargs(cfg)
    fields = set(TrainingConfig.model_fields) - {"seed"} | {"random_state"}
    assert set(kwargs) == fields
    assert kwargs["random_state"] == 5 and kwargs["precision"] == "bf16"
    for cls in ALL:
        assert cls(**kwargs).get_params()["resume"] == "latest"


def test_registry_builders_pick_the_class_for_the_task() -> None:
    assert isinstance(tt.build_mlp("tabular-classification", 3, {}), TabularMLPClassifier)
    regressor = tt.build_mlp("tabular-regression", 3, {"epochs": 2})
    assert isinstance(regressor, TabularMLPRegressor) and regressor.random_state == 3
    assert isinstance(
        tt.build_ft_transformer("tabular-regression", 1, TINY_FTT), FTTransformerRegressor
    )
    assert isinstance(tt.build_autoencoder("anomaly-detection", 1, {}), AutoEncoderDetector)


# --- behaviour on real data -----------------------------------------------------------------


def test_mlp_classifier_learns_breast_cancer_with_original_labels(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")
    clf = TabularMLPClassifier(hidden_dims=(32,), epochs=5, batch_size=32, **QUIET)
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
    clf = TabularMLPClassifier(hidden_dims=(64,), epochs=5, **QUIET).fit(X[:1500] / 16, y[:1500])
    assert clf.classes_.tolist() == list(range(10))
    assert clf.score(X[1500:] / 16, y[1500:]) > 0.6


def test_mlp_regressor_predicts_in_target_units(diabetes: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = diabetes
    reg = TabularMLPRegressor(hidden_dims=(32,), epochs=20, batch_size=32, **QUIET)
    reg.fit(X[:350], y[:350], eval_set=(X[350:], y[350:]))
    assert reg.score(X[350:], y[350:]) > 0.4
    assert reg.predict(X[350:]).shape == (92,)
    assert reg.y_mean_ == pytest.approx(y[:350].mean())
    assert abs(reg.predict(X).mean() - y.mean()) < 0.25 * y.std()


def test_ft_transformer_classifier_and_regressor_train(
    cancer: tuple[np.ndarray, np.ndarray], diabetes: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = cancer
    clf = FTTransformerClassifier(**TINY_FTT, epochs=5, batch_size=32, **QUIET).fit(
        X[:450], y[:450]
    )
    assert clf.score(X[450:], y[450:]) > 0.9
    Xr, yr = diabetes
    reg = FTTransformerRegressor(**TINY_FTT, epochs=5, batch_size=32, **QUIET).fit(Xr, yr)
    assert reg.history_[-1]["train/loss"] < reg.history_[0]["train/loss"]


def test_ft_transformer_width_must_divide_into_heads(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    with pytest.raises(
        ModelError, match=r"d_block \(18\) must be a multiple of attention_n_heads \(4\)"
    ):
        FTTransformerClassifier(n_blocks=1, d_block=18, attention_n_heads=4, **QUIET).fit(X, y)


def test_autoencoder_scores_anomalies_and_thresholds_by_contamination() -> None:
    normal, X, labels = _anomalies()
    detector = AutoEncoderDetector(
        hidden_dims=(16,), latent_dim=2, epochs=40, batch_size=32, contamination=0.05, **QUIET
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
        AutoEncoderDetector(contamination=0.7, **QUIET).fit(np.zeros((10, 2)))


# --- bad input ------------------------------------------------------------------------------


def test_nan_in_features_is_a_data_error_before_training(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    X = X.copy()
    X[3, 7] = np.nan
    for estimator in (TabularMLPClassifier(**QUIET), AutoEncoderDetector(**QUIET)):
        with pytest.raises(
            DataError, match=r"X has NaN or infinite values in 1 row\(s\) in column\(s\) 7"
        ):
            estimator.fit(X, y)
    with pytest.raises(DataError, match="eval_set X has NaN"):
        TabularMLPRegressor(**QUIET).fit(cancer[0], y, eval_set=(X, y))


def test_label_and_shape_errors(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    with pytest.raises(DataError, match="at least 2 classes"):
        TabularMLPClassifier(**QUIET).fit(X, np.zeros(len(X)))
    with pytest.raises(DataError, match=r"never seen in training: \[7\]"):
        TabularMLPClassifier(**QUIET).fit(X, y, eval_set=(X[:3], [0, 1, 7]))
    with pytest.raises(DataError, match="X has 569 rows but y has 10"):
        TabularMLPClassifier(**QUIET).fit(X, y[:10])
    clf = TabularMLPClassifier(hidden_dims=(4,), epochs=1, **QUIET).fit(X, y)
    with pytest.raises(DataError, match="X has 29 features, but the model was fitted with 30"):
        clf.predict(X[:, 1:])


def test_devices_above_one_needs_torchrun(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(TrainingError, match=r"training.devices=2 needs one process per device"):
        TabularMLPClassifier(devices=2, **QUIET).fit(*cancer)


# --- save and load --------------------------------------------------------------------------


def test_save_then_load_predicts_the_same_without_pickle(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = cancer
    clf = TabularMLPClassifier(hidden_dims=(16, 8), epochs=2, **QUIET).fit(X, y)
    files = save_torch_estimator(clf, tmp_path)
    assert files == ["weights.safetensors", "estimator.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    document = json.loads((tmp_path / "estimator.json").read_text())
    assert document["class"] == "TabularMLPClassifier" and document["architecture"] == "mlp"
    assert document["fitted"]["classes_"] == [0, 1] and document["params"]["hidden_dims"] == [16, 8]
    loaded = load_torch_estimator(tmp_path)
    assert loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


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
    estimator = cls(**params, epochs=1, **QUIET).fit(X, y)
    save_torch_estimator(estimator, tmp_path)
    loaded = load_torch_estimator(tmp_path)
    assert type(loaded) is cls
    assert np.array_equal(loaded.predict(X), estimator.predict(X))


def test_same_seed_writes_byte_identical_files(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = cancer
    settings = {"hidden_dims": (16,), "dropout": 0.2, "epochs": 2, "batch_size": 64}
    for run in ("a", "b"):
        clf = TabularMLPClassifier(**settings, **QUIET).fit(X, y)
        save_torch_estimator(clf, tmp_path / run)
    for name in ("weights.safetensors", "estimator.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = TabularMLPClassifier(**{**settings, **QUIET, "random_state": 1}).fit(X, y)
    save_torch_estimator(other, tmp_path / "c")
    assert (tmp_path / "c" / "weights.safetensors").read_bytes() != (
        tmp_path / "a" / "weights.safetensors"
    ).read_bytes()


def test_loading_a_damaged_bundle_is_a_bundle_error(
    cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    clf = TabularMLPClassifier(hidden_dims=(4,), epochs=1, **QUIET).fit(*cancer)
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
    clf = TabularMLPClassifier(hidden_dims=(4,), dropout=0.5, epochs=1, **QUIET).fit(*cancer)
    assert not clf.module_.training
    assert next(clf.module_.parameters()).device == torch.device("cpu")
    assert np.array_equal(clf.predict_proba(cancer[0]), clf.predict_proba(cancer[0]))
