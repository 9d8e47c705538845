"""The built-in default experiment: what `trainwell train` (and `make run`) trains with no config.

A real dataset that scikit-learn ships (Wisconsin breast cancer, 569 rows, binary), so it works
offline on a fresh machine from any directory.
"""

from __future__ import annotations

from typing import Any

DEFAULT_EXPERIMENT: dict[str, Any] = {
    "name": "breast-cancer",
    "data": {"path": "sklearn:breast_cancer", "target": "target"},
    "model": {"architecture": "auto"},
    "training": {"seed": 42},
}
