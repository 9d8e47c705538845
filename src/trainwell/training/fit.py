"""The one fit path: `train`, `tune` and the checklist build and fit every model here.

``build_model`` turns a registry row, an objective and the config into an unfitted estimator
(torch rows also get the `training.*` loop settings, callbacks and a checkpoint directory);
``fit_model`` fits it through the row's ``fit`` function and names the architecture in any error.
``categorical_encoding`` decides which categorical columns the row's library takes as
categories; ``refit_model`` fits the evaluated settings again on the union of splits.
"""

from __future__ import annotations

import importlib
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trainwell.errors import ModelError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from trainwell.config.schema import ExperimentConfig
    from trainwell.data.modality import Features
    from trainwell.evaluation.objectives import Objective
    from trainwell.models.fitting import Progress
    from trainwell.models.registry import ArchitectureSpec

logger = get_logger(__name__)

ColumnEncoding = Literal["native-categorical", "ordinal", "onehot"]
NATIVE_CATEGORICAL: ColumnEncoding = "native-categorical"
ORDINAL: ColumnEncoding = "ordinal"
ONEHOT: ColumnEncoding = "onehot"


@dataclass(frozen=True)
class CategoricalEncoding:
    """How each categorical column of a table reaches the model.

    Attributes:
        columns: column name -> ``native-categorical`` (its ordinal codes declared to the
            library as categories), ``ordinal`` (the codes are numbers to the model) or
            ``onehot``; empty without categorical columns.
        positions: the model-input columns of the ``native-categorical`` ones
            (``FitInputs.categorical``).
        cardinalities: categories per column as the training split codes them (name -> k).
    """

    columns: dict[str, ColumnEncoding]
    positions: tuple[int, ...] = ()
    cardinalities: dict[str, int] | None = None

    def counts(self) -> str:
        """Columns per encoding as JSON (the MLflow tag; ``{}`` without categorical columns)."""
        return json.dumps(dict(sorted(Counter(self.columns.values()).items())))


def categorical_encoding(
    spec: ArchitectureSpec, features: Features, params: Mapping[str, Any], native: bool
) -> CategoricalEncoding:
    """Which categorical columns ``spec``'s library takes as categories.

    The table preprocessing writes numeric and datetime columns first, then one ordinal code
    per categorical column (0..k-1 over the training split's categories, ``__missing__``
    included; -1 for one it never saw), each under its own name (``get_feature_names_out``).
    A row with ``native_categorical`` gets every such column up to its cardinality limit;
    above it, or with ``native`` off (``training.native_categorical``), the codes stay numbers.

    Args:
        params: the builder parameters (a limit may depend on them: HistGradientBoosting's
            ``max_bins``).
        native: ``training.native_categorical``.
    """
    import numpy as np

    from trainwell.data.schema import InputSchema

    schema = features.schema
    if not isinstance(schema, InputSchema):
        return CategoricalEncoding(columns={})
    names = [c.name for c in schema.columns if c.kind == "categorical"]
    if not names:
        return CategoricalEncoding(columns={})
    if spec.encoding == "onehot":
        return CategoricalEncoding(columns=dict.fromkeys(names, ONEHOT))
    if spec.native_categorical is None or not native:
        return CategoricalEncoding(columns=dict.fromkeys(names, ORDINAL))
    limit = spec.native_categorical(params)
    outputs = list(features.preprocessor.get_feature_names_out())
    X_train = np.asarray(features.X["train"])
    columns: dict[str, ColumnEncoding] = {}
    positions: list[int] = []
    cardinalities: dict[str, int] = {}
    for name in names:
        j = outputs.index(name)
        cardinalities[name] = int(np.max(X_train[:, j])) + 1 if len(X_train) else 0
        if limit is None or cardinalities[name] <= limit:
            columns[name] = NATIVE_CATEGORICAL
            positions.append(j)
        else:
            columns[name] = ORDINAL
            logger.info(
                "categorical_kept_ordinal",
                column=name,
                categories=cardinalities[name],
                limit=limit,
                architecture=spec.name,
            )
    return CategoricalEncoding(columns, tuple(positions), cardinalities)


def loop_params(config: ExperimentConfig, checkpoint_dir: Path | None) -> dict[str, Any]:
    """The Trainer's settings for a loop row, as builder parameters.

    Without a checkpoint directory (tuning trials, checks) nothing is checkpointed or resumed.
    """
    from trainwell.training.settings import TrainerSettings

    loop = TrainerSettings.from_config(config.training).as_params()
    if checkpoint_dir is None:
        loop.update(resume=None, checkpoint_every_steps=None)
    return {**loop, "checkpoint_dir": None if checkpoint_dir is None else str(checkpoint_dir)}


def build_model(
    spec: ArchitectureSpec,
    objective: Objective,
    config: ExperimentConfig,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """The unfitted estimator for ``spec`` with ``model.params`` (then ``overrides``) applied.

    Args:
        callbacks: Trainer callbacks (tracking, pruning, probes); loop rows only.
        checkpoint_dir: where a loop row checkpoints (None: no checkpoints, no resume).
        overrides: parameters that win over the config's (the checks' short probe fits,
            tuning's thread count).

    Raises:
        ModelError: the builder refused a parameter (an unknown name, a bad value), or
            pretrained weights were asked of an architecture without them.
    """
    params = dict(config.model.params)
    if config.model.uses_pretrained:
        if not spec.pretrained:
            raise ModelError(
                f"{spec.name} has no pretrained weights: drop model.pretrained/model.weights "
                "(they apply to image architectures)"
            )
        params.update(pretrained=True, weights=config.model.weights)
    if spec.loop:
        params = {
            **loop_params(config, checkpoint_dir),
            "callbacks": list(callbacks),
            **params,
        }
    params.update(overrides or {})
    try:
        return spec.build(objective.name, config.training.seed, params)
    except (ValueError, TypeError) as exc:
        given = ", ".join(sorted(config.model.params)) or "none"
        raise ModelError(
            f"{spec.name} refused its parameters (model.params: {given}): {exc}"
        ) from exc


def fit_model(
    spec: ArchitectureSpec,
    model: Any,
    objective: Objective,
    X: Mapping[str, Any],
    y: Mapping[str, Any],
    *,
    progress: Progress | None = None,
    context: str = "",
    categorical: tuple[int, ...] = (),
) -> Any:
    """Fit ``model`` on the training split (validation split as the row's fit uses it).

    Args:
        X, y: model inputs and encoded targets per split (``train``, ``valid``).
        progress: tuning's intermediate scores, for rows that fit in stages.
        context: appended to the architecture's name in an error ("with {...}").
        categorical: model-input columns the row declares as categories
            (``categorical_encoding(...).positions``).

    Returns:
        The fitted model: ``model``, or the row's view of it that adapts its input (a GBM
        given categorical columns: ``trainwell.models.gbm``).

    Raises:
        ModelError: the estimator refused its parameters or the data.
    """
    from trainwell.models.fitting import FitInputs

    supervised = objective.supervised
    data = FitInputs(
        X_train=X["train"],
        y_train=y["train"] if supervised else None,
        X_valid=X["valid"],
        y_valid=y["valid"] if supervised else None,
        categorical=categorical,
    )
    errors: tuple[type[Exception], ...] = (ValueError, TypeError, *_library_errors(spec))
    started = time.perf_counter()
    try:
        fitted = spec.fit(model, data, progress)
    except errors as exc:
        raise ModelError(f"{spec.name} failed to fit{context}: {exc}") from exc
    logger.info("model_fitted", architecture=spec.name, seconds=time.perf_counter() - started)
    return fitted


def refit_model(
    spec: ArchitectureSpec,
    evaluated: Any,
    objective: Objective,
    config: ExperimentConfig,
    X: Mapping[str, Any],
    y: Mapping[str, Any],
    splits: Sequence[str],
    categorical: tuple[int, ...] = (),
) -> Any:
    """A fresh model with the evaluated one's settings, fitted on the union of ``splits``.

    The inputs are the ones the preprocessing fitted on the training split produced (a
    category only the validation split has arrives as -1, as it would at prediction).
    ``spec.refit_params`` carries over what the evaluated fit decided (the iterations early
    stopping kept). Estimator rows only: a loop row validates every epoch on a split the
    union would swallow.

    Raises:
        ModelError: the estimator refused the union (as ``fit_model``).
    """
    import numpy as np

    assert not spec.loop, "torch loop rows are not refit"
    overrides = spec.refit_params(evaluated) if spec.refit_params is not None else {}
    model = build_model(spec, objective, config, overrides=overrides)
    X_all = np.concatenate([np.asarray(X[s]) for s in splits])
    y_all = np.concatenate([np.asarray(y[s]) for s in splits]) if objective.supervised else None
    # nothing is held out of a refit: the validation slot is empty
    return fit_model(
        spec,
        model,
        objective,
        {"train": X_all, "valid": X_all[:0]},
        {"train": y_all, "valid": None if y_all is None else y_all[:0]},
        context=f" (refit on {'+'.join(splits)})",
        categorical=categorical,
    )


def _library_errors(spec: ArchitectureSpec) -> tuple[type[Exception], ...]:
    found: list[type[Exception]] = []
    for module, name in spec.fit_errors:
        try:
            error: type[Exception] = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # the library is not installed: it cannot have raised
        found.append(error)
    return tuple(found)
