"""The trivial baselines: prior, mean, constant score."""

from __future__ import annotations

import numpy as np
import pytest

from trainwell.evaluation.baselines import baseline_name, build_baseline
from trainwell.evaluation.metrics import (
    anomaly_metrics,
    classification_metrics,
    regression_metrics,
)

X = np.zeros((4, 2))


def test_classification_baseline_predicts_the_prior() -> None:
    y = np.array([0, 0, 0, 1])
    baseline = build_baseline("tabular-classification", seed=0).fit(X, y)
    np.testing.assert_array_equal(baseline.predict_proba(X), [[0.75, 0.25]] * 4)
    np.testing.assert_array_equal(baseline.predict(X), [0, 0, 0, 0])
    m = classification_metrics(y, baseline.predict_proba(X), n_classes=2)
    assert (m["accuracy"], m["balanced_accuracy"], m["roc_auc"]) == (0.75, 0.5, 0.5)


def test_regression_baseline_predicts_the_training_mean() -> None:
    y = np.array([1.0, 2.0, 3.0, 6.0])
    baseline = build_baseline("tabular-regression", seed=0).fit(X, y)
    np.testing.assert_array_equal(baseline.predict(np.zeros((2, 2))), [3.0, 3.0])
    assert regression_metrics(y, baseline.predict(X))["r2"] == pytest.approx(0.0)


def test_anomaly_baseline_gives_a_constant_score_that_ranks_nothing() -> None:
    y = np.array([0, 1, 0, 1])
    baseline = build_baseline("anomaly-detection", seed=0).fit(X, y)
    scores = baseline.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(scores, [0.5] * 4)
    assert anomaly_metrics(y, scores)["roc_auc"] == 0.5


def test_baselines_are_seeded() -> None:
    y = np.array([0, 1, 0, 1] * 25)
    X_big = np.zeros((100, 1))
    first = build_baseline("anomaly-detection", seed=3).fit(X_big, y).predict(X_big)
    second = build_baseline("anomaly-detection", seed=3).fit(X_big, y).predict(X_big)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("task", "name"),
    [
        ("tabular-classification", "majority-class prior"),
        ("tabular-regression", "training mean"),
        ("anomaly-detection", "constant score"),
    ],
)
def test_baseline_name(task: str, name: str) -> None:
    assert baseline_name(task) == name
