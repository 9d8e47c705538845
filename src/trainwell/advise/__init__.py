"""The decision framework as code: the playbook's library and architecture tables, applied.

    trainwell advise --task object-detection --priority speed
    trainwell advise --task tabular-classification --rows 40000000 --categorical-share 0.7
    trainwell advise --data data/raw/churn.csv --target churned
    trainwell advise --task text-generation --json

In Python::

    from trainwell.advise import Profile, advise
    advice = advise(Profile(task="tabular-classification", rows=40_000_000))
    advice.primary.config_name   # 'lightgbm'; advice.primary.reason says why

The rules are one literal table in ``rules.py``; ``engine.py`` evaluates it. The names below are
loaded on first use (PEP 562), so ``trainwell.advise.cli`` -- and with it ``trainwell --help`` --
imports no pydantic, pandas or model code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainwell.advise.engine import Advice, Choice, ToolingChoice, advise
    from trainwell.advise.profile import Profile, build_profile, profile_from_data

__all__ = [
    "Advice",
    "Choice",
    "Profile",
    "ToolingChoice",
    "advise",
    "build_profile",
    "profile_from_data",
]

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "Advice": "trainwell.advise.engine",
    "Choice": "trainwell.advise.engine",
    "ToolingChoice": "trainwell.advise.engine",
    "advise": "trainwell.advise.engine",
    "Profile": "trainwell.advise.profile",
    "build_profile": "trainwell.advise.profile",
    "profile_from_data": "trainwell.advise.profile",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trainwell.advise' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
