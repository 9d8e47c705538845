"""Bundles the serve tests share, trained once per session (small ensembles, real data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inference.serve.live import train_bundle, wine_csv


@pytest.fixture(scope="session")
def wine_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LightGBM on wine (12 numbers, one string category, missing values), exported to ONNX."""
    root = tmp_path_factory.mktemp("wine")
    data = wine_csv(root)
    return train_bundle(
        root / "models", f"data.path={data}", "data.target=target",
        "model.architecture=lightgbm", "model.params.n_estimators=30",
    )  # fmt: skip


@pytest.fixture(scope="session")
def wine_challenger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second wine model (a random forest): the challenger of the A/B and shadow tests."""
    root = tmp_path_factory.mktemp("wine-b")
    data = wine_csv(root)
    return train_bundle(
        root / "models", f"data.path={data}", "data.target=target",
        "model.architecture=sklearn-rf", "model.params.n_estimators=20",
    )  # fmt: skip


@pytest.fixture(scope="session")
def diabetes_native(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ridge-like regression on diabetes, not exported: served natively (the pandas path)."""
    root = tmp_path_factory.mktemp("diabetes")
    return train_bundle(
        root / "models", "data.path=sklearn:diabetes", "model.architecture=sklearn-hgb",
        "model.params.max_iter=20", export=False,
    )  # fmt: skip
