"""`trainwell tune`, in the order things happen.

1. seeds, data (train and validation only: the test split is never loaded or is emptied),
   architecture, preprocessing fitted on train — once, shared by every trial;
2. what to optimise (metric, direction) and what to search (the config's space or the
   architecture's default), validated against the config and the estimator;
3. the study: SQLite storage, TPE seeded from the run, the pruner; an existing study of the same
   name must belong to the same config;
4. MLflow: the study's parent run;
5. trials, on Optuna or Ray, each a nested MLflow run;
6. the best trial's config as YAML, the trial table and the plots;
7. the best config trained once by `train` (checklist, fit, the one test evaluation, bundle);
8. MLflow: best value, test metrics, outputs; the train run nested under the study.

Usage::

    config, tune = load_config(...), TuneConfig(n_trials=40)
    result = run_tuning(config, tune)
    print(result.best_value, result.bundle_path)
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.config.tune import TuneConfig
from trainwell.errors import ConfigError, TrainingError
from trainwell.tune.objective import Objective, resolve_objective
from trainwell.tune.optuna_backend import (
    StudyIdentity,
    count_finished,
    open_study,
    run_optuna,
    storage_path,
    trial_summary,
)
from trainwell.tune.space import apply_params, resolve_space, space_hash, trial_config_hash
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import optuna

    from trainwell.config.schema import ExperimentConfig
    from trainwell.config.tune import ParamSpec
    from trainwell.training.pipeline import RunSetup
    from trainwell.tune.optuna_backend import OnTrial
    from trainwell.tune.tracking import StudyTracker

logger = get_logger(__name__)

SLUG_MAX_LENGTH = 40


@dataclass(frozen=True)
class PreparedStudy:
    """Steps 1-3: everything the trials share."""

    setup: RunSetup
    objective: Objective
    space: dict[str, ParamSpec]
    study: optuna.Study
    resumed: bool
    seed: int
    tune: TuneConfig


@dataclass(frozen=True)
class TuneResult:
    """What a finished `tune` reports (``as_dict`` is the ``--json`` summary)."""

    study: str
    storage: Path
    backend: str
    resumed: bool
    metric: str
    direction: str
    n_trials: int
    counts: dict[str, int]
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    best_config_path: Path
    bundle_path: Path | None
    test_metrics: dict[str, float]
    output_dir: Path
    plots: tuple[Path, ...]
    trials: tuple[dict[str, Any], ...]
    parent_run_id: str | None
    final_run_id: str | None
    tracking_uri: str | None
    duration_s: float
    architecture: str

    def top_trials(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` best complete trials, then the others by number."""
        complete = [t for t in self.trials if t["state"] == "complete"]
        complete.sort(key=lambda t: t["value"], reverse=self.direction == "maximize")
        rest = [t for t in self.trials if t["state"] != "complete"]
        return (complete + rest)[:n]

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary."""
        return {
            "study": self.study,
            "storage": str(self.storage),
            "backend": self.backend,
            "resumed": self.resumed,
            "architecture": self.architecture,
            "metric": self.metric,
            "direction": self.direction,
            "n_trials": self.n_trials,
            "n_complete": self.counts["complete"],
            "n_pruned": self.counts["pruned"],
            "n_failed": self.counts["failed"],
            "best_trial": self.best_trial,
            "best_value": self.best_value,
            "best_params": self.best_params,
            "best_config_path": str(self.best_config_path),
            "bundle_path": str(self.bundle_path) if self.bundle_path is not None else None,
            "test_metrics": self.test_metrics,
            "output_dir": str(self.output_dir),
            "plots": [str(p) for p in self.plots],
            "parent_run_id": self.parent_run_id,
            "final_run_id": self.final_run_id,
            "tracking_uri": self.tracking_uri,
            "duration_s": round(self.duration_s, 3),
        }


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return slug[:SLUG_MAX_LENGTH] or "study"


def default_study_name(config: ExperimentConfig, architecture: str) -> str:
    """``<name or dataset>-<architecture>-<UTC time>``: a new study per run unless named."""
    source = config.data.path or config.data.train_path or "data"
    base = config.name if config.name != "experiment" else Path(source).stem.split(":")[-1]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{_slug(base)}-{architecture}-{stamp}"


def _cap_parallelism(tune: TuneConfig) -> TuneConfig:
    """Parallel trials stay within this machine's cores (a Ray cluster decides for itself)."""
    cores = os.cpu_count() or 1
    if tune.n_jobs <= cores or tune.address is not None:
        return tune
    logger.warning("n_jobs_capped", requested=tune.n_jobs, cores=cores)
    return tune.model_copy(update={"n_jobs": cores})


def prepare_study(config: ExperimentConfig, tune: TuneConfig) -> PreparedStudy:
    """Steps 1-3. Reads the training and validation data only.

    Raises:
        ConfigError: a bad space, metric or direction; a study name from another config.
    """
    from trainwell.training.pipeline import refuse_unseen_labels, set_up_run
    from trainwell.tune.space import validate_space

    tune = _cap_parallelism(tune)
    # 1. seeds, data without the test split, architecture, preprocessing
    setup = set_up_run(config, include_test=False)
    refuse_unseen_labels(setup)  # no trial could score labels training never saw
    task, spec = setup.prepared.task, setup.spec
    # 2. the objective and the space
    objective = resolve_objective(tune, task)
    if setup.features.y["valid"] is None:
        raise ConfigError(
            f"tuning needs labelled validation rows to score {objective.metric}: "
            "set data.target to the label column"
        )
    space = resolve_space(tune, spec.name, task)
    validate_space(space, config, spec, task)
    # 3. the study
    seed = tune.seed if tune.seed is not None else config.training.seed
    name = tune.study_name or default_study_name(config, spec.name)
    identity = StudyIdentity(
        config_hash=trial_config_hash(config),
        space_hash=space_hash(space),
        metric=objective.metric,
        direction=objective.direction,
        architecture=spec.name,
    )
    study, resumed = open_study(tune, name, identity, seed)
    logger.info(
        "study_opened",
        study=name,
        resumed=resumed,
        finished=count_finished(study),
        n_trials=tune.n_trials,
        architecture=spec.name,
        metric=objective.metric,
    )
    return PreparedStudy(setup, objective, space, study, resumed, seed, tune)


def run_trials(prepared: PreparedStudy, on_trial: OnTrial) -> None:
    """Step 5 on the configured backend."""
    tune = prepared.tune
    if tune.backend == "ray":
        from trainwell.tune.ray_backend import run_ray

        run_ray(
            prepared.study,
            prepared.setup,
            prepared.space,
            prepared.objective,
            tune,
            prepared.seed,
            on_trial,
        )
    else:
        run_optuna(
            prepared.study, prepared.setup, prepared.space, prepared.objective, tune, on_trial
        )


def _study_params(prepared: PreparedStudy) -> dict[str, str]:
    import json

    tune = prepared.tune
    return {
        "tune.backend": tune.backend,
        "tune.metric": prepared.objective.metric,
        "tune.direction": prepared.objective.direction,
        "tune.pruner": tune.pruner,
        "tune.sampler": "tpe",
        "tune.sampler_seed": str(prepared.seed),
        "tune.architecture": prepared.setup.spec.name,
        "tune.space": json.dumps(
            {k: v.model_dump(mode="json", exclude_none=True) for k, v in prepared.space.items()},
            sort_keys=True,
        ),
    }


def _counts(study: optuna.Study) -> dict[str, int]:
    from optuna.trial import TrialState

    states = {
        "complete": TrialState.COMPLETE,
        "pruned": TrialState.PRUNED,
        "failed": TrialState.FAIL,
    }
    return {
        name: len(study.get_trials(deepcopy=False, states=(state,)))
        for name, state in states.items()
    }


def _best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        first_error = next((t.user_attrs.get("error") for t in failed if t.user_attrs), None)
        why = f"; the first failure: {first_error}" if first_error else ""
        raise TrainingError(
            f"no trial of study {study.study_name!r} completed (all were pruned or failed){why}"
        )
    return study.best_trial


def run_tuning(config: ExperimentConfig, tune: TuneConfig) -> TuneResult:
    """Run the whole `tune` job: study, trials, best config, final training on the best config.

    Raises:
        TrainwellError: any subclass, with a message that names the problem.
    """
    from trainwell.training.pipeline import run_training
    from trainwell.tune.report import (
        BEST_CONFIG_FILE,
        TRIALS_FILE,
        write_best_config,
        write_plots,
        write_trials,
    )
    from trainwell.tune.tracking import StudyTracker

    started = time.perf_counter()
    # 1-3. setup without test data, objective, space, study
    prepared = prepare_study(config, tune)
    study, objective, spec = prepared.study, prepared.objective, prepared.setup.spec
    # 4. the parent MLflow run
    tracker: StudyTracker | None = StudyTracker.open(config, study, _study_params(prepared))
    status = "FAILED"
    try:
        if tracker is not None:
            tracker.set_tags(
                {
                    "trainwell.study": study.study_name,
                    "trainwell.storage": str(storage_path(prepared.tune)),
                    "trainwell.tune.n_trials": str(prepared.tune.n_trials),
                }
            )

        def on_trial(trial: optuna.trial.FrozenTrial) -> None:
            if tracker is not None:
                tracker.log_trial(trial, objective.metric)

        # 5. trials
        run_trials(prepared, on_trial)
        best = _best_trial(study)
        assert best.value is not None  # a complete trial has a value
        best_value = float(best.value)
        # 6. best config, trial table, plots
        output_dir = (prepared.tune.output_dir / study.study_name).resolve()
        output_dir.mkdir(parents=True, exist_ok=True)
        best_config = apply_params(config, {"model.architecture": spec.name, **best.params})
        best_config_path = write_best_config(
            best_config,
            output_dir / BEST_CONFIG_FILE,
            [
                f"trainwell tune: trial {best.number} of study {study.study_name}, "
                f"{objective.metric} = {best_value:.6g} on validation",
                f"train it: trainwell train {output_dir / BEST_CONFIG_FILE}",
            ],
        )
        write_trials(study, output_dir / TRIALS_FILE)
        plots = write_plots(study, output_dir, prepared.seed)
        # 7. the best config, trained once and evaluated once on test
        logger.info("final_training", trial=best.number, config=str(best_config_path))
        trained = run_training(best_config)
        test_metrics = {
            k: float(v) for k, v in trained.metrics["test"].items() if isinstance(v, float)
        }
        counts = _counts(study)
        # 8. tracking
        if tracker is not None:
            tracker.log_metrics(
                {
                    f"best/{objective.metric}": best_value,
                    **{f"test/{k}": v for k, v in test_metrics.items()},
                    **{f"trials/{k}": float(v) for k, v in counts.items()},
                }
            )
            tracker.set_tags(
                {
                    "trainwell.best_trial": str(best.number),
                    "trainwell.bundle": str(trained.bundle_path),
                    "trainwell.final_run_id": str(trained.run_id),
                }
            )
            tracker.log_artifacts(output_dir, "tune")
            if trained.run_id is not None:
                tracker.adopt(trained.run_id)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if tracker is not None:
            tracker.finish(status)
    return TuneResult(
        study=study.study_name,
        storage=storage_path(prepared.tune),
        backend=prepared.tune.backend,
        resumed=prepared.resumed,
        metric=objective.metric,
        direction=objective.direction,
        n_trials=count_finished(study),
        counts=counts,
        best_trial=best.number,
        best_value=best_value,
        best_params=dict(best.params),
        best_config_path=best_config_path,
        bundle_path=trained.bundle_path.resolve(),
        test_metrics=test_metrics,
        output_dir=output_dir,
        plots=tuple(plots),
        trials=tuple(trial_summary(t) for t in study.get_trials(deepcopy=False)),
        parent_run_id=tracker.run_id if tracker is not None else None,
        final_run_id=trained.run_id,
        tracking_uri=tracker.parent.uri if tracker is not None else None,
        duration_s=time.perf_counter() - started,
        architecture=spec.name,
    )
