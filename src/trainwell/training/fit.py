"""The one fit path: `train`, `tune` and the checklist build and fit every model here.

``build_model`` turns a registry row, an objective and the config into an unfitted estimator
(torch rows also get the `training.*` loop settings, callbacks and a checkpoint directory);
``fit_model`` fits it through the row's ``fit`` function and names the architecture in any error.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import ModelError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from trainwell.config.schema import ExperimentConfig
    from trainwell.evaluation.objectives import Objective
    from trainwell.models.fitting import Progress
    from trainwell.models.registry import ArchitectureSpec

logger = get_logger(__name__)


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
) -> Any:
    """Fit ``model`` on the training split (validation split as the row's fit uses it).

    Args:
        X, y: model inputs and encoded targets per split (``train``, ``valid``).
        progress: tuning's intermediate scores, for rows that fit in stages.
        context: appended to the architecture's name in an error ("with {...}").

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
    )
    errors: tuple[type[Exception], ...] = (ValueError, TypeError, *_library_errors(spec))
    started = time.perf_counter()
    try:
        spec.fit(model, data, progress)
    except errors as exc:
        raise ModelError(f"{spec.name} failed to fit{context}: {exc}") from exc
    logger.info("model_fitted", architecture=spec.name, seconds=time.perf_counter() - started)
    return model


def _library_errors(spec: ArchitectureSpec) -> tuple[type[Exception], ...]:
    found: list[type[Exception]] = []
    for module, name in spec.fit_errors:
        try:
            error: type[Exception] = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # the library is not installed: it cannot have raised
        found.append(error)
    return tuple(found)
