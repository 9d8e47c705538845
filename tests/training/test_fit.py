"""The one fit path's table facts: which categorical columns a row takes as categories, and the
refit of the evaluated settings on the union of splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from trainwell.config.loader import resolve_config
from trainwell.training import fit, pipeline

ROWS = 600
MANY = 300  # categories: above HistGradientBoosting's max_bins (255)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A number, a 3-category column, a 300-category column; label from the first category."""
    rng = np.random.default_rng(0)
    color = rng.choice(["red", "green", "blue"], size=ROWS)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=ROWS),
            "color": color,
            "zip": [f"z{i % MANY:03d}" for i in range(ROWS)],
            "y": np.where(color == "green", "yes", "no"),
        }
    )
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def setup_for(table: Path, architecture: str, **training: Any) -> pipeline.RunSetup:
    config = resolve_config(
        {
            "data": {"path": str(table), "target": "y"},
            "model": {"architecture": architecture},
            "training": training,
            "tracking": {"enabled": False},
        },
        environ={},
    )
    return pipeline.set_up_run(config)


def test_gbm_rows_take_the_codes_as_categories_up_to_their_limit(table: Path) -> None:
    setup = setup_for(table, "sklearn-hgb")
    encoding = setup.categorical
    # numbers first, then one code column per category column (get_feature_names_out)
    assert list(setup.features.preprocessor.get_feature_names_out()) == ["x", "color", "zip"]
    assert encoding.columns == {"color": "native-categorical", "zip": "ordinal"}
    assert encoding.positions == (1,)
    in_train = int(setup.prepared.splits.train["zip"].nunique())
    assert encoding.cardinalities == {"color": 3, "zip": in_train} and in_train > 255
    assert encoding.counts() == '{"native-categorical": 1, "ordinal": 1}'
    # LightGBM, XGBoost and CatBoost take any cardinality
    assert setup_for(table, "xgboost").categorical.positions == (1, 2)


def test_other_rows_and_the_switch_keep_codes_or_onehot(table: Path) -> None:
    assert setup_for(table, "sklearn-rf").categorical.columns == {
        "color": "ordinal",
        "zip": "ordinal",
    }
    assert setup_for(table, "sklearn-linear").categorical.columns == {
        "color": "onehot",
        "zip": "onehot",
    }
    off = setup_for(table, "lightgbm", native_categorical=False).categorical
    assert (off.columns, off.positions) == ({"color": "ordinal", "zip": "ordinal"}, ())


def test_no_categorical_columns_no_encoding() -> None:
    config = resolve_config(
        {"data": {"path": "sklearn:wine"}, "model": {"architecture": "catboost"}}, environ={}
    )
    encoding = pipeline.set_up_run(config).categorical
    assert (encoding.columns, encoding.positions, encoding.counts()) == ({}, (), "{}")


def test_refit_model_fits_the_union_with_the_evaluated_iterations(table: Path) -> None:
    setup = setup_for(table, "sklearn-hgb")
    evaluated = pipeline.fit_model(setup)
    refit = fit.refit_model(
        setup.spec,
        evaluated,
        setup.objective,
        setup.config,
        setup.features.X,
        setup.features.y,
        ("train", "valid"),
        categorical=setup.categorical.positions,
    )
    assert refit is not evaluated
    assert refit.n_iter_ == evaluated.n_iter_ and refit.early_stopping is False
    assert list(refit.is_categorical_) == [False, True, False]
