"""The `tune` section: what `trainwell tune` searches, how it scores trials, where it stores them.

A search space maps a dotted config key to a parameter spec. Keys are the hyperparameters of the
experiment: ``model.params.<estimator parameter>`` or ``training.<loop setting>``::

    tune:
      metric: balanced_accuracy         # default: the task's primary metric
      n_trials: 40
      pruner: median                    # median | hyperband | none
      space:
        model.params.learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
        model.params.num_leaves: {type: int, low: 8, high: 128, log: true}
        model.params.boosting_type: {type: categorical, choices: [gbdt, dart]}
        model.params.drop_rate:                      # only searched when dart is chosen
          {type: float, low: 0.05, high: 0.3, condition: {param: model.params.boosting_type,
                                                          values: [dart]}}

With no ``space``, the architecture's default space is searched (``trainwell.tune.defaults``).
Checks that need the rest of the config or the estimator (is ``model.params.foo`` a parameter of
LightGBM?) run in ``trainwell.tune.space``; this module stays import-light (pydantic only) and
does not import ``schema.py``, so ``ExperimentConfig`` can hold a ``tune: TuneConfig`` field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_N_TRIALS = 20
DEFAULT_PRUNER_STARTUP_TRIALS = 5
DEFAULT_REPORT_EVERY = 25
# relative to the working directory, beside the other run outputs; `tune.output_dir` overrides
DEFAULT_OUTPUT_DIR = Path("outputs") / "tune"  # noqa: TW102
STUDY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Choice = str | int | float | bool | None
Pruner = Literal["median", "hyperband", "none"]
Backend = Literal["optuna", "ray"]
Direction = Literal["auto", "maximize", "minimize"]


class _Section(BaseModel):
    """Immutable, unknown keys are errors (the same contract as every section in schema.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class Condition(_Section):
    """Search a parameter only when a categorical parameter of the same space is in ``values``."""

    param: str = Field(description="The dotted key of a categorical parameter in the space.")
    values: tuple[Choice, ...] = Field(
        min_length=1, description="The parent's choices that switch this parameter on."
    )


class FloatParam(_Section):
    """A real number in [low, high]; ``log: true`` samples it on a log scale (low > 0)."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0.0, description="Discretisation step (not with log).")
    condition: Condition | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FloatParam:
        _check_range(self.low, self.high, self.log)
        if self.step is not None:
            if self.log:
                raise ValueError("`step` and `log: true` cannot be combined")
            if self.step > self.high - self.low:
                raise ValueError(
                    f"step ({self.step}) is larger than the range high - low "
                    f"({self.high - self.low})"
                )
        return self


class IntParam(_Section):
    """An integer in [low, high]; ``log: true`` samples it on a log scale (low >= 1)."""

    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(1, ge=1, description="Spacing between values (must be 1 with log).")
    condition: Condition | None = None

    @model_validator(mode="after")
    def _consistent(self) -> IntParam:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("`step` must be 1 with `log: true`")
        return self


class CategoricalParam(_Section):
    """One of a list of values (strings, numbers, booleans or null)."""

    type: Literal["categorical"]
    choices: tuple[Choice, ...]
    condition: Condition | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CategoricalParam:
        if not self.choices:
            raise ValueError("`choices` is empty: list at least one value")
        seen: list[Choice] = []
        for choice in self.choices:
            if any(_same(choice, other) for other in seen):
                raise ValueError(f"`choices` lists {choice!r} twice")
            seen.append(choice)
        return self


ParamSpec = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


def _same(a: Choice, b: Choice) -> bool:
    """Equal and of the same type (``1 == True`` in Python, but not as a choice)."""
    return type(a) is type(b) and a == b


def _check_range(low: float, high: float, log: bool) -> None:
    if low > high:
        raise ValueError(f"low ({low}) is above high ({high})")
    if low == high:
        raise ValueError(
            f"low and high are both {low}: a fixed value belongs in the config, not the space"
        )
    if log and low <= 0:
        raise ValueError(f"`log: true` needs low > 0 (got low={low})")


class TuneConfig(_Section):
    """`trainwell tune`: the search space, the objective, the budget and the storage."""

    space: dict[str, ParamSpec] | None = Field(
        None,
        description="Dotted config key -> parameter spec. Omit for the architecture's default.",
    )
    metric: str | None = Field(
        None, description="Validation metric to optimise; default: the task's primary metric."
    )
    direction: Direction = Field(
        "auto", description="maximize/minimize; `auto` follows the metric."
    )
    n_trials: int = Field(
        DEFAULT_N_TRIALS, ge=1, description="Trials in the study, resumed ones included."
    )
    timeout: float | None = Field(
        None, gt=0.0, description="Seconds after which no new trial starts."
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, description="Sampler seed; default: training.seed."
    )
    pruner: Pruner = Field("median", description="median | hyperband | none (Ray: ASHA or FIFO).")
    pruner_startup_trials: int = Field(
        DEFAULT_PRUNER_STARTUP_TRIALS, ge=0, description="Trials finished before pruning starts."
    )
    report_every: int = Field(
        DEFAULT_REPORT_EVERY,
        ge=1,
        description="Boosting iterations (trees) between intermediate scores used for pruning.",
    )
    n_jobs: int = Field(1, ge=1, description="Trials run in parallel (capped at the CPU count).")
    backend: Backend = Field("optuna", description="optuna (one machine) or ray (Ray Tune).")
    address: str | None = Field(
        None, description="Ray cluster address (ray://head:10001); default: a local Ray runtime."
    )
    storage: Path | None = Field(
        None, description="SQLite file holding the studies; default <cwd>/mlruns/optuna.db."
    )
    study_name: str | None = Field(
        None,
        pattern=STUDY_NAME_PATTERN,
        description="Resume this study when it exists; default: a new timestamped name.",
    )
    output_dir: Path = Field(
        DEFAULT_OUTPUT_DIR, description="Best config, plots and trial table go under here."
    )

    @model_validator(mode="after")
    def _valid_space(self) -> TuneConfig:
        if self.space is None:
            return self
        if not self.space:
            raise ValueError(
                "`space` is empty: list parameters to search, or remove `space` to search the "
                "architecture's default space"
            )
        for key, spec in self.space.items():
            parts = key.split(".")
            if len(parts) < 2 or not all(parts):
                raise ValueError(
                    f"`{key}` is not a dotted config key (e.g. model.params.learning_rate)"
                )
            if spec.condition is not None:
                _check_condition(key, spec.condition, self.space)
        search_order(self.space)  # raises on a cycle of conditions
        return self


def _check_condition(key: str, condition: Condition, space: dict[str, ParamSpec]) -> None:
    parent = space.get(condition.param)
    if condition.param == key:
        raise ValueError(f"`{key}`: a parameter cannot be conditioned on itself")
    if parent is None:
        raise ValueError(
            f"`{key}`: condition names `{condition.param}`, which is not in the space "
            f"(space keys: {', '.join(sorted(space))})"
        )
    if not isinstance(parent, CategoricalParam):
        raise ValueError(
            f"`{key}`: condition parameter `{condition.param}` must be categorical "
            f"(it is {parent.type})"
        )
    for value in condition.values:
        if not any(_same(value, choice) for choice in parent.choices):
            raise ValueError(
                f"`{key}`: condition value {value!r} is not one of `{condition.param}`'s "
                f"choices {list(parent.choices)}"
            )


def search_order(space: dict[str, ParamSpec]) -> list[str]:
    """Keys ordered so every condition's parameter comes before the parameters it switches on.

    Raises:
        ValueError: the conditions form a cycle.
    """
    ordered: list[str] = []
    placed: set[str] = set()
    remaining = dict(space)
    while remaining:
        ready = [
            key
            for key, spec in remaining.items()
            if spec.condition is None or spec.condition.param in placed
        ]
        if not ready:
            raise ValueError(f"the conditions of {', '.join(sorted(remaining))} form a cycle")
        for key in ready:
            ordered.append(key)
            placed.add(key)
            del remaining[key]
    return ordered
