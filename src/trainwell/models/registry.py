"""Every architecture trainwell can train, in one literal table.

To add an architecture, add one row to ``ARCHITECTURES``; ``tests/models/test_registry.py`` builds,
fits, saves and reloads every row. No decorators, no import-time registration: grep finds users.

Builders take ``(task, seed, params)`` and return an unfitted estimator with the scikit-learn
verbs (``fit``/``predict``/``predict_proba``). Savers write safe formats only (skops, native GBM
files, safetensors) and return the file names they wrote; loaders read them back.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from trainwell.errors import ModelError
from trainwell.models import gbm, sklearn_models, torch_entries

Family = Literal["sklearn", "gbm", "torch"]
Builder = Callable[[str, int, dict[str, Any]], Any]
Saver = Callable[[Any, Path], list[str]]
Loader = Callable[[Path], Any]

TABULAR = frozenset({"tabular-classification", "tabular-regression"})
ANOMALY = frozenset({"anomaly-detection"})


@dataclass(frozen=True)
class ArchitectureSpec:
    """One row of the table.

    Attributes:
        name: what users write in ``model.architecture``.
        library: the library that implements it, as the playbook names it.
        tasks: task kinds it serves.
        family: sklearn / gbm / torch (decides encoding and the training path).
        extra: the pip extra that installs it (None: core install).
        requires: import names that must be importable for it to be available.
        encoding: how categorical columns are encoded for it.
        scale: whether numeric columns are standardised for it.
        build, save, load: see the module docstring.
        summary: one line for `advise` and `--help`.
    """

    name: str
    library: str
    tasks: frozenset[str]
    family: Family
    extra: str | None
    requires: tuple[str, ...]
    encoding: Literal["ordinal", "onehot"]
    scale: bool
    build: Builder
    save: Saver
    load: Loader
    summary: str


ARCHITECTURES: dict[str, ArchitectureSpec] = {
    "sklearn-hgb": ArchitectureSpec(
        name="sklearn-hgb",
        library="scikit-learn",
        tasks=TABULAR,
        family="sklearn",
        extra=None,
        requires=("sklearn",),
        encoding="ordinal",
        scale=False,
        build=sklearn_models.build_hgb,
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="HistGradientBoosting: fast histogram GBM; the default for tabular data",
    ),
    "sklearn-rf": ArchitectureSpec(
        name="sklearn-rf",
        library="scikit-learn",
        tasks=TABULAR,
        family="sklearn",
        extra=None,
        requires=("sklearn",),
        encoding="ordinal",
        scale=False,
        build=sklearn_models.build_random_forest,
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="Random forest: robust, few knobs",
    ),
    "sklearn-linear": ArchitectureSpec(
        name="sklearn-linear",
        library="scikit-learn",
        tasks=TABULAR,
        family="sklearn",
        extra=None,
        requires=("sklearn",),
        encoding="onehot",
        scale=True,
        build=sklearn_models.build_linear,
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="Logistic regression / ridge: interpretable linear baseline",
    ),
    "xgboost": ArchitectureSpec(
        name="xgboost",
        library="XGBoost",
        tasks=TABULAR,
        family="gbm",
        extra="tabular",
        requires=("xgboost",),
        encoding="ordinal",
        scale=False,
        build=gbm.build_xgboost,
        save=gbm.save_xgboost,
        load=gbm.load_xgboost,
        summary="XGBoost: the general-purpose GBM for large tabular data",
    ),
    "lightgbm": ArchitectureSpec(
        name="lightgbm",
        library="LightGBM",
        tasks=TABULAR,
        family="gbm",
        extra="tabular",
        requires=("lightgbm",),
        encoding="ordinal",
        scale=False,
        build=gbm.build_lightgbm,
        save=gbm.save_lightgbm,
        load=gbm.load_lightgbm,
        summary="LightGBM: leaf-wise GBM, fastest on large data",
    ),
    "catboost": ArchitectureSpec(
        name="catboost",
        library="CatBoost",
        tasks=TABULAR,
        family="gbm",
        extra="tabular",
        requires=("catboost",),
        encoding="ordinal",
        scale=False,
        build=gbm.build_catboost,
        save=gbm.save_catboost,
        load=gbm.load_catboost,
        summary="CatBoost: ordered boosting, strongest when categoricals dominate",
    ),
    "isolation-forest": ArchitectureSpec(
        name="isolation-forest",
        library="scikit-learn",
        tasks=ANOMALY,
        family="sklearn",
        extra=None,
        requires=("sklearn",),
        encoding="ordinal",
        scale=False,
        build=sklearn_models.build_isolation_forest,
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="IsolationForest: the simple anomaly detector",
    ),
    "mlp": ArchitectureSpec(
        name="mlp",
        library="PyTorch",
        tasks=TABULAR,
        family="torch",
        extra=None,
        requires=("torch",),
        encoding="onehot",
        scale=True,
        build=torch_entries.build_mlp,
        save=torch_entries.save,
        load=torch_entries.load,
        summary="Tabular MLP (PyTorch) trained by trainwell's production loop",
    ),
    "ft-transformer": ArchitectureSpec(
        name="ft-transformer",
        library="PyTorch + rtdl",
        tasks=TABULAR,
        family="torch",
        extra="tabular",
        requires=("torch", "rtdl_revisiting_models"),
        encoding="onehot",
        scale=True,
        build=torch_entries.build_ft_transformer,
        save=torch_entries.save,
        load=torch_entries.load,
        summary="FT-Transformer: attention over feature tokens, the deep tabular option",
    ),
    "autoencoder": ArchitectureSpec(
        name="autoencoder",
        library="PyTorch",
        tasks=ANOMALY,
        family="torch",
        extra=None,
        requires=("torch",),
        encoding="onehot",
        scale=True,
        build=torch_entries.build_autoencoder,
        save=torch_entries.save,
        load=torch_entries.load,
        summary="AutoEncoder: reconstruction error as the anomaly score (deep option)",
    ),
}


def get_spec(name: str) -> ArchitectureSpec:
    """The row for ``name``.

    Raises:
        ModelError: the name is unknown (the message lists the known names).
    """
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelError(f"unknown architecture {name!r} (known: auto, {known})") from None


def is_available(name: str) -> bool:
    """True when ``name`` is registered and its packages import in this install."""
    spec = ARCHITECTURES.get(name)
    if spec is None:
        return False
    return all(importlib.util.find_spec(module) is not None for module in spec.requires)


def require_available(spec: ArchitectureSpec) -> None:
    """Raise a ModelError naming the extra to install when ``spec`` is not importable."""
    if not is_available(spec.name):
        hint = f"pip install 'trainwell[{spec.extra}]'" if spec.extra else "reinstall trainwell"
        raise ModelError(f"architecture {spec.name!r} is not installed here: {hint}")


def architectures_for(task: str) -> list[str]:
    """Names of the architectures that serve ``task``."""
    return sorted(name for name, spec in ARCHITECTURES.items() if task in spec.tasks)
