"""One trial, for either backend: apply the sampled parameters, fit, report, score on validation.

Intermediate scores feed the pruner (Optuna's median/Hyperband, Ray's ASHA). They are the tuned
metric itself, on the validation split, every ``report_every`` boosting iterations, so steps line
up across trials:

* LightGBM and XGBoost: an iteration callback scores the partial booster;
* scikit-learn HistGradientBoosting and random forests: ``warm_start`` fits in chunks;
* torch models: the Trainer's per-epoch validation metric (:func:`epoch_pruning_callback`);
* the rest (linear models, CatBoost, IsolationForest): one score at the end, no pruning.

Which of these an architecture does is its registry row's ``fit`` function
(``trainwell.models.fitting``); trials fit through the one fit path, ``trainwell.training.fit``.
A backend passes a :class:`Reporter`; a reporter that decides to stop raises (Optuna's
``TrialPruned``) or never returns (Ray stops the trial). The test split is never touched: the
backends hand in a ``RunSetup`` built with ``include_test=False``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from trainwell.config.tune import TuneConfig
from trainwell.errors import ConfigError, TrainingError
from trainwell.tune.space import apply_params
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

    from trainwell.training.pipeline import RunSetup

logger = get_logger(__name__)

Direction = Literal["maximize", "minimize"]


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
    from trainwell.evaluation.metrics import HIGHER_IS_BETTER
    from trainwell.tasks import get_task

    row = get_task(task).objective
    available = sorted(row.metric_names)
    metric = tune.metric or row.primary
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


@dataclass(frozen=True)
class _ValidationProgress:
    """Scores a staged fit's raw validation output with the tuned metric alone."""

    every: int
    score: Callable[[np.ndarray], float | None]
    recorder: _Recorder

    def report(self, step: int, raw: np.ndarray) -> None:
        self.recorder.report(step, self.score(raw))


def _fit(
    setup: RunSetup,
    objective: Objective,
    recorder: _Recorder,
    report_every: int,
    threads: int | None,
) -> Any:
    from trainwell.training import fit

    spec, config, learned = setup.spec, setup.config, setup.objective
    X, y = setup.features.X, setup.features.y
    if spec.loop:
        callback = epoch_pruning_callback(recorder, objective.metric, objective.direction)
        model = fit.build_model(spec, learned, config, callbacks=[callback])
        return fit.fit_model(spec, model, learned, X, y)
    params = dict(config.model.params)
    overrides: dict[str, Any] = {}
    if threads is not None and spec.threads_param is not None and spec.threads_param not in params:
        overrides[spec.threads_param] = threads
    model = fit.build_model(spec, learned, config, overrides=overrides)
    y_valid, n_classes = y["valid"], len(setup.features.classes)

    def score(raw: np.ndarray) -> float | None:
        return learned.score_raw(objective.metric, y_valid, raw, n_classes)

    progress = _ValidationProgress(report_every, score, recorder)
    return fit.fit_model(
        spec,
        model,
        learned,
        X,
        y,
        progress=progress,
        context=f" with {params | overrides}",
        categorical=setup.categorical.positions,
    )


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
