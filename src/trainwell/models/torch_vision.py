"""Image classification: timm models, or a small CNN for tiny images, trained by the Trainer.

    images = ImageSet.from_files(paths, "RGB")
    clf = ImageClassifier("resnet18", pretrained=True, weights="weights/resnet18",
                          loop=TrainerSettings(epochs=5, batch_size=64))
    clf.fit(images, labels, eval_set=(valid_images, valid_labels)).predict_proba(test_images)
    save(clf, Path("model"))                # weights.safetensors + estimator.json
    clf = load(Path("model"))               # never reads the pretrained weights again

The preprocessing is a :class:`TransformSpec` (JSON, saved with the model) that
:func:`resolve_transform` derives from the model's pretrained config and the images' native
size. Training images go through :func:`build_train_transform` (random crop, flip, auto
augment), validation and prediction through :func:`build_eval_transform` (resize, centre crop).

Pretrained weights are only ever read from safetensors files: ``weights`` (a ``.safetensors``
file, or a folder holding ``model.safetensors`` as a Hugging Face timm repo snapshot does), or,
with ``pretrained=True`` alone, the model's ``model.safetensors`` in the local Hugging Face
cache. Nothing here downloads.

Registry builders: :func:`build_image_classifier` for the names of :data:`IMAGE_MODELS` and
any timm model (:func:`is_timm_model`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, cast

import numpy as np
import timm
import torch
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator
from safetensors import SafetensorError
from safetensors.torch import load_file
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn
from torch.nn import functional
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from trainwell.data.image_io import ImageSet
from trainwell.errors import DataError, ModelError
from trainwell.models.torch_estimator import (
    DEFAULT_LOOP,
    DEFAULT_SEED,
    ProbabilityHead,
    TorchEstimator,
    build_estimator,
    load_torch_estimator,
    save_torch_estimator,
)
from trainwell.training.callbacks import Callback
from trainwell.training.settings import TrainerSettings
from trainwell.training.trainer import SGD_MOMENTUM, StepFn, Trainer
from trainwell.utils.logging import get_logger

__all__ = [
    "ESTIMATORS",
    "IMAGE_MODELS",
    "SMALL_CNN",
    "FreezeBackbone",
    "ImageClassifier",
    "ImageDataset",
    "SmallCNN",
    "TransformSpec",
    "build_eval_transform",
    "build_image_classifier",
    "build_train_transform",
    "head_parameters",
    "input_defaults",
    "is_timm_model",
    "load",
    "resolve_transform",
    "save",
]

logger = get_logger(__name__)

SMALL_CNN = "small-cnn"
# RandomResizedCrop keeps at least this share of the image (timm trains ImageNet at 0.08;
# from-scratch training on small datasets is more stable with milder crops)
DEFAULT_CROP_SCALE = 0.35
# Config names the registry lists -> timm names (the same, but for trainwell's own small CNN).
IMAGE_MODELS: dict[str, str] = {
    name: name
    for name in (
        "resnet18",
        "resnet34",
        "resnet50",
        "efficientnet_b0",
        "efficientnet_b1",
        "efficientnet_b2",
        "vit_tiny_patch16_224",
        "vit_small_patch16_224",
        "vit_base_patch16_224",
    )
} | {SMALL_CNN: SMALL_CNN}

AutoAugment = Literal["none", "trivial", "randaugment"]
Interpolation = Literal["bilinear", "bicubic"]
AUTO_AUGMENTS: tuple[str, ...] = ("none", "trivial", "randaugment")
MAX_MAGNITUDE = 30  # RandAugment's 31 magnitude bins: 0..30
SIZE_MULTIPLE = 32  # CNNs trained from scratch: the input side, rounded up (5 stride-2 stages)
DEFAULT_PATCH = 16  # a ViT's patch side when its name does not say (vit_*_patch16_*)
SMALL_CNN_MIN_SIZE = 8
SMALL_CNN_WIDTH = 32
SMALL_CNN_BLOCKS = 3
MIN_POOLED_SIDE = 4  # SmallCNN max-pools only while the pooled map keeps at least 4 px a side
SMALL_CNN_MEAN = 0.5
SMALL_CNN_STD = 0.5
DEFAULT_INPUT_SIZE = (3, 224, 224)
DEFAULT_MEAN = (0.485, 0.456, 0.406)  # ImageNet: timm's IMAGENET_DEFAULT_MEAN / _STD
DEFAULT_STD = (0.229, 0.224, 0.225)
HF_WEIGHTS_FILE = "model.safetensors"  # the weights file of a Hugging Face timm repo
MIN_CLASSES = 2
MISSING_KEYS_SHOWN = 5
_PATCH_IN_NAME = re.compile(r"patch(\d+)")

Transform = Callable[[Image.Image], Tensor]


# --- preprocessing --------------------------------------------------------------------------


class TransformSpec(BaseModel):
    """How images become model inputs; saved with the model as JSON.

    Attributes:
        image_size: side of the square the model sees (the crop).
        resize_size: evaluation resizes the shorter side to this, then centre-crops
            ``image_size`` (``image_size / crop_pct`` for pretrained models).
        interpolation: resampling filter of every resize.
        mean, std: per-channel normalisation, one value per channel.
        channels: 1 (grayscale "L" images) or 3 (RGB).
        crop_scale: smallest share of the image area a training crop covers.
        hflip: flip training images left-right with probability 0.5.
        auto_augment: ``trivial`` (TrivialAugmentWide), ``randaugment`` or ``none``.
        magnitude: RandAugment's magnitude, 0..30.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    image_size: int = Field(ge=1)
    resize_size: int = Field(ge=1)
    interpolation: Interpolation = "bilinear"
    mean: tuple[float, ...]
    std: tuple[float, ...]
    channels: Literal[1, 3]
    crop_scale: float = Field(default=DEFAULT_CROP_SCALE, gt=0.0, le=1.0)
    hflip: bool = True
    auto_augment: AutoAugment = "none"
    magnitude: int = Field(default=9, ge=0, le=MAX_MAGNITUDE)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(
                f"mean and std need one value per channel ({self.channels}). "
                f"Got {len(self.mean)} and {len(self.std)}."
            )
        if min(self.std) <= 0:
            raise ValueError(f"std must be > 0. Got {self.std}.")
        if self.resize_size < self.image_size:
            raise ValueError(
                f"resize_size ({self.resize_size}) must be >= image_size ({self.image_size}): "
                "the centre crop is taken from the resized image"
            )
        return self


def _interpolation(spec: TransformSpec) -> v2.InterpolationMode:
    if spec.interpolation == "bicubic":
        return v2.InterpolationMode.BICUBIC
    return v2.InterpolationMode.BILINEAR


def _to_normalised_tensor(spec: TransformSpec) -> list[Any]:
    # (C, H, W) uint8 -> float32 in [0, 1] -> normalised
    return [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(spec.mean), list(spec.std)),
    ]


def build_train_transform(spec: TransformSpec) -> Transform:
    """Random resized crop, optional flip and auto augment, then normalise.

    Every step up to the tensor conversion runs on the PIL image, so auto augment works on
    1-channel ("L") images too. The randomness comes from torch's global RNG, which the
    Trainer seeds and checkpoints.
    """
    interpolation = _interpolation(spec)
    steps: list[Any] = [
        v2.RandomResizedCrop(
            spec.image_size, scale=(spec.crop_scale, 1.0), interpolation=interpolation
        )
    ]
    if spec.hflip:
        steps.append(v2.RandomHorizontalFlip())
    if spec.auto_augment == "trivial":
        steps.append(v2.TrivialAugmentWide(interpolation=interpolation))
    elif spec.auto_augment == "randaugment":
        steps.append(v2.RandAugment(magnitude=spec.magnitude, interpolation=interpolation))
    return cast(Transform, v2.Compose(steps + _to_normalised_tensor(spec)))


def build_eval_transform(spec: TransformSpec) -> Transform:
    """Resize the shorter side to ``resize_size``, centre-crop ``image_size``, normalise.

    Deterministic: the same image always gives the same tensor.
    """
    steps: list[Any] = [
        v2.Resize(spec.resize_size, interpolation=_interpolation(spec)),
        v2.CenterCrop(spec.image_size),
    ]
    return cast(Transform, v2.Compose(steps + _to_normalised_tensor(spec)))


def is_timm_model(name: str) -> bool:
    """Whether timm can build ``name`` (an architecture, optionally with a ``.tag``)."""
    return bool(timm.is_model(name))


def _check_model_name(model_name: str) -> None:
    if model_name == SMALL_CNN or is_timm_model(model_name):
        return
    raise ModelError(
        f"unknown image model {model_name!r}: use one of {', '.join(IMAGE_MODELS)}, or a timm "
        "model name (timm.list_models() lists them)"
    )


def input_defaults(model_name: str) -> dict[str, Any]:
    """The input a model's pretrained weights expect, read from timm's pretrained config
    (the model is not built).

    Returns:
        ``input_size`` (C, H, W) or None (small-cnn), ``mean``, ``std``, ``interpolation``
        ("bilinear" or "bicubic"), ``crop_pct``, ``fixed_input_size`` (ViTs: the model is
        built for one image size), ``patch_size``, ``hf_hub_id`` (``timm/<name>.<tag>``, or
        None), ``first_conv`` and ``classifier`` (module names, or None).

    Raises:
        ModelError: neither ``small-cnn`` nor a timm model.
    """
    _check_model_name(model_name)
    if model_name == SMALL_CNN:
        return {
            "input_size": None,
            "mean": (SMALL_CNN_MEAN,) * 3,
            "std": (SMALL_CNN_STD,) * 3,
            "interpolation": "bilinear",
            "crop_pct": 1.0,
            "fixed_input_size": False,
            "patch_size": None,
            "hf_hub_id": None,
            "first_conv": None,
            "classifier": "head",
        }
    cfg = timm.get_pretrained_cfg(model_name)
    fixed = bool(getattr(cfg, "fixed_input_size", False))
    patch = _PATCH_IN_NAME.search(model_name)
    interpolation = getattr(cfg, "interpolation", "bilinear")
    return {
        "input_size": tuple(getattr(cfg, "input_size", None) or DEFAULT_INPUT_SIZE),
        "mean": tuple(getattr(cfg, "mean", None) or DEFAULT_MEAN),
        "std": tuple(getattr(cfg, "std", None) or DEFAULT_STD),
        "interpolation": interpolation if interpolation in ("bilinear", "bicubic") else "bilinear",
        "crop_pct": float(getattr(cfg, "crop_pct", None) or 1.0),
        "fixed_input_size": fixed,
        "patch_size": (int(patch.group(1)) if patch else DEFAULT_PATCH) if fixed else None,
        "hf_hub_id": getattr(cfg, "hf_hub_id", None),
        "first_conv": getattr(cfg, "first_conv", None),
        "classifier": getattr(cfg, "classifier", None),
    }


def resolve_transform(
    model_name: str,
    *,
    pretrained: bool,
    image_size: int | None,
    native_size: tuple[int, int],
    channels: int,
    crop_scale: float = DEFAULT_CROP_SCALE,
    hflip: bool = True,
    auto_augment: str = "none",
    magnitude: int = 9,
) -> TransformSpec:
    """The preprocessing of ``model_name`` for images of ``native_size`` (height, width).

    The image side is, in order:

    1. ``image_size`` when given;
    2. pretrained: the side the weights were trained at (``input_size``, e.g. 224);
    3. ``small-cnn``: the native side itself (at least 8);
    4. other models from scratch: the native side rounded up to a multiple of 32 (ViTs: of
       their patch size, and the model is built for it), at most the pretrained side.

    The native side is the shorter of the median height and width (the evaluation resize
    scales the shorter side). ``resize_size`` is ``round(image_size / crop_pct)`` for a
    pretrained model (its evaluation crop), else ``image_size``. ``mean``/``std`` are the
    pretrained config's (1 channel: their mean).

    Raises:
        ModelError: an unknown model name.
        pydantic.ValidationError: a setting out of its range (see :class:`TransformSpec`).
    """
    defaults = input_defaults(model_name)
    input_size: tuple[int, int, int] | None = defaults["input_size"]
    pretrained_side = int(input_size[-1]) if input_size is not None else None
    native = max(1, min(native_size))
    if image_size is not None:
        side = image_size
    elif pretrained and pretrained_side is not None:
        side = pretrained_side
    elif model_name == SMALL_CNN or pretrained_side is None:
        side = max(native, SMALL_CNN_MIN_SIZE)
    else:
        multiple = defaults["patch_size"] if defaults["fixed_input_size"] else SIZE_MULTIPLE
        side = min(math.ceil(native / multiple) * multiple, pretrained_side)
    resize = round(side / defaults["crop_pct"]) if pretrained else side
    mean: tuple[float, ...] = defaults["mean"]
    std: tuple[float, ...] = defaults["std"]
    if channels == 1:
        mean, std = (float(np.mean(mean)),), (float(np.mean(std)),)
    return TransformSpec(
        image_size=side,
        resize_size=max(resize, side),
        interpolation=defaults["interpolation"],
        mean=mean,
        std=std,
        channels=cast(Literal[1, 3], channels),
        crop_scale=crop_scale,
        hflip=hflip,
        auto_augment=cast(AutoAugment, auto_augment),
        magnitude=magnitude,
    )


class ImageDataset(Dataset[tuple[Tensor, Tensor]]):
    """``(transformed image, int64 label)`` rows of an :class:`ImageSet`.

    Args:
        images: the images (decoded on demand, in their set's mode).
        labels: integer class codes, one per image; None (prediction) gives label 0, so the
            same loader code serves training and prediction.
        transform: PIL image -> ``(C, H, W)`` float32 tensor.
    """

    def __init__(self, images: ImageSet, labels: np.ndarray | None, transform: Transform) -> None:
        if labels is not None and len(labels) != len(images):
            raise DataError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        label = 0 if self.labels is None else int(self.labels[index])
        return self.transform(self.images.open(index)), torch.tensor(label, dtype=torch.int64)


# --- models ---------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    """A small CNN for tiny images (MNIST 28x28, digits 8x8).

    Three blocks of (3x3 conv, batch norm, ReLU) x 2 with widths ``width``, ``2 * width``,
    ``4 * width``; a 2x2 max-pool after the first two blocks while the pooled map keeps at
    least 4 px a side (28 -> 14 -> 7; 8 -> 4 -> 4); global average pooling, dropout, a linear
    head. About 290k parameters at ``width=32``.

    Args:
        in_chans: input channels (1 or 3).
        num_classes: outputs (logits).
        width: channels of the first block.
        dropout: dropout before the head.
    """

    def __init__(
        self,
        in_chans: int = 1,
        num_classes: int = 10,
        width: int = SMALL_CNN_WIDTH,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = in_chans
        for i in range(SMALL_CNN_BLOCKS):
            out = width * 2**i
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(channels, out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(out, out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                )
            )
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, num_classes)

    def get_classifier(self) -> nn.Module:
        """The head (timm's name for it), for the backbone/head split."""
        return self.head

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` images -> ``(B, num_classes)`` logits."""
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.blocks) - 1 and min(x.shape[-2:]) >= 2 * MIN_POOLED_SIDE:
                x = functional.max_pool2d(x, 2)
        x = x.mean(dim=(2, 3))  # (B, C): global average pooling
        return cast(Tensor, self.head(self.dropout(x)))


def _classifier(module: nn.Module) -> nn.Module:
    get_classifier = getattr(module, "get_classifier", None)
    if get_classifier is None:
        raise ModelError(f"{type(module).__name__} has no get_classifier(): no head to split off")
    return cast(nn.Module, get_classifier())


def head_parameters(module: nn.Module) -> list[nn.Parameter]:
    """The classifier head's parameters (``module.get_classifier()``: timm and SmallCNN)."""
    return list(_classifier(module).parameters())


def _head_prefix(module: nn.Module) -> str:
    """``fc.`` / ``head.`` / ``classifier.``: the state-dict prefix of the head's tensors."""
    head = _classifier(module)
    name = next(name for name, m in module.named_modules() if m is head)
    return f"{name}."


class FreezeBackbone(Callback):
    """Train only the head (``requires_grad=False`` on the rest) for the first ``epochs``.

    Whether the backbone is frozen is decided from ``trainer.state.epoch`` at
    ``on_train_start`` and at each ``on_epoch_end`` (for the next epoch), so a resumed run
    freezes exactly as the uninterrupted one; the callback has no state of its own. Frozen
    parameters get no gradient, so neither the optimizer step nor weight decay moves them
    (batch-norm running statistics still update: they are buffers).

    Args:
        epochs: epochs trained with the backbone frozen.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.frozen: bool | None = None
        self._backbone: list[nn.Parameter] | None = None

    def on_train_start(self, trainer: Trainer) -> None:
        """Freeze when the run (or the resumed run) is still in the frozen epochs."""
        self._apply(trainer, trainer.state.epoch)

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        """Decide for the next epoch (``state.epoch`` is the one just finished)."""
        self._apply(trainer, trainer.state.epoch + 1)

    def _apply(self, trainer: Trainer, epoch: int) -> None:
        if self._backbone is None:  # the parameters trainable before any freezing
            head = {id(p) for p in head_parameters(trainer.model)}
            self._backbone = [
                p for p in trainer.model.parameters() if id(p) not in head and p.requires_grad
            ]
        frozen = epoch < self.epochs
        for parameter in self._backbone:
            parameter.requires_grad_(not frozen)
        if frozen != self.frozen and trainer.is_main_process:
            logger.info("backbone_frozen" if frozen else "backbone_unfrozen", epoch=epoch + 1)
        self.frozen = frozen


class _CrossEntropy(nn.Module):
    """Cross-entropy on integer labels (with label smoothing) or on soft targets (mixup).

    Soft targets already carry the smoothing (timm's Mixup applies it). The class weights
    follow the logits to their device (the Trainer moves the model, not the loss).
    """

    weight: Tensor | None

    def __init__(self, weight: Tensor | None, label_smoothing: float) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        weight = None if self.weight is None else self.weight.to(logits.device)
        if targets.is_floating_point():  # (B, n_classes) probabilities
            return functional.cross_entropy(logits, targets, weight=weight)
        return functional.cross_entropy(
            logits, targets, weight=weight, label_smoothing=self.label_smoothing
        )


def _accuracy(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    return {"accuracy": float((outputs.argmax(dim=1) == targets).float().mean())}


def _weights_file(weights: str) -> Path:
    """The safetensors file ``weights`` names (a file, or a folder holding model.safetensors).

    Raises:
        ModelError: missing, or not a safetensors file.
    """
    path = Path(weights).expanduser()
    if path.is_dir():
        path = path / HF_WEIGHTS_FILE
        if not path.is_file():
            raise ModelError(
                f"model.weights={weights} is a folder without {HF_WEIGHTS_FILE}: pass the "
                ".safetensors file itself, or a timm model folder from the Hugging Face Hub"
            )
        return path
    if not path.is_file():
        raise ModelError(f"model.weights={weights} does not exist")
    if path.suffix != ".safetensors":
        raise ModelError(
            f"model.weights={weights} is not a .safetensors file: trainwell never unpickles "
            "weights; convert it once, where you trust the file, with "
            "save_file(torch.load(p, weights_only=True), 'model.safetensors') (safetensors.torch)"
        )
    return path


def _cached_weights(model_name: str) -> Path:
    """The model's ``model.safetensors`` in the local Hugging Face cache (nothing downloads).

    Raises:
        ModelError: the model has no Hub weights, or they are not in the cache.
    """
    from huggingface_hub import try_to_load_from_cache

    hub_id = input_defaults(model_name)["hf_hub_id"]
    if model_name == SMALL_CNN or hub_id is None:
        raise ModelError(
            f"{model_name} has no pretrained weights on the Hugging Face Hub: pass "
            "model.weights=<path to a .safetensors file>, or set model.pretrained=false"
        )
    cached = try_to_load_from_cache(hub_id, HF_WEIGHTS_FILE)
    if not isinstance(cached, str):
        raise ModelError(
            f"pretrained weights for {model_name} are not available offline: pass "
            "model.weights=<path to a .safetensors file or a timm model folder>, or download "
            f"them once into the Hugging Face cache (hf download {hub_id} {HF_WEIGHTS_FILE})"
        )
    return Path(cached)


def _adapt_to(module: nn.Module, key: str, tensor: Tensor, first_conv: str | None) -> Tensor:
    """A pretrained tensor reshaped to the module's where timm knows how: the first conv for
    another number of input channels, a ViT's position embedding for another image size."""
    target = module.state_dict()[key]
    if first_conv is not None and key == f"{first_conv}.weight" and tensor.ndim == target.ndim:
        from timm.models import adapt_input_conv

        return adapt_input_conv(target.shape[1], tensor)
    if key == "pos_embed" and hasattr(module, "patch_embed"):
        from timm.layers.pos_embed import resample_abs_pos_embed

        vit: Any = module
        prefix = 0 if getattr(vit, "no_embed_class", False) else vit.num_prefix_tokens
        return cast(
            Tensor,
            resample_abs_pos_embed(
                tensor, list(vit.patch_embed.grid_size), num_prefix_tokens=int(prefix)
            ),
        )
    return tensor


def load_pretrained(module: nn.Module, path: Path, model_name: str) -> None:
    """Load a safetensors file of pretrained weights into a freshly built module.

    Head tensors whose shape differs from the new head (another number of classes) are
    dropped and keep their fresh initialisation; the first conv is adapted to the number of
    input channels and a ViT's position embedding to the image size; keys the module lacks
    are ignored.

    Raises:
        ModelError: unreadable file, a non-head tensor of another shape, or a non-head
            parameter the file does not hold (the message names the first ones).
    """
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"cannot read pretrained weights {path}: {exc}") from exc
    head = _head_prefix(module)
    own = module.state_dict()
    first_conv = input_defaults(model_name)["first_conv"]
    dropped: list[str] = []
    mismatched: list[str] = []
    for key in list(state):
        if key not in own or state[key].shape == own[key].shape:
            continue
        if key.startswith(head):
            dropped.append(key)
            del state[key]
            continue
        state[key] = _adapt_to(module, key, state[key], first_conv)
        if state[key].shape != own[key].shape:
            mismatched.append(f"{key} {tuple(state[key].shape)} vs {tuple(own[key].shape)}")
    if mismatched:
        raise ModelError(
            f"{path} does not fit {model_name}: tensors of another shape: "
            f"{', '.join(mismatched[:MISSING_KEYS_SHOWN])}"
        )
    result = module.load_state_dict(state, strict=False)
    missing = [
        k
        for k in result.missing_keys
        if not k.startswith(head) and not k.endswith("num_batches_tracked")
    ]
    if missing:
        more = f" (+{len(missing) - MISSING_KEYS_SHOWN} more)" if len(missing) > 5 else ""
        raise ModelError(
            f"{path} does not fit {model_name}: it lacks {len(missing)} of the model's "
            f"tensors: {', '.join(missing[:MISSING_KEYS_SHOWN])}{more}"
        )
    logger.info(
        "pretrained_weights_loaded",
        model=model_name,
        path=str(path),
        head_dropped=dropped,
        ignored=len(result.unexpected_keys),
    )


# --- the estimator ---------------------------------------------------------------------------


class ImageClassifier(ClassifierMixin, TorchEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Image classifier over a timm model, or :class:`SmallCNN` (architecture ``image``).

    ``X`` is an :class:`~trainwell.data.image_io.ImageSet`; ``y`` the labels, one per image.

    Args:
        model_name: a timm model name (``resnet18``, ``vit_tiny_patch16_224``...) or
            ``small-cnn``.
        pretrained: start from pretrained weights (``weights``, else the Hugging Face cache).
        weights: a ``.safetensors`` file or a folder holding ``model.safetensors``.
        image_size: the side the model sees (None: see :func:`resolve_transform`).
        crop_scale: smallest area share of the random training crop, in (0, 1].
        hflip: random left-right flips in training (off for digits and text).
        auto_augment: ``none``, ``trivial`` (TrivialAugmentWide) or ``randaugment``.
        magnitude: RandAugment's magnitude, 0..30.
        label_smoothing: in [0, 1).
        mixup, cutmix: the Beta(alpha, alpha) of mixup / cutmix (0: off; both on: each batch
            picks one). Batches of odd size are not mixed.
        class_weight: None, or ``balanced`` (weights inversely proportional to the class
            frequencies, as scikit-learn's).
        freeze_backbone_epochs: epochs that train only the head first.
        backbone_lr_scale: the backbone's learning rate as a multiple of the head's (the
            loop's ``learning_rate``).
        drop_rate: dropout before the head.
        loop, checkpoint_dir, callbacks, random_state: see
            :class:`~trainwell.models.torch_estimator.TorchEstimator`.
    """

    _architecture: ClassVar[str] = "image"
    # Training inputs are randomly augmented: the checklist does not expect them to repeat.
    augments_inputs: ClassVar[bool] = True

    classes_: np.ndarray
    transform_: TransformSpec
    n_channels_: int
    # The pretrained file the module starts from; set only while fit runs, so a bundle
    # reload (which builds through _build_module too) never reads weights files or the cache.
    _init_weights: Path | None = None

    def __init__(
        self,
        model_name: str = SMALL_CNN,
        *,
        pretrained: bool = False,
        weights: str | None = None,
        image_size: int | None = None,
        crop_scale: float = DEFAULT_CROP_SCALE,
        hflip: bool = True,
        auto_augment: str = "none",
        magnitude: int = 9,
        label_smoothing: float = 0.0,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        class_weight: str | None = None,
        freeze_backbone_epochs: int = 0,
        backbone_lr_scale: float = 1.0,
        drop_rate: float = 0.0,
        loop: TrainerSettings = DEFAULT_LOOP,
        checkpoint_dir: str | None = None,
        callbacks: list[Callback] | None = None,
        random_state: int = DEFAULT_SEED,
    ) -> None:
        self.model_name = model_name
        self.pretrained = pretrained
        self.weights = weights
        self.image_size = image_size
        self.crop_scale = crop_scale
        self.hflip = hflip
        self.auto_augment = auto_augment
        self.magnitude = magnitude
        self.label_smoothing = label_smoothing
        self.mixup = mixup
        self.cutmix = cutmix
        self.class_weight = class_weight
        self.freeze_backbone_epochs = freeze_backbone_epochs
        self.backbone_lr_scale = backbone_lr_scale
        self.drop_rate = drop_rate
        super().__init__(
            loop=loop, checkpoint_dir=checkpoint_dir, callbacks=callbacks, random_state=random_state
        )

    # --- checks ---

    def _check_params(self) -> None:
        """Raises ValueError (sklearn's message shape) or ModelError (unknown model)."""
        _check_model_name(self.model_name)
        checks: list[tuple[str, bool, str]] = [
            ("crop_scale", 0.0 < self.crop_scale <= 1.0, "a float in the range (0, 1]"),
            (
                "auto_augment",
                self.auto_augment in AUTO_AUGMENTS,
                "one of none, trivial, randaugment",
            ),
            ("magnitude", 0 <= self.magnitude <= MAX_MAGNITUDE, "an int in the range [0, 30]"),
            ("label_smoothing", 0.0 <= self.label_smoothing < 1.0, "a float in [0, 1)"),
            ("mixup", self.mixup >= 0.0, "a float >= 0"),
            ("cutmix", self.cutmix >= 0.0, "a float >= 0"),
            ("class_weight", self.class_weight in (None, "balanced"), "None or 'balanced'"),
            ("freeze_backbone_epochs", self.freeze_backbone_epochs >= 0, "an int >= 0"),
            ("backbone_lr_scale", self.backbone_lr_scale > 0.0, "a float > 0"),
            ("drop_rate", 0.0 <= self.drop_rate < 1.0, "a float in [0, 1)"),
            ("image_size", self.image_size is None or self.image_size >= 1, "None or an int >= 1"),
        ]
        for name, valid, expected in checks:
            if not valid:
                raise ValueError(
                    f"The {name!r} parameter of ImageClassifier must be {expected}. "
                    f"Got {getattr(self, name)!r} instead."
                )
        if self.weights is not None and not self.pretrained:
            raise ValueError(
                f"model.weights={self.weights} is set but pretrained is False: set "
                "pretrained=true to start from these weights, or drop weights"
            )

    def _images(self, X: Any, what: str = "X") -> ImageSet:
        """X as a non-empty ImageSet in the fitted mode (once fitted)."""
        if not isinstance(X, ImageSet):
            raise DataError(
                f"{what} must be an ImageSet (ImageSet.from_files or ImageSet.from_arrays). "
                f"Got {type(X).__name__}."
            )
        if not len(X):
            raise DataError(f"{what} has no images")
        channels = getattr(self, "n_channels_", None)
        if channels is not None and _channels(X) != channels:
            raise DataError(
                f"{what} holds {X.mode} images but the model was fitted on "
                f"{'L' if channels == 1 else 'RGB'} images: build the ImageSet with "
                f"mode={'L' if channels == 1 else 'RGB'!r}"
            )
        return X

    def _resolve(self, images: ImageSet) -> TransformSpec:
        spec = resolve_transform(
            self.model_name,
            pretrained=self.pretrained,
            image_size=self.image_size,
            native_size=images.native_size(),
            channels=_channels(images),
            crop_scale=self.crop_scale,
            hflip=self.hflip,
            auto_augment=self.auto_augment,
            magnitude=self.magnitude,
        )
        logger.info("image_transform", model=self.model_name, **spec.model_dump(mode="json"))
        return spec

    # --- fit ---

    def fit(self, X: ImageSet, y: Any, eval_set: tuple[ImageSet, Any] | None = None) -> Self:
        """Train on the images ``X`` and labels ``y``; ``eval_set`` is validated every epoch
        (``val/loss``, ``val/accuracy``).

        Raises:
            ValueError: a parameter out of its range.
            ModelError: an unknown model, or pretrained weights that are missing or do not fit.
            DataError: X is not an ImageSet, fewer than two classes, labels not one per
                image, validation labels never seen in training, an unreadable image.
            TrainingError: see :meth:`Trainer.fit`.
        """
        self._check_params()
        settings = self.trainer_settings()
        if self.freeze_backbone_epochs and settings.devices > 1:
            raise ModelError(
                "freeze_backbone_epochs does not work with training.devices > 1 (DDP expects "
                "a gradient for every parameter): set it to 0, or lower backbone_lr_scale"
            )
        for attribute in ("n_channels_", "classes_", "transform_"):  # a refit starts over
            self.__dict__.pop(attribute, None)
        images = self._images(X)
        labels = np.asarray(y).ravel()
        if labels.shape[0] != len(images):
            raise DataError(f"X has {len(images)} images but y has {labels.shape[0]} labels")
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if len(self.classes_) < MIN_CLASSES:
            raise DataError(f"classification needs at least 2 classes in y. Got {self.classes_}.")
        n_classes = len(self.classes_)
        init_weights = None
        if self.pretrained:  # resolve the file now: fail before any image is read
            init_weights = (
                _weights_file(self.weights)
                if self.weights is not None
                else _cached_weights(self.model_name)
            )
        self.transform_ = self._resolve(images)
        self.n_channels_ = self.n_features_in_ = self.transform_.channels

        train = ImageDataset(images, codes.astype(np.int64), build_train_transform(self.transform_))
        valid = None
        if eval_set is not None:
            valid_images = self._images(eval_set[0], "eval_set X")
            valid = ImageDataset(
                valid_images,
                self._encode(eval_set[1], len(valid_images)),
                build_eval_transform(self.transform_),
            )
        weight = None
        if self.class_weight == "balanced":  # scikit-learn's n_samples / (n_classes * count)
            counts = np.bincount(codes, minlength=n_classes)
            weight = torch.tensor(len(codes) / (n_classes * counts), dtype=torch.float32)
        loss_fn = _CrossEntropy(weight, self.label_smoothing)
        step = self._mixup_step(loss_fn, n_classes) if self.mixup or self.cutmix else None
        optimizer = self._build_optimizer if self.backbone_lr_scale != 1.0 else None
        extra = [FreezeBackbone(self.freeze_backbone_epochs)] if self.freeze_backbone_epochs else []
        with self._fitting(init_weights, extra):
            self._train(
                train,  # type: ignore[arg-type]  # any map-style dataset: the Trainer's type
                valid,  # type: ignore[arg-type]
                n_classes,
                loss_fn,
                _accuracy,
                step=step,
                optimizer=optimizer,
            )
        return self

    @contextlib.contextmanager
    def _fitting(self, init_weights: Path | None, extra: Sequence[Callback]) -> Iterator[None]:
        """During ``_train`` only: build from ``init_weights``, train with ``extra`` callbacks.

        ``_train`` builds the module and reads ``self.callbacks`` itself; both are restored
        afterwards, so ``get_params()`` is unchanged by fit.
        """
        callbacks = self.callbacks
        self._init_weights = init_weights
        self.callbacks = [*(callbacks or []), *extra]
        try:
            yield
        finally:
            self.callbacks = callbacks
            del self._init_weights  # back to the class default, None

    def _encode(self, y: Any, n_images: int) -> np.ndarray:
        labels = np.asarray(y).ravel()
        if labels.shape[0] != n_images:
            raise DataError(f"eval_set has {n_images} images but {labels.shape[0]} labels")
        codes = np.clip(np.searchsorted(self.classes_, labels), 0, len(self.classes_) - 1)
        unseen = labels[self.classes_[codes] != labels]
        if unseen.size:
            raise DataError(f"eval_set has label(s) never seen in training: {np.unique(unseen)}")
        return codes.astype(np.int64)

    def _mixup_step(self, loss_fn: nn.Module, n_classes: int) -> StepFn:
        """A Trainer step that mixes each even-sized batch with its reverse (timm's Mixup)."""
        from timm.data.mixup import Mixup

        mix = Mixup(  # type: ignore[no-untyped-call]
            mixup_alpha=self.mixup,
            cutmix_alpha=self.cutmix,
            label_smoothing=self.label_smoothing,  # timm's default would be 0.1
            num_classes=n_classes,
        )

        def step(model: nn.Module, inputs: Tensor, targets: Tensor) -> Tensor:
            if inputs.shape[0] % 2 == 0:  # Mixup pairs image i with image B-1-i
                inputs, targets = mix(inputs, targets)  # targets: (B, n_classes) soft
            return cast(Tensor, loss_fn(model(inputs), targets))

        return step

    def _build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        """The loop's optimizer with the head at ``learning_rate`` and the backbone at
        ``learning_rate * backbone_lr_scale``; weight decay only on matrices, as
        :func:`~trainwell.training.trainer.build_optimizer`. Groups: head (decay, no decay),
        then backbone (decay, no decay), empty ones left out."""
        s = self.trainer_settings()
        head = {id(p) for p in head_parameters(module)}
        trainable = [p for p in module.parameters() if p.requires_grad]
        groups: list[dict[str, Any]] = []
        for is_head, lr in (
            (True, s.learning_rate),
            (False, s.learning_rate * self.backbone_lr_scale),
        ):
            part = [p for p in trainable if (id(p) in head) == is_head]
            groups.append(
                {
                    "params": [p for p in part if p.ndim >= 2],
                    "weight_decay": s.weight_decay,
                    "lr": lr,
                }
            )
            groups.append(
                {"params": [p for p in part if p.ndim < 2], "weight_decay": 0.0, "lr": lr}
            )
        groups = [g for g in groups if g["params"]]
        if s.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=s.learning_rate)
        if s.optimizer == "adam":
            return torch.optim.Adam(groups, lr=s.learning_rate)
        return torch.optim.SGD(groups, lr=s.learning_rate, momentum=SGD_MOMENTUM)

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        """The module for ``n_features`` channels and ``n_outputs`` classes, with fresh
        weights; inside fit, then loaded from the pretrained file."""
        if self.model_name == SMALL_CNN:
            module: nn.Module = SmallCNN(n_features, n_outputs, dropout=self.drop_rate)
        else:
            defaults = input_defaults(self.model_name)
            extra: dict[str, Any] = {}
            side = self.transform_.image_size
            if defaults["fixed_input_size"] and side != defaults["input_size"][-1]:
                extra["img_size"] = side  # a ViT's position embedding is built for one size
            module = timm.create_model(
                self.model_name,
                pretrained=False,
                num_classes=n_outputs,
                in_chans=n_features,
                drop_rate=self.drop_rate,
                **extra,
            )
        if self._init_weights is not None:
            load_pretrained(module, self._init_weights, self.model_name)
        return module

    # --- predict ---

    def input_tensor(self, X: Any) -> Tensor:
        """X evaluation-transformed and stacked, ``(n, C, H, W)`` float32: what the module
        receives at evaluation. Before fit, the transform is resolved from the parameters
        and X."""
        images = self._images(X)
        spec = self.transform_ if hasattr(self, "transform_") else self._resolve(images)
        transform = build_eval_transform(spec)
        return torch.stack([transform(images.open(i)) for i in range(len(images))])

    def _logits(self, X: Any) -> Tensor:
        """Module outputs for X in batches, eval mode, no autograd: float64 on the CPU."""
        check_is_fitted(self, "module_")
        images = self._images(X)
        s = self.trainer_settings()
        loader = DataLoader(
            ImageDataset(images, None, build_eval_transform(self.transform_)),
            batch_size=s.batch_size,
            num_workers=s.num_workers,
            shuffle=False,
        )
        device = next(self.module_.parameters()).device
        self.module_.eval()
        outputs: list[Tensor] = []
        with torch.inference_mode():
            for inputs, _ in loader:
                outputs.append(self.module_(inputs.to(device)).double().cpu())
        return torch.cat(outputs)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, ``(n_images, n_classes)`` float64 in the order of ``classes_``."""
        return torch.softmax(self._logits(X), dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label of each image."""
        codes = self._logits(X).argmax(dim=1).numpy()
        return np.asarray(self.classes_[codes])

    def export_head(self) -> nn.Module:
        """Softmax over the module's logits (``predict_proba``), on evaluation-transformed
        ``(n, C, H, W)`` float32 input."""
        check_is_fitted(self, "module_")
        return ProbabilityHead(copy.deepcopy(self.module_).cpu().eval())

    def export_example(self, n_rows: int) -> Tensor:
        """A zero batch of ``n_rows`` images at the size the module sees."""
        check_is_fitted(self, "module_")
        side = self.transform_.image_size
        return torch.zeros(n_rows, self.transform_.channels, side, side)

    # --- save / load ---

    def _fitted_attributes(self) -> dict[str, Any]:
        return {
            **super()._fitted_attributes(),
            "classes_": self.classes_.tolist(),
            "transform_": self.transform_.model_dump(mode="json"),
            "n_channels_": self.n_channels_,
        }

    def _restore_fitted(self, fitted: Mapping[str, Any]) -> None:
        super()._restore_fitted(fitted)
        self.classes_ = np.asarray(fitted["classes_"])
        self.transform_ = TransformSpec.model_validate(fitted["transform_"])
        self.n_channels_ = int(fitted["n_channels_"])


def _channels(images: ImageSet) -> int:
    return 1 if images.mode == "L" else 3


# --- registry builders and loading ---------------------------------------------------------

ESTIMATORS: dict[str, type[TorchEstimator]] = {"ImageClassifier": ImageClassifier}


def build_image_classifier(
    model_name: str,
) -> Callable[[str, int, dict[str, Any]], ImageClassifier]:
    """The registry builder of ``model_name`` (a key of :data:`IMAGE_MODELS`' values, or any
    timm model): ``builder(objective, seed, params) -> ImageClassifier``.

    The builder raises ValueError for an objective other than ``classification`` or a
    ``model_name`` among the params, TypeError for a parameter ImageClassifier does not take.
    """

    def build(objective: str, seed: int, params: dict[str, Any]) -> ImageClassifier:
        if objective != "classification":
            raise ValueError(f"image models serve the classification objective. Got {objective!r}.")
        if params.get("model_name", model_name) != model_name:
            raise ValueError(
                f"model_name is the registry row's ({model_name!r}). Got {params['model_name']!r}."
            )
        return build_estimator(ImageClassifier, seed, {**params, "model_name": model_name})

    return build


def save(model: ImageClassifier, directory: Path) -> list[str]:
    """Write a fitted classifier as ``weights.safetensors`` + ``estimator.json``.

    Returns:
        The file names written.
    """
    return save_torch_estimator(model, directory)


def load(directory: Path) -> ImageClassifier:
    """Rebuild a classifier written by :func:`save` (on the CPU, in eval mode; no pretrained
    weights file or Hub cache is read).

    Raises:
        BundleError: a file is missing or unreadable, or the weights do not fit the model.
    """
    return cast(ImageClassifier, load_torch_estimator(directory, ESTIMATORS))
