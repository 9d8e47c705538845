"""Search spaces: validation against the config and the estimator, and sampling.

One define-by-run function, :func:`suggest`, samples a trial's parameters for both backends:
Optuna calls it with its own trial, and Ray Tune runs it through ``OptunaSearch``, so
conditional parameters behave identically on one machine and on a cluster. The sampled
``{dotted key: value}`` is applied to the experiment config with :func:`apply_params`, which
re-validates the whole config, so a trial can never train with a value `train` would refuse.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from trainwell.config.loader import format_validation_error
from trainwell.config.schema import ExperimentConfig
from trainwell.config.tune import (
    CategoricalParam,
    FloatParam,
    IntParam,
    ParamSpec,
    TuneConfig,
    search_order,
)
from trainwell.errors import ConfigError

if TYPE_CHECKING:
    import optuna

    from trainwell.models.registry import ArchitectureSpec

MODEL_PARAMS_PREFIX = "model.params."
TRAINING_PREFIX = "training."
# The training settings that are hyperparameters. Seeds, devices, checkpointing and resume
# change how a run executes, not what it learns; searching them would compare apples to pears.
SEARCHABLE_TRAINING: tuple[str, ...] = (
    "epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "optimizer",
    "scheduler",
    "warmup_steps",
    "grad_clip",
    "grad_accumulation",
    "early_stopping_patience",
)
CLOSE_MATCHES = 3
SHORT_HASH = 12


def resolve_space(tune: TuneConfig, architecture: str, task: str) -> dict[str, ParamSpec]:
    """The config's space, or the architecture's default space when the config has none."""
    if tune.space is not None:
        return dict(tune.space)
    from trainwell.tune.defaults import default_space

    return default_space(architecture, task)


def _config_has(dotted: str) -> bool:
    """True when ``dotted`` names a field of the ExperimentConfig tree."""
    model: type[BaseModel] = ExperimentConfig
    parts = dotted.split(".")
    for position, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        is_section = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if not is_section:
            return position == len(parts) - 1
        model = annotation  # type: ignore[assignment]
    return False


def check_keys(space: Mapping[str, ParamSpec]) -> None:
    """Every key must be ``model.params.<name>`` or a searchable ``training.<field>``.

    Raises:
        ConfigError: a key is unknown to the config tree, or names a setting that is not a
            hyperparameter (``data.valid_size``, ``training.seed``).
    """
    searchable = ", ".join(SEARCHABLE_TRAINING)
    for key in space:
        if key.startswith(MODEL_PARAMS_PREFIX):
            if "." in key.removeprefix(MODEL_PARAMS_PREFIX):
                raise ConfigError(
                    f"tune.space: `{key}`: only top-level estimator parameters can be searched "
                    "(model.params.<name>)"
                )
            continue
        if key.startswith(TRAINING_PREFIX) and key.removeprefix(TRAINING_PREFIX) in (
            SEARCHABLE_TRAINING
        ):
            continue
        if key == "model.architecture":
            raise ConfigError(
                "tune.space: `model.architecture` cannot be searched: run one study per "
                "architecture (each has its own default space)"
            )
        if _config_has(key):
            raise ConfigError(
                f"tune.space: `{key}` is a setting, not a hyperparameter: searchable keys are "
                f"model.params.<estimator parameter> and training.<{searchable}>"
            )
        raise ConfigError(
            f"tune.space: unknown parameter `{key}`: searchable keys are "
            f"model.params.<estimator parameter> and training.<{searchable}>"
        )


def estimator_parameters(estimator: Any) -> frozenset[str]:
    """The keyword arguments an estimator accepts: ``get_params()`` plus its signature.

    The signature covers libraries (CatBoost) whose ``get_params()`` lists only what was set.
    """
    names = set(estimator.get_params(deep=False))
    for name, parameter in inspect.signature(type(estimator).__init__).parameters.items():
        if name != "self" and parameter.kind not in (
            parameter.VAR_KEYWORD,
            parameter.VAR_POSITIONAL,
        ):
            names.add(name)
    return frozenset(names)


def check_model_params(
    space: Mapping[str, ParamSpec], spec: ArchitectureSpec, task: str, seed: int
) -> None:
    """Every ``model.params.<name>`` must be a parameter of the estimator the architecture builds.

    Raises:
        ConfigError: a name the estimator does not accept, with the closest valid names.
    """
    names = [
        k.removeprefix(MODEL_PARAMS_PREFIX) for k in space if k.startswith(MODEL_PARAMS_PREFIX)
    ]
    if not names:
        return
    from trainwell.tasks import get_task

    estimator = spec.build(get_task(task).objective.name, seed, {})
    accepted = estimator_parameters(estimator)
    if spec.loop:  # torch builders also take the Trainer's settings as parameters
        from trainwell.training.settings import TrainerSettings

        accepted |= frozenset(TrainerSettings().as_params())
    for name in names:
        if name not in accepted:
            close = difflib.get_close_matches(name, sorted(accepted), n=CLOSE_MATCHES)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"tune.space: unknown parameter `model.params.{name}`: "
                f"{type(estimator).__name__} ({spec.name}) has no parameter {name!r}{hint}"
            )


def _endpoints(spec: ParamSpec) -> tuple[Any, ...]:
    if isinstance(spec, CategoricalParam):
        return spec.choices
    return (spec.low, spec.high)


def check_values(space: Mapping[str, ParamSpec], config: ExperimentConfig) -> None:
    """The ends of every range and every choice of a ``training.*`` key must be valid config.

    Raises:
        ConfigError: e.g. ``training.learning_rate`` reaching 20 (the config allows up to 10).
    """
    for key, spec in space.items():
        if not key.startswith(TRAINING_PREFIX):
            continue
        for value in _endpoints(spec):
            try:
                apply_params(config, {key: value})
            except ConfigError as exc:
                raise ConfigError(
                    f"tune.space: `{key}` reaches {value!r}, which the config refuses: {exc}"
                ) from None


def validate_space(
    space: Mapping[str, ParamSpec],
    config: ExperimentConfig,
    spec: ArchitectureSpec,
    task: str,
) -> None:
    """All checks that need the config and the estimator (the rest run in ``TuneConfig``)."""
    check_keys(space)
    check_model_params(space, spec, task, config.training.seed)
    check_values(space, config)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def apply_params(config: ExperimentConfig, params: Mapping[str, Any]) -> ExperimentConfig:
    """A new, validated config with each ``dotted.key: value`` of ``params`` set.

    Raises:
        ConfigError: the result is not a valid experiment config.
    """
    tree = config.model_dump()
    for dotted, value in params.items():
        _set_dotted(tree, dotted, value)
    try:
        return ExperimentConfig.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "search space")) from exc


def _active(spec: ParamSpec, sampled: Mapping[str, Any]) -> bool:
    condition = spec.condition
    if condition is None:
        return True
    if condition.param not in sampled:
        return False
    value = sampled[condition.param]
    return any(type(value) is type(v) and value == v for v in condition.values)


def suggest(space: Mapping[str, ParamSpec], trial: optuna.Trial) -> dict[str, Any]:
    """Sample one trial's parameters, parents before the parameters they switch on.

    Works with an ``optuna.Trial`` and with the trial Ray's ``OptunaSearch`` passes in.
    """
    sampled: dict[str, Any] = {}
    for key in search_order(dict(space)):
        spec = space[key]
        if not _active(spec, sampled):
            continue
        if isinstance(spec, FloatParam):
            sampled[key] = trial.suggest_float(
                key, spec.low, spec.high, log=spec.log, step=spec.step
            )
        elif isinstance(spec, IntParam):
            sampled[key] = trial.suggest_int(key, spec.low, spec.high, step=spec.step, log=spec.log)
        else:
            sampled[key] = trial.suggest_categorical(key, list(spec.choices))
    return sampled


class SpaceSampler:
    """:func:`suggest` bound to a space: a picklable define-by-run function for ``OptunaSearch``."""

    def __init__(self, space: Mapping[str, ParamSpec]) -> None:
        self.space = dict(space)

    def __call__(self, trial: optuna.Trial) -> None:
        """Sample into ``trial`` (OptunaSearch reads the values it captured)."""
        suggest(self.space, trial)


def to_distributions(
    space: Mapping[str, ParamSpec], params: Mapping[str, Any]
) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distributions of the parameters present in ``params`` (a trial's active ones)."""
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, BaseDistribution] = {}
    for key in params:
        spec = space[key]
        if isinstance(spec, FloatParam):
            out[key] = FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            out[key] = IntDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
        else:
            out[key] = CategoricalDistribution(list(spec.choices))
    return out


def space_hash(space: Mapping[str, ParamSpec]) -> str:
    """A short sha256 of the space's canonical JSON: equal spaces hash equally."""
    canonical = json.dumps(
        {key: spec.model_dump(mode="json") for key, spec in space.items()},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:SHORT_HASH]


def trial_config_hash(config: ExperimentConfig) -> str:
    """A short sha256 of what decides a trial's score: data, task, model and training.

    Tracking, output and checklist settings are left out, so a study can be resumed with
    tracking switched off or bundles written elsewhere.
    """
    scored = config.model_dump(mode="json", include={"data", "task", "model", "training"})
    canonical = json.dumps(scored, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:SHORT_HASH]
