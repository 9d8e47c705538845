"""XGBoost, LightGBM and CatBoost: builders, fits and their native, non-pickle file formats.

Loading gives back an object with the same verbs as at training time: ``predict`` and, for
classifiers, ``predict_proba``.

Categorical columns reach every GBM as the preprocessing's ordinal codes (0..k-1; -1 for a
category the training split never had). Given their positions (``FitInputs.categorical``), each
library is told they are categories, the way it takes them:

* LightGBM: ``fit(categorical_feature=...)``; it reads a negative code as missing;
* XGBoost: ``enable_categorical`` with feature type ``c`` (:class:`XGBoostCodes` sends -1 as
  NaN, since XGBoost refuses negative categories when fitting);
* CatBoost: ``cat_features``, whose values must be integers (:class:`CatBoostCodes`).

``model_meta.json`` records the positions, so a loaded model adapts its input the same way.
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
# XGBoost's feature types: quantitative, categorical
XGBOOST_NUMBER, XGBOOST_CATEGORY = "q", "c"
# the preprocessing's code for a category it never saw (trainwell.data.preprocessing)
UNKNOWN_CODE = -1


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


def fit_lightgbm(model: Any, data: FitInputs, progress: Progress | None = None) -> Any:
    """Fit (categorical columns declared); with ``progress``, score the partial booster every
    ``progress.every`` iterations."""
    # "auto": LightGBM's default, which finds no categorical column in a float matrix
    categorical: list[int] | str = list(data.categorical) or "auto"
    if progress is None:
        if data.y_train is None:
            return model.fit(data.X_train, categorical_feature=categorical)
        return model.fit(data.X_train, data.y_train, categorical_feature=categorical)

    def callback(env: Any) -> None:
        done = env.iteration + 1
        if done % progress.every == 0:
            progress.report(done, np.asarray(env.model.predict(data.X_valid, num_iteration=done)))

    return model.fit(
        data.X_train, data.y_train, categorical_feature=categorical, callbacks=[callback]
    )


class XGBoostCodes:
    """An XGBoost model whose categorical columns are trainwell's ordinal codes, declared as
    categories (``enable_categorical``, feature type ``c``).

    XGBoost refuses a negative category when fitting, and when predicting sends one down the
    not-in-the-set branch; trainwell's -1 (a category the preprocessing never saw) goes to
    XGBoost as NaN, its missing value, in both: what LightGBM and HistGradientBoosting do with a
    negative code on their own.

    Args:
        estimator: an ``XGBClassifier``/``XGBRegressor``.
        categorical_features: the positions of the categorical columns in ``X``.
    """

    def __init__(self, estimator: Any, categorical_features: tuple[int, ...]) -> None:
        self.estimator = estimator
        self.categorical_features = categorical_features

    def codes(self, X: Any) -> np.ndarray:
        """``X`` as float64 with the negative codes of the categorical columns as NaN."""
        out = np.array(X, dtype=np.float64)
        columns = list(self.categorical_features)
        block = out[:, columns]
        block[block < 0] = np.nan
        out[:, columns] = block
        return out

    def fit(self, X: Any, y: Any, **fit_params: Any) -> XGBoostCodes:
        """Declare the categorical columns and fit on the adapted codes."""
        categorical = set(self.categorical_features)
        types = [
            XGBOOST_CATEGORY if j in categorical else XGBOOST_NUMBER for j in range(np.shape(X)[1])
        ]
        self.estimator.set_params(enable_categorical=True, feature_types=types)
        self.estimator.fit(self.codes(X), y, **fit_params)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Encoded class labels (classifier) or values (regressor)."""
        return np.asarray(self.estimator.predict(self.codes(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        return np.asarray(self.estimator.predict_proba(self.codes(X)))


def fit_xgboost(model: Any, data: FitInputs, progress: Progress | None = None) -> Any:
    """Fit (categorical columns declared, :class:`XGBoostCodes`); with ``progress``, score the
    partial booster every ``progress.every`` rounds."""
    fitted = XGBoostCodes(model, data.categorical) if data.categorical else model
    if progress is None:
        return fitted.fit(data.X_train, data.y_train)
    import xgboost

    X_valid = fitted.codes(data.X_valid) if isinstance(fitted, XGBoostCodes) else data.X_valid
    every, report = progress.every, progress.report
    valid: list[Any] = []  # built after fit, when the booster knows the feature types

    class Pruning(xgboost.callback.TrainingCallback):
        def after_iteration(self, booster: Any, epoch: int, evals_log: Any) -> bool:
            done = epoch + 1
            if done % every == 0:
                if not valid:
                    valid.append(
                        xgboost.DMatrix(
                            X_valid,
                            feature_types=booster.feature_types,
                            enable_categorical=bool(data.categorical),
                        )
                    )
                raw = np.asarray(booster.predict(valid[0], iteration_range=(0, done)))
                report(done, raw)
            return False  # never stop here: the reporter raises to prune

    model.set_params(callbacks=[Pruning()])
    return fitted.fit(data.X_train, data.y_train, verbose=False)


class CatBoostCodes:
    """A CatBoost model whose categorical columns are trainwell's ordinal codes, given to it as
    ``cat_features``.

    CatBoost takes categories as integers or strings only, so the codes go to it as int64
    columns of a DataFrame (the other columns float64); -1, a category the preprocessing never
    saw, is one more category value to CatBoost.

    Args:
        estimator: a ``CatBoostClassifier``/``CatBoostRegressor``.
        categorical_features: the positions of the categorical columns in ``X``.
    """

    def __init__(self, estimator: Any, categorical_features: tuple[int, ...]) -> None:
        self.estimator = estimator
        self.categorical_features = categorical_features

    def frame(self, X: Any) -> Any:
        """``X`` as a DataFrame with the categorical columns as int64 codes."""
        import pandas as pd

        frame = pd.DataFrame(np.asarray(X, dtype=np.float64))
        for j in self.categorical_features:
            codes = np.nan_to_num(frame[j].to_numpy(), nan=UNKNOWN_CODE)
            frame[j] = codes.astype(np.int64)
        return frame

    def fit(self, X: Any, y: Any, **fit_params: Any) -> CatBoostCodes:
        """Fit with the categorical columns as ``cat_features``."""
        cat_features = list(self.categorical_features)
        self.estimator.fit(self.frame(X), y, cat_features=cat_features, **fit_params)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Encoded class labels (classifier) or values (regressor)."""
        return np.asarray(self.estimator.predict(self.frame(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        return np.asarray(self.estimator.predict_proba(self.frame(X)))


def fit_catboost(model: Any, data: FitInputs, progress: Progress | None = None) -> Any:
    """Fit once (CatBoost reports no stages); categorical columns as ``cat_features``."""
    if not data.categorical:
        return fit_estimator(model, data)
    return CatBoostCodes(model, data.categorical).fit(data.X_train, data.y_train)


def _write_meta(
    directory: Path, kind: str, is_classifier: bool, categorical: tuple[int, ...] = ()
) -> None:
    meta = {"kind": kind, "is_classifier": is_classifier, "categorical_features": list(categorical)}
    (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")


def _read_meta(directory: Path) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {META_FILE}: {exc}") from exc
    return meta


def _categorical(meta: dict[str, Any]) -> tuple[int, ...]:
    """The recorded categorical positions (bundles before native categoricals have none)."""
    return tuple(int(j) for j in meta.get("categorical_features", ()))


def save_xgboost(model: Any, directory: Path) -> list[str]:
    """XGBoost's own binary JSON (UBJSON) format (its feature types included)."""
    from xgboost import XGBClassifier

    estimator = model.estimator if isinstance(model, XGBoostCodes) else model
    estimator.save_model(directory / XGBOOST_FILE)
    categorical = model.categorical_features if isinstance(model, XGBoostCodes) else ()
    _write_meta(directory, "xgboost", isinstance(estimator, XGBClassifier), categorical)
    return [XGBOOST_FILE, META_FILE]


def load_xgboost(directory: Path) -> Any:
    """Load an XGBoost sklearn-API model from its native file (behind :class:`XGBoostCodes`
    when it was fitted with categorical columns)."""
    from xgboost import XGBClassifier, XGBRegressor
    from xgboost.core import XGBoostError

    meta = _read_meta(directory)
    model = XGBClassifier() if meta["is_classifier"] else XGBRegressor()
    try:
        model.load_model(directory / XGBOOST_FILE)
    except XGBoostError as exc:
        raise BundleError(f"cannot load the XGBoost model: {exc}") from exc
    categorical = _categorical(meta)
    return XGBoostCodes(model, categorical) if categorical else model


class LightGBMBooster:
    """A loaded LightGBM booster answering ``predict``/``predict_proba`` like LGBMClassifier
    (categorical splits included: the booster file keeps them)."""

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
    _write_meta(
        directory, "lightgbm", isinstance(model, LGBMClassifier), _lightgbm_categorical(model)
    )
    return [LIGHTGBM_FILE, META_FILE]


def _lightgbm_categorical(model: Any) -> tuple[int, ...]:
    """The categorical positions a fitted LightGBM model was given (for the record: the model
    file keeps its categorical splits, ``[categorical_feature: ...]``)."""
    found = model.booster_.params.get("categorical_column") or ()
    return tuple(int(j) for j in found)


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

    estimator = model.estimator if isinstance(model, CatBoostCodes) else model
    estimator.save_model(str(directory / CATBOOST_FILE))
    categorical = model.categorical_features if isinstance(model, CatBoostCodes) else ()
    _write_meta(directory, "catboost", isinstance(estimator, CatBoostClassifier), categorical)
    return [CATBOOST_FILE, META_FILE]


def load_catboost(directory: Path) -> Any:
    """Load a CatBoost model with its sklearn API (behind :class:`CatBoostCodes` when it was
    fitted with categorical columns)."""
    from catboost import CatBoostClassifier, CatBoostError, CatBoostRegressor

    meta = _read_meta(directory)
    model = CatBoostClassifier() if meta["is_classifier"] else CatBoostRegressor()
    try:
        model.load_model(str(directory / CATBOOST_FILE))
    except CatBoostError as exc:
        raise BundleError(f"cannot load the CatBoost model: {exc}") from exc
    categorical = _categorical(meta)
    return CatBoostCodes(model, categorical) if categorical else model
