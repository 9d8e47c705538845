"""Search spaces against the real config tree and real estimators; sampling with real Optuna."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from trainwell.config.schema import TrainingConfig
from trainwell.config.tune import ParamSpec, TuneConfig
from trainwell.errors import ConfigError
from trainwell.models.registry import get_spec
from trainwell.tune.space import (
    SEARCHABLE_TRAINING,
    apply_params,
    check_keys,
    check_model_params,
    check_values,
    estimator_parameters,
    space_hash,
    suggest,
    to_distributions,
    trial_config_hash,
)

from .helpers import experiment


def space_of(raw: dict[str, Any]) -> dict[str, ParamSpec]:
    space = TuneConfig.model_validate({"space": raw}).space
    assert space is not None
    return space


INT = {"type": "int", "low": 1, "high": 4}


def test_searchable_training_fields_exist() -> None:
    assert set(SEARCHABLE_TRAINING) <= set(TrainingConfig.model_fields)


def test_known_keys_pass() -> None:
    check_keys(
        space_of(
            {
                "model.params.num_leaves": INT,
                "training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2},
                "training.epochs": INT,
            }
        )
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("training.learnig_rate", "unknown parameter `training.learnig_rate`"),
        ("optimizer.lr", "unknown parameter `optimizer.lr`"),
        ("data.valid_size", "`data.valid_size` is a setting, not a hyperparameter"),
        ("training.seed", "`training.seed` is a setting, not a hyperparameter"),
        ("model.architecture", "`model.architecture` cannot be searched"),
        ("model.params.a.b", "only top-level estimator parameters"),
    ],
)
def test_bad_keys(key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        check_keys(space_of({key: INT}))


def test_unknown_estimator_parameter_suggests_the_close_ones() -> None:
    config = experiment("lightgbm")
    space = space_of({"model.params.num_leafs": INT})
    with pytest.raises(ConfigError) as info:
        check_model_params(space, get_spec("lightgbm"), "tabular-classification", 7)
    message = str(info.value)
    assert "unknown parameter `model.params.num_leafs`" in message
    assert "LGBMClassifier (lightgbm) has no parameter 'num_leafs'" in message
    assert "did you mean num_leaves" in message
    del config


def test_catboost_parameters_come_from_its_signature() -> None:
    # CatBoost's get_params() lists only what was set; its signature has the rest.
    names = estimator_parameters(get_spec("catboost").build("tabular-classification", 0, {}))
    assert {"depth", "l2_leaf_reg", "iterations", "learning_rate"} <= names
    check_model_params(
        space_of({"model.params.depth": INT}), get_spec("catboost"), "tabular-regression", 0
    )


def test_training_values_must_be_valid_config() -> None:
    config = experiment()
    check_values(
        space_of({"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1.0}}), config
    )
    too_high = space_of({"training.learning_rate": {"type": "float", "low": 1e-4, "high": 20.0}})
    with pytest.raises(ConfigError, match=r"`training\.learning_rate` reaches 20\.0"):
        check_values(too_high, config)
    bad_choice = space_of(
        {"training.optimizer": {"type": "categorical", "choices": ["adamw", "lion"]}}
    )
    with pytest.raises(ConfigError, match="reaches 'lion'"):
        check_values(bad_choice, config)


def test_apply_params_revalidates_the_whole_config() -> None:
    config = experiment(n_estimators=50)
    tuned = apply_params(config, {"model.params.num_leaves": 9, "training.epochs": 3})
    assert tuned.model.params == {"n_estimators": 50, "num_leaves": 9}
    assert tuned.training.epochs == 3
    assert config.model.params == {"n_estimators": 50}  # the original is untouched
    with pytest.raises(ConfigError, match=r"training\.batch_size"):
        apply_params(config, {"training.batch_size": 0})


CONDITIONAL = {
    "model.params.boosting_type": {"type": "categorical", "choices": ["gbdt", "dart"]},
    "model.params.drop_rate": {
        "type": "float",
        "low": 0.05,
        "high": 0.3,
        "condition": {"param": "model.params.boosting_type", "values": ["dart"]},
    },
    "model.params.num_leaves": {"type": "int", "low": 8, "high": 64, "log": True},
}


def test_suggest_samples_conditional_parameters_only_when_switched_on() -> None:
    space = space_of(CONDITIONAL)
    off = suggest(
        space,
        optuna.trial.FixedTrial(
            {"model.params.boosting_type": "gbdt", "model.params.num_leaves": 8}
        ),
    )
    assert off == {"model.params.boosting_type": "gbdt", "model.params.num_leaves": 8}
    on = suggest(
        space,
        optuna.trial.FixedTrial(
            {
                "model.params.boosting_type": "dart",
                "model.params.drop_rate": 0.1,
                "model.params.num_leaves": 16,
            }
        ),
    )
    assert on["model.params.drop_rate"] == 0.1


def test_suggest_with_a_seeded_study_is_reproducible() -> None:
    space = space_of(CONDITIONAL)

    def sample(seed: int) -> list[dict[str, Any]]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        out = []
        for _ in range(6):
            trial = study.ask()
            params = suggest(space, trial)
            study.tell(trial, float(params["model.params.num_leaves"]))
            out.append(params)
        return out

    first = sample(3)
    assert first == sample(3)
    assert first != sample(4)
    for params in first:
        assert ("model.params.drop_rate" in params) == (
            params["model.params.boosting_type"] == "dart"
        )


def test_to_distributions_round_trips_a_trial() -> None:
    space = space_of(CONDITIONAL)
    params = {
        "model.params.boosting_type": "dart",
        "model.params.drop_rate": 0.2,
        "model.params.num_leaves": 10,
    }
    distributions = to_distributions(space, params)
    assert set(distributions) == set(params)
    trial = optuna.trial.create_trial(params=params, distributions=distributions, value=1.0)
    assert trial.params == params


def test_hashes() -> None:
    space = space_of(CONDITIONAL)
    assert space_hash(space) == space_hash(space_of(dict(reversed(CONDITIONAL.items()))))
    assert space_hash(space) != space_hash(space_of({"model.params.num_leaves": INT}))
    base = experiment()
    untracked = base.model_copy(update={"name": base.name})
    assert trial_config_hash(base) == trial_config_hash(untracked)
    assert trial_config_hash(base) == trial_config_hash(experiment(tracking=True))
    assert trial_config_hash(base) != trial_config_hash(experiment(n_estimators=10))
