"""XGBoost, LightGBM and CatBoost: builders, native formats and the loaded LightGBM wrapper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from catboost import CatBoostClassifier, CatBoostRegressor
from lightgbm import LGBMClassifier, LGBMRegressor
from xgboost import XGBClassifier, XGBRegressor

from trainwell.errors import BundleError
from trainwell.models.fitting import FitInputs
from trainwell.models.gbm import (
    CATBOOST_FILE,
    LIGHTGBM_FILE,
    META_FILE,
    XGBOOST_FILE,
    CatBoostCodes,
    LightGBMBooster,
    XGBoostCodes,
    build_catboost,
    build_lightgbm,
    build_xgboost,
    fit_catboost,
    fit_lightgbm,
    fit_xgboost,
    load_catboost,
    load_lightgbm,
    load_xgboost,
    save_catboost,
    save_lightgbm,
    save_xgboost,
)
from trainwell.models.registry import Builder, Loader, Saver

CLASSIFICATION, REGRESSION = "classification", "regression"  # objective names


def toy(n_classes: int = 2, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = np.digitize(X[:, 0], np.quantile(X[:, 0], np.linspace(0, 1, n_classes + 1)[1:-1]))
    return X, y


class FakeBooster:
    """Stands in for lightgbm.Booster: returns fixed raw predictions."""

    def __init__(self, raw: list[float] | list[list[float]]) -> None:
        self.raw = np.array(raw)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.raw


@pytest.mark.parametrize(
    ("build", "task", "cls", "seed_key"),
    [
        (build_xgboost, CLASSIFICATION, XGBClassifier, "random_state"),
        (build_xgboost, REGRESSION, XGBRegressor, "random_state"),
        (build_lightgbm, CLASSIFICATION, LGBMClassifier, "random_state"),
        (build_lightgbm, REGRESSION, LGBMRegressor, "random_state"),
        (build_catboost, CLASSIFICATION, CatBoostClassifier, "random_seed"),
        (build_catboost, REGRESSION, CatBoostRegressor, "random_seed"),
    ],
)
def test_builders_pick_the_class_and_pass_the_seed(
    build: Builder, task: str, cls: type, seed_key: str
) -> None:
    model = build(task, 5, {})
    assert type(model) is cls
    assert model.get_params()[seed_key] == 5


def test_builder_defaults_and_overrides() -> None:
    assert build_xgboost(REGRESSION, 0, {}).get_params()["tree_method"] == "hist"
    assert build_xgboost(REGRESSION, 0, {"max_depth": 2}).get_params()["max_depth"] == 2
    assert build_lightgbm(REGRESSION, 0, {}).get_params()["verbose"] == -1
    assert build_lightgbm(REGRESSION, 0, {"num_leaves": 7}).get_params()["num_leaves"] == 7
    catboost = build_catboost(CLASSIFICATION, 0, {"depth": 3}).get_params()
    assert (catboost["verbose"], catboost["allow_writing_files"], catboost["depth"]) == (
        0,
        False,
        3,
    )


def test_catboost_writes_nothing_into_the_working_directory(tmp_path: Path) -> None:
    X, y = toy()
    build_catboost(CLASSIFICATION, 0, {"iterations": 5}).fit(X, y)
    assert list(tmp_path.iterdir()) == []  # the autouse fixture made tmp_path the cwd


@pytest.mark.parametrize(
    ("build", "save", "files", "kind"),
    [
        (build_xgboost, save_xgboost, [XGBOOST_FILE, META_FILE], "xgboost"),
        (build_lightgbm, save_lightgbm, [LIGHTGBM_FILE, META_FILE], "lightgbm"),
        (build_catboost, save_catboost, [CATBOOST_FILE, META_FILE], "catboost"),
    ],
)
@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION])
def test_save_writes_the_native_file_and_meta(
    tmp_path: Path, build: Builder, save: Saver, files: list[str], kind: str, task: str
) -> None:
    X, y = toy()
    params = {"iterations": 5} if kind == "catboost" else {"n_estimators": 5}
    model = build(task, 0, params).fit(X, y)
    out = tmp_path / "m"
    out.mkdir()
    assert save(model, out) == files
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    meta = json.loads((out / META_FILE).read_text(encoding="utf-8"))
    assert meta == {
        "kind": kind,
        "is_classifier": task == CLASSIFICATION,
        "categorical_features": [],
    }


def test_lightgbm_booster_binary_probabilities() -> None:
    wrapped = LightGBMBooster(FakeBooster([0.2, 0.7, 0.5]), is_classifier=True)
    np.testing.assert_allclose(
        wrapped.predict_proba(np.zeros((3, 1))), [[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]]
    )
    np.testing.assert_array_equal(wrapped.predict(np.zeros((3, 1))), [0, 1, 0])


def test_lightgbm_booster_multiclass_probabilities() -> None:
    raw = [[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]
    wrapped = LightGBMBooster(FakeBooster(raw), is_classifier=True)
    np.testing.assert_array_equal(wrapped.predict_proba(np.zeros((2, 1))), raw)
    np.testing.assert_array_equal(wrapped.predict(np.zeros((2, 1))), [1, 0])


def test_lightgbm_booster_regression_returns_raw_values() -> None:
    wrapped = LightGBMBooster(FakeBooster([1.5, -2.0]), is_classifier=False)
    np.testing.assert_array_equal(wrapped.predict(np.zeros((2, 1))), [1.5, -2.0])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_loaded_lightgbm_classifier_matches_the_original(tmp_path: Path, n_classes: int) -> None:
    X, y = toy(n_classes)
    model = build_lightgbm(CLASSIFICATION, 0, {"n_estimators": 10}).fit(X, y)
    save_lightgbm(model, tmp_path)
    loaded = load_lightgbm(tmp_path)
    assert isinstance(loaded, LightGBMBooster)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_loaded_xgboost_and_catboost_keep_their_classes(tmp_path: Path) -> None:
    X, y = toy(3)
    xgb = build_xgboost(CLASSIFICATION, 0, {"n_estimators": 5}).fit(X, y)
    (tmp_path / "x").mkdir()
    save_xgboost(xgb, tmp_path / "x")
    assert isinstance(load_xgboost(tmp_path / "x"), XGBClassifier)
    cat = build_catboost(REGRESSION, 0, {"iterations": 5}).fit(X, y.astype(float))
    (tmp_path / "c").mkdir()
    save_catboost(cat, tmp_path / "c")
    assert isinstance(load_catboost(tmp_path / "c"), CatBoostRegressor)


@pytest.mark.parametrize("load", [load_xgboost, load_lightgbm, load_catboost])
def test_missing_meta_is_a_bundle_error(tmp_path: Path, load: Loader) -> None:
    with pytest.raises(BundleError, match=rf"^cannot read {META_FILE}: "):
        load(tmp_path)


def test_corrupt_meta_is_a_bundle_error(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match=rf"^cannot read {META_FILE}: "):
        load_lightgbm(tmp_path)


def write_corrupt(directory: Path, filename: str, is_classifier: bool = True) -> None:
    (directory / filename).write_bytes(b"garbage, not a model")
    meta = {"kind": "x", "is_classifier": is_classifier}
    (directory / META_FILE).write_text(json.dumps(meta), encoding="utf-8")


def test_corrupt_lightgbm_file_is_a_bundle_error(tmp_path: Path) -> None:
    write_corrupt(tmp_path, LIGHTGBM_FILE)
    with pytest.raises(BundleError, match=r"^cannot load the LightGBM model: "):
        load_lightgbm(tmp_path)


def test_corrupt_catboost_file_is_a_bundle_error(tmp_path: Path) -> None:
    write_corrupt(tmp_path, CATBOOST_FILE)
    with pytest.raises(BundleError, match=r"^cannot load the CatBoost model: "):
        load_catboost(tmp_path)


def test_corrupt_xgboost_file_is_a_bundle_error(tmp_path: Path) -> None:
    write_corrupt(tmp_path, XGBOOST_FILE)
    with pytest.raises(BundleError, match=r"^cannot load the XGBoost model: "):
        load_xgboost(tmp_path)


# --- native categorical columns (the registry's contract: tests/models/test_registry.py) ----


def coded(n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """Column 0 a number, column 1 ordinal codes 0..5; label = code in {1, 3} (x0 breaks ties)."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 6, size=n).astype(np.float64)
    X = np.column_stack([rng.normal(size=n), codes])
    return X, (np.isin(codes, [1, 3]) ^ (X[:, 0] > 1.5)).astype(np.int64)


def test_xgboost_declares_the_categories_and_sends_unknown_codes_as_missing() -> None:
    X, y = coded()
    model = build_xgboost(CLASSIFICATION, 0, {"n_estimators": 10})
    fitted = fit_xgboost(model, FitInputs(X, y, X[:0], y[:0], categorical=(1,)))
    assert isinstance(fitted, XGBoostCodes) and fitted.estimator is model
    assert model.get_params()["enable_categorical"] is True
    assert model.get_booster().feature_types == ["q", "c"]
    # XGBoost itself sends -1 down the not-in-the-set branch; trainwell's -1 is missing
    unknown, missing = np.array([[0.0, -1.0]]), np.array([[0.0, np.nan]])
    np.testing.assert_array_equal(fitted.predict_proba(unknown), model.predict_proba(missing))
    np.testing.assert_array_equal(fitted.codes(np.array([[-1.0, -1.0]])), [[-1.0, np.nan]])


def test_xgboost_fits_a_union_holding_unknown_codes() -> None:
    """A refit on train+valid sees -1 for a category only validation had: XGBoost alone
    refuses negative categories ("Invalid categorical value detected")."""
    X, y = coded()
    X[:5, 1] = -1.0
    fitted = fit_xgboost(
        build_xgboost(CLASSIFICATION, 0, {"n_estimators": 5}),
        FitInputs(X, y, X[:0], y[:0], categorical=(1,)),
    )
    assert fitted.predict(X[:5]).shape == (5,)


def test_xgboost_staged_fit_reports_with_categorical_columns() -> None:
    X, y = coded()
    reported: list[int] = []

    class Every:
        every = 2

        def report(self, step: int, raw: np.ndarray) -> None:
            assert raw.shape == (len(X),)
            reported.append(step)

    fitted = fit_xgboost(
        build_xgboost(CLASSIFICATION, 0, {"n_estimators": 6}),
        FitInputs(X, y, X, y, categorical=(1,)),
        Every(),
    )
    assert reported == [2, 4, 6] and isinstance(fitted, XGBoostCodes)


def test_catboost_gets_the_codes_as_int_cat_features() -> None:
    X, y = coded()
    model = build_catboost(CLASSIFICATION, 0, {"iterations": 5})
    fitted = fit_catboost(model, FitInputs(X, y, X[:0], y[:0], categorical=(1,)))
    assert isinstance(fitted, CatBoostCodes)
    assert model.get_cat_feature_indices() == [1]
    frame = fitted.frame(np.array([[0.5, 3.0], [0.5, -1.0]]))
    assert frame[1].tolist() == [3, -1] and str(frame[1].dtype) == "int64"
    assert fitted.predict_proba(X).shape == (len(X), 2)


def test_lightgbm_declares_the_categories() -> None:
    X, y = coded()
    fitted = fit_lightgbm(
        build_lightgbm(CLASSIFICATION, 0, {"n_estimators": 5}),
        FitInputs(X, y, X[:0], y[:0], categorical=(1,)),
    )
    assert "[categorical_feature: 1]" in fitted.booster_.model_to_string()


@pytest.mark.parametrize(
    ("build", "fit", "save", "load", "params"),
    [
        (build_xgboost, fit_xgboost, save_xgboost, load_xgboost, {"n_estimators": 5}),
        (build_lightgbm, fit_lightgbm, save_lightgbm, load_lightgbm, {"n_estimators": 5}),
        (build_catboost, fit_catboost, save_catboost, load_catboost, {"iterations": 5}),
    ],
)
def test_meta_records_the_categorical_columns(
    tmp_path: Path, build: Builder, fit: Any, save: Saver, load: Loader, params: dict[str, Any]
) -> None:
    X, y = coded()
    fitted = fit(build(CLASSIFICATION, 0, params), FitInputs(X, y, X[:0], y[:0], (1,)), None)
    save(fitted, tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    assert meta["categorical_features"] == [1]
    loaded = load(tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_a_bundle_from_before_native_categoricals_loads_plain(tmp_path: Path) -> None:
    X, y = toy()
    save_xgboost(build_xgboost(CLASSIFICATION, 0, {"n_estimators": 5}).fit(X, y), tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    del meta["categorical_features"]
    (tmp_path / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    assert type(load_xgboost(tmp_path)) is XGBClassifier
