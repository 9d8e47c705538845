"""Registry entry points for the torch architectures, importing torch only when called.

The registry table must stay importable without torch (``advise`` and ``--help`` read it);
these wrappers defer ``trainwell.models.torch_tabular`` to the moment a model is built,
saved or loaded.

Builders take ``(objective, seed, params)``: the objective's name (``classification``,
``regression``, ``anomaly``), the seed (the estimator's ``random_state`` unless ``params`` has
one) and one flat dict: the loop settings under ``TrainerSettings``' names
(``TrainerSettings.from_config(cfg).as_params()``), ``checkpoint_dir``, ``callbacks`` and the
architecture's hyperparameters. The loop settings become the estimator's ``loop``; a parameter
the estimator does not take is a ``TypeError``, a loop setting out of range a ``ValueError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_mlp(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """Tabular MLP classifier/regressor trained by trainwell's Trainer."""
    from trainwell.models import torch_tabular

    return torch_tabular.build_mlp(objective, seed, params)


def build_ft_transformer(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """FT-Transformer (rtdl) classifier/regressor trained by trainwell's Trainer."""
    from trainwell.models import torch_tabular

    return torch_tabular.build_ft_transformer(objective, seed, params)


def build_autoencoder(objective: str, seed: int, params: dict[str, Any]) -> Any:
    """AutoEncoder anomaly detector (reconstruction error) trained by trainwell's Trainer."""
    from trainwell.models import torch_tabular

    return torch_tabular.build_autoencoder(objective, seed, params)


def save(model: Any, directory: Path) -> list[str]:
    """Weights as safetensors plus the estimator's parameters as JSON."""
    from trainwell.models import torch_estimator

    return torch_estimator.save_torch_estimator(model, directory)


def load(directory: Path) -> Any:
    """Load what :func:`save` wrote."""
    from trainwell.models import torch_tabular

    return torch_tabular.load_torch_estimator(directory)
