"""scikit-learn estimators for trainwell's torch models; every one trains through the Trainer.

    clf = TabularMLPClassifier(hidden_dims=(128, 128), epochs=10, random_state=0)
    clf.fit(X_train, y_train, eval_set=(X_valid, y_valid)).predict_proba(X_test)
    save_torch_estimator(clf, Path("model"))         # weights.safetensors + estimator.json
    clf = load_torch_estimator(Path("model"))

Estimators: :class:`TabularMLPClassifier`, :class:`TabularMLPRegressor`,
:class:`FTTransformerClassifier`, :class:`FTTransformerRegressor` and
:class:`AutoEncoderDetector` (anomaly detection). Constructors only store their keyword
arguments: the architecture's hyperparameters, then the loop settings (the names of
``TrainingConfig``'s fields, with ``seed`` as ``random_state``; :func:`training_kwargs` maps a
config onto them). Fitted state ends in ``_``. Nothing is pickled: weights go to safetensors,
hyperparameters and fitted attributes to JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from sklearn.base import BaseEstimator, ClassifierMixin, OutlierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from trainwell.errors import BundleError, DataError, ModelError, TrainingError
from trainwell.training import distributed
from trainwell.training.callbacks import Callback
from trainwell.training.data import ArrayDataset, check_finite, tensor_dataset
from trainwell.training.trainer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_GRAD_CLIP,
    DEFAULT_LEARNING_RATE,
    DEFAULT_LOG_EVERY_STEPS,
    MetricsFn,
    Trainer,
    TrainerSettings,
)
from trainwell.utils.seeding import seed_everything

if TYPE_CHECKING:
    from trainwell.config.schema import TrainingConfig

WEIGHTS_FILE = "weights.safetensors"
ESTIMATOR_FILE = "estimator.json"
SAVE_FORMAT_VERSION = 1
PREDICT_BATCH_SIZE = 8192
MIN_CLASSES = 2
DEFAULT_SEED = 42
DEFAULT_HIDDEN_DIMS = (256, 256)
DEFAULT_DROPOUT = 0.1
# FT-Transformer defaults: rtdl's `FTTransformer.get_default_kwargs(n_blocks=3)`.
FTT_N_BLOCKS = 3
FTT_D_BLOCK = 192
FTT_HEADS = 8
FTT_ATTENTION_DROPOUT = 0.2
FTT_FFN_MULTIPLIER = 4 / 3
FTT_FFN_DROPOUT = 0.1
AE_HIDDEN_DIMS = (64, 32)
AE_LATENT_DIM = 8
AE_CONTAMINATION = 0.1
MAX_CONTAMINATION = 0.5
# Loop settings every estimator takes, in TrainingConfig's names (seed -> random_state).
LOOP_PARAMS: tuple[str, ...] = (
    "random_state",
    "deterministic",
    "epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "optimizer",
    "scheduler",
    "warmup_steps",
    "precision",
    "grad_clip",
    "grad_accumulation",
    "compile",
    "gradient_checkpointing",
    "early_stopping_patience",
    "monitor",
    "monitor_mode",
    "num_workers",
    "checkpoint_every_steps",
    "resume",
    "devices",
    "device",
    "checkpoint_dir",
    "callbacks",
    "progress_bar",
    "log_every_steps",
)


def training_kwargs(cfg: TrainingConfig) -> dict[str, Any]:
    """The estimator keyword arguments for a ``TrainingConfig`` (``seed`` -> ``random_state``).

    ``checkpoint_dir``, ``callbacks`` and ``progress_bar`` are not config fields: the caller
    adds them.
    """
    return {
        "random_state": cfg.seed,
        "deterministic": cfg.deterministic,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "learning_rate": cfg.learning_rate,
        "weight_decay": cfg.weight_decay,
        "optimizer": cfg.optimizer,
        "scheduler": cfg.scheduler,
        "warmup_steps": cfg.warmup_steps,
        "precision": cfg.precision,
        "grad_clip": cfg.grad_clip,
        "grad_accumulation": cfg.grad_accumulation,
        "compile": cfg.compile,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "early_stopping_patience": cfg.early_stopping_patience,
        "monitor": cfg.monitor,
        "monitor_mode": cfg.monitor_mode,
        "num_workers": cfg.num_workers,
        "checkpoint_every_steps": cfg.checkpoint_every_steps,
        "resume": cfg.resume,
        "devices": cfg.devices,
        "device": cfg.device,
    }


def _as_features(X: Any, n_features: int | None = None, what: str = "X") -> np.ndarray:
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


def _accuracy(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    return {"accuracy": float((outputs.argmax(dim=1) == targets).float().mean())}


class _TorchTabularEstimator(BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Shared fit/predict machinery. Subclasses define ``__init__`` and ``_build_module``."""

    _architecture: ClassVar[str]
    # Set by each subclass's __init__ (declared here for the type checker).
    random_state: int
    deterministic: bool
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    optimizer: Any
    scheduler: Any
    warmup_steps: int
    precision: Any
    grad_clip: float | None
    grad_accumulation: int
    compile: bool
    gradient_checkpointing: bool
    early_stopping_patience: int | None
    monitor: str
    monitor_mode: Any
    num_workers: int
    checkpoint_every_steps: int | None
    resume: str | None
    devices: int
    device: str
    checkpoint_dir: str | None
    callbacks: list[Callback] | None
    progress_bar: bool | None
    log_every_steps: int

    module_: nn.Module
    n_features_in_: int
    n_outputs_: int
    history_: list[dict[str, float]]
    n_iter_: int

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        raise NotImplementedError

    def _settings(self) -> TrainerSettings:
        return TrainerSettings(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            warmup_steps=self.warmup_steps,
            precision=self.precision,
            grad_clip=self.grad_clip,
            grad_accumulation=self.grad_accumulation,
            compile=self.compile,
            gradient_checkpointing=self.gradient_checkpointing,
            early_stopping_patience=self.early_stopping_patience,
            monitor=self.monitor,
            monitor_mode=self.monitor_mode,
            num_workers=self.num_workers,
            checkpoint_dir=self.checkpoint_dir,
            checkpoint_every_steps=self.checkpoint_every_steps,
            resume=self.resume,
            device=self.device,
            seed=self.random_state,
            log_every_steps=self.log_every_steps,
            progress_bar=self.progress_bar,
        )

    def _train(
        self,
        train: ArrayDataset,
        valid: ArrayDataset | None,
        n_outputs: int,
        loss_fn: nn.Module,
        metrics_fn: MetricsFn | None = None,
    ) -> None:
        """Seed, build the module, train it through the Trainer, keep it in eval mode."""
        if self.devices > 1 and not distributed.is_launched():
            raise TrainingError(
                f"training.devices={self.devices} needs one process per device: "
                "`trainwell train` launches them through torchrun; from Python, run your "
                "script with trainwell.training.distributed.launch([...], nproc=devices) or "
                "torchrun"
            )
        settings = self._settings()  # validates the loop settings before any work
        seed_everything(self.random_state, self.deterministic)
        module = self._build_module(self.n_features_in_, n_outputs)
        trainer = Trainer(
            module,
            loss_fn,
            settings,
            callbacks=list(self.callbacks or []),
            metrics_fn=metrics_fn,
            architecture=self._architecture,
        )
        result = trainer.fit(train, valid)
        self.module_ = module.eval()
        self.n_outputs_ = n_outputs
        self.history_ = result.history
        self.n_iter_ = result.epochs_completed

    def _forward(self, X: Any) -> np.ndarray:
        """Module outputs for X, in batches, in eval mode without autograd: float32 numpy."""
        check_is_fitted(self, "module_")
        features = torch.from_numpy(_as_features(X, self.n_features_in_))
        device = next(self.module_.parameters()).device
        self.module_.eval()
        with torch.inference_mode():
            outputs = [
                self.module_(chunk.to(device)).float().cpu()
                for chunk in torch.split(features, PREDICT_BATCH_SIZE)
            ]
        return torch.cat(outputs).numpy()

    def _fitted_attributes(self) -> dict[str, Any]:
        """Fitted attributes other than the weights, as JSON values."""
        return {"n_features_in_": self.n_features_in_, "n_outputs_": self.n_outputs_}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        self.n_features_in_ = int(fitted["n_features_in_"])
        self.n_outputs_ = int(fitted["n_outputs_"])


class _Classifier(ClassifierMixin, _TorchTabularEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Cross-entropy on integer-coded labels; ``classes_`` holds the original labels."""

    classes_: np.ndarray

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None) -> Self:
        """Train on ``(X, y)``; ``eval_set=(X_val, y_val)`` is validated after every epoch.

        Raises:
            DataError: NaN/inf or a bad shape in X, fewer than two classes, or validation
                labels never seen in training.
            TrainingError: see :meth:`Trainer.fit`.
        """
        features = _as_features(X)
        labels = np.asarray(y).ravel()
        if labels.shape[0] != features.shape[0]:
            raise DataError(f"X has {features.shape[0]} rows but y has {labels.shape[0]}")
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if len(self.classes_) < MIN_CLASSES:
            raise DataError(f"classification needs at least 2 classes in y. Got {self.classes_}.")
        self.n_features_in_ = features.shape[1]
        valid = None
        if eval_set is not None:
            X_val = _as_features(eval_set[0], self.n_features_in_, "eval_set X")
            valid = tensor_dataset(X_val, self._encode(eval_set[1]))
        train = tensor_dataset(features, codes.astype(np.int64))
        self._train(train, valid, len(self.classes_), nn.CrossEntropyLoss(), _accuracy)
        return self

    def _encode(self, y: Any) -> np.ndarray:
        labels = np.asarray(y).ravel()
        codes = np.searchsorted(self.classes_, labels)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unseen = labels[self.classes_[codes] != labels]
        if unseen.size:
            raise DataError(f"eval_set has label(s) never seen in training: {np.unique(unseen)}")
        return codes.astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ``(n_samples, n_classes)`` in the order of ``classes_``."""
        # float64 softmax: rows sum to 1 within float64 precision (sklearn's metrics check).
        logits = torch.from_numpy(self._forward(X)).double()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label of each row."""
        codes = self._forward(X).argmax(axis=1)
        return np.asarray(self.classes_[codes])

    def _fitted_attributes(self) -> dict[str, Any]:
        return {**super()._fitted_attributes(), "classes_": self.classes_.tolist()}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.classes_ = np.asarray(fitted["classes_"])


class _Regressor(RegressorMixin, _TorchTabularEstimator):  # type: ignore[misc]  # sklearn is untyped
    """MSE on the standardised target (``y_mean_``/``y_scale_``); predictions in y's units."""

    y_mean_: float
    y_scale_: float

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None) -> Self:
        """Train on ``(X, y)``; ``eval_set=(X_val, y_val)`` is validated after every epoch.

        ``val/loss`` is the MSE of the standardised target.

        Raises:
            DataError: NaN/inf or a bad shape in X or y.
            TrainingError: see :meth:`Trainer.fit`.
        """
        features = _as_features(X)
        target = self._target(y, features.shape[0], "y")
        self.y_mean_ = float(target.mean())
        std = float(target.std())
        self.y_scale_ = std if std > 0 else 1.0
        self.n_features_in_ = features.shape[1]
        valid = None
        if eval_set is not None:
            X_val = _as_features(eval_set[0], self.n_features_in_, "eval_set X")
            y_val = self._target(eval_set[1], X_val.shape[0], "eval_set y")
            valid = tensor_dataset(X_val, self._standardise(y_val))
        train = tensor_dataset(features, self._standardise(target))
        self._train(train, valid, 1, nn.MSELoss())
        return self

    @staticmethod
    def _target(y: Any, n_rows: int, what: str) -> np.ndarray:
        target = np.asarray(y, dtype=np.float64)
        if target.ndim != 1 or target.shape[0] != n_rows:
            raise DataError(f"{what} must be 1-D with {n_rows} values. Got shape {target.shape}.")
        check_finite(target, what)
        return target

    def _standardise(self, target: np.ndarray) -> np.ndarray:
        scaled = (target - self.y_mean_) / self.y_scale_
        return scaled.astype(np.float32).reshape(-1, 1)  # (n, 1), like the model's output

    def predict(self, X: Any) -> np.ndarray:
        """Predicted target values, ``(n_samples,)``."""
        scaled = self._forward(X)[:, 0].astype(np.float64)
        return scaled * self.y_scale_ + self.y_mean_

    def _fitted_attributes(self) -> dict[str, Any]:
        return {**super()._fitted_attributes(), "y_mean_": self.y_mean_, "y_scale_": self.y_scale_}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.y_mean_ = float(fitted["y_mean_"])
        self.y_scale_ = float(fitted["y_scale_"])


# --- MLP ------------------------------------------------------------------------------------


class _MLPEstimator(_TorchTabularEstimator):
    """Hyperparameters of the tabular MLP, then the loop settings (see the module docstring).

    Args:
        hidden_dims: widths of the hidden blocks.
        dropout: dropout after each block.
    """

    _architecture: ClassVar[str] = "mlp"

    def __init__(
        self,
        *,
        hidden_dims: Sequence[int] = DEFAULT_HIDDEN_DIMS,
        dropout: float = DEFAULT_DROPOUT,
        # Loop settings: the same list in every estimator (checked by
        # tests/models/test_torch_tabular.py::test_loop_settings_are_the_same_everywhere).
        random_state: int = DEFAULT_SEED,
        deterministic: bool = False,
        epochs: int = DEFAULT_EPOCHS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "none",
        warmup_steps: int = 0,
        precision: str = "fp32",
        grad_clip: float | None = DEFAULT_GRAD_CLIP,
        grad_accumulation: int = 1,
        compile: bool = False,
        gradient_checkpointing: bool = False,
        early_stopping_patience: int | None = None,
        monitor: str = "val/loss",
        monitor_mode: str = "min",
        num_workers: int = 0,
        checkpoint_every_steps: int | None = None,
        resume: str | None = None,
        devices: int = 1,
        device: str = "auto",
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        progress_bar: bool | None = None,
        log_every_steps: int = DEFAULT_LOG_EVERY_STEPS,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.random_state = random_state
        self.deterministic = deterministic
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.warmup_steps = warmup_steps
        self.precision = precision
        self.grad_clip = grad_clip
        self.grad_accumulation = grad_accumulation
        self.compile = compile
        self.gradient_checkpointing = gradient_checkpointing
        self.early_stopping_patience = early_stopping_patience
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.num_workers = num_workers
        self.checkpoint_every_steps = checkpoint_every_steps
        self.resume = resume
        self.devices = devices
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks
        self.progress_bar = progress_bar
        self.log_every_steps = log_every_steps

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        from trainwell.models.mlp import TabularMLP

        return TabularMLP(n_features, n_outputs, tuple(self.hidden_dims), self.dropout)


class TabularMLPClassifier(_Classifier, _MLPEstimator):
    """Tabular MLP classifier (architecture ``mlp``).

    Example:
        >>> from sklearn.datasets import load_breast_cancer
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> clf = TabularMLPClassifier(hidden_dims=(32,), epochs=2, progress_bar=False)
        >>> clf.fit((X - X.mean(0)) / X.std(0), y).classes_
        array([0, 1])
    """


class TabularMLPRegressor(_Regressor, _MLPEstimator):
    """Tabular MLP regressor (architecture ``mlp``)."""


# --- FT-Transformer --------------------------------------------------------------------------


class _FTTransformerEstimator(_TorchTabularEstimator):
    """Hyperparameters of the FT-Transformer (rtdl's names), then the loop settings.

    Args:
        n_blocks: transformer blocks.
        d_block: token width; a multiple of ``attention_n_heads``.
        attention_n_heads: attention heads.
        attention_dropout, ffn_dropout, residual_dropout: dropout rates.
        ffn_d_hidden_multiplier: feed-forward width as a multiple of ``d_block``.
    """

    _architecture: ClassVar[str] = "ft-transformer"

    def __init__(
        self,
        *,
        n_blocks: int = FTT_N_BLOCKS,
        d_block: int = FTT_D_BLOCK,
        attention_n_heads: int = FTT_HEADS,
        attention_dropout: float = FTT_ATTENTION_DROPOUT,
        ffn_d_hidden_multiplier: float = FTT_FFN_MULTIPLIER,
        ffn_dropout: float = FTT_FFN_DROPOUT,
        residual_dropout: float = 0.0,
        # Loop settings: copied from _MLPEstimator.__init__ (a test checks they match).
        random_state: int = DEFAULT_SEED,
        deterministic: bool = False,
        epochs: int = DEFAULT_EPOCHS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "none",
        warmup_steps: int = 0,
        precision: str = "fp32",
        grad_clip: float | None = DEFAULT_GRAD_CLIP,
        grad_accumulation: int = 1,
        compile: bool = False,
        gradient_checkpointing: bool = False,
        early_stopping_patience: int | None = None,
        monitor: str = "val/loss",
        monitor_mode: str = "min",
        num_workers: int = 0,
        checkpoint_every_steps: int | None = None,
        resume: str | None = None,
        devices: int = 1,
        device: str = "auto",
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        progress_bar: bool | None = None,
        log_every_steps: int = DEFAULT_LOG_EVERY_STEPS,
    ) -> None:
        self.n_blocks = n_blocks
        self.d_block = d_block
        self.attention_n_heads = attention_n_heads
        self.attention_dropout = attention_dropout
        self.ffn_d_hidden_multiplier = ffn_d_hidden_multiplier
        self.ffn_dropout = ffn_dropout
        self.residual_dropout = residual_dropout
        self.random_state = random_state
        self.deterministic = deterministic
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.warmup_steps = warmup_steps
        self.precision = precision
        self.grad_clip = grad_clip
        self.grad_accumulation = grad_accumulation
        self.compile = compile
        self.gradient_checkpointing = gradient_checkpointing
        self.early_stopping_patience = early_stopping_patience
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.num_workers = num_workers
        self.checkpoint_every_steps = checkpoint_every_steps
        self.resume = resume
        self.devices = devices
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks
        self.progress_bar = progress_bar
        self.log_every_steps = log_every_steps

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        from trainwell.models.ft_transformer import FTTransformerModel

        if self.d_block % self.attention_n_heads:
            raise ModelError(
                f"ft-transformer: d_block ({self.d_block}) must be a multiple of "
                f"attention_n_heads ({self.attention_n_heads})"
            )
        return FTTransformerModel(
            n_features,
            n_outputs,
            n_blocks=self.n_blocks,
            d_block=self.d_block,
            attention_n_heads=self.attention_n_heads,
            attention_dropout=self.attention_dropout,
            ffn_d_hidden_multiplier=self.ffn_d_hidden_multiplier,
            ffn_dropout=self.ffn_dropout,
            residual_dropout=self.residual_dropout,
        )


class FTTransformerClassifier(_Classifier, _FTTransformerEstimator):
    """FT-Transformer classifier (architecture ``ft-transformer``)."""


class FTTransformerRegressor(_Regressor, _FTTransformerEstimator):
    """FT-Transformer regressor (architecture ``ft-transformer``)."""


# --- AutoEncoder (anomaly detection) --------------------------------------------------------


class AutoEncoderDetector(OutlierMixin, _TorchTabularEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Autoencoder anomaly detector (architecture ``autoencoder``).

    Trained to reconstruct the training rows (``y`` is ignored: unsupervised). The anomaly
    score is the reconstruction error; ``threshold_`` is its ``1 - contamination`` quantile
    on the training rows.

    - ``predict``: 1 for an anomaly (error above ``threshold_``), 0 for a normal row;
    - ``score_samples``: minus the error (scikit-learn's convention: lower is more abnormal,
      as ``IsolationForest``), so ``-score_samples`` ranks anomalies for ROC-AUC / AP;
    - ``decision_function``: ``threshold_ - error``, negative for anomalies.

    Args:
        hidden_dims: encoder widths (the decoder mirrors them).
        latent_dim: bottleneck width.
        dropout: dropout after each hidden block.
        contamination: expected share of anomalies, in (0, 0.5].
    """

    _architecture: ClassVar[str] = "autoencoder"
    threshold_: float
    offset_: float

    def __init__(
        self,
        *,
        hidden_dims: Sequence[int] = AE_HIDDEN_DIMS,
        latent_dim: int = AE_LATENT_DIM,
        dropout: float = 0.0,
        contamination: float = AE_CONTAMINATION,
        # Loop settings: copied from _MLPEstimator.__init__ (a test checks they match).
        random_state: int = DEFAULT_SEED,
        deterministic: bool = False,
        epochs: int = DEFAULT_EPOCHS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "none",
        warmup_steps: int = 0,
        precision: str = "fp32",
        grad_clip: float | None = DEFAULT_GRAD_CLIP,
        grad_accumulation: int = 1,
        compile: bool = False,
        gradient_checkpointing: bool = False,
        early_stopping_patience: int | None = None,
        monitor: str = "val/loss",
        monitor_mode: str = "min",
        num_workers: int = 0,
        checkpoint_every_steps: int | None = None,
        resume: str | None = None,
        devices: int = 1,
        device: str = "auto",
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        progress_bar: bool | None = None,
        log_every_steps: int = DEFAULT_LOG_EVERY_STEPS,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.contamination = contamination
        self.random_state = random_state
        self.deterministic = deterministic
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.warmup_steps = warmup_steps
        self.precision = precision
        self.grad_clip = grad_clip
        self.grad_accumulation = grad_accumulation
        self.compile = compile
        self.gradient_checkpointing = gradient_checkpointing
        self.early_stopping_patience = early_stopping_patience
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.num_workers = num_workers
        self.checkpoint_every_steps = checkpoint_every_steps
        self.resume = resume
        self.devices = devices
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks
        self.progress_bar = progress_bar
        self.log_every_steps = log_every_steps

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        from trainwell.models.autoencoder import TabularAutoEncoder

        del n_outputs  # the reconstruction has n_features outputs
        return TabularAutoEncoder(
            n_features, tuple(self.hidden_dims), self.latent_dim, self.dropout
        )

    def fit(self, X: Any, y: Any = None, eval_set: Any = None) -> Self:
        """Learn to reconstruct X; fit ``threshold_`` from the training errors.

        Args:
            X: training rows (mostly normal).
            y: ignored (present for the scikit-learn API; anomaly labels are not used).
            eval_set: ``X_val`` or ``(X_val, y_val)``; its reconstruction MSE is ``val/loss``.

        Raises:
            DataError: NaN/inf or a bad shape in X.
            ValueError: ``contamination`` outside (0, 0.5].
        """
        del y
        if not 0.0 < self.contamination <= MAX_CONTAMINATION:
            raise ValueError(
                f"The 'contamination' parameter must be in (0, 0.5]. Got {self.contamination}."
            )
        features = _as_features(X)
        self.n_features_in_ = features.shape[1]
        train_x = torch.from_numpy(features)
        valid = None
        if eval_set is not None:
            rows = eval_set[0] if isinstance(eval_set, tuple) else eval_set
            valid_x = torch.from_numpy(_as_features(rows, self.n_features_in_, "eval_set X"))
            valid = ArrayDataset(valid_x, valid_x)
        # The target of a row is the row itself (one tensor, referenced twice).
        self._train(ArrayDataset(train_x, train_x), valid, self.n_features_in_, nn.MSELoss())
        errors = self._errors(features)
        self.threshold_ = float(np.quantile(errors, 1.0 - self.contamination))
        self.offset_ = -self.threshold_
        return self

    def _errors(self, X: Any) -> np.ndarray:
        features = _as_features(X, self.n_features_in_)
        reconstruction = self._forward(features)
        return np.asarray(((reconstruction - features) ** 2).mean(axis=1), dtype=np.float64)

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus the reconstruction error: the lower, the more abnormal."""
        return -self._errors(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``threshold_ - error``: negative for anomalies, positive for normal rows."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """1 for an anomaly, 0 for a normal row."""
        check_is_fitted(self, "threshold_")
        return (self._errors(X) > self.threshold_).astype(np.int64)

    def _fitted_attributes(self) -> dict[str, Any]:
        return {**super()._fitted_attributes(), "threshold_": self.threshold_}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.threshold_ = float(fitted["threshold_"])
        self.offset_ = -self.threshold_


# --- registry builders, save and load -------------------------------------------------------

ESTIMATORS: dict[str, type[_TorchTabularEstimator]] = {
    "TabularMLPClassifier": TabularMLPClassifier,
    "TabularMLPRegressor": TabularMLPRegressor,
    "FTTransformerClassifier": FTTransformerClassifier,
    "FTTransformerRegressor": FTTransformerRegressor,
    "AutoEncoderDetector": AutoEncoderDetector,
}


def build_mlp(task: str, seed: int, params: dict[str, Any]) -> Any:
    """Registry builder for ``mlp``: a classifier or regressor for ``task``."""
    cls = TabularMLPClassifier if task == "tabular-classification" else TabularMLPRegressor
    return cls(**{"random_state": seed, **params})


def build_ft_transformer(task: str, seed: int, params: dict[str, Any]) -> Any:
    """Registry builder for ``ft-transformer``."""
    cls = FTTransformerClassifier if task == "tabular-classification" else FTTransformerRegressor
    return cls(**{"random_state": seed, **params})


def build_autoencoder(task: str, seed: int, params: dict[str, Any]) -> Any:
    """Registry builder for ``autoencoder`` (anomaly detection)."""
    del task
    return AutoEncoderDetector(**{"random_state": seed, **params})


def save_torch_estimator(estimator: Any, directory: Path) -> list[str]:
    """Write a fitted estimator as ``weights.safetensors`` + ``estimator.json`` (no pickle).

    The JSON holds the class, the constructor parameters (``callbacks`` are dropped: code
    is not data) and the fitted attributes (``classes_``, ``n_features_in_``, ``threshold_``...).
    Two fits with the same seed write byte-identical files.

    Returns:
        The file names written.

    Raises:
        ModelError: the estimator is not a fitted trainwell torch estimator, or a parameter is
            not JSON-serialisable.
    """
    if not isinstance(estimator, _TorchTabularEstimator):
        raise ModelError(f"not a trainwell torch estimator: {type(estimator).__name__}")
    check_is_fitted(estimator, "module_")
    params = estimator.get_params(deep=False)
    params["callbacks"] = None
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
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
    module = estimator.module_
    # save_model handles tied (shared) tensors, which save_file refuses.
    save_model(module, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    (directory / ESTIMATOR_FILE).write_text(text + "\n", encoding="utf-8")
    return [WEIGHTS_FILE, ESTIMATOR_FILE]


def load_torch_estimator(directory: Path) -> Any:
    """Rebuild an estimator written by :func:`save_torch_estimator`, on the CPU, in eval mode.

    Raises:
        BundleError: a file is missing or unreadable, or the weights do not fit the model.
    """
    try:
        document = json.loads((directory / ESTIMATOR_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {directory / ESTIMATOR_FILE}: {exc}") from exc
    if document.get("format_version", 0) > SAVE_FORMAT_VERSION:
        raise BundleError(f"{directory} was saved by a newer trainwell: upgrade to load it")
    cls = ESTIMATORS.get(document.get("class", ""))
    if cls is None:
        raise BundleError(
            f"{directory / ESTIMATOR_FILE} names an unknown class: {document.get('class')!r}"
        )
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in document["params"].items()}
    estimator = cls(**params)
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
