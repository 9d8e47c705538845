"""The `tune` section: parameter specs, conditions, and every way a space can be contradictory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from trainwell.config.loader import resolve_config
from trainwell.config.tune import (
    DEFAULT_N_TRIALS,
    CategoricalParam,
    FloatParam,
    IntParam,
    TuneConfig,
    search_order,
)

LR = "model.params.learning_rate"


def tune_with(space: dict[str, Any]) -> TuneConfig:
    return TuneConfig.model_validate({"space": space})


def error_of(space: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        tune_with(space)
    return str(info.value)


def test_defaults() -> None:
    tune = TuneConfig()
    assert tune.space is None  # the architecture's default space
    assert tune.metric is None  # the task's primary metric
    assert tune.direction == "auto"
    assert tune.n_trials == DEFAULT_N_TRIALS == 20
    assert tune.timeout is None
    assert tune.seed is None  # training.seed
    assert tune.pruner == "median"
    assert tune.n_jobs == 1
    assert tune.backend == "optuna"
    assert tune.storage is None
    assert tune.study_name is None
    assert tune.output_dir == Path("outputs/tune")


def test_each_parameter_type_parses() -> None:
    tune = tune_with(
        {
            LR: {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "model.params.subsample": {"type": "float", "low": 0.5, "high": 1.0, "step": 0.1},
            "model.params.num_leaves": {"type": "int", "low": 8, "high": 128, "log": True},
            "model.params.max_depth": {"type": "int", "low": 2, "high": 10, "step": 2},
            "model.params.boosting_type": {"type": "categorical", "choices": ["gbdt", "dart"]},
        }
    )
    assert tune.space is not None
    assert isinstance(tune.space[LR], FloatParam) and tune.space[LR].log
    assert isinstance(tune.space["model.params.num_leaves"], IntParam)
    choices = tune.space["model.params.boosting_type"]
    assert isinstance(choices, CategoricalParam) and choices.choices == ("gbdt", "dart")


def test_choices_keep_their_types() -> None:
    tune = tune_with(
        {"model.params.max_depth": {"type": "categorical", "choices": [None, 4, True]}}
    )
    assert tune.space is not None
    spec = tune.space["model.params.max_depth"]
    assert isinstance(spec, CategoricalParam)
    assert [type(c) for c in spec.choices] == [type(None), int, bool]


def test_frozen_and_unknown_keys() -> None:
    tune = TuneConfig()
    with pytest.raises(ValidationError):
        tune.n_trials = 3  # type: ignore[misc]
    with pytest.raises(ValidationError, match="trials"):
        TuneConfig.model_validate({"trials": 3})
    with pytest.raises(ValidationError, match="lo"):
        tune_with({LR: {"type": "float", "lo": 0.1, "high": 0.3}})


def test_empty_space_is_an_error_not_the_default() -> None:
    assert "`space` is empty" in error_of({})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "float", "low": 0.3, "high": 0.01}, "low (0.3) is above high (0.01)"),
        ({"type": "int", "low": 10, "high": 2}, "low (10) is above high (2)"),
        ({"type": "float", "low": 0.1, "high": 0.1}, "a fixed value belongs in the config"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "needs low > 0 (got low=0.0)"),
        ({"type": "int", "low": -1, "high": 8, "log": True}, "needs low > 0 (got low=-1)"),
        (
            {"type": "float", "low": 0.1, "high": 1.0, "log": True, "step": 0.1},
            "cannot be combined",
        ),
        ({"type": "float", "low": 0.1, "high": 0.2, "step": 0.5}, "larger than the range"),
        (
            {"type": "int", "low": 1, "high": 8, "log": True, "step": 2},
            "must be 1 with `log: true`",
        ),
        ({"type": "categorical", "choices": []}, "`choices` is empty"),
        ({"type": "categorical", "choices": ["a", "a"]}, "lists 'a' twice"),
        ({"type": "uniform", "low": 0, "high": 1}, "float"),  # the tags pydantic expects
    ],
)
def test_contradictory_parameters(spec: dict[str, Any], message: str) -> None:
    assert message in error_of({LR: spec})


def test_one_and_true_are_different_choices() -> None:
    tune = tune_with({"model.params.x": {"type": "categorical", "choices": [1, True]}})
    assert tune.space is not None


def test_keys_must_be_dotted() -> None:
    assert "not a dotted config key" in error_of(
        {"learning_rate": {"type": "int", "low": 1, "high": 2}}
    )
    assert "not a dotted config key" in error_of({"model..x": {"type": "int", "low": 1, "high": 2}})


CATEGORY = {"type": "categorical", "choices": ["gbdt", "dart"]}
DROP = {"type": "float", "low": 0.05, "high": 0.3}


def conditional(condition: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "model.params.boosting_type": parent or CATEGORY,
        "model.params.drop_rate": {**DROP, "condition": condition},
    }


def test_conditional_parameter() -> None:
    tune = tune_with(conditional({"param": "model.params.boosting_type", "values": ["dart"]}))
    assert tune.space is not None
    condition = tune.space["model.params.drop_rate"].condition
    assert condition is not None and condition.values == ("dart",)


@pytest.mark.parametrize(
    ("condition", "parent", "message"),
    [
        ({"param": "model.params.nope", "values": ["dart"]}, None, "which is not in the space"),
        ({"param": "model.params.boosting_type", "values": ["goss"]}, None, "not one of"),
        ({"param": "model.params.boosting_type", "values": []}, None, "at least 1"),
        (
            {"param": "model.params.boosting_type", "values": [1]},
            {"type": "int", "low": 1, "high": 3},
            "must be categorical",
        ),
        ({"param": "model.params.drop_rate", "values": [0.1]}, None, "conditioned on itself"),
    ],
)
def test_bad_conditions(
    condition: dict[str, Any], parent: dict[str, Any] | None, message: str
) -> None:
    assert message in error_of(conditional(condition, parent))


def test_condition_cycle() -> None:
    a = {
        "type": "categorical",
        "choices": ["x", "y"],
        "condition": {"param": "m.b", "values": ["x"]},
    }
    b = {
        "type": "categorical",
        "choices": ["x", "y"],
        "condition": {"param": "m.a", "values": ["x"]},
    }
    assert "form a cycle" in error_of({"m.a": a, "m.b": b})


def test_search_order_puts_parents_first() -> None:
    tune = tune_with(
        {
            "model.params.drop_rate": {
                **DROP,
                "condition": {"param": "model.params.boosting_type", "values": ["dart"]},
            },
            "model.params.boosting_type": CATEGORY,
            LR: {"type": "float", "low": 0.01, "high": 0.3},
        }
    )
    assert tune.space is not None
    order = search_order(tune.space)
    assert order.index("model.params.boosting_type") < order.index("model.params.drop_rate")
    assert set(order) == set(tune.space)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_trials": 0}, "n_trials"),
        ({"timeout": 0}, "timeout"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"pruner": "asha"}, "pruner"),
        ({"backend": "dask"}, "backend"),
        ({"direction": "up"}, "direction"),
        ({"study_name": "../escape"}, "study_name"),
        ({"report_every": 0}, "report_every"),
    ],
)
def test_bad_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TuneConfig.model_validate(settings)


def test_the_documented_tune_section_is_valid(repo_root: Path) -> None:
    text = (repo_root / "docs" / "tune.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "tune:" in b]
    assert blocks
    for block in blocks:
        raw = yaml.safe_load(block)
        TuneConfig.model_validate(raw.pop("tune"))
        resolve_config(raw, environ={})
