"""The scikit-learn estimator base every trainwell torch model shares: fit through the Trainer,
batched forward passes, save and load without pickle.

An estimator's constructor takes its module's hyperparameters, then ``loop`` (the
:class:`~trainwell.training.settings.TrainerSettings` it trains with), ``checkpoint_dir``,
``callbacks`` and ``random_state``; it only stores them (scikit-learn's contract, so
``get_params``/``set_params``/``clone`` work). ``random_state`` and ``checkpoint_dir`` win over
``loop.seed`` and ``loop.checkpoint_dir``: the seed is a model's, the directory a run's.

Registry builders receive one flat dict (the loop settings under their ``TrainingConfig``
names, ``checkpoint_dir``, ``callbacks`` and the hyperparameters); :func:`build_estimator`
splits it. Fitted state ends in ``_``. Weights go to safetensors; hyperparameters, loop
settings and fitted attributes to JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from trainwell.errors import BundleError, DataError, ModelError, TrainingError
from trainwell.training import distributed
from trainwell.training.callbacks import Callback
from trainwell.training.data import ArrayDataset, check_finite
from trainwell.training.settings import TrainerSettings
from trainwell.training.trainer import MetricsFn, StepFn, Trainer
from trainwell.utils.seeding import seed_everything

WEIGHTS_FILE = "weights.safetensors"
ESTIMATOR_FILE = "estimator.json"
# 1: loop settings flat among the params (trainwell before TrainerSettings); 2: nested `loop`.
SAVE_FORMAT_VERSION = 2
PREDICT_BATCH_SIZE = 8192
DEFAULT_SEED = 42
DEFAULT_LOOP = TrainerSettings()
# The TrainerSettings fields a flat builder dict may set; the estimator's own `random_state`
# and `checkpoint_dir` replace `seed` and `checkpoint_dir`.
LOOP_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainerSettings)) - {
    "seed",
    "checkpoint_dir",
}


def as_features(X: Any, n_features: int | None = None, what: str = "X") -> np.ndarray:
    """X as a C-contiguous float32 matrix; DataError on a bad shape, NaN or infinity."""
    try:
        features = np.ascontiguousarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric (castable to float32): {exc}") from exc
    if features.ndim != 2:
        raise DataError(f"{what} must be 2-D (n_samples, n_features). Got {features.shape}.")
    if features.shape[0] == 0:
        raise DataError(f"{what} has no rows")
    if n_features is not None and features.shape[1] != n_features:
        raise DataError(
            f"{what} has {features.shape[1]} features, but the model was fitted with {n_features}"
        )
    check_finite(features, what)
    return features


class TorchEstimator(BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Shared fit/predict/save machinery. Subclasses define ``__init__`` (their module's
    hyperparameters, then this class's four parameters, passed on to ``super().__init__``),
    ``_build_module`` and ``fit``.

    Args:
        loop: the Trainer's settings (``epochs``, ``batch_size``, ``learning_rate``...).
        checkpoint_dir: where the Trainer checkpoints (None: nowhere).
        callbacks: Trainer callbacks (not saved: code is not data).
        random_state: seeds the weights' initialisation and the data order.
    """

    _architecture: ClassVar[str]

    module_: nn.Module
    n_features_in_: int
    n_outputs_: int
    history_: list[dict[str, float]]
    n_iter_: int

    def __init__(
        self,
        *,
        loop: TrainerSettings = DEFAULT_LOOP,
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        random_state: int = DEFAULT_SEED,
    ) -> None:
        self.loop = loop
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks
        self.random_state = random_state

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        raise NotImplementedError

    def trainer_settings(self) -> TrainerSettings:
        """``loop`` with this estimator's ``random_state`` and ``checkpoint_dir``.

        Raises:
            TypeError: ``loop`` is not a :class:`TrainerSettings`.
        """
        if not isinstance(self.loop, TrainerSettings):
            raise TypeError(
                f"The 'loop' parameter must be a TrainerSettings. Got {type(self.loop).__name__}."
            )
        return dataclasses.replace(
            self.loop, seed=self.random_state, checkpoint_dir=self.checkpoint_dir
        )

    def _train(
        self,
        train: ArrayDataset,
        valid: ArrayDataset | None,
        n_outputs: int,
        loss_fn: nn.Module,
        metrics_fn: MetricsFn | None = None,
        *,
        step: StepFn | None = None,
        optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
    ) -> None:
        """Seed, build the module, train it through the Trainer, keep it in eval mode.

        Args:
            step: the Trainer's step function (None: ``loss_fn(module(inputs), targets)``).
            optimizer: builds the optimizer for the new module (None: the loop's optimizer
                over all parameters).
        """
        settings = self.trainer_settings()
        if settings.devices > 1 and not distributed.is_launched():
            raise TrainingError(
                f"training.devices={settings.devices} needs one process per device: "
                "`trainwell train` launches them through torchrun; from Python, run your "
                "script with trainwell.training.distributed.launch([...], nproc=devices) or "
                "torchrun"
            )
        seed_everything(self.random_state, settings.deterministic)
        module = self._build_module(self.n_features_in_, n_outputs)
        trainer = Trainer(
            module,
            loss_fn,
            settings,
            callbacks=list(self.callbacks or []),
            metrics_fn=metrics_fn,
            optimizer=None if optimizer is None else optimizer(module),
            architecture=self._architecture,
            step=step,
        )
        result = trainer.fit(train, valid)
        self.module_ = module.eval()
        self.n_outputs_ = n_outputs
        self.history_ = result.history
        self.n_iter_ = result.epochs_completed

    def input_tensor(self, X: Any) -> Tensor:
        """X as the tensor the module receives at evaluation (the checklist's probe feeds it)."""
        return torch.from_numpy(as_features(X))

    def _forward(self, X: Any) -> np.ndarray:
        """Module outputs for X, in batches, in eval mode without autograd: float32 numpy."""
        check_is_fitted(self, "module_")
        features = torch.from_numpy(as_features(X, self.n_features_in_))
        device = next(self.module_.parameters()).device
        self.module_.eval()
        with torch.inference_mode():
            outputs: list[Tensor] = [
                self.module_(chunk.to(device)).float().cpu()
                for chunk in torch.split(features, PREDICT_BATCH_SIZE)
            ]
        return torch.cat(outputs).numpy()

    def export_head(self) -> nn.Module:
        """The fitted module with the estimator's output step, in eval mode, on the CPU: what
        ``trainwell export`` converts (probabilities, values in y's units, or scores)."""
        raise NotImplementedError

    def export_tracing(self) -> contextlib.AbstractContextManager[None]:
        """The context export traces the head in (a module that needs patching to keep the
        batch axis dynamic overrides it)."""
        return contextlib.nullcontext()

    def export_example(self, n_rows: int) -> Tensor:
        """A zero input of ``n_rows`` in the shape the module reads (export traces it)."""
        check_is_fitted(self, "module_")
        return torch.zeros(n_rows, self.n_features_in_)

    def _fitted_attributes(self) -> dict[str, Any]:
        """Fitted attributes other than the weights, as JSON values."""
        return {"n_features_in_": self.n_features_in_, "n_outputs_": self.n_outputs_}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        self.n_features_in_ = int(fitted["n_features_in_"])
        self.n_outputs_ = int(fitted["n_outputs_"])


class ProbabilityHead(nn.Module):
    """The module's logits as class probabilities: what ``predict_proba`` returns."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(self.module(x), dim=1)


class ValueHead(nn.Module):
    """The module's first output in the target's units: ``output * scale + mean``."""

    def __init__(self, module: nn.Module, mean: float, scale: float) -> None:
        super().__init__()
        self.module = module
        self.mean = mean
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.module(x)[:, :1] * self.scale + self.mean
        return out


class ReconstructionScore(nn.Module):
    """Minus the mean squared reconstruction error per row, ``(n, 1)``: ``score_samples``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        error: Tensor = ((self.module(x) - x) ** 2).mean(dim=1, keepdim=True)
        return -error


E = TypeVar("E", bound=TorchEstimator)


def split_params(params: Mapping[str, Any]) -> tuple[TrainerSettings, dict[str, Any]]:
    """Flat builder parameters -> (the ``loop`` settings, the estimator's other parameters).

    A ``loop`` entry (a :class:`TrainerSettings`) is the base; flat loop keys (``epochs``...)
    replace its fields.

    Raises:
        ValueError: a loop setting out of its range (see :class:`TrainerSettings`).
    """
    base = params.get("loop", DEFAULT_LOOP)
    flat = {k: v for k, v in params.items() if k in LOOP_FIELDS}
    rest = {k: v for k, v in params.items() if k not in LOOP_FIELDS and k != "loop"}
    return (dataclasses.replace(base, **flat) if flat else base), rest


def build_estimator(cls: type[E], seed: int, params: Mapping[str, Any]) -> E:
    """``cls`` for a registry builder's flat ``params`` (``random_state`` defaults to ``seed``).

    Raises:
        TypeError: a parameter ``cls`` does not take.
        ValueError: a loop setting out of its range.
    """
    loop, rest = split_params(params)
    return cls(**{"random_state": seed, **rest}, loop=loop)


def save_torch_estimator(estimator: Any, directory: Path) -> list[str]:
    """Write a fitted estimator as ``weights.safetensors`` + ``estimator.json`` (no pickle).

    The JSON holds the class, the constructor parameters (``loop`` as an object; ``callbacks``
    are dropped: code is not data) and the fitted attributes (``classes_``, ``n_features_in_``,
    ``threshold_``...). Two fits with the same seed write byte-identical files.

    Returns:
        The file names written.

    Raises:
        ModelError: the estimator is not a fitted trainwell torch estimator, or a parameter is
            not JSON-serialisable.
    """
    if not isinstance(estimator, TorchEstimator):
        raise ModelError(f"not a trainwell torch estimator: {type(estimator).__name__}")
    check_is_fitted(estimator, "module_")
    params = estimator.get_params(deep=False)
    params["callbacks"] = None
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    loop = params["loop"]
    params["loop"] = dataclasses.asdict(loop) if isinstance(loop, TrainerSettings) else loop
    document = {
        "format_version": SAVE_FORMAT_VERSION,
        "class": type(estimator).__name__,
        "architecture": estimator._architecture,
        "params": params,
        "fitted": estimator._fitted_attributes(),
    }
    try:
        text = json.dumps(document, indent=2, sort_keys=True)
    except TypeError as exc:
        raise ModelError(f"cannot save {type(estimator).__name__}: {exc}") from exc
    directory.mkdir(parents=True, exist_ok=True)
    # save_model handles tied (shared) tensors, which save_file refuses.
    save_model(estimator.module_, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    (directory / ESTIMATOR_FILE).write_text(text + "\n", encoding="utf-8")
    return [WEIGHTS_FILE, ESTIMATOR_FILE]


def load_torch_estimator(
    directory: Path, classes: Mapping[str, type[TorchEstimator]]
) -> TorchEstimator:
    """Rebuild an estimator written by :func:`save_torch_estimator`, on the CPU, in eval mode.

    Reads format 2 (``loop`` nested) and format 1 (the loop settings flat among the params).

    Args:
        classes: the estimator classes by name (the JSON's ``class``).

    Raises:
        BundleError: a file is missing or unreadable, or the weights do not fit the model.
    """
    path = directory / ESTIMATOR_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    if document.get("format_version", 0) > SAVE_FORMAT_VERSION:
        raise BundleError(f"{directory} was saved by a newer trainwell: upgrade to load it")
    cls = classes.get(document.get("class", ""))
    if cls is None:
        raise BundleError(f"{path} names an unknown class: {document.get('class')!r}")
    saved: dict[str, Any] = document["params"]
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
    try:
        if "loop" in saved:  # format 2; format 1 has the loop settings flat
            params["loop"] = TrainerSettings(**saved["loop"])
        loop, rest = split_params(params)
        estimator = cls(**rest, loop=loop)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{path} has parameters {cls.__name__} does not take: {exc}") from exc
    estimator._restore_fitted(document["fitted"])
    module = estimator._build_module(estimator.n_features_in_, estimator.n_outputs_)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise BundleError(f"missing weights file: {weights}")
    try:
        load_model(module, str(weights), strict=True, device="cpu")
    except (RuntimeError, OSError, ValueError, SafetensorError) as exc:
        raise BundleError(f"{weights} does not fit {document['class']}: {exc}") from exc
    estimator.module_ = module.eval()
    return estimator
