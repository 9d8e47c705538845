"""``skops.io`` without the four seconds its import costs.

At import, ``skops.io`` builds its default trusted-type list from
``sklearn.utils.all_estimators()``, which walks and imports every scikit-learn subpackage,
torch included (through ``sklearn.externals.array_api_compat.torch``): about 4 s on a 2-core
machine, more than `predict` needs for a small table in total. trainwell never relies on that
default list: ``load_skops`` computes the file's untrusted types, checks each against its own
rule (classes under sklearn/numpy/trainwell only) and passes them explicitly as ``trusted``.
So the list is built empty here, and everything else in skops is unchanged.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


def import_skops_io() -> ModuleType:
    """``skops.io``, imported with an empty default sklearn-estimator trust list."""
    loaded = sys.modules.get("skops.io")
    if loaded is not None:
        return loaded
    import sklearn.utils

    original = sklearn.utils.all_estimators

    def no_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
        return []

    sklearn.utils.all_estimators = no_estimators
    try:
        import skops.io as module
    finally:
        sklearn.utils.all_estimators = original
    return sys.modules[module.__name__]
