"""The metrics a practitioner expects for each task, always beside a trivial baseline's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

logger = get_logger(__name__)

# Metric -> True when larger is better. Used to state the lift over the baseline honestly.
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "top5_accuracy": True,
    "balanced_accuracy": True,
    "f1_macro": True,
    "roc_auc": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
    "average_precision": True,
}
BINARY_CLASS_COUNT = 2
# log loss is undefined at probability 0; clip to this floor (sklearn's own eps).
PROBA_FLOOR = 1e-15


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, Any]:
    """accuracy, balanced accuracy, macro F1, ROC-AUC, log loss and the confusion matrix.

    Args:
        y_true: encoded labels 0..n_classes-1.
        proba: class probabilities, shape (n_samples, n_classes).
    """
    import numpy as np
    from sklearn import metrics

    labels = np.arange(n_classes)
    y_pred = np.argmax(proba, axis=1)
    out: dict[str, Any] = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            # macro over the classes present in this split: a class absent from both the truth
            # and the predictions is not a mistake
            metrics.f1_score(
                y_true,
                y_pred,
                average="macro",
                labels=np.union1d(y_true, y_pred),
                zero_division=0,
            )
        ),
        "log_loss": float(
            metrics.log_loss(y_true, np.clip(proba, PROBA_FLOOR, 1.0), labels=labels)
        ),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    present = np.unique(y_true)
    if len(present) < BINARY_CLASS_COUNT:
        out["roc_auc"] = None  # undefined with one class in the evaluated split
    elif n_classes == BINARY_CLASS_COUNT:
        out["roc_auc"] = float(metrics.roc_auc_score(y_true, proba[:, 1]))
    elif len(present) == n_classes:
        normalised = proba / proba.sum(axis=1, keepdims=True)
        out["roc_auc"] = float(
            metrics.roc_auc_score(y_true, normalised, multi_class="ovr", labels=labels)
        )
    else:
        out["roc_auc"] = None
    return out


def classification_score(
    metric: str, y_true: np.ndarray, proba: np.ndarray, n_classes: int
) -> float | None:
    """One metric of ``classification_metrics``, without computing the others."""
    import numpy as np
    from sklearn import metrics

    labels = np.arange(n_classes)
    y_pred = np.argmax(proba, axis=1)
    if metric == "accuracy":
        return float(metrics.accuracy_score(y_true, y_pred))
    if metric == "balanced_accuracy":
        return float(metrics.balanced_accuracy_score(y_true, y_pred))
    if metric == "f1_macro":  # over the classes present in the truth or the predictions
        present = np.union1d(y_true, y_pred)
        return float(
            metrics.f1_score(y_true, y_pred, average="macro", labels=present, zero_division=0)
        )
    if metric == "log_loss":
        return float(metrics.log_loss(y_true, np.clip(proba, PROBA_FLOOR, 1.0), labels=labels))
    assert metric == "roc_auc", metric  # tuning admits only the objective's metric names
    present = np.unique(y_true)
    if len(present) < BINARY_CLASS_COUNT:
        return None
    if n_classes == BINARY_CLASS_COUNT:
        return float(metrics.roc_auc_score(y_true, proba[:, 1]))
    if len(present) < n_classes:
        return None
    normalised = proba / proba.sum(axis=1, keepdims=True)
    return float(metrics.roc_auc_score(y_true, normalised, multi_class="ovr", labels=labels))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE and R²."""
    import numpy as np
    from sklearn import metrics

    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred))),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "r2": float(metrics.r2_score(y_true, y_pred)),
    }


def anomaly_metrics(y_true: np.ndarray | None, scores: np.ndarray) -> dict[str, Any]:
    """ROC-AUC and average precision of anomaly scores (higher = more anomalous) vs labels."""
    import numpy as np
    from sklearn import metrics

    out: dict[str, Any] = {"anomaly_share_flagged": None}
    if y_true is None or len(np.unique(y_true)) < BINARY_CLASS_COUNT:
        out.update({"roc_auc": None, "average_precision": None})
        return out
    out["roc_auc"] = float(metrics.roc_auc_score(y_true, scores))
    out["average_precision"] = float(metrics.average_precision_score(y_true, scores))
    return out


def lift(model: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    """Per metric, how much better the model is than the baseline (positive = better)."""
    out: dict[str, float] = {}
    for name, higher in HIGHER_IS_BETTER.items():
        ours, theirs = model.get(name), baseline.get(name)
        if isinstance(ours, float) and isinstance(theirs, float):
            out[name] = (ours - theirs) if higher else (theirs - ours)
    return out
