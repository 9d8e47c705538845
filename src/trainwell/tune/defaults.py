"""The search space `trainwell tune` uses when the config declares none: one literal table.

Keyed by architecture name (``trainwell.models.registry.ARCHITECTURES``), then by task, each
space written exactly as it would be under ``tune.space`` in a YAML file. Ranges follow common
practice for each library and stay small enough that a 20-trial study on a few thousand rows
takes a minute or two on a laptop. ``tests/tune/test_defaults.py`` validates every entry, checks
each key against the estimator's ``get_params()`` and runs one trial per entry.

To add an architecture, add one row here.
"""

from __future__ import annotations

from typing import Any

from trainwell.config.tune import ParamSpec, TuneConfig
from trainwell.errors import ConfigError
from trainwell.models.vision_entries import IMAGE_ARCHITECTURES, TIMM_PREFIX

SpaceTable = dict[str, dict[str, Any]]

_HGB: SpaceTable = {
    "model.params.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "model.params.max_iter": {"type": "int", "low": 50, "high": 500, "log": True},
    "model.params.max_leaf_nodes": {"type": "int", "low": 8, "high": 128, "log": True},
    "model.params.min_samples_leaf": {"type": "int", "low": 5, "high": 100, "log": True},
    "model.params.l2_regularization": {"type": "float", "low": 1e-6, "high": 10.0, "log": True},
}
_RANDOM_FOREST: SpaceTable = {
    "model.params.n_estimators": {"type": "int", "low": 50, "high": 400, "log": True},
    "model.params.max_depth": {"type": "categorical", "choices": [None, 4, 8, 16, 32]},
    "model.params.max_features": {"type": "categorical", "choices": ["sqrt", "log2", 0.5, 1.0]},
    "model.params.min_samples_leaf": {"type": "int", "low": 1, "high": 20, "log": True},
}
_XGBOOST: SpaceTable = {
    "model.params.n_estimators": {"type": "int", "low": 50, "high": 500, "log": True},
    "model.params.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "model.params.max_depth": {"type": "int", "low": 2, "high": 10},
    "model.params.min_child_weight": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
    "model.params.subsample": {"type": "float", "low": 0.5, "high": 1.0},
    "model.params.colsample_bytree": {"type": "float", "low": 0.5, "high": 1.0},
    "model.params.reg_lambda": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
}
_LIGHTGBM: SpaceTable = {
    "model.params.n_estimators": {"type": "int", "low": 50, "high": 500, "log": True},
    "model.params.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "model.params.num_leaves": {"type": "int", "low": 8, "high": 128, "log": True},
    "model.params.min_child_samples": {"type": "int", "low": 5, "high": 100, "log": True},
    "model.params.colsample_bytree": {"type": "float", "low": 0.5, "high": 1.0},
    "model.params.reg_lambda": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
}
_CATBOOST: SpaceTable = {
    "model.params.iterations": {"type": "int", "low": 100, "high": 500, "log": True},
    "model.params.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "model.params.depth": {"type": "int", "low": 3, "high": 8},
    "model.params.l2_leaf_reg": {"type": "float", "low": 1.0, "high": 10.0, "log": True},
}
# Torch models: the loop's settings (model.params of each net join when their builders land).
_TORCH: SpaceTable = {
    "training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "training.weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "training.batch_size": {"type": "categorical", "choices": [64, 128, 256, 512]},
}

# Image classifiers: the optimiser, regularisation and augmentation strength (the share of the
# image a random crop keeps, RandAugment's magnitude), the knobs fine-tuning recipes tune first.
_IMAGE: SpaceTable = {
    "training.learning_rate": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
    "training.weight_decay": {"type": "float", "low": 1e-6, "high": 5e-2, "log": True},
    "model.params.crop_scale": {"type": "float", "low": 0.3, "high": 1.0},
    "model.params.auto_augment": {"type": "categorical", "choices": ["none", "randaugment"]},
    "model.params.magnitude": {"type": "int", "low": 3, "high": 15},
    "model.params.label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
}

DEFAULT_SPACES: dict[str, dict[str, SpaceTable]] = {
    "sklearn-hgb": {"tabular-classification": _HGB, "tabular-regression": _HGB},
    "sklearn-rf": {"tabular-classification": _RANDOM_FOREST, "tabular-regression": _RANDOM_FOREST},
    "sklearn-linear": {
        # LogisticRegression: inverse regularisation strength.
        "tabular-classification": {
            "model.params.C": {"type": "float", "low": 1e-3, "high": 100.0, "log": True},
        },
        # Ridge: regularisation strength.
        "tabular-regression": {
            "model.params.alpha": {"type": "float", "low": 1e-3, "high": 100.0, "log": True},
        },
    },
    "xgboost": {"tabular-classification": _XGBOOST, "tabular-regression": _XGBOOST},
    "lightgbm": {"tabular-classification": _LIGHTGBM, "tabular-regression": _LIGHTGBM},
    "catboost": {"tabular-classification": _CATBOOST, "tabular-regression": _CATBOOST},
    "isolation-forest": {
        "anomaly-detection": {
            "model.params.n_estimators": {"type": "int", "low": 50, "high": 400, "log": True},
            "model.params.max_samples": {"type": "float", "low": 0.2, "high": 1.0},
            "model.params.max_features": {"type": "float", "low": 0.5, "high": 1.0},
        },
    },
    "mlp": {"tabular-classification": _TORCH, "tabular-regression": _TORCH},
    "ft-transformer": {"tabular-classification": _TORCH, "tabular-regression": _TORCH},
    "autoencoder": {"anomaly-detection": _TORCH},
    **{name: {"image-classification": _IMAGE} for name in IMAGE_ARCHITECTURES},
}


def default_space(architecture: str, task: str) -> dict[str, ParamSpec]:
    """The validated default space for ``architecture`` on ``task``.

    Raises:
        ConfigError: no default space is written for this architecture and task.
    """
    # a `timm:<model>` passthrough row tunes like the named image rows
    passthrough = {"image-classification": _IMAGE} if architecture.startswith(TIMM_PREFIX) else {}
    by_task = DEFAULT_SPACES.get(architecture, passthrough)
    if task not in by_task:
        raise ConfigError(
            f"no default search space for {architecture} on {task}: write one under "
            "`tune.space` (see docs/tune.md)"
        )
    space = TuneConfig.model_validate({"space": by_task[task]}).space
    assert space is not None  # a non-empty table always validates to a space
    return space
