"""scikit-learn estimators: builders, and safe persistence with skops (never pickle)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trainwell.errors import BundleError

SKOPS_FILE = "model.skops"
# skops refuses every type it does not trust by default; these module prefixes are the only
# extra types trainwell accepts when loading (sklearn internals and numpy scalars/arrays).
TRUSTED_MODULE_PREFIXES = ("sklearn.", "numpy.", "trainwell.")
# The callables trusted by exact name: a HistGradientBoosting fitted with categorical features
# keeps an input check, ``partial(check_array, ...)``, in its internal ColumnTransformer. The
# partial can bind only what is trusted (these and the classes above), so it adds no gadget.
TRUSTED_CALLABLES = frozenset({"functools.partial", "sklearn.utils.validation.check_array"})
LINEAR_MAX_ITER = 2000
FOREST_N_ESTIMATORS = 300
ALL_CORES = -1
# HistGradientBoosting's default max_bins: a categorical column may have at most max_bins
# categories (its codes index the bins).
HGB_MAX_BINS = 255


def _is_classification(objective: str) -> bool:
    return objective == "classification"


def build_hgb(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """HistGradientBoosting: scikit-learn's fast histogram GBM, the playbook's default."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (
        HistGradientBoostingClassifier
        if _is_classification(objective)
        else (HistGradientBoostingRegressor)
    )
    return cls(**{"random_state": seed, **params})


def hgb_max_categories(params: Mapping[str, Any]) -> int:
    """HistGradientBoosting bins a categorical column by its codes: at most ``max_bins``."""
    return int(params.get("max_bins", HGB_MAX_BINS))


def hgb_refit_params(model: Any) -> dict[str, Any]:
    """A refit on more rows keeps the iterations the evaluated model ran (``n_iter_``: what
    early stopping kept, else ``max_iter``) and does not stop early on its own: 'auto' early
    stopping switches on from 10,000 rows, which the union of the splits may reach."""
    return {"max_iter": int(model.n_iter_), "early_stopping": False}


def build_random_forest(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """Random forest with all cores."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if _is_classification(objective) else RandomForestRegressor
    defaults = {"n_estimators": FOREST_N_ESTIMATORS, "n_jobs": ALL_CORES, "random_state": seed}
    return cls(**{**defaults, **params})


def build_linear(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """Logistic regression (classification) or ridge (regression): the interpretable choice."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if _is_classification(objective):
        return LogisticRegression(**{"max_iter": LINEAR_MAX_ITER, "random_state": seed, **params})
    return Ridge(**{"random_state": seed, **params})


def build_isolation_forest(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """IsolationForest: the simple anomaly-detection baseline."""
    from sklearn.ensemble import IsolationForest

    return IsolationForest(**{"random_state": seed, "n_jobs": ALL_CORES, **params})


def save_skops(obj: Any, directory: Path, filename: str = SKOPS_FILE) -> list[str]:
    """Write ``obj`` with skops; returns the file names written."""
    from trainwell.models.skops_io import import_skops_io

    sio = import_skops_io()

    sio.dump(obj, directory / filename)
    return [filename]


def _trusted_class(type_path: str) -> bool:
    """True for a class (not a function) defined under the trusted module prefixes."""
    if not type_path.startswith(TRUSTED_MODULE_PREFIXES):
        return False
    module_name, _, attribute = type_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return isinstance(getattr(module, attribute, None), type)


def load_skops(path: Path) -> Any:
    """Load a skops file, trusting only classes from sklearn, numpy and trainwell.

    skops refuses unknown types by default; trainwell extends its trust to classes (never
    functions, which a crafted file could use as gadgets) under ``TRUSTED_MODULE_PREFIXES``,
    and to the ``TRUSTED_CALLABLES`` named one by one.

    Raises:
        BundleError: the file is unreadable or holds a type outside that trust.
    """
    from trainwell.models.skops_io import import_skops_io

    sio = import_skops_io()

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (OSError, ValueError, KeyError) as exc:
        raise BundleError(f"cannot read {path.name}: {exc}") from exc
    refused = [t for t in untrusted if t not in TRUSTED_CALLABLES and not _trusted_class(t)]
    if refused:
        raise BundleError(f"{path.name} holds types trainwell does not trust: {refused}")
    return sio.load(path, trusted=untrusted)


def load_sklearn_model(directory: Path) -> Any:
    """Loader used by the registry for scikit-learn entries."""
    return load_skops(directory / SKOPS_FILE)


class OutlierLabels:
    """A fitted scikit-learn outlier detector answering with trainwell's labels.

    scikit-learn's detectors predict -1 (anomaly) / 1 (normal); trainwell's, 1 / 0. The bundle
    keeps the estimator itself; this view is what loading returns, so every reader agrees.
    """

    SKLEARN_OUTLIER = -1

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def predict(self, X: Any) -> Any:
        """1 for an anomaly, 0 for a normal row."""
        import numpy as np

        return (np.asarray(self.estimator.predict(X)) == self.SKLEARN_OUTLIER).astype(np.int64)

    def score_samples(self, X: Any) -> Any:
        """scikit-learn's score (lower = more anomalous)."""
        return self.estimator.score_samples(X)

    def decision_function(self, X: Any) -> Any:
        """scikit-learn's decision function (negative = anomaly)."""
        return self.estimator.decision_function(X)


def load_outlier_detector(directory: Path) -> OutlierLabels:
    """Loader used by the registry for scikit-learn outlier detectors."""
    return OutlierLabels(load_skops(directory / SKOPS_FILE))


def save_sklearn_model(model: Any, directory: Path) -> list[str]:
    """Saver used by the registry for scikit-learn entries."""
    return save_skops(model, directory)
