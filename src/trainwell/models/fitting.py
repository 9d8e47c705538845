"""How each architecture is fitted: the registry's ``fit`` column.

A fit function receives the unfitted model, the model inputs of the training and validation
splits, and an optional :class:`Progress` (tuning's intermediate scores), and returns the fitted
model: ``model`` itself, or a view of it that adapts its input (a GBM given native categorical
columns, ``trainwell.models.gbm``). Without a progress it fits exactly once, as `train` does;
with one, architectures that can grow in stages report the raw validation output every
``progress.every`` iterations (the pruner decides from those).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class FitInputs:
    """Model inputs for one fit. ``y_*`` is None when the objective is unsupervised.

    Attributes:
        categorical: the columns of ``X_*`` holding ordinal category codes that the row declares
            as categories to its library (codes 0..k-1, -1 for a category the preprocessing
            never saw); empty: every column is a number to the model.
    """

    X_train: Any
    y_train: Any
    X_valid: Any
    y_valid: Any
    categorical: tuple[int, ...] = ()


class Progress(Protocol):
    """Receives raw validation output (probabilities or values) during a staged fit."""

    @property
    def every(self) -> int:
        """Iterations between two reports."""

    def report(self, step: int, raw: np.ndarray) -> None:
        """Raw validation output after ``step`` iterations; may raise to stop the fit."""


FitFn = Callable[[Any, FitInputs, "Progress | None"], Any]
# The most categories a column may have for the row to declare it categorical, from the
# builder's parameters (None: no limit). Registry column ``native_categorical``.
CategoryLimit = Callable[[Mapping[str, Any]], "int | None"]


def unlimited_categories(params: Mapping[str, Any]) -> int | None:
    """LightGBM, XGBoost and CatBoost take a categorical column of any cardinality."""
    del params
    return None


def fit_estimator(model: Any, data: FitInputs, progress: Progress | None = None) -> Any:
    """``fit(X, y)``, or ``fit(X)`` for an unsupervised objective; one final score only."""
    if data.y_train is None:
        model.fit(data.X_train)
    else:
        model.fit(data.X_train, data.y_train)
    return model


def fit_with_eval_set(model: Any, data: FitInputs, progress: Progress | None = None) -> Any:
    """Torch estimators: the validation split is scored every epoch by the Trainer (tuning's
    pruning arrives as a Trainer callback, not through ``progress``)."""
    eval_set = data.X_valid if data.y_valid is None else (data.X_valid, data.y_valid)
    model.fit(data.X_train, data.y_train, eval_set=eval_set)
    return model


def fit_in_stages(param: str, categorical_param: str | None = None) -> FitFn:
    """An ensemble grown with ``warm_start``, ``progress.every`` members/iterations at a time
    (scikit-learn's HistGradientBoosting and random forests).

    Args:
        param: the parameter that counts members/iterations.
        categorical_param: the constructor parameter that takes the positions of categorical
            columns (HistGradientBoosting's ``categorical_features``), set from
            ``FitInputs.categorical`` when there are any.
    """

    def fit(model: Any, data: FitInputs, progress: Progress | None = None) -> Any:
        import numpy as np
        from sklearn.base import is_classifier

        if categorical_param is not None and data.categorical:
            model.set_params(**{categorical_param: list(data.categorical)})
        if progress is None:
            return fit_estimator(model, data)
        total = int(model.get_params()[param])
        model.set_params(warm_start=True)
        predict = model.predict_proba if is_classifier(model) else model.predict
        for stop in [*range(progress.every, total, progress.every), total]:
            model.set_params(**{param: stop})
            model.fit(data.X_train, data.y_train)
            progress.report(stop, np.asarray(predict(data.X_valid)))
            if getattr(model, "n_iter_", stop) < stop:  # HistGradientBoosting stopped early
                break
        return model

    return fit
