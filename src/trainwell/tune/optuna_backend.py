"""The Optuna backend: a study in an embedded SQLite file, TPE seeded from the run, pruning.

A study remembers what it was created for (the config and search-space hashes, the metric and
its direction) as user attributes, so resuming it with ``--study NAME`` under a different config
is refused instead of mixing incomparable scores. ``n_trials`` is the size of the whole study:
a resumed study runs only the trials it is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.config.tune import TuneConfig
from trainwell.errors import ConfigError, DataError, ModelError, TrainingError, TrainwellError
from trainwell.tune.objective import Direction, Objective, run_trial, threads_per_trial
from trainwell.tune.space import suggest
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import optuna

    from trainwell.config.tune import ParamSpec
    from trainwell.training.pipeline import RunSetup

logger = get_logger(__name__)

# default storage, relative to the working directory like ./mlruns; `tune.storage` overrides it
DEFAULT_STORAGE = Path("mlruns") / "optuna.db"  # noqa: TW102
# Study user attributes: what the study was created for, and where it is tracked.
IDENTITY_ATTRS = ("trainwell.config_hash", "trainwell.space_hash", "trainwell.metric")
ARCHITECTURE_ATTR = "trainwell.architecture"
# Errors that fail one trial (recorded, the study goes on); anything else stops the study.
TRIAL_ERRORS: tuple[type[TrainwellError], ...] = (ConfigError, DataError, ModelError, TrainingError)
HYPERBAND_REDUCTION_FACTOR = 3
# The median pruner waits this many reports into a trial: the first scores of a slow learner
# (small learning rate) say little about where it ends.
PRUNER_WARMUP_REPORTS = 2
VALID_METRICS_ATTR = "valid_metrics"
ERROR_ATTR = "error"
OnTrial = Callable[["optuna.trial.FrozenTrial"], None]


@dataclass(frozen=True)
class StudyIdentity:
    """What a study is for; a resumed study must match it."""

    config_hash: str
    space_hash: str
    metric: str
    direction: Direction
    architecture: str

    def attrs(self) -> dict[str, str]:
        """The study user attributes that record this identity."""
        return {
            "trainwell.config_hash": self.config_hash,
            "trainwell.space_hash": self.space_hash,
            "trainwell.metric": self.metric,
            ARCHITECTURE_ATTR: self.architecture,
        }


def storage_path(tune: TuneConfig) -> Path:
    """The SQLite file, absolute (relative paths are taken from the working directory)."""
    return (tune.storage or DEFAULT_STORAGE).expanduser().resolve()


def storage_url(path: Path) -> str:
    """SQLAlchemy URL of an absolute SQLite path."""
    return f"sqlite:///{path}"


def make_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """TPE, seeded: the same config and seed sample the same trials (with n_jobs=1)."""
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(tune: TuneConfig) -> optuna.pruners.BasePruner:
    """The configured pruner; ``pruner_startup_trials`` finish before any pruning."""
    import optuna

    if tune.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=tune.pruner_startup_trials,
            n_warmup_steps=PRUNER_WARMUP_REPORTS * tune.report_every,
        )
    if tune.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=tune.report_every, reduction_factor=HYPERBAND_REDUCTION_FACTOR
        )
    return optuna.pruners.NopPruner()


def open_study(
    tune: TuneConfig, name: str, identity: StudyIdentity, seed: int
) -> tuple[optuna.Study, bool]:
    """Create the study, or load it when ``name`` exists in the storage.

    Returns:
        The study and whether it was resumed.

    Raises:
        ConfigError: the existing study was created for another config, space or metric.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trainwell logs trials itself
    path = storage_path(tune)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = storage_url(path)
    sampler, pruner = make_sampler(seed), make_pruner(tune)
    exists = name in optuna.study.get_all_study_names(storage=url)
    if exists:
        study = optuna.load_study(study_name=name, storage=url, sampler=sampler, pruner=pruner)
        _check_identity(study, identity, path)
        return study, True
    study = optuna.create_study(
        study_name=name,
        storage=url,
        sampler=sampler,
        pruner=pruner,
        direction=identity.direction,
    )
    for key, value in identity.attrs().items():
        study.set_user_attr(key, value)
    return study, False


def _check_identity(study: optuna.Study, identity: StudyIdentity, path: Path) -> None:
    stored, wanted = study.user_attrs, identity.attrs()
    pairs = [
        (key.removeprefix("trainwell."), stored.get(key), wanted[key]) for key in IDENTITY_ATTRS
    ]
    pairs.append(("direction", study.direction.name.lower(), identity.direction))
    differing = [
        f"{what}: study has {old!r}, now {new!r}" for what, old, new in pairs if old != new
    ]
    if differing:
        raise ConfigError(
            f"study {study.study_name!r} in {path} belongs to a different config "
            f"({'; '.join(differing)}); resume it with the config and overrides it was started "
            "with, or choose a new --study name"
        )


def finished_states() -> tuple[optuna.trial.TrialState, ...]:
    """States that count toward ``n_trials``: complete, pruned and failed."""
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def count_finished(study: optuna.Study) -> int:
    """Trials of the study that count toward ``n_trials``."""
    return len(study.get_trials(deepcopy=False, states=finished_states()))


class OptunaReporter:
    """Reports to an Optuna trial and prunes when the study's pruner says so."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def report(self, step: int, value: float) -> None:
        """``trial.report``; raises ``optuna.TrialPruned`` when the pruner stops the trial."""
        import optuna

        self.trial.report(value, step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} ({value:.6g})")


def run_optuna(
    study: optuna.Study,
    setup: RunSetup,
    space: Mapping[str, ParamSpec],
    objective: Objective,
    tune: TuneConfig,
    on_trial: OnTrial,
) -> None:
    """Run the trials the study is missing, ``tune.n_jobs`` at a time, until the budget or timeout.

    Args:
        on_trial: called with every finished trial (complete, pruned or failed), e.g. to log
            it as a nested MLflow run.
    """
    from optuna.study import MaxTrialsCallback

    remaining = tune.n_trials - count_finished(study)
    if remaining <= 0:
        logger.info("study_complete", study=study.study_name, n_trials=tune.n_trials)
        return
    threads = threads_per_trial(tune.n_jobs) if tune.n_jobs > 1 else None

    def trial_objective(trial: optuna.Trial) -> float:
        params = suggest(space, trial)
        try:
            outcome = run_trial(
                setup,
                params,
                objective,
                OptunaReporter(trial),
                report_every=tune.report_every,
                threads=threads,
            )
        except TRIAL_ERRORS as exc:
            trial.set_user_attr(ERROR_ATTR, str(exc))
            logger.warning("trial_failed", trial=trial.number, params=params, error=str(exc))
            raise
        trial.set_user_attr(VALID_METRICS_ATTR, outcome.metrics)
        return outcome.value

    def after_trial(_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        logger.info(
            "trial_finished",
            trial=trial.number,
            state=trial.state.name,
            value=trial.value,
            params=trial.params,
        )
        on_trial(trial)

    study.optimize(
        trial_objective,
        n_trials=remaining,
        timeout=tune.timeout,
        n_jobs=tune.n_jobs,
        catch=TRIAL_ERRORS,
        callbacks=[MaxTrialsCallback(tune.n_trials, states=finished_states()), after_trial],
        gc_after_trial=False,
        show_progress_bar=False,
    )


def trial_summary(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """One row of the results table / JSON for a finished trial."""
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "value": trial.value,
        "params": dict(trial.params),
        "duration_s": trial.user_attrs.get("duration_s", duration),
        "error": trial.user_attrs.get(ERROR_ATTR),
    }
