"""The built-in default experiment: what `trainwell train` (and `make run`) trains with no config.

A real dataset that scikit-learn ships (Wisconsin breast cancer, 569 rows, binary), so it works
offline on a fresh machine from any directory.
"""

from __future__ import annotations

from typing import Any

DEFAULT_EXPERIMENT: dict[str, Any] = {
    "data": {"path": "sklearn:breast_cancer", "target": "target"},
    "model": {"architecture": "auto"},
    "training": {"seed": 42},
}

PRESPLIT_KEYS = frozenset({"data.train_path", "data.valid_path", "data.test_path"})


def default_experiment(override_keys: set[str]) -> dict[str, Any]:
    """The default experiment, minus its data source when the user gives pre-split files."""
    if override_keys & PRESPLIT_KEYS:
        return {**DEFAULT_EXPERIMENT, "data": {"target": DEFAULT_EXPERIMENT["data"]["target"]}}
    return DEFAULT_EXPERIMENT
