"""The objective rows: targets, baselines (prior, mean, constant score), rules and outputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from trainwell.errors import DataError
from trainwell.evaluation.metrics import (
    anomaly_metrics,
    classification_metrics,
    regression_metrics,
)
from trainwell.evaluation.objectives import (
    ANOMALY,
    CLASSIFICATION,
    OBJECTIVES,
    REGRESSION,
    UNSEEN_LABEL,
)

X = np.zeros((4, 2))


def test_classification_baseline_predicts_the_prior() -> None:
    y = np.array([0, 0, 0, 1])
    baseline = CLASSIFICATION.baseline(0).fit(X, y)
    np.testing.assert_array_equal(baseline.predict_proba(X), [[0.75, 0.25]] * 4)
    np.testing.assert_array_equal(baseline.predict(X), [0, 0, 0, 0])
    m = classification_metrics(y, baseline.predict_proba(X), n_classes=2)
    assert (m["accuracy"], m["balanced_accuracy"], m["roc_auc"]) == (0.75, 0.5, 0.5)


def test_regression_baseline_predicts_the_training_mean() -> None:
    y = np.array([1.0, 2.0, 3.0, 6.0])
    baseline = REGRESSION.baseline(0).fit(X, y)
    np.testing.assert_array_equal(baseline.predict(np.zeros((2, 2))), [3.0, 3.0])
    assert regression_metrics(y, baseline.predict(X))["r2"] == pytest.approx(0.0)


def test_anomaly_baseline_gives_a_constant_score_that_ranks_nothing() -> None:
    y = np.array([0, 1, 0, 1])
    baseline = ANOMALY.baseline(0).fit(X, y)
    scores = baseline.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(scores, [0.5] * 4)
    assert anomaly_metrics(y, scores)["roc_auc"] == 0.5


def test_baselines_are_seeded() -> None:
    y = np.array([0, 1, 0, 1] * 25)
    X_big = np.zeros((100, 1))
    first = ANOMALY.baseline(3).fit(X_big, y).predict(X_big)
    second = ANOMALY.baseline(3).fit(X_big, y).predict(X_big)
    np.testing.assert_array_equal(first, second)


def test_baseline_names() -> None:
    names = {o.name: o.baseline_name for o in OBJECTIVES.values()}
    assert names == {
        "classification": "majority-class prior",
        "regression": "training mean",
        "anomaly": "constant score",
    }


def test_the_anomaly_baseline_is_scored_as_a_constant() -> None:
    y = np.array([0, 1, 0, 0])
    metrics = ANOMALY.evaluate_baseline(ANOMALY.baseline(0).fit(X, y), X, y, 0)
    assert metrics["roc_auc"] == 0.5
    assert metrics["average_precision"] == 0.25


def _splits(
    train: list[object], valid: list[object], test: list[object]
) -> dict[str, pd.DataFrame]:
    return {
        "train": pd.DataFrame({"y": train}),
        "valid": pd.DataFrame({"y": valid}),
        "test": pd.DataFrame({"y": test}),
    }


def test_labels_are_encoded_in_sorted_order_and_unseen_labels_marked() -> None:
    targets = CLASSIFICATION.targets(_splits(["b", "a", "b"], ["a"], ["c"]), "y")
    assert targets.classes == ("a", "b")
    np.testing.assert_array_equal(targets.y["train"], [1, 0, 1])
    np.testing.assert_array_equal(targets.y["test"], [UNSEEN_LABEL])
    assert CLASSIFICATION.unseen_problem("valid", targets.y["valid"]) is None
    problem = CLASSIFICATION.unseen_problem("test", targets.y["test"])
    assert problem == (
        "1 test row(s) have labels never seen in training "
        "(stratify the split, or drop those classes)"
    )


def test_regression_targets_are_floats_and_anomaly_targets_flag_label_one() -> None:
    values = REGRESSION.targets(_splits([1, 2], [3], [4]), "y")
    assert values.classes == ()
    assert values.y["train"].dtype == np.float64
    flags = ANOMALY.targets(_splits([0, 1, 1], [0], [1]), "y")
    np.testing.assert_array_equal(flags.y["train"], [0, 1, 1])
    assert ANOMALY.targets(_splits([0], [0], [0]), None).y == {
        "train": None,
        "valid": None,
        "test": None,
    }


def test_classification_without_a_target_is_refused() -> None:
    with pytest.raises(DataError, match="classification needs a target column"):
        CLASSIFICATION.targets(_splits([0], [0], [0]), None)


def test_target_rules() -> None:
    single = SimpleNamespace(target="y", n_classes=1, class_counts={"a": 3}, target_kind="binary")
    with pytest.raises(DataError, match=r"has a single class \('a'\): nothing to learn"):
        CLASSIFICATION.check_target(single)  # type: ignore[arg-type]
    words = SimpleNamespace(target="y", class_counts={"x": 1, "z": 2}, target_kind="multiclass")
    with pytest.raises(DataError, match="is not numeric, so it cannot be a regression target"):
        REGRESSION.check_target(words)  # type: ignore[arg-type]
    counts = SimpleNamespace(target="y", class_counts={"1": 1, "2": 2}, target_kind="multiclass")
    REGRESSION.check_target(counts)  # type: ignore[arg-type]  # numeric labels may regress


def test_one_batch_target_rules() -> None:
    assert CLASSIFICATION.batch_problems(np.array([0, 1]), 2) == []
    assert CLASSIFICATION.batch_problems(np.array([0, 2]), 2) == ["labels outside 0..1"]
    assert CLASSIFICATION.batch_problems(np.array([0.0]), 2) == [
        "labels dtype float64, expected integer class indices"
    ]
    assert REGRESSION.batch_problems(np.array([1]), 0) == [
        "regression target dtype int64, expected float"
    ]


def test_outputs_name_the_prediction_columns() -> None:
    y = np.array([0, 0, 1, 1])
    features = np.arange(8.0).reshape(4, 2)
    fitted = CLASSIFICATION.baseline(0).fit(features, y)
    out = CLASSIFICATION.outputs(fitted, features, ("no", "yes"))
    assert list(out) == ["prediction", "proba_no", "proba_yes"]
    np.testing.assert_array_equal(out["proba_yes"], [0.5] * 4)
    mean = REGRESSION.outputs(REGRESSION.baseline(0).fit(features, [1.0, 2, 3, 6]), features, ())
    np.testing.assert_array_equal(mean["prediction"], [3.0] * 4)


def test_the_primary_metric_is_one_the_objective_produces() -> None:
    for objective in OBJECTIVES.values():
        assert objective.primary in objective.metric_names
        assert objective.primary == objective.metric_names[0]
