"""Trivial baselines every model is compared with: the prior (classification), the mean
(regression), a constant score that ranks nothing (anomaly detection)."""

from __future__ import annotations

from typing import Any


def build_baseline(task: str, seed: int) -> Any:
    """The unfitted baseline estimator for ``task``."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if task == "tabular-classification":
        return DummyClassifier(strategy="prior", random_state=seed)
    if task == "tabular-regression":
        return DummyRegressor(strategy="mean")
    return DummyClassifier(strategy="uniform", random_state=seed)


def baseline_name(task: str) -> str:
    """A human name for the baseline of ``task``."""
    return {
        "tabular-classification": "majority-class prior",
        "tabular-regression": "training mean",
    }.get(task, "constant score")
