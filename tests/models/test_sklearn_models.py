"""scikit-learn builders and skops persistence that refuses untrusted types."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from trainwell.errors import BundleError
from trainwell.models.registry import Builder
from trainwell.models.sklearn_models import (
    SKOPS_FILE,
    build_hgb,
    build_isolation_forest,
    build_linear,
    build_random_forest,
    load_sklearn_model,
    load_skops,
    save_sklearn_model,
    save_skops,
)


class Untrusted:
    """A type skops has never heard of: loading it could run anything its module does."""

    def __init__(self) -> None:
        self.payload = [1, 2, 3]


@pytest.mark.parametrize(
    ("build", "task", "cls"),
    [
        (build_hgb, "classification", HistGradientBoostingClassifier),
        (build_hgb, "regression", HistGradientBoostingRegressor),
        (build_random_forest, "classification", RandomForestClassifier),
        (build_random_forest, "regression", RandomForestRegressor),
        (build_linear, "classification", LogisticRegression),
        (build_linear, "regression", Ridge),
        (build_isolation_forest, "anomaly", IsolationForest),
    ],
)
def test_builders_pick_the_class_and_pass_the_seed(build: Builder, task: str, cls: type) -> None:
    model = build(task, 11, {})
    assert type(model) is cls
    assert model.get_params()["random_state"] == 11


def test_builder_defaults_and_params_override_them() -> None:
    forest = build_random_forest("classification", 0, {})
    assert (forest.n_estimators, forest.n_jobs) == (300, -1)
    small = build_random_forest("regression", 0, {"n_estimators": 5, "random_state": 9})
    assert (small.n_estimators, small.random_state) == (5, 9)
    assert build_linear("classification", 0, {}).max_iter == 2000
    assert build_linear("classification", 0, {"C": 0.1}).C == 0.1
    assert build_hgb("regression", 0, {"max_iter": 7}).max_iter == 7


def test_ridge_fit_and_round_trip_exact_values(tmp_path: Path) -> None:
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([0.0, 1.0, 2.0])
    model = build_linear("regression", 0, {"alpha": 1.0}).fit(X, y)
    # centred x = (-1, 0, 1): coef = 2 / (2 + alpha) = 2/3, intercept = 1 - 2/3
    np.testing.assert_allclose(model.coef_, [2 / 3])
    np.testing.assert_allclose(model.intercept_, 1 / 3)
    assert save_sklearn_model(model, tmp_path) == [SKOPS_FILE]
    loaded = load_sklearn_model(tmp_path)
    np.testing.assert_allclose(loaded.predict(np.array([[3.0]])), [7 / 3])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_skops_file_is_not_a_pickle(tmp_path: Path) -> None:
    save_skops(build_linear("regression", 0, {}).fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path)
    assert (tmp_path / SKOPS_FILE).read_bytes()[:2] == b"PK"  # a zip archive of JSON


def test_save_skops_custom_filename(tmp_path: Path) -> None:
    assert save_skops({"a": 1}, tmp_path, "extra.skops") == ["extra.skops"]
    assert load_skops(tmp_path / "extra.skops") == {"a": 1}


def test_untrusted_type_is_refused(tmp_path: Path) -> None:
    save_skops(Untrusted(), tmp_path)
    with pytest.raises(BundleError) as exc:
        load_skops(tmp_path / SKOPS_FILE)
    message = str(exc.value)
    assert message.startswith("model.skops holds types trainwell does not trust: [")
    assert f"{Untrusted.__module__}.Untrusted" in message


def test_untrusted_function_inside_a_trusted_pipeline_is_refused(tmp_path: Path) -> None:
    pipeline = make_pipeline(FunctionTransformer(func=os.system))
    save_skops(pipeline, tmp_path)
    with pytest.raises(BundleError, match=r"does not trust: \['(posix|nt)\.system'\]"):
        load_skops(tmp_path / SKOPS_FILE)


def test_hgb_category_limit_is_max_bins() -> None:
    from trainwell.models.sklearn_models import HGB_MAX_BINS, hgb_max_categories

    assert hgb_max_categories({}) == HGB_MAX_BINS == 255
    assert hgb_max_categories({"max_bins": 31}) == 31


def test_hgb_refit_keeps_the_iterations_early_stopping_kept() -> None:
    from trainwell.models.sklearn_models import hgb_refit_params

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    params = {"max_iter": 500, "early_stopping": True, "n_iter_no_change": 3}
    model = build_hgb("classification", 0, params).fit(X, y)
    assert model.n_iter_ < 500
    refit = hgb_refit_params(model)
    assert refit == {"max_iter": model.n_iter_, "early_stopping": False}
    again = build_hgb("classification", 0, {**params, **refit}).fit(np.vstack([X, X]), [*y, *y])
    assert again.n_iter_ == model.n_iter_


def test_hgb_with_categorical_features_reloads(tmp_path: Path) -> None:
    """Its internal ColumnTransformer keeps partial(check_array): trusted by name, alone."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=120), rng.integers(0, 4, size=120)]).astype(float)
    y = (X[:, 1] == 2).astype(int)
    model = build_hgb("classification", 0, {"max_iter": 5, "categorical_features": [1]})
    save_sklearn_model(model.fit(X, y), tmp_path)
    loaded = load_sklearn_model(tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_partial_of_an_untrusted_function_is_still_refused(tmp_path: Path) -> None:
    import functools

    save_skops(make_pipeline(FunctionTransformer(func=functools.partial(os.system))), tmp_path)
    with pytest.raises(BundleError, match=r"does not trust: \['(posix|nt)\.system'\]"):
        load_skops(tmp_path / SKOPS_FILE)
