"""scikit-learn estimators for trainwell's tabular torch models, trained through the Trainer.

    clf = TabularMLPClassifier(hidden_dims=(128, 128), loop=TrainerSettings(epochs=10))
    clf.fit(X_train, y_train, eval_set=(X_valid, y_valid)).predict_proba(X_test)
    save_torch_estimator(clf, Path("model"))         # weights.safetensors + estimator.json
    clf = load_torch_estimator(Path("model"))

Estimators: :class:`TabularMLPClassifier`, :class:`TabularMLPRegressor`,
:class:`FTTransformerClassifier`, :class:`FTTransformerRegressor` and
:class:`AutoEncoderDetector` (anomaly detection). Their constructors take the architecture's
hyperparameters, then :class:`~trainwell.models.torch_estimator.TorchEstimator`'s ``loop``,
``checkpoint_dir``, ``callbacks`` and ``random_state``. The registry builders (``build_*``)
take the objective's name and one flat dict of loop settings and hyperparameters.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch
from sklearn.base import ClassifierMixin, OutlierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from trainwell.errors import DataError, ModelError
from trainwell.models.torch_estimator import (
    DEFAULT_LOOP,
    DEFAULT_SEED,
    ProbabilityHead,
    ReconstructionScore,
    TorchEstimator,
    ValueHead,
    as_features,
    build_estimator,
    save_torch_estimator,
)
from trainwell.models.torch_estimator import load_torch_estimator as _load
from trainwell.training.callbacks import Callback
from trainwell.training.data import ArrayDataset, check_finite, tensor_dataset
from trainwell.training.settings import TrainerSettings

__all__ = [
    "ESTIMATORS",
    "AutoEncoderDetector",
    "FTTransformerClassifier",
    "FTTransformerRegressor",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "build_autoencoder",
    "build_ft_transformer",
    "build_mlp",
    "load_torch_estimator",
    "save_torch_estimator",
]

MIN_CLASSES = 2
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


def _accuracy(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    return {"accuracy": float((outputs.argmax(dim=1) == targets).float().mean())}


class _Classifier(ClassifierMixin, TorchEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Cross-entropy on integer-coded labels; ``classes_`` holds the original labels."""

    classes_: np.ndarray

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None) -> Self:
        """Train on ``(X, y)``; ``eval_set=(X_val, y_val)`` is validated after every epoch.

        Raises:
            DataError: NaN/inf or a bad shape in X, fewer than two classes, or validation
                labels never seen in training.
            TrainingError: see :meth:`Trainer.fit`.
        """
        features = as_features(X)
        labels = np.asarray(y).ravel()
        if labels.shape[0] != features.shape[0]:
            raise DataError(f"X has {features.shape[0]} rows but y has {labels.shape[0]}")
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if len(self.classes_) < MIN_CLASSES:
            raise DataError(f"classification needs at least 2 classes in y. Got {self.classes_}.")
        self.n_features_in_ = features.shape[1]
        valid = None
        if eval_set is not None:
            X_val = as_features(eval_set[0], self.n_features_in_, "eval_set X")
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

    def export_head(self) -> nn.Module:
        """Softmax over the module's logits (``predict_proba``)."""
        check_is_fitted(self, "module_")
        return ProbabilityHead(copy.deepcopy(self.module_).cpu().eval())

    def _fitted_attributes(self) -> dict[str, Any]:
        return {**super()._fitted_attributes(), "classes_": self.classes_.tolist()}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.classes_ = np.asarray(fitted["classes_"])


class _Regressor(RegressorMixin, TorchEstimator):  # type: ignore[misc]  # sklearn is untyped
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
        features = as_features(X)
        target = self._target(y, features.shape[0], "y")
        self.y_mean_ = float(target.mean())
        std = float(target.std())
        self.y_scale_ = std if std > 0 else 1.0
        self.n_features_in_ = features.shape[1]
        valid = None
        if eval_set is not None:
            X_val = as_features(eval_set[0], self.n_features_in_, "eval_set X")
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

    def export_head(self) -> nn.Module:
        """The standardised output back in y's units (``predict``), ``(n, 1)``."""
        check_is_fitted(self, "module_")
        module = copy.deepcopy(self.module_).cpu().eval()
        return ValueHead(module, self.y_mean_, self.y_scale_)

    def _fitted_attributes(self) -> dict[str, Any]:
        return {**super()._fitted_attributes(), "y_mean_": self.y_mean_, "y_scale_": self.y_scale_}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.y_mean_ = float(fitted["y_mean_"])
        self.y_scale_ = float(fitted["y_scale_"])


# --- MLP ------------------------------------------------------------------------------------


class _MLPEstimator(TorchEstimator):
    """Hyperparameters of the tabular MLP (then ``TorchEstimator``'s parameters).

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
        loop: TrainerSettings = DEFAULT_LOOP,
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        random_state: int = DEFAULT_SEED,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        super().__init__(
            loop=loop, checkpoint_dir=checkpoint_dir, callbacks=callbacks, random_state=random_state
        )

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        from trainwell.models.mlp import TabularMLP

        return TabularMLP(n_features, n_outputs, tuple(self.hidden_dims), self.dropout)


class TabularMLPClassifier(_Classifier, _MLPEstimator):
    """Tabular MLP classifier (architecture ``mlp``).

    Example:
        >>> from sklearn.datasets import load_breast_cancer
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> loop = TrainerSettings(epochs=2, progress_bar=False)
        >>> clf = TabularMLPClassifier(hidden_dims=(32,), loop=loop)
        >>> clf.fit((X - X.mean(0)) / X.std(0), y).classes_
        array([0, 1])
    """


class TabularMLPRegressor(_Regressor, _MLPEstimator):
    """Tabular MLP regressor (architecture ``mlp``)."""


# --- FT-Transformer --------------------------------------------------------------------------


class _FTTransformerEstimator(TorchEstimator):
    """Hyperparameters of the FT-Transformer (rtdl's names; then ``TorchEstimator``'s).

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
        loop: TrainerSettings = DEFAULT_LOOP,
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        random_state: int = DEFAULT_SEED,
    ) -> None:
        self.n_blocks = n_blocks
        self.d_block = d_block
        self.attention_n_heads = attention_n_heads
        self.attention_dropout = attention_dropout
        self.ffn_d_hidden_multiplier = ffn_d_hidden_multiplier
        self.ffn_dropout = ffn_dropout
        self.residual_dropout = residual_dropout
        super().__init__(
            loop=loop, checkpoint_dir=checkpoint_dir, callbacks=callbacks, random_state=random_state
        )

    def export_tracing(self) -> contextlib.AbstractContextManager[None]:
        """rtdl's attention reads ``len(q)``: see ``dynamic_batch_tracing``."""
        from trainwell.models.ft_transformer import dynamic_batch_tracing

        return dynamic_batch_tracing()

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


class AutoEncoderDetector(OutlierMixin, TorchEstimator):  # type: ignore[misc]  # sklearn is untyped
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
        loop: TrainerSettings = DEFAULT_LOOP,
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        random_state: int = DEFAULT_SEED,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.contamination = contamination
        super().__init__(
            loop=loop, checkpoint_dir=checkpoint_dir, callbacks=callbacks, random_state=random_state
        )

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
        features = as_features(X)
        self.n_features_in_ = features.shape[1]
        train_x = torch.from_numpy(features)
        valid = None
        if eval_set is not None:
            rows = eval_set[0] if isinstance(eval_set, tuple) else eval_set
            valid_x = torch.from_numpy(as_features(rows, self.n_features_in_, "eval_set X"))
            valid = ArrayDataset(valid_x, valid_x)
        # The target of a row is the row itself (one tensor, referenced twice).
        self._train(ArrayDataset(train_x, train_x), valid, self.n_features_in_, nn.MSELoss())
        errors = self._errors(features)
        self.threshold_ = float(np.quantile(errors, 1.0 - self.contamination))
        self.offset_ = -self.threshold_
        return self

    def _errors(self, X: Any) -> np.ndarray:
        features = as_features(X, self.n_features_in_)
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

    def export_head(self) -> nn.Module:
        """Minus the reconstruction error (``score_samples``), ``(n, 1)``."""
        check_is_fitted(self, "module_")
        return ReconstructionScore(copy.deepcopy(self.module_).cpu().eval())

    @property
    def score_cutoff(self) -> float:
        """A row is an anomaly when its ``score_samples`` is below this (``-threshold_``)."""
        return -self.threshold_

    def _fitted_attributes(self) -> dict[str, Any]:
        return {**super()._fitted_attributes(), "threshold_": self.threshold_}

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.threshold_ = float(fitted["threshold_"])
        self.offset_ = -self.threshold_


# --- registry builders and loading ---------------------------------------------------------

ESTIMATORS: dict[str, type[TorchEstimator]] = {
    "TabularMLPClassifier": TabularMLPClassifier,
    "TabularMLPRegressor": TabularMLPRegressor,
    "FTTransformerClassifier": FTTransformerClassifier,
    "FTTransformerRegressor": FTTransformerRegressor,
    "AutoEncoderDetector": AutoEncoderDetector,
}
_BY_OBJECTIVE: dict[str, dict[str, type[TorchEstimator]]] = {
    "mlp": {"classification": TabularMLPClassifier, "regression": TabularMLPRegressor},
    "ft-transformer": {
        "classification": FTTransformerClassifier,
        "regression": FTTransformerRegressor,
    },
    "autoencoder": {"anomaly": AutoEncoderDetector},
}


def _build(architecture: str, objective: str, seed: int, params: Mapping[str, Any]) -> Any:
    """The estimator of ``architecture`` for ``objective``, from flat builder ``params``.

    Raises:
        ModelError: the architecture has no estimator for this objective.
        TypeError: a parameter the estimator does not take.
        ValueError: a loop setting out of its range.
    """
    classes = _BY_OBJECTIVE[architecture]
    cls = classes.get(objective)
    if cls is None:
        raise ModelError(
            f"{architecture} has no estimator for objective {objective!r} "
            f"(it serves: {', '.join(classes)})"
        )
    return build_estimator(cls, seed, params)


def build_mlp(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """Registry builder for ``mlp``: a classifier or regressor for ``objective``."""
    return _build("mlp", objective, seed, params)


def build_ft_transformer(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """Registry builder for ``ft-transformer``: a classifier or regressor for ``objective``."""
    return _build("ft-transformer", objective, seed, params)


def build_autoencoder(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """Registry builder for ``autoencoder`` (objective ``anomaly``)."""
    return _build("autoencoder", objective, seed, params)


def load_torch_estimator(directory: Path) -> Any:
    """Rebuild an estimator of this module written by :func:`save_torch_estimator`.

    Raises:
        BundleError: a file is missing or unreadable, or the weights do not fit the model.
    """
    return _load(directory, ESTIMATORS)
