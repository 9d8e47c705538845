"""The Ray Tune backend: the same space and objective, Ray's ASHA scheduler, local or a cluster.

Sampling is Optuna's seeded TPE through Ray's ``OptunaSearch`` (the same define-by-run
:func:`~trainwell.tune.space.suggest`, so conditional parameters work identically); Ray's
``ASHAScheduler`` stops weak trials from the intermediate scores the objective reports. With no
address a local Ray runtime is started (and shut down afterwards); ``--address ray://head:10001``
joins a cluster whose workers have trainwell installed.

Ray's results are mirrored into the Optuna study in the SQLite storage afterwards, so resuming,
the ``n_trials`` budget, the results table, the plots and the best config are shared with the
Optuna backend. A resumed study warm-starts the sampler with the trials already in the study.

Note:
    Scripts that call this need an ``if __name__ == "__main__":`` guard (Ray starts worker
    processes), and should set ``RAY_USAGE_STATS_ENABLED=0`` offline.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trainwell.config.tune import TuneConfig
from trainwell.errors import TrainingError
from trainwell.tune.objective import Objective, run_trial
from trainwell.tune.optuna_backend import (
    ERROR_ATTR,
    VALID_METRICS_ATTR,
    OnTrial,
    count_finished,
    make_sampler,
    storage_path,
)
from trainwell.tune.space import SpaceSampler, to_distributions
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import optuna
    from ray.tune import ResultGrid

    from trainwell.config.tune import ParamSpec
    from trainwell.training.pipeline import RunSetup

logger = get_logger(__name__)

# Keys of the results a Ray trial reports.
SCORE_KEY = "score"
STEP_KEY = "step"
FINAL_KEY = "final"
METRIC_PREFIX = "valid_"
# A local runtime uses at most this many CPUs unless n_jobs asks for more.
LOCAL_MAX_CPUS = 2
CPUS_PER_TRIAL = 1
# ASHA rungs, in reports (one report every `report_every` iterations, plus the final one).
ASHA_GRACE_REPORTS = 2
ASHA_REDUCTION_FACTOR = 3
ASHA_MAX_REPORTS = 10_000
RAY_RESULTS_DIR = "ray"
QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AIR_NEW_OUTPUT": "0"}
# Ray logs each failed trial's full remote traceback here; trainwell records the error line in
# the study and logs it as `trial_failed`, so this logger is quieted while trials run.
RAY_TRIAL_ERROR_LOGGER = "ray.tune.execution.tune_controller"


class RayReporter:
    """Reports an intermediate score to Ray Tune; ASHA stops the trial by not resuming it."""

    def report(self, step: int, value: float) -> None:
        """``ray.tune.report`` with the score, the step and ``final=0``."""
        from ray import tune

        tune.report({SCORE_KEY: value, STEP_KEY: step, FINAL_KEY: 0})


def _fit_quietly(tuner: Any) -> Any:
    """Run the Tuner with Ray's per-trial error logger silenced (trainwell reports them)."""
    import ray
    from ray import tune as ray_tune

    trial_errors = logging.getLogger(RAY_TRIAL_ERROR_LOGGER)
    level = trial_errors.level
    trial_errors.setLevel(logging.CRITICAL)
    try:
        return tuner.fit()
    except (ray.exceptions.RayError, ray_tune.TuneError) as exc:
        raise TrainingError(f"Ray Tune failed: {exc}") from exc
    finally:
        trial_errors.setLevel(level)


def ray_trial(
    config: dict[str, Any],
    setup: RunSetup,
    objective: Objective,
    report_every: int,
) -> None:
    """The Ray trainable: one trial of the shared objective (runs in a Ray worker).

    Args:
        config: the trial's ``{dotted key: value}`` sampled by OptunaSearch.
    """
    from ray import tune

    outcome = run_trial(
        setup,
        config,
        objective,
        RayReporter(),
        report_every=report_every,
        threads=CPUS_PER_TRIAL,
    )
    last_step = outcome.history[-1][0] if outcome.history else 0
    tune.report(
        {
            SCORE_KEY: outcome.value,
            STEP_KEY: last_step,
            FINAL_KEY: 1,
            **{f"{METRIC_PREFIX}{k}": v for k, v in outcome.metrics.items()},
        }
    )


def _start_ray(address: str | None, n_jobs: int) -> bool:
    """Connect to ``address`` or start a local runtime; True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if address is not None:
        logger.info("ray_connecting", address=address)
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        cpus = min(os.cpu_count() or 1, max(LOCAL_MAX_CPUS, n_jobs))
        logger.info("ray_local_runtime", num_cpus=cpus)
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    return True


def _searcher(
    study: optuna.Study, space: Mapping[str, ParamSpec], objective: Objective, seed: int
) -> Any:
    """OptunaSearch over the space, warm-started with the study's finished trials."""
    import optuna
    from optuna.trial import TrialState
    from ray.tune.search.optuna import OptunaSearch

    memory = optuna.storages.InMemoryStorage()
    warm = optuna.create_study(
        storage=memory, study_name=study.study_name, direction=objective.direction
    )
    warm.add_trials(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    )
    return OptunaSearch(
        space=SpaceSampler(space),
        metric=SCORE_KEY,
        mode=objective.ray_mode,
        sampler=make_sampler(seed),
        storage=memory,
        study_name=study.study_name,
    )


def _scheduler(tune: TuneConfig, objective: Objective) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if tune.pruner == "none":
        return FIFOScheduler()  # type: ignore[no-untyped-call]
    return ASHAScheduler(
        time_attr="training_iteration",
        metric=SCORE_KEY,
        mode=objective.ray_mode,
        max_t=ASHA_MAX_REPORTS,
        grace_period=ASHA_GRACE_REPORTS,
        reduction_factor=ASHA_REDUCTION_FACTOR,
    )


def run_ray(
    study: optuna.Study,
    setup: RunSetup,
    space: Mapping[str, ParamSpec],
    objective: Objective,
    tune: TuneConfig,
    seed: int,
    on_trial: OnTrial,
) -> None:
    """Run the trials the study is missing on Ray, then record them in the study.

    Raises:
        TrainingError: Ray could not run the experiment.
    """
    remaining = tune.n_trials - count_finished(study)
    if remaining <= 0:
        logger.info("study_complete", study=study.study_name, n_trials=tune.n_trials)
        return
    import ray
    from ray import tune as ray_tune

    started_here = _start_ray(tune.address, tune.n_jobs)
    try:
        trainable = ray_tune.with_resources(
            ray_tune.with_parameters(
                ray_trial, setup=setup, objective=objective, report_every=tune.report_every
            ),
            {"cpu": CPUS_PER_TRIAL},
        )
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        tuner = ray_tune.Tuner(
            trainable,
            tune_config=ray_tune.TuneConfig(
                search_alg=_searcher(study, space, objective, seed),
                scheduler=_scheduler(tune, objective),
                num_samples=remaining,
                max_concurrent_trials=tune.n_jobs,
                time_budget_s=tune.timeout,
            ),
            run_config=ray_tune.RunConfig(
                name=f"{study.study_name}-{stamp}",
                storage_path=str(storage_path(tune).parent / RAY_RESULTS_DIR),
                verbose=0,
            ),
        )
        record_results(study, _fit_quietly(tuner), space, on_trial)
    finally:
        if started_here:
            ray.shutdown()


def record_results(
    study: optuna.Study,
    results: ResultGrid,
    space: Mapping[str, ParamSpec],
    on_trial: OnTrial,
) -> None:
    """Add each Ray trial to the Optuna study: complete (it reported its final score), pruned
    (ASHA stopped it) or failed (it raised)."""
    import optuna
    from optuna.trial import TrialState

    for index in range(len(results)):
        result = results[index]
        sampled = result.config or {}
        params = {key: sampled[key] for key in space if key in sampled}
        frame = result.metrics_dataframe
        rows: list[dict[str, Any]] = (
            [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
            if frame is not None
            else []
        )
        intermediate = {
            int(row[STEP_KEY]): float(row[SCORE_KEY]) for row in rows if not row.get(FINAL_KEY)
        }
        final = next((row for row in rows if row.get(FINAL_KEY)), None)
        user_attrs: dict[str, Any] = {"ray_trial_id": str((result.metrics or {}).get("trial_id"))}
        value: float | None = None
        if result.error is not None:
            state = TrialState.FAIL
            user_attrs[ERROR_ATTR] = _error_line(result.error)
            logger.warning("trial_failed", params=params, error=user_attrs[ERROR_ATTR])
        elif final is not None:
            state, value = TrialState.COMPLETE, float(final[SCORE_KEY])
            user_attrs[VALID_METRICS_ATTR] = {
                k.removeprefix(METRIC_PREFIX): float(v)
                for k, v in final.items()
                if k.startswith(METRIC_PREFIX)
            }
        else:
            state = TrialState.PRUNED
        if final is not None:
            user_attrs["duration_s"] = float(final.get("time_total_s", 0.0))
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=value,
                params=params,
                distributions=to_distributions(space, params),
                intermediate_values=intermediate,
                user_attrs=user_attrs,
            )
        )
        on_trial(study.get_trials(deepcopy=False)[-1])


def _error_line(error: BaseException) -> str:
    """The last non-empty line of a Ray error (the original exception, not Ray's wrapping)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
