"""Registry entry points for the torch architectures, importing torch only when called.

The registry table must stay importable without torch (``advise`` and ``--help`` read it);
these wrappers defer ``trainwell.models.torch_tabular`` to the moment a model is built,
saved or loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_mlp(task: str, seed: int, params: dict[str, Any]) -> Any:
    """Tabular MLP classifier/regressor trained by trainwell's Trainer."""
    from trainwell.models import torch_tabular

    return torch_tabular.build_mlp(task, seed, params)


def build_ft_transformer(task: str, seed: int, params: dict[str, Any]) -> Any:
    """FT-Transformer (rtdl) classifier/regressor trained by trainwell's Trainer."""
    from trainwell.models import torch_tabular

    return torch_tabular.build_ft_transformer(task, seed, params)


def build_autoencoder(task: str, seed: int, params: dict[str, Any]) -> Any:
    """AutoEncoder anomaly detector (reconstruction error) trained by trainwell's Trainer."""
    from trainwell.models import torch_tabular

    return torch_tabular.build_autoencoder(task, seed, params)


def save(model: Any, directory: Path) -> list[str]:
    """Weights as safetensors plus the estimator's parameters as JSON."""
    from trainwell.models import torch_tabular

    return torch_tabular.save_torch_estimator(model, directory)


def load(directory: Path) -> Any:
    """Load what :func:`save` wrote."""
    from trainwell.models import torch_tabular

    return torch_tabular.load_torch_estimator(directory)
