"""One trial, for either backend: apply the sampled parameters, fit, report, score on validation.

Intermediate scores feed the pruner (Optuna's median/Hyperband, Ray's ASHA). They are the tuned
metric itself, on the validation split, every ``report_every`` boosting iterations, so steps line
up across trials:

* LightGBM and XGBoost: an iteration callback scores the partial booster;
* scikit-learn HistGradientBoosting and random forests: ``warm_start`` fits in chunks;
* torch models: the Trainer's per-epoch validation metric (:func:`epoch_pruning_callback`);
* the rest (linear models, CatBoost, IsolationForest): one score at the end, no pruning.

A backend passes a :class:`Reporter`; a reporter that decides to stop raises (Optuna's
``TrialPruned``) or never returns (Ray stops the trial). The test split is never touched: the
backends hand in a ``RunSetup`` built with ``include_test=False``.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from trainwell.config.tune import TuneConfig
from trainwell.errors import ConfigError, ModelError, TrainingError
from trainwell.tune.space import apply_params
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

    from trainwell.training.pipeline import RunSetup

logger = get_logger(__name__)

Direction = Literal["maximize", "minimize"]

# The validation metrics `evaluate` produces per task; tests/tune/test_objective.py checks this
# table against real evaluate() output for every task.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "tabular-classification": ("accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"),
    "tabular-regression": ("mae", "r2", "rmse"),
    "anomaly-detection": ("average_precision", "roc_auc"),
}
# Estimator parameter that sets its thread count: with n parallel trials each gets cores / n.
THREAD_PARAMS: dict[str, str] = {
    "sklearn-rf": "n_jobs",
    "isolation-forest": "n_jobs",
    "xgboost": "n_jobs",
    "lightgbm": "n_jobs",
    "catboost": "thread_count",
}
# Architectures fitted in warm-start chunks, and the parameter that counts their iterations.
STAGED_PARAMS: dict[str, str] = {"sklearn-hgb": "max_iter", "sklearn-rf": "n_estimators"}
# Library errors a bad hyperparameter raises at fit time: (module, class name).
FIT_ERRORS: dict[str, tuple[str, str]] = {
    "lightgbm": ("lightgbm.basic", "LightGBMError"),
    "xgboost": ("xgboost.core", "XGBoostError"),
    "catboost": ("catboost", "CatBoostError"),
}


class Reporter(Protocol):
    """Receives a trial's intermediate validation score; may stop the trial."""

    def report(self, step: int, value: float) -> None:
        """Record ``value`` at ``step`` (iterations or epochs); raise to stop the trial."""


@dataclass(frozen=True)
class Objective:
    """What a study optimises."""

    metric: str
    direction: Direction

    @property
    def ray_mode(self) -> Literal["max", "min"]:
        """Ray Tune's spelling of the direction."""
        return "max" if self.direction == "maximize" else "min"


@dataclass
class TrialOutcome:
    """A finished trial: its validation metrics, the tuned value and the reported history."""

    metrics: dict[str, float]
    value: float
    history: list[tuple[int, float]] = field(default_factory=list)


def resolve_objective(tune: TuneConfig, task: str) -> Objective:
    """The metric and direction, checked against what the task produces.

    Raises:
        ConfigError: the task does not produce the metric, or the direction contradicts it.
    """
    from trainwell.evaluation.metrics import HIGHER_IS_BETTER, PRIMARY_METRIC

    available = TASK_METRICS.get(task, ())
    metric = tune.metric or PRIMARY_METRIC[task]
    if metric not in available:
        raise ConfigError(
            f"tune.metric {metric!r} is not a metric {task} produces "
            f"(choose one of: {', '.join(available)})"
        )
    natural: Direction = "maximize" if HIGHER_IS_BETTER[metric] else "minimize"
    if tune.direction not in ("auto", natural):
        raise ConfigError(
            f"tune.direction {tune.direction!r} contradicts {metric} "
            f"({'higher' if natural == 'maximize' else 'lower'} is better): "
            f"use {natural} or auto"
        )
    return Objective(metric, natural)


def threads_per_trial(n_parallel: int) -> int:
    """CPU cores each of ``n_parallel`` concurrent trials may use (at least one)."""
    return max(1, (os.cpu_count() or 1) // max(1, n_parallel))


class _Recorder:
    """Keeps every reported score, then passes it on (the reporter may raise to prune)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.history: list[tuple[int, float]] = []

    def report(self, step: int, value: float | None) -> None:
        if value is None or not math.isfinite(value):
            return
        self.history.append((step, value))
        self.reporter.report(step, value)


def run_trial(
    setup: RunSetup,
    params: Mapping[str, Any],
    objective: Objective,
    reporter: Reporter,
    *,
    report_every: int,
    threads: int | None = None,
) -> TrialOutcome:
    """Fit the setup's architecture with ``params`` applied and score it on validation.

    Args:
        setup: from ``set_up_run(config, include_test=False)``; shared by every trial (only
            model and training settings are searched, so data and features never change).
        params: ``{dotted key: value}`` sampled for this trial.
        reporter: receives intermediate scores (see the module docstring).
        report_every: boosting iterations between intermediate scores.
        threads: cores for the estimator when it has a thread setting and the config sets
            none (None: the library's default).

    Raises:
        ConfigError: the parameters make an invalid config.
        ModelError: the estimator refused the parameters.
        TrainingError: the metric is undefined on the validation split.
    """
    from trainwell.training.pipeline import evaluate

    config = apply_params(setup.config, params)
    trial_setup = dataclasses.replace(setup, config=config)
    recorder = _Recorder(reporter)
    model = _fit(trial_setup, objective, recorder, report_every, threads)
    metrics = {
        k: float(v) for k, v in evaluate(trial_setup, model, "valid").items() if _is_number(v)
    }
    value = metrics.get(objective.metric)
    if value is None or not math.isfinite(value):
        raise TrainingError(
            f"{objective.metric} is undefined on the validation split (too few rows or a "
            "single class); choose another tune.metric or a larger data.valid_size"
        )
    return TrialOutcome(metrics=metrics, value=value, history=recorder.history)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _fit(
    setup: RunSetup,
    objective: Objective,
    recorder: _Recorder,
    report_every: int,
    threads: int | None,
) -> Any:
    spec, metric = setup.spec, objective.metric
    if spec.family == "torch":
        from trainwell.training.pipeline import fit_model

        callback = epoch_pruning_callback(recorder, metric, objective.direction)
        return fit_model(setup, callbacks=[callback])
    config, task = setup.config, setup.prepared.task
    params = dict(config.model.params)
    thread_param = THREAD_PARAMS.get(spec.name)
    if threads is not None and thread_param is not None and thread_param not in params:
        params[thread_param] = threads
    model = spec.build(task, config.training.seed, params)
    X, y = setup.features.X, setup.features.y
    score = _raw_scorer(setup, metric)
    errors: tuple[type[Exception], ...] = (ValueError, TypeError, *_library_errors(spec.name))
    try:
        if spec.name in STAGED_PARAMS:
            _fit_staged(model, STAGED_PARAMS[spec.name], setup, score, recorder, report_every)
        elif spec.name == "lightgbm":
            model.fit(
                X["train"],
                y["train"],
                callbacks=[_lightgbm_callback(setup, score, recorder, report_every)],
            )
        elif spec.name == "xgboost":
            model.set_params(callbacks=[_xgboost_callback(setup, score, recorder, report_every)])
            model.fit(X["train"], y["train"], verbose=False)
        elif task == "anomaly-detection":
            model.fit(X["train"])
        else:
            model.fit(X["train"], y["train"])
    except errors as exc:
        raise ModelError(f"{spec.name} failed to fit with {params}: {exc}") from exc
    return model


def _library_errors(architecture: str) -> tuple[type[Exception], ...]:
    where = FIT_ERRORS.get(architecture)
    if where is None:
        return ()
    module, name = where
    error: type[Exception] = getattr(importlib.import_module(module), name)
    return (error,)


def _raw_scorer(setup: RunSetup, metric: str) -> Callable[[np.ndarray], float | None]:
    """Score raw validation output (class probabilities or values) with ``metric`` alone.

    Intermediate scores are computed often, so only the tuned metric is computed, with the
    definitions of ``trainwell.evaluation.metrics`` (a test checks they agree).
    """
    import numpy as np

    from trainwell.evaluation.metrics import regression_metrics

    task = setup.prepared.task
    y_valid = setup.features.y["valid"]
    n_classes = len(setup.features.classes)

    def score(raw: np.ndarray) -> float | None:
        if task != "tabular-classification":
            return _as_float(regression_metrics(y_valid, raw).get(metric))
        proba = raw if raw.ndim == 2 else np.column_stack([1.0 - raw, raw])  # binary: P(class 1)
        return classification_score(metric, y_valid, proba, n_classes)

    return score


def classification_score(
    metric: str, y_true: np.ndarray, proba: np.ndarray, n_classes: int
) -> float | None:
    """One metric of ``classification_metrics``, without computing the others."""
    import numpy as np
    from sklearn import metrics

    from trainwell.evaluation.metrics import BINARY_CLASS_COUNT, PROBA_FLOOR

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
    assert metric == "roc_auc", metric  # resolve_objective admits only TASK_METRICS
    present = np.unique(y_true)
    if len(present) < BINARY_CLASS_COUNT:
        return None
    if n_classes == BINARY_CLASS_COUNT:
        return float(metrics.roc_auc_score(y_true, proba[:, 1]))
    if len(present) < n_classes:
        return None
    normalised = proba / proba.sum(axis=1, keepdims=True)
    return float(metrics.roc_auc_score(y_true, normalised, multi_class="ovr", labels=labels))


def _fit_staged(
    model: Any,
    param: str,
    setup: RunSetup,
    score: Callable[[np.ndarray], float | None],
    recorder: _Recorder,
    report_every: int,
) -> None:
    """Grow an ensemble ``report_every`` iterations at a time with ``warm_start``."""
    import numpy as np

    X, y = setup.features.X, setup.features.y
    is_classifier = setup.prepared.task == "tabular-classification"
    total = int(model.get_params()[param])
    model.set_params(warm_start=True)
    for stop in [*range(report_every, total, report_every), total]:
        model.set_params(**{param: stop})
        model.fit(X["train"], y["train"])
        predict = model.predict_proba if is_classifier else model.predict
        recorder.report(stop, score(np.asarray(predict(X["valid"]))))
        if getattr(model, "n_iter_", stop) < stop:  # HistGradientBoosting stopped early
            break


def _lightgbm_callback(
    setup: RunSetup,
    score: Callable[[np.ndarray], float | None],
    recorder: _Recorder,
    report_every: int,
) -> Callable[[Any], None]:
    import numpy as np

    X_valid = setup.features.X["valid"]

    def callback(env: Any) -> None:
        done = env.iteration + 1
        if done % report_every == 0:
            raw = np.asarray(env.model.predict(X_valid, num_iteration=done))
            recorder.report(done, score(raw))

    return callback


def _xgboost_callback(
    setup: RunSetup,
    score: Callable[[np.ndarray], float | None],
    recorder: _Recorder,
    report_every: int,
) -> Any:
    import numpy as np
    import xgboost

    valid = xgboost.DMatrix(setup.features.X["valid"])

    class Pruning(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            done = epoch + 1
            if done % report_every == 0:
                raw = np.asarray(model.predict(valid, iteration_range=(0, done)))
                recorder.report(done, score(raw))
            return False  # never stop here: the reporter raises to prune

    return Pruning()


def epoch_pruning_callback(reporter: Reporter, metric: str, direction: Direction) -> Any:
    """A Trainer callback that reports each epoch's validation score to the tuner.

    The Trainer's epoch metrics hold ``val/loss`` and whatever its ``metrics_fn`` computes
    (``val/accuracy`` for classifiers). The tuned metric is reported when the Trainer has it;
    otherwise the validation loss stands in, negated when the study maximises, so every trial of
    a study reports the same quantity in the study's direction (which is all a pruner compares).
    """
    from trainwell.training.callbacks import Callback

    class EpochPruning(Callback):
        def on_epoch_end(self, trainer: Any, metrics: Mapping[str, float]) -> None:
            epoch = int(metrics.get("epoch", trainer.state.epoch + 1))
            if f"val/{metric}" in metrics:
                reporter.report(epoch, float(metrics[f"val/{metric}"]))
            elif "val/loss" in metrics:
                loss = float(metrics["val/loss"])
                reporter.report(epoch, -loss if direction == "maximize" else loss)

    return EpochPruning()
