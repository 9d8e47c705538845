"""Every architecture trainwell can train, in one literal table.

To add an architecture, add one row to ``ARCHITECTURES``; ``tests/models/test_registry.py`` builds,
fits, saves and reloads every row. No decorators, no import-time registration: grep finds users.

Builders take ``(objective, seed, params)``, where ``objective`` is the objective's name
(``classification``, ``regression``, ``anomaly``: ``trainwell.evaluation.objectives``), and return
an unfitted estimator with the scikit-learn verbs (``fit``/``predict``/``predict_proba``;
detectors ``score_samples`` and ``predict`` with 1 = anomaly). ``fit`` is how the one fit path
(``trainwell.training.fit``) fits it. Savers write safe formats only (skops, native GBM files,
safetensors) and return the file names they wrote; loaders read them back.

``native_categorical`` says whether a row's library takes the ordinal-coded categorical columns
as categories (``FitInputs.categorical``, up to the cardinality it returns); ``refit_params``
adjusts the builder parameters when `train` refits the evaluated model on every split
(``training.refit_full``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from trainwell.errors import ModelError
from trainwell.models import gbm, sklearn_models, torch_entries, vision_entries
from trainwell.models.fitting import (
    CategoryLimit,
    FitFn,
    fit_estimator,
    fit_in_stages,
    fit_with_eval_set,
    unlimited_categories,
)

Builder = Callable[[str, int, dict[str, Any]], Any]
Saver = Callable[[Any, Path], list[str]]
Loader = Callable[[Path], Any]
RefitParams = Callable[[Any], dict[str, Any]]
ExportRoute = Literal["skl2onnx", "lightgbm", "xgboost", "catboost", "torch"]

TABULAR = frozenset({"tabular-classification", "tabular-regression"})
ANOMALY = frozenset({"anomaly-detection"})
IMAGE_CLASSIFICATION = frozenset({"image-classification"})
VISION_REQUIRES = ("torch", "torchvision", "timm")


@dataclass(frozen=True)
class ArchitectureSpec:
    """One row of the table.

    Attributes:
        name: what users write in ``model.architecture``.
        library: the library that implements it, as the playbook names it.
        tasks: task kinds it serves.
        modality: the kind of input it consumes (``trainwell.tasks.TaskSpec.modality``).
        loop: trained by trainwell's Trainer (torch): takes the `training.*` loop settings,
            callbacks and a checkpoint directory, and gets the Trainer's checks.
        extra: the pip extra that installs it (None: core install).
        requires: import names that must be importable for it to be available.
        encoding: how categorical columns are encoded for it.
        scale: whether numeric columns are standardised for it.
        build, fit, save, load: see the module docstring.
        threads_param: the estimator parameter that sets its thread count (tuning gives each
            of n parallel trials cores / n).
        fit_errors: library errors a bad hyperparameter raises at fit time, as
            (module, class name), imported only when a fit fails.
        summary: one line for `advise` and `--help`.
        pretrained: has pretrained weights; ``model.pretrained``/``model.weights`` reach its
            builder as the ``pretrained``/``weights`` parameters (other rows refuse them).
        export: how ``trainwell export`` converts it (``trainwell.inference.converters``):
            ``skl2onnx``, ``lightgbm``/``xgboost`` (onnxmltools), ``catboost`` (its own ONNX
            export) or ``torch`` (``torch.onnx`` dynamo, and TorchScript); None: it cannot be
            exported, and ``export_refusal`` says why.
        native_categorical: the row's library takes the ordinal-coded categorical columns as
            categories (the fit declares them: ``FitInputs.categorical``); the function gives
            the most categories a column may have, from the builder parameters (None: any),
            and a column above stays ordinal. None: the codes are plain numbers to it.
        refit_params: builder parameters for the refit on every split, from the evaluated
            model (HistGradientBoosting: the iterations it ran); None: the same parameters.
    """

    name: str
    library: str
    tasks: frozenset[str]
    modality: str
    loop: bool
    extra: str | None
    requires: tuple[str, ...]
    encoding: Literal["ordinal", "onehot"]
    scale: bool
    build: Builder
    fit: FitFn
    save: Saver
    load: Loader
    summary: str
    threads_param: str | None = None
    fit_errors: tuple[tuple[str, str], ...] = ()
    pretrained: bool = False
    export: ExportRoute | None = None
    export_refusal: str = ""
    native_categorical: CategoryLimit | None = None
    refit_params: RefitParams | None = None


ARCHITECTURES: dict[str, ArchitectureSpec] = {
    "sklearn-hgb": ArchitectureSpec(
        name="sklearn-hgb",
        library="scikit-learn",
        tasks=TABULAR,
        modality="table",
        loop=False,
        extra=None,
        requires=("sklearn",),
        encoding="ordinal",
        scale=False,
        build=sklearn_models.build_hgb,
        fit=fit_in_stages("max_iter", categorical_param="categorical_features"),
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="HistGradientBoosting: fast histogram GBM; the default for tabular data",
        export="skl2onnx",
        native_categorical=sklearn_models.hgb_max_categories,
        refit_params=sklearn_models.hgb_refit_params,
    ),
    "sklearn-rf": ArchitectureSpec(
        name="sklearn-rf",
        library="scikit-learn",
        tasks=TABULAR,
        modality="table",
        loop=False,
        extra=None,
        requires=("sklearn",),
        encoding="ordinal",
        scale=False,
        build=sklearn_models.build_random_forest,
        fit=fit_in_stages("n_estimators"),
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="Random forest: robust, few knobs",
        threads_param="n_jobs",
        export="skl2onnx",
    ),
    "sklearn-linear": ArchitectureSpec(
        name="sklearn-linear",
        library="scikit-learn",
        tasks=TABULAR,
        modality="table",
        loop=False,
        extra=None,
        requires=("sklearn",),
        encoding="onehot",
        scale=True,
        build=sklearn_models.build_linear,
        fit=fit_estimator,
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_sklearn_model,
        summary="Logistic regression / ridge: interpretable linear baseline",
        export="skl2onnx",
    ),
    "xgboost": ArchitectureSpec(
        name="xgboost",
        library="XGBoost",
        tasks=TABULAR,
        modality="table",
        loop=False,
        extra="tabular",
        requires=("xgboost",),
        encoding="ordinal",
        scale=False,
        build=gbm.build_xgboost,
        fit=gbm.fit_xgboost,
        save=gbm.save_xgboost,
        load=gbm.load_xgboost,
        summary="XGBoost: the general-purpose GBM for large tabular data",
        threads_param="n_jobs",
        fit_errors=(("xgboost.core", "XGBoostError"),),
        export="xgboost",
        native_categorical=unlimited_categories,
    ),
    "lightgbm": ArchitectureSpec(
        name="lightgbm",
        library="LightGBM",
        tasks=TABULAR,
        modality="table",
        loop=False,
        extra="tabular",
        requires=("lightgbm",),
        encoding="ordinal",
        scale=False,
        build=gbm.build_lightgbm,
        fit=gbm.fit_lightgbm,
        save=gbm.save_lightgbm,
        load=gbm.load_lightgbm,
        summary="LightGBM: leaf-wise GBM, fastest on large data",
        threads_param="n_jobs",
        fit_errors=(("lightgbm.basic", "LightGBMError"),),
        export="lightgbm",
        native_categorical=unlimited_categories,
    ),
    "catboost": ArchitectureSpec(
        name="catboost",
        library="CatBoost",
        tasks=TABULAR,
        modality="table",
        loop=False,
        extra="tabular",
        requires=("catboost",),
        encoding="ordinal",
        scale=False,
        build=gbm.build_catboost,
        fit=gbm.fit_catboost,
        save=gbm.save_catboost,
        load=gbm.load_catboost,
        summary="CatBoost: ordered boosting, strongest when categoricals dominate",
        threads_param="thread_count",
        fit_errors=(("catboost", "CatBoostError"),),
        export="catboost",
        native_categorical=unlimited_categories,
    ),
    "isolation-forest": ArchitectureSpec(
        name="isolation-forest",
        library="scikit-learn",
        tasks=ANOMALY,
        modality="table",
        loop=False,
        extra=None,
        requires=("sklearn",),
        encoding="ordinal",
        scale=False,
        build=sklearn_models.build_isolation_forest,
        fit=fit_estimator,
        save=sklearn_models.save_sklearn_model,
        load=sklearn_models.load_outlier_detector,
        summary="IsolationForest: the simple anomaly detector",
        threads_param="n_jobs",
        export="skl2onnx",
    ),
    "mlp": ArchitectureSpec(
        name="mlp",
        library="PyTorch",
        tasks=TABULAR,
        modality="table",
        loop=True,
        extra=None,
        requires=("torch",),
        encoding="onehot",
        scale=True,
        build=torch_entries.build_mlp,
        fit=fit_with_eval_set,
        save=torch_entries.save,
        load=torch_entries.load,
        summary="Tabular MLP (PyTorch) trained by trainwell's production loop",
        export="torch",
    ),
    "ft-transformer": ArchitectureSpec(
        name="ft-transformer",
        library="PyTorch + rtdl",
        tasks=TABULAR,
        modality="table",
        loop=True,
        extra="tabular",
        requires=("torch", "rtdl_revisiting_models"),
        encoding="onehot",
        scale=True,
        build=torch_entries.build_ft_transformer,
        fit=fit_with_eval_set,
        save=torch_entries.save,
        load=torch_entries.load,
        summary="FT-Transformer: attention over feature tokens, the deep tabular option",
        export="torch",
    ),
    "autoencoder": ArchitectureSpec(
        name="autoencoder",
        library="PyTorch",
        tasks=ANOMALY,
        modality="table",
        loop=True,
        extra=None,
        requires=("torch",),
        encoding="onehot",
        scale=True,
        build=torch_entries.build_autoencoder,
        fit=fit_with_eval_set,
        save=torch_entries.save,
        load=torch_entries.load,
        summary="AutoEncoder: reconstruction error as the anomaly score (deep option)",
        export="torch",
    ),
}


def _image_row(name: str, summary: str) -> ArchitectureSpec:
    """An image classifier trained by the Trainer (timm models, or trainwell's small CNN)."""
    small = name == vision_entries.SMALL_CNN
    return ArchitectureSpec(
        name=name,
        library="PyTorch" if small else "timm",
        tasks=IMAGE_CLASSIFICATION,
        modality="image",
        loop=True,
        extra="vision",
        requires=VISION_REQUIRES,
        encoding="ordinal",
        scale=False,
        build=vision_entries.builder(name),
        fit=fit_with_eval_set,
        save=vision_entries.save,
        load=vision_entries.load,
        summary=summary,
        pretrained=not small,
        export="torch",
    )


ARCHITECTURES.update(
    {
        name: _image_row(name, summary)
        for name, summary in vision_entries.IMAGE_ARCHITECTURES.items()
    }
)


def get_spec(name: str) -> ArchitectureSpec:
    """The row for ``name``; ``timm:<model>`` is a row for any model timm can build.

    Raises:
        ModelError: the name is unknown (the message lists the known names).
    """
    if name.startswith(vision_entries.TIMM_PREFIX):
        return _timm_row(name)
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelError(
            f"unknown architecture {name!r} (known: auto, {known}, or timm:<any timm model>)"
        ) from None


def _timm_row(name: str) -> ArchitectureSpec:
    """The passthrough row of ``timm:<model>`` (needs timm to check the name)."""
    model = vision_entries.model_name(name)
    if is_importable(VISION_REQUIRES) and not vision_entries.is_timm_model(model):
        raise ModelError(
            f"unknown timm model {model!r} in {name!r}: timm.list_models('{model[:8]}*') "
            "lists the names"
        )
    return _image_row(name, f"{model} (timm), through the timm: passthrough")


def is_importable(modules: tuple[str, ...]) -> bool:
    """True when every module can be imported in this install."""
    return all(importlib.util.find_spec(module) is not None for module in modules)


def is_available(name: str) -> bool:
    """True when ``name`` is registered (or a ``timm:`` model) and its packages import here."""
    if name.startswith(vision_entries.TIMM_PREFIX):
        return is_importable(VISION_REQUIRES)
    spec = ARCHITECTURES.get(name)
    if spec is None:
        return False
    return is_importable(spec.requires)


def require_available(spec: ArchitectureSpec) -> None:
    """Raise a ModelError naming the extra to install when ``spec`` is not importable."""
    if not is_importable(spec.requires):
        hint = f"pip install 'trainwell[{spec.extra}]'" if spec.extra else "reinstall trainwell"
        raise ModelError(f"architecture {spec.name!r} is not installed here: {hint}")


def architectures_for(task: str) -> list[str]:
    """Names of the architectures that serve ``task``."""
    return sorted(name for name, spec in ARCHITECTURES.items() if task in spec.tasks)
