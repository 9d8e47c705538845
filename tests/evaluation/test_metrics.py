"""Metrics on tiny inline arrays, with values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainwell.evaluation.metrics import (
    HIGHER_IS_BETTER,
    anomaly_metrics,
    classification_metrics,
    lift,
    regression_metrics,
)


def binary_proba(positive: list[float]) -> np.ndarray:
    p = np.array(positive)
    return np.column_stack([1.0 - p, p])


def test_binary_classification_metrics() -> None:
    y = np.array([0, 0, 1, 1, 1])
    proba = binary_proba([0.1, 0.6, 0.7, 0.4, 0.9])  # predicted [0, 1, 1, 0, 1]
    m = classification_metrics(y, proba, n_classes=2)
    assert m["accuracy"] == pytest.approx(3 / 5)
    # recall: class 0 = 1/2, class 1 = 2/3
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # F1: class 0 = 2*(1/2*1/2)/(1/2+1/2) = 1/2, class 1 = 2/3
    assert m["f1_macro"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # 5 of 6 (positive, negative) pairs are ranked right: 0.4 < 0.6 is the one miss
    assert m["roc_auc"] == pytest.approx(5 / 6)
    expected_log_loss = (
        -(math.log(0.9) + math.log(0.4) + math.log(0.7) + math.log(0.4) + math.log(0.9)) / 5
    )
    assert m["log_loss"] == pytest.approx(expected_log_loss)
    assert m["confusion_matrix"] == [[1, 1], [1, 2]]


def test_multiclass_classification_metrics() -> None:
    y = np.array([0, 1, 2, 2])
    proba = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.2, 0.5, 0.3],
            [0.1, 0.3, 0.6],
            [0.3, 0.4, 0.3],
        ]
    )  # predicted [0, 1, 2, 1]
    m = classification_metrics(y, proba, n_classes=3)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 + 1 / 2) / 3)
    # F1 per class: 1, 2/3 (precision 1/2), 2/3 (recall 1/2)
    assert m["f1_macro"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    # one-vs-rest AUC: class 0 = 1, class 1 = 1, class 2 = (1 + 1 + 1 + 0.5) / 4 (a tie at 0.3)
    assert m["roc_auc"] == pytest.approx((1 + 1 + 0.875) / 3)
    expected_log_loss = -(math.log(0.7) + math.log(0.5) + math.log(0.6) + math.log(0.3)) / 4
    assert m["log_loss"] == pytest.approx(expected_log_loss)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


@pytest.mark.filterwarnings("ignore:The y_prob values do not sum to one:UserWarning")
def test_multiclass_roc_auc_normalises_rows() -> None:
    y = np.array([0, 1, 2, 2])
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3]])
    scaled = proba * np.array([[2.0], [1.0], [3.0], [1.5]])
    assert classification_metrics(y, scaled, 3)["roc_auc"] == pytest.approx(23 / 24)


def test_perfect_probabilities_give_zero_log_loss_without_inf() -> None:
    m = classification_metrics(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]), 2)
    assert m["log_loss"] == pytest.approx(0.0, abs=1e-12)
    assert (m["accuracy"], m["roc_auc"]) == (1.0, 1.0)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_confidently_wrong_log_loss_is_finite() -> None:
    m = classification_metrics(np.array([1]), np.array([[1.0, 0.0]]), 2)
    assert m["log_loss"] == pytest.approx(-math.log(1e-15))


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_roc_auc_is_none_with_one_class_present() -> None:
    m = classification_metrics(np.array([1, 1, 1]), binary_proba([0.9, 0.2, 0.6]), 2)
    assert m["roc_auc"] is None
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == [[0, 0], [1, 2]]


def test_multiclass_roc_auc_is_none_when_a_class_is_absent() -> None:
    y = np.array([0, 1, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    m = classification_metrics(y, proba, n_classes=3)
    assert m["roc_auc"] is None
    assert m["accuracy"] == 1.0
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 0]]


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_macro_f1_of_perfect_predictions_is_one_when_a_class_is_absent() -> None:
    y = np.array([0, 1, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    m = classification_metrics(y, proba, n_classes=3)
    assert (m["accuracy"], m["balanced_accuracy"]) == (1.0, 1.0)
    assert m["f1_macro"] == 1.0


def test_regression_metrics() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 3.0, 6.0])
    m = regression_metrics(y, pred)
    # errors 0, 0, 0, 2: MSE 1; total sum of squares around 2.5 is 5
    assert m == {"rmse": pytest.approx(1.0), "mae": pytest.approx(0.5), "r2": pytest.approx(0.2)}


def test_regression_metrics_of_the_mean_prediction() -> None:
    y = np.array([1.0, 3.0])
    m = regression_metrics(y, np.array([2.0, 2.0]))
    assert m == {"rmse": pytest.approx(1.0), "mae": pytest.approx(1.0), "r2": pytest.approx(0.0)}


def test_anomaly_metrics() -> None:
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    m = anomaly_metrics(y, scores)
    assert m["roc_auc"] == pytest.approx(3 / 4)
    # ranked: 0.8 (hit) 0.4 (miss) 0.35 (hit): AP = 1/2 * 1 + 1/2 * 2/3
    assert m["average_precision"] == pytest.approx(1 / 2 + 1 / 3)
    assert m["anomaly_share_flagged"] is None


@pytest.mark.parametrize("y", [None, np.array([0, 0, 0])])
def test_anomaly_metrics_without_both_labels(y: np.ndarray | None) -> None:
    m = anomaly_metrics(y, np.array([0.1, 0.2, 0.3]))
    assert m == {"anomaly_share_flagged": None, "roc_auc": None, "average_precision": None}


def test_lift_is_positive_when_the_model_is_better() -> None:
    model = {"accuracy": 0.9, "log_loss": 0.2, "rmse": 2.0, "r2": 0.75, "roc_auc": None}
    baseline = {"accuracy": 0.6, "log_loss": 0.7, "rmse": 5.0, "r2": 0.0, "roc_auc": 0.5}
    assert lift(model, baseline) == {
        "accuracy": pytest.approx(0.3),
        "log_loss": pytest.approx(0.5),
        "rmse": pytest.approx(3.0),
        "r2": pytest.approx(0.75),
    }


def test_lift_is_negative_when_the_model_is_worse() -> None:
    model = {"balanced_accuracy": 0.4, "mae": 3.0}
    baseline = {"balanced_accuracy": 0.5, "mae": 1.0}
    assert lift(model, baseline) == {
        "balanced_accuracy": pytest.approx(-0.1),
        "mae": pytest.approx(-2.0),
    }


def test_lift_skips_non_float_entries() -> None:
    model = {"confusion_matrix": [[1]], "accuracy": 0.9, "roc_auc": None}
    assert lift(model, {"confusion_matrix": [[1]], "accuracy": 0.5, "roc_auc": 0.5}) == {
        "accuracy": pytest.approx(0.4)
    }


def test_every_primary_metric_has_a_direction() -> None:
    from trainwell.evaluation.objectives import OBJECTIVES

    for objective in OBJECTIVES.values():
        assert set(objective.metric_names) <= set(HIGHER_IS_BETTER)
    assert HIGHER_IS_BETTER["rmse"] is False
    assert HIGHER_IS_BETTER["balanced_accuracy"] is True
