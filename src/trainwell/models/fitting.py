"""How each architecture is fitted: the registry's ``fit`` column.

A fit function receives the unfitted model, the model inputs of the training and validation
splits, and an optional :class:`Progress` (tuning's intermediate scores). Without a progress it
fits exactly once, as `train` does; with one, architectures that can grow in stages report the
raw validation output every ``progress.every`` iterations (the pruner decides from those).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class FitInputs:
    """Model inputs for one fit. ``y_*`` is None when the objective is unsupervised."""

    X_train: Any
    y_train: Any
    X_valid: Any
    y_valid: Any


class Progress(Protocol):
    """Receives raw validation output (probabilities or values) during a staged fit."""

    @property
    def every(self) -> int:
        """Iterations between two reports."""

    def report(self, step: int, raw: np.ndarray) -> None:
        """Raw validation output after ``step`` iterations; may raise to stop the fit."""


FitFn = Callable[[Any, FitInputs, "Progress | None"], None]


def fit_estimator(model: Any, data: FitInputs, progress: Progress | None = None) -> None:
    """``fit(X, y)``, or ``fit(X)`` for an unsupervised objective; one final score only."""
    if data.y_train is None:
        model.fit(data.X_train)
    else:
        model.fit(data.X_train, data.y_train)


def fit_with_eval_set(model: Any, data: FitInputs, progress: Progress | None = None) -> None:
    """Torch estimators: the validation split is scored every epoch by the Trainer (tuning's
    pruning arrives as a Trainer callback, not through ``progress``)."""
    eval_set = data.X_valid if data.y_valid is None else (data.X_valid, data.y_valid)
    model.fit(data.X_train, data.y_train, eval_set=eval_set)


def fit_in_stages(param: str) -> FitFn:
    """An ensemble grown with ``warm_start``, ``progress.every`` members/iterations at a time
    (scikit-learn's HistGradientBoosting and random forests)."""

    def fit(model: Any, data: FitInputs, progress: Progress | None = None) -> None:
        import numpy as np
        from sklearn.base import is_classifier

        if progress is None:
            fit_estimator(model, data)
            return
        total = int(model.get_params()[param])
        model.set_params(warm_start=True)
        predict = model.predict_proba if is_classifier(model) else model.predict
        for stop in [*range(progress.every, total, progress.every), total]:
            model.set_params(**{param: stop})
            model.fit(data.X_train, data.y_train)
            progress.report(stop, np.asarray(predict(data.X_valid)))
            if getattr(model, "n_iter_", stop) < stop:  # HistGradientBoosting stopped early
                break

    return fit
