"""What is learned, one row per kind: targets, metrics, the primary metric, the baseline, outputs.

A task kind (``trainwell.tasks.TASKS``) is one modality (how inputs are read and prepared) and
one objective (this table). Tabular and text classification share ``CLASSIFICATION``; image
classification's row reuses its label encoding, baseline and prediction columns and adds top-5
accuracy, per-class recall and plots (a confusion matrix, the worst-classified images).

Every function here receives plain arrays: encoded targets ``y`` per split, model inputs ``X``
(whatever the modality produces) and the number of classes. Models follow scikit-learn's verbs:
``predict_proba`` (classification), ``predict`` (regression) and ``score_samples`` (anomaly
detection, lower = more anomalous, as in scikit-learn).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import DataError
from trainwell.evaluation import metrics as m

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from trainwell.data.profile import DataProfile

SPLIT_NAMES = ("train", "valid", "test")
# A label never seen in training: the checklist reports it (sanity.unseen_values), `train`
# refuses to evaluate on it.
UNSEEN_LABEL = -1
ANOMALY_LABEL = 1
MIN_CLASSES = 2
PREDICTION_COLUMN = "prediction"
PROBA_PREFIX = "proba_"
SCORE_COLUMN = "anomaly_score"


@dataclass(frozen=True)
class Targets:
    """The encoded target of every split, and the classes (empty unless classification)."""

    classes: tuple[str, ...]
    y: dict[str, Any]


def no_report(model: Any, X: Any, y: Any, classes: tuple[str, ...], directory: Path) -> list[Path]:
    """An objective without plots (tabular tasks today)."""
    return []


@dataclass(frozen=True)
class Objective:
    """One row of the table.

    Attributes:
        name: what model builders receive (``classification``, ``regression``, ``anomaly``).
        labels: the target is a set of labels (splits are stratified on it; class checks apply).
        supervised: models see the target at fit time.
        targets: the split frames and target column -> :class:`Targets`.
        check_target: raises DataError when the profiled target cannot be learned this way.
        evaluate: (model, X, y, n_classes) -> this objective's metrics.
        score_raw: (metric, y, raw output, n_classes) -> one metric from raw model output
            (probabilities / values / scores), for tuning's intermediate scores.
        metric_names: the metrics ``evaluate`` produces, in display order.
        primary: the metric `train` reports first and `tune` optimises by default.
        baseline: seed -> the unfitted trivial estimator every model is compared with.
        baseline_name: a human name for it.
        evaluate_baseline: (fitted baseline, X, y, n_classes) -> its metrics.
        batch_problems: (one batch of encoded targets, n_classes) -> what is wrong with it.
        unseen_problem: (split name, encoded y) -> why evaluation must stop, or None.
        outputs: (model, X, classes) -> prediction columns, in order.
        report: (model, X, y, classes, directory) -> the plots it wrote for the validation
            split (a confusion matrix, the worst-classified images); saved under
            ``output.runs_dir`` and logged to the run.
    """

    name: str
    labels: bool
    supervised: bool
    targets: Callable[[Mapping[str, pd.DataFrame], str | None], Targets]
    check_target: Callable[[DataProfile], None]
    evaluate: Callable[[Any, Any, Any, int], dict[str, Any]]
    score_raw: Callable[[str, Any, np.ndarray, int], float | None]
    metric_names: tuple[str, ...]
    primary: str
    baseline: Callable[[int], Any]
    baseline_name: str
    evaluate_baseline: Callable[[Any, Any, Any, int], dict[str, Any]]
    batch_problems: Callable[[np.ndarray, int], list[str]]
    unseen_problem: Callable[[str, Any], str | None]
    outputs: Callable[[Any, Any, tuple[str, ...]], dict[str, np.ndarray]]
    report: Callable[[Any, Any, Any, tuple[str, ...], Path], list[Path]] = no_report


# --- classification -------------------------------------------------------------------------


def _label_targets(splits: Mapping[str, pd.DataFrame], target: str | None) -> Targets:
    """Classes seen in training (sorted) and the encoded y of each split (unseen: -1)."""
    import numpy as np

    if target is None:
        raise DataError("classification needs a target column (data.target=...)")
    train_labels = splits["train"][target]
    classes = sorted(train_labels.unique().tolist(), key=lambda v: (str(type(v)), v))
    index = {value: position for position, value in enumerate(classes)}
    encoded = {
        name: splits[name][target].map(index).fillna(UNSEEN_LABEL).to_numpy(dtype=np.int64)
        for name in SPLIT_NAMES
    }
    return Targets(classes=tuple(str(c) for c in classes), y=encoded)


def _check_labels(profile: DataProfile) -> None:
    if profile.n_classes is not None and profile.n_classes < MIN_CLASSES:
        only = next(iter(profile.class_counts), "?")
        raise DataError(
            f"target column {profile.target!r} has a single class ({only!r}): nothing to learn"
        )


def _evaluate_classifier(model: Any, X: Any, y: Any, n_classes: int) -> dict[str, Any]:
    import numpy as np

    return m.classification_metrics(y, np.asarray(model.predict_proba(X)), n_classes)


def _score_proba(metric: str, y: Any, raw: np.ndarray, n_classes: int) -> float | None:
    import numpy as np

    proba = raw if raw.ndim == 2 else np.column_stack([1.0 - raw, raw])  # binary: P(class 1)
    return m.classification_score(metric, y, proba, n_classes)


def _prior_baseline(seed: int) -> Any:
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior", random_state=seed)


def _label_batch_problems(y_batch: np.ndarray, n_classes: int) -> list[str]:
    import numpy as np

    if not np.issubdtype(y_batch.dtype, np.integer):
        return [f"labels dtype {y_batch.dtype}, expected integer class indices"]
    if y_batch.min() < 0 or y_batch.max() >= n_classes:
        return [f"labels outside 0..{n_classes - 1}"]
    return []


def _unseen_labels(split: str, y: Any) -> str | None:
    if y is None:
        return None
    unseen = int((y == UNSEEN_LABEL).sum())
    if not unseen:
        return None
    return (
        f"{unseen} {split} row(s) have labels never seen in training "
        "(stratify the split, or drop those classes)"
    )


@functools.lru_cache(maxsize=64)
def _label_array(classes: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The class names as an object array and their probability column names (built once per
    class set: serve calls the outputs once per request)."""
    import numpy as np

    return np.asarray(classes, dtype=object), tuple(f"{PROBA_PREFIX}{c}" for c in classes)


def _class_outputs(model: Any, X: Any, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    import numpy as np

    proba = np.asarray(model.predict_proba(X))
    names, columns = _label_array(classes)
    out = {PREDICTION_COLUMN: names[proba.argmax(axis=1)]}
    for index, column in enumerate(columns):
        out[column] = proba[:, index]
    return out


CLASSIFICATION = Objective(
    name="classification",
    labels=True,
    supervised=True,
    targets=_label_targets,
    check_target=_check_labels,
    evaluate=_evaluate_classifier,
    score_raw=_score_proba,
    metric_names=("balanced_accuracy", "accuracy", "f1_macro", "roc_auc", "log_loss"),
    primary="balanced_accuracy",
    baseline=_prior_baseline,
    baseline_name="majority-class prior",
    evaluate_baseline=_evaluate_classifier,
    batch_problems=_label_batch_problems,
    unseen_problem=_unseen_labels,
    outputs=_class_outputs,
)


# --- image classification: the same labels, plus the metrics and plots image people expect ---

TOP_K = 5
# top-5 accuracy says something only when there are many more classes than 5
TOP_K_MIN_CLASSES = 10


def _image_metrics(y: Any, proba: np.ndarray, n_classes: int) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import recall_score, top_k_accuracy_score

    out = m.classification_metrics(y, proba, n_classes)
    labels = np.arange(n_classes)
    if n_classes >= TOP_K_MIN_CLASSES:
        out["top5_accuracy"] = float(top_k_accuracy_score(y, proba, k=TOP_K, labels=labels))
    # in class-index order (the classes are in the bundle's image_spec.json)
    out["recall_per_class"] = [
        float(r)
        for r in recall_score(
            y, np.argmax(proba, axis=1), labels=labels, average=None, zero_division=0
        )
    ]
    return out


def _evaluate_image_classifier(model: Any, X: Any, y: Any, n_classes: int) -> dict[str, Any]:
    import numpy as np

    return _image_metrics(y, np.asarray(model.predict_proba(X)), n_classes)


def _evaluate_prior(baseline: Any, X: Any, y: Any, n_classes: int) -> dict[str, Any]:
    import numpy as np

    return _image_metrics(y, np.asarray(baseline.predict_proba(X)), n_classes)


def _score_image(metric: str, y: Any, raw: np.ndarray, n_classes: int) -> float | None:
    from sklearn.metrics import top_k_accuracy_score

    if metric == "top5_accuracy":
        import numpy as np

        labels = np.arange(n_classes)
        return float(top_k_accuracy_score(y, raw, k=TOP_K, labels=labels))
    return _score_proba(metric, y, raw, n_classes)


def _image_report(
    model: Any, X: Any, y: Any, classes: tuple[str, ...], directory: Path
) -> list[Path]:
    """The validation confusion matrix and a grid of the worst-classified images."""
    import numpy as np

    from trainwell.evaluation import reports

    proba = np.asarray(model.predict_proba(X))
    written = [
        reports.confusion_matrix_png(
            y, np.argmax(proba, axis=1), classes, directory / reports.CONFUSION_FILE
        )
    ]
    worst = reports.worst_images_png(X, y, proba, classes, directory / reports.WORST_FILE)
    return [*written, *([worst] if worst is not None else [])]


# the same labels, baseline and prediction columns as CLASSIFICATION
IMAGE_CLASSIFICATION = dataclasses.replace(
    CLASSIFICATION,
    evaluate=_evaluate_image_classifier,
    score_raw=_score_image,
    metric_names=(
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "log_loss",
        "roc_auc",
        "top5_accuracy",
    ),
    primary="accuracy",
    evaluate_baseline=_evaluate_prior,
    report=_image_report,
)


# --- regression -----------------------------------------------------------------------------


def _value_targets(splits: Mapping[str, pd.DataFrame], target: str | None) -> Targets:
    import numpy as np

    y = {
        name: None if target is None else splits[name][target].to_numpy(dtype=np.float64)
        for name in SPLIT_NAMES
    }
    return Targets(classes=(), y=y)


def _check_numeric(profile: DataProfile) -> None:
    if profile.target_kind in (None, "continuous"):
        return
    try:
        [float(v) for v in profile.class_counts]
    except ValueError:
        raise DataError(
            f"target column {profile.target!r} is not numeric, so it cannot be a regression "
            "target (use task.kind=tabular-classification for labels)"
        ) from None


def _evaluate_regressor(model: Any, X: Any, y: Any, n_classes: int) -> dict[str, Any]:
    import numpy as np

    return m.regression_metrics(y, np.asarray(model.predict(X)))


def _score_values(metric: str, y: Any, raw: np.ndarray, n_classes: int) -> float | None:
    return _as_float(m.regression_metrics(y, raw).get(metric))


def _mean_baseline(seed: int) -> Any:
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


def _float_batch_problems(y_batch: np.ndarray, n_classes: int) -> list[str]:
    import numpy as np

    if np.issubdtype(y_batch.dtype, np.floating):
        return []
    return [f"regression target dtype {y_batch.dtype}, expected float"]


def _nothing_unseen(split: str, y: Any) -> str | None:
    return None


def _value_outputs(model: Any, X: Any, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    import numpy as np

    return {PREDICTION_COLUMN: np.asarray(model.predict(X), dtype=float)}


REGRESSION = Objective(
    name="regression",
    labels=False,
    supervised=True,
    targets=_value_targets,
    check_target=_check_numeric,
    evaluate=_evaluate_regressor,
    score_raw=_score_values,
    metric_names=("rmse", "mae", "r2"),
    primary="rmse",
    baseline=_mean_baseline,
    baseline_name="training mean",
    evaluate_baseline=_evaluate_regressor,
    batch_problems=_float_batch_problems,
    unseen_problem=_nothing_unseen,
    outputs=_value_outputs,
)


# --- anomaly detection ----------------------------------------------------------------------


def _anomaly_targets(splits: Mapping[str, pd.DataFrame], target: str | None) -> Targets:
    """Labels are optional: when present, 1 marks an anomaly (used for evaluation only)."""
    import numpy as np

    y = {
        name: None
        if target is None
        else (splits[name][target].to_numpy() == ANOMALY_LABEL).astype(np.int64)
        for name in SPLIT_NAMES
    }
    return Targets(classes=(), y=y)


def _no_target_rule(profile: DataProfile) -> None:
    return None


def _anomaly_scores(model: Any, X: Any) -> np.ndarray:
    """Higher = more anomalous."""
    import numpy as np

    if hasattr(model, "score_samples"):
        return -np.asarray(model.score_samples(X))
    return np.asarray(model.predict_proba(X))[:, -1]


def _evaluate_detector(model: Any, X: Any, y: Any, n_classes: int) -> dict[str, Any]:
    return m.anomaly_metrics(y, _anomaly_scores(model, X))


def _score_anomaly(metric: str, y: Any, raw: np.ndarray, n_classes: int) -> float | None:
    return _as_float(m.anomaly_metrics(y, raw).get(metric))


def _uniform_baseline(seed: int) -> Any:
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="uniform", random_state=seed)


def _evaluate_constant_score(baseline: Any, X: Any, y: Any, n_classes: int) -> dict[str, Any]:
    import numpy as np

    # a constant score ranks nothing: ROC-AUC 0.5 and average precision = prevalence
    return m.anomaly_metrics(y, np.zeros(len(X)))


def _no_batch_rule(y_batch: np.ndarray, n_classes: int) -> list[str]:
    return []


def _anomaly_outputs(model: Any, X: Any, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    import numpy as np

    flagged = np.asarray(model.predict(X)).astype(int)  # trainwell's detectors: 1 = anomaly
    return {PREDICTION_COLUMN: flagged, SCORE_COLUMN: _anomaly_scores(model, X)}


ANOMALY = Objective(
    name="anomaly",
    labels=True,
    supervised=False,
    targets=_anomaly_targets,
    check_target=_no_target_rule,
    evaluate=_evaluate_detector,
    score_raw=_score_anomaly,
    metric_names=("roc_auc", "average_precision"),
    primary="roc_auc",
    baseline=_uniform_baseline,
    baseline_name="constant score",
    evaluate_baseline=_evaluate_constant_score,
    batch_problems=_no_batch_rule,
    unseen_problem=_nothing_unseen,
    outputs=_anomaly_outputs,
)

OBJECTIVES: dict[str, Objective] = {o.name: o for o in (CLASSIFICATION, REGRESSION, ANOMALY)}


def _as_float(value: Any) -> float | None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None
