"""Registry entry points for the image architectures, importing torch/timm only when called.

The registry table stays importable without torch (``advise`` and ``--help`` read it); these
wrappers defer ``trainwell.models.torch_vision`` to the moment a model is built, saved or loaded.
Builders take ``(objective, seed, params)`` as every registry builder does (see
``trainwell.models.torch_entries``); the params also carry ``pretrained``/``weights`` when the
config asks for pretrained weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

TIMM_PREFIX = "timm:"
SMALL_CNN = "small-cnn"

# config name -> one line for `advise`, `--help` and docs/models.md (timm names, but the CNN)
IMAGE_ARCHITECTURES: dict[str, str] = {
    "resnet18": "ResNet-18 (timm): the fast, reliable CNN; the default for images on a CPU",
    "resnet34": "ResNet-34 (timm): a deeper ResNet",
    "resnet50": "ResNet-50 (timm): the standard fine-tuning backbone",
    "efficientnet_b0": "EfficientNet-B0 (timm): most accuracy per FLOP; edge devices",
    "efficientnet_b1": "EfficientNet-B1 (timm)",
    "efficientnet_b2": "EfficientNet-B2 (timm)",
    "vit_tiny_patch16_224": "ViT-Tiny/16 (timm): the smallest vision transformer",
    "vit_small_patch16_224": "ViT-Small/16 (timm): accuracy with enough data or a GPU",
    "vit_base_patch16_224": "ViT-Base/16 (timm): the state-of-the-art fine-tuning pick",
    SMALL_CNN: "A small CNN at native resolution for tiny images (MNIST-like, <= 64 px)",
}


def model_name(architecture: str) -> str:
    """The timm model (or ``small-cnn``) behind a config name (``timm:<name>`` passes through)."""
    return architecture.removeprefix(TIMM_PREFIX)


def builder(architecture: str) -> Callable[[str, int, dict[str, Any]], Any]:
    """The registry builder of ``architecture``: an ``ImageClassifier`` of its model."""

    def build(objective: str, seed: int, params: dict[str, Any]) -> Any:
        from trainwell.models import torch_vision

        return torch_vision.build_image_classifier(model_name(architecture))(
            objective, seed, params
        )

    return build


def save(model: Any, directory: Path) -> list[str]:
    """``weights.safetensors`` + ``estimator.json`` (the eval transform included)."""
    from trainwell.models import torch_vision

    return torch_vision.save(model, directory)


def load(directory: Path) -> Any:
    """The fitted classifier, on the CPU, without reading pretrained weights."""
    from trainwell.models import torch_vision

    return torch_vision.load(directory)


def input_size(
    architecture: str, params: Mapping[str, Any], pretrained: bool, native: tuple[int, int]
) -> int:
    """The side of the square the model sees, by the rule ``torch_vision.resolve_transform``
    applies at fit time (``model.params.image_size``; else the pretrained input; else native)."""
    from trainwell.models import torch_vision

    size = params.get("image_size")
    spec = torch_vision.resolve_transform(
        model_name(architecture),
        pretrained=pretrained,
        image_size=None if size is None else int(size),
        native_size=native,
        channels=3,
    )
    return spec.image_size


def is_timm_model(name: str) -> bool:
    """Whether timm can build ``name``."""
    from trainwell.models import torch_vision

    return torch_vision.is_timm_model(name)
