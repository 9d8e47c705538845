"""XGBoost, LightGBM and CatBoost: builders and their native, non-pickle file formats.

Loading gives back an object with the same verbs as at training time: ``predict`` and, for
classifiers, ``predict_proba``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from trainwell.errors import BundleError
from trainwell.models.fitting import FitInputs, Progress, fit_estimator

XGBOOST_FILE = "model.ubj"
LIGHTGBM_FILE = "model.lgb.txt"
CATBOOST_FILE = "model.cbm"
META_FILE = "model_meta.json"
BINARY_CLASS_COUNT = 2


def _is_classification(objective: str) -> bool:
    return objective == "classification"


def build_xgboost(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """XGBoost with the histogram tree method."""
    from xgboost import XGBClassifier, XGBRegressor

    cls = XGBClassifier if _is_classification(objective) else XGBRegressor
    return cls(**{"random_state": seed, "tree_method": "hist", **params})


def build_lightgbm(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """LightGBM, quiet."""
    from lightgbm import LGBMClassifier, LGBMRegressor

    cls = LGBMClassifier if _is_classification(objective) else LGBMRegressor
    return cls(**{"random_state": seed, "verbose": -1, **params})


def build_catboost(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """CatBoost, quiet, writing no training files into the working directory."""
    from catboost import CatBoostClassifier, CatBoostRegressor

    cls = CatBoostClassifier if _is_classification(objective) else CatBoostRegressor
    defaults = {"random_seed": seed, "verbose": 0, "allow_writing_files": False}
    return cls(**{**defaults, **params})


def fit_lightgbm(model: Any, data: FitInputs, progress: Progress | None = None) -> None:
    """Fit; with ``progress``, score the partial booster every ``progress.every`` iterations."""
    if progress is None:
        fit_estimator(model, data)
        return

    def callback(env: Any) -> None:
        done = env.iteration + 1
        if done % progress.every == 0:
            progress.report(done, np.asarray(env.model.predict(data.X_valid, num_iteration=done)))

    model.fit(data.X_train, data.y_train, callbacks=[callback])


def fit_xgboost(model: Any, data: FitInputs, progress: Progress | None = None) -> None:
    """Fit; with ``progress``, score the partial booster every ``progress.every`` rounds."""
    if progress is None:
        fit_estimator(model, data)
        return
    import xgboost

    valid = xgboost.DMatrix(data.X_valid)
    every, report = progress.every, progress.report

    class Pruning(xgboost.callback.TrainingCallback):
        def after_iteration(self, booster: Any, epoch: int, evals_log: Any) -> bool:
            done = epoch + 1
            if done % every == 0:
                raw = np.asarray(booster.predict(valid, iteration_range=(0, done)))
                report(done, raw)
            return False  # never stop here: the reporter raises to prune

    model.set_params(callbacks=[Pruning()])
    model.fit(data.X_train, data.y_train, verbose=False)


def _write_meta(directory: Path, kind: str, is_classifier: bool) -> None:
    meta = {"kind": kind, "is_classifier": is_classifier}
    (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")


def _read_meta(directory: Path) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {META_FILE}: {exc}") from exc
    return meta


def save_xgboost(model: Any, directory: Path) -> list[str]:
    """XGBoost's own binary JSON (UBJSON) format."""
    from xgboost import XGBClassifier

    model.save_model(directory / XGBOOST_FILE)
    _write_meta(directory, "xgboost", isinstance(model, XGBClassifier))
    return [XGBOOST_FILE, META_FILE]


def load_xgboost(directory: Path) -> Any:
    """Load an XGBoost sklearn-API model from its native file."""
    from xgboost import XGBClassifier, XGBRegressor
    from xgboost.core import XGBoostError

    meta = _read_meta(directory)
    model = XGBClassifier() if meta["is_classifier"] else XGBRegressor()
    try:
        model.load_model(directory / XGBOOST_FILE)
    except XGBoostError as exc:
        raise BundleError(f"cannot load the XGBoost model: {exc}") from exc
    return model


class LightGBMBooster:
    """A loaded LightGBM booster answering ``predict``/``predict_proba`` like LGBMClassifier."""

    def __init__(self, booster: Any, is_classifier: bool) -> None:
        self.booster = booster
        self.is_classifier = is_classifier

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        raw = np.asarray(self.booster.predict(X))
        if raw.ndim == 1:  # binary: probability of the positive class
            return np.column_stack([1.0 - raw, raw])
        return raw

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Encoded class labels (classifier) or values (regressor)."""
        if self.is_classifier:
            return np.asarray(np.argmax(self.predict_proba(X), axis=1))
        return np.asarray(self.booster.predict(X))


def save_lightgbm(model: Any, directory: Path) -> list[str]:
    """LightGBM's text model format."""
    from lightgbm import LGBMClassifier

    model.booster_.save_model(str(directory / LIGHTGBM_FILE))
    _write_meta(directory, "lightgbm", isinstance(model, LGBMClassifier))
    return [LIGHTGBM_FILE, META_FILE]


def load_lightgbm(directory: Path) -> LightGBMBooster:
    """Load a LightGBM text model behind the sklearn verbs."""
    import lightgbm

    meta = _read_meta(directory)
    try:
        booster = lightgbm.Booster(model_file=str(directory / LIGHTGBM_FILE))
    except lightgbm.basic.LightGBMError as exc:
        raise BundleError(f"cannot load the LightGBM model: {exc}") from exc
    return LightGBMBooster(booster, bool(meta["is_classifier"]))


def save_catboost(model: Any, directory: Path) -> list[str]:
    """CatBoost's binary model format."""
    from catboost import CatBoostClassifier

    model.save_model(str(directory / CATBOOST_FILE))
    _write_meta(directory, "catboost", isinstance(model, CatBoostClassifier))
    return [CATBOOST_FILE, META_FILE]


def load_catboost(directory: Path) -> Any:
    """Load a CatBoost model with its sklearn API."""
    from catboost import CatBoostClassifier, CatBoostError, CatBoostRegressor

    meta = _read_meta(directory)
    model = CatBoostClassifier() if meta["is_classifier"] else CatBoostRegressor()
    try:
        model.load_model(str(directory / CATBOOST_FILE))
    except CatBoostError as exc:
        raise BundleError(f"cannot load the CatBoost model: {exc}") from exc
    return model
