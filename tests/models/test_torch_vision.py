"""Image classification: transforms and their rules, SmallCNN, timm models, mixup, freezing,
parameter groups, class weights, pretrained weights from safetensors, save/load.

Offline and small: 16-32 px images, one or two epochs, a single torch thread.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import timm
import torch
from pydantic import ValidationError
from safetensors.torch import save_file
from sklearn.base import clone
from torch import Tensor

from trainwell.data.image_io import ImageSet
from trainwell.errors import DataError, ModelError
from trainwell.models import torch_vision as tv
from trainwell.models.torch_vision import (
    IMAGE_MODELS,
    ImageClassifier,
    ImageDataset,
    SmallCNN,
    TransformSpec,
    build_eval_transform,
    build_image_classifier,
    build_train_transform,
    input_defaults,
    is_timm_model,
    load,
    load_pretrained,
    resolve_transform,
    save,
)
from trainwell.training.callbacks import Callback
from trainwell.training.settings import TrainerSettings
from trainwell.training.trainer import Trainer

RESNET_HUB_ID = "timm/resnet18.a1_in1k"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _empty_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hugging Face cache of this test's own: empty unless the test fills it."""
    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def stripes(n: int, size: int = 16, mode: str = "L", seed: int = 0) -> tuple[ImageSet, np.ndarray]:
    """Class 0: horizontal stripes, class 1: vertical ones (flips and crops keep the
    direction), with noise; labels alternate."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rows, cols = np.mgrid[0:size, 0:size]
    images = []
    for label in labels:
        lines = rows if label == 0 else cols
        dark = (lines + rng.integers(4)) % 4 < 2
        pixels = 200.0 - 140.0 * dark + rng.uniform(-15, 15, size=(size, size))
        images.append(np.clip(pixels, 0, 255).astype(np.uint8))
    arrays = np.stack(images)
    if mode == "RGB":
        arrays = np.repeat(arrays[..., None], 3, axis=-1)
    return ImageSet.from_arrays(arrays, "stripes", mode), labels


def loop(**settings: Any) -> TrainerSettings:
    return TrainerSettings(progress_bar=False, **{"epochs": 1, "batch_size": 8, **settings})


class Recorder(Callback):
    """Calls ``hook(name, trainer)`` at every hook (``epoch_end:<epoch>`` for epoch ends)."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    def on_train_start(self, trainer: Trainer) -> None:
        self.hook("train_start", trainer)

    def on_epoch_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        self.hook(f"epoch_end:{trainer.state.epoch}", trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        self.hook("train_end", trainer)


# --- transforms -----------------------------------------------------------------------------


def spec(**changes: Any) -> TransformSpec:
    base: dict[str, Any] = {
        "image_size": 16,
        "resize_size": 18,
        "mean": (0.5,),
        "std": (0.25,),
        "channels": 1,
    }
    return TransformSpec(**{**base, **changes})


def test_eval_transform_is_deterministic_and_shaped() -> None:
    images, _ = stripes(2, size=20)
    transform = build_eval_transform(spec())
    first, again = transform(images.open(0)), transform(images.open(0))
    assert first.shape == (1, 16, 16)
    assert first.dtype == torch.float32
    assert torch.equal(first, again)


@pytest.mark.parametrize("auto_augment", ["none", "trivial", "randaugment"])
def test_train_transform_is_random_on_grayscale(auto_augment: str) -> None:
    images, _ = stripes(1, size=20)
    transform = build_train_transform(spec(auto_augment=auto_augment, magnitude=15))
    torch.manual_seed(0)
    outputs = [transform(images.open(0)) for _ in range(4)]
    assert all(out.shape == (1, 16, 16) for out in outputs)
    assert any(not torch.equal(outputs[0], out) for out in outputs[1:])


def test_transform_spec_round_trips_through_json() -> None:
    original = spec(interpolation="bicubic", auto_augment="trivial", hflip=False)
    assert TransformSpec.model_validate_json(original.model_dump_json()) == original
    assert TransformSpec.model_validate(original.model_dump(mode="json")) == original


@pytest.mark.parametrize(
    "changes",
    [{"mean": (0.5, 0.5)}, {"resize_size": 8}, {"magnitude": 31}, {"crop_scale": 0.0}, {"x": 1}],
)
def test_transform_spec_rejects(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        spec(**changes)


@pytest.mark.parametrize(
    ("model", "pretrained", "image_size", "native", "side", "resize"),
    [
        ("resnet18", False, None, (28, 28), 32, 32),  # rounded up to a multiple of 32
        ("resnet18", False, None, (480, 640), 224, 224),  # capped at the pretrained size
        ("resnet18", True, None, (28, 28), 224, round(224 / 0.95)),  # pretrained size and crop
        ("resnet18", True, 64, (28, 28), 64, round(64 / 0.95)),  # image_size wins
        ("vit_tiny_patch16_224", False, None, (40, 36), 48, 48),  # multiple of the patch
        ("small-cnn", False, None, (28, 28), 28, 28),  # native
        ("small-cnn", False, None, (5, 6), 8, 8),  # at least 8
    ],
)
def test_resolve_transform_rules(
    model: str,
    pretrained: bool,
    image_size: int | None,
    native: tuple[int, int],
    side: int,
    resize: int,
) -> None:
    resolved = resolve_transform(
        model, pretrained=pretrained, image_size=image_size, native_size=native, channels=3
    )
    assert (resolved.image_size, resolved.resize_size) == (side, resize)


def test_resolve_transform_statistics() -> None:
    rgb = resolve_transform(
        "resnet18", pretrained=True, image_size=None, native_size=(32, 32), channels=3
    )
    assert rgb.mean == (0.485, 0.456, 0.406)
    assert rgb.interpolation == "bicubic"
    gray = resolve_transform(
        "resnet18", pretrained=True, image_size=None, native_size=(32, 32), channels=1
    )
    assert gray.mean == pytest.approx((np.mean([0.485, 0.456, 0.406]),))
    assert gray.std == pytest.approx((np.mean([0.229, 0.224, 0.225]),))
    small = resolve_transform(
        "small-cnn", pretrained=False, image_size=None, native_size=(8, 8), channels=1
    )
    assert (small.mean, small.std) == ((0.5,), (0.5,))


def test_input_defaults_and_model_names() -> None:
    defaults = input_defaults("vit_tiny_patch16_224")
    assert defaults["input_size"] == (3, 224, 224)
    assert defaults["fixed_input_size"] is True
    assert defaults["patch_size"] == 16
    assert input_defaults("resnet18")["hf_hub_id"] == RESNET_HUB_ID
    assert all(is_timm_model(name) for name in IMAGE_MODELS if name != tv.SMALL_CNN)
    assert not is_timm_model("resnet_nonexistent")
    with pytest.raises(ModelError, match="unknown image model 'resnet_nonexistent'"):
        input_defaults("resnet_nonexistent")


def test_image_dataset_rows() -> None:
    images, labels = stripes(3)
    transform = build_eval_transform(spec(resize_size=16))
    inputs, label = ImageDataset(images, labels, transform)[1]
    assert inputs.shape == (1, 16, 16)
    assert label.dtype == torch.int64
    assert int(label) == 1
    assert int(ImageDataset(images, None, transform)[2][1]) == 0


# --- models ---------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [8, 28])
def test_small_cnn_shapes(side: int) -> None:
    model = SmallCNN(in_chans=1, num_classes=4, width=8)
    assert model(torch.zeros(2, 1, side, side)).shape == (2, 4)
    assert model.get_classifier() is model.head


def test_small_cnn_learns_stripes() -> None:
    train_images, train_labels = stripes(96, seed=0)
    test_images, test_labels = stripes(48, seed=1)
    clf = ImageClassifier(
        "small-cnn", loop=loop(epochs=3, batch_size=16, learning_rate=3e-3), random_state=0
    )
    clf.fit(train_images, train_labels, eval_set=(test_images, test_labels))
    assert clf.transform_.image_size == 16
    assert (clf.n_channels_, clf.n_features_in_) == (1, 1)
    assert clf.score(test_images, test_labels) > 0.9
    assert clf.history_[-1]["val/accuracy"] > 0.9


@pytest.mark.parametrize(("model", "mode"), [("resnet18", "RGB"), ("vit_tiny_patch16_224", "L")])
def test_timm_model_fits_predicts_saves_and_loads(model: str, mode: str, tmp_path: Path) -> None:
    images, labels = stripes(12, size=32, mode=mode)
    names = np.array(["cat", "dog"])[labels]
    clf = ImageClassifier(model, loop=loop(), random_state=0).fit(images, names)
    assert clf.transform_.image_size == 32
    if model.startswith("vit"):
        assert clf.module_.patch_embed.grid_size == (2, 2)  # built for 32 px
    proba = clf.predict_proba(images)
    assert proba.shape == (12, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(images)) <= {"cat", "dog"}

    assert save(clf, tmp_path / "model") == ["weights.safetensors", "estimator.json"]
    loaded = load(tmp_path / "model")
    assert loaded.transform_ == clf.transform_
    assert loaded.classes_.tolist() == ["cat", "dog"]
    np.testing.assert_array_equal(loaded.predict_proba(images), proba)


def test_input_tensor_before_and_after_fit() -> None:
    images, labels = stripes(4, size=20)
    clf = ImageClassifier("small-cnn", loop=loop())
    before = clf.input_tensor(images)
    assert before.shape == (4, 1, 20, 20)
    clf.fit(images, labels)
    assert torch.equal(clf.input_tensor(images), before)


# --- training options -----------------------------------------------------------------------


def test_mixup_step_mixes_even_batches_only() -> None:
    clf = ImageClassifier("small-cnn", mixup=0.4, cutmix=1.0)
    seen: list[Tensor] = []

    def model(inputs: Tensor) -> Tensor:
        seen.append(inputs.clone())
        return torch.zeros(inputs.shape[0], 3, requires_grad=True)

    step = clf._mixup_step(tv._CrossEntropy(None, 0.0), 3)
    np.random.seed(0)
    even, odd = torch.rand(4, 1, 8, 8), torch.rand(3, 1, 8, 8)
    assert torch.isfinite(step(model, even.clone(), torch.tensor([0, 1, 2, 0])))  # type: ignore[arg-type]
    assert not torch.equal(seen[0], even)
    assert torch.isfinite(step(model, odd.clone(), torch.tensor([0, 1, 2])))  # type: ignore[arg-type]
    assert torch.equal(seen[1], odd)


def test_mixup_and_cutmix_fit_with_an_odd_last_batch() -> None:
    images, labels = stripes(11)  # batches of 4, 4, 3
    clf = ImageClassifier(
        "small-cnn", mixup=0.2, cutmix=1.0, label_smoothing=0.1, loop=loop(batch_size=4)
    )
    clf.fit(images, labels)
    assert np.isfinite(clf.history_[0]["train/loss"])


def test_freeze_backbone_epochs_freezes_then_unfreezes() -> None:
    images, labels = stripes(16)
    seen: dict[str, Any] = {}

    def hook(name: str, trainer: Trainer) -> None:
        model = trainer.model
        head = {id(p) for p in tv.head_parameters(model)}
        seen[name] = {
            "backbone": [p.detach().clone() for p in model.parameters() if id(p) not in head],
            "head": [p.detach().clone() for p in model.parameters() if id(p) in head],
            "grad": [p.requires_grad for p in model.parameters() if id(p) not in head],
        }

    clf = ImageClassifier(
        "small-cnn", freeze_backbone_epochs=1, callbacks=[Recorder(hook)], loop=loop(epochs=2)
    )
    clf.fit(images, labels)
    start, frozen, end = seen["train_start"], seen["epoch_end:0"], seen["train_end"]
    assert not any(frozen["grad"])
    assert all(
        torch.equal(a, b) for a, b in zip(start["backbone"], frozen["backbone"], strict=True)
    )
    assert not all(torch.equal(a, b) for a, b in zip(start["head"], frozen["head"], strict=True))
    assert all(end["grad"])
    assert not all(
        torch.equal(a, b) for a, b in zip(frozen["backbone"], end["backbone"], strict=True)
    )
    assert len(clf.callbacks) == 1  # fit added its freezing callback for the run only


def test_backbone_lr_scale_makes_head_and_backbone_groups() -> None:
    images, labels = stripes(8)
    groups: list[tuple[float, float, set[int]]] = []

    def hook(name: str, trainer: Trainer) -> None:
        if name == "train_start":
            assert trainer.optimizer is not None
            groups.extend(
                (g["lr"], g["weight_decay"], {id(p) for p in g["params"]})
                for g in trainer.optimizer.param_groups
            )
            seen_head.update(id(p) for p in tv.head_parameters(trainer.model))

    seen_head: set[int] = set()
    clf = ImageClassifier(
        "small-cnn",
        backbone_lr_scale=0.1,
        callbacks=[Recorder(hook)],
        loop=loop(learning_rate=0.01, weight_decay=0.05, optimizer="sgd"),
    )
    clf.fit(images, labels)
    head_lr = {lr for lr, _, ids in groups if ids <= seen_head}
    backbone_lr = {lr for lr, _, ids in groups if not ids & seen_head}
    assert head_lr == {0.01}
    assert sorted(backbone_lr) == pytest.approx([0.001])
    assert {wd for _, wd, _ in groups} == {0.05, 0.0}  # decay on matrices only
    assert sum(len(ids) for _, _, ids in groups) == len(list(clf.module_.parameters()))


def test_class_weight_balanced() -> None:
    images, _ = stripes(16)
    labels = np.array([0] * 12 + [1] * 4)
    weights: list[Tensor] = []

    def hook(name: str, trainer: Trainer) -> None:
        if name == "train_start":
            weights.append(trainer.loss_fn.weight)  # type: ignore[attr-defined]

    ImageClassifier(
        "small-cnn", class_weight="balanced", callbacks=[Recorder(hook)], loop=loop()
    ).fit(images, labels)
    torch.testing.assert_close(weights[0], torch.tensor([16 / 24, 16 / 8]))


# --- pretrained weights ---------------------------------------------------------------------


def resnet_file(path: Path, num_classes: int = 5) -> dict[str, Tensor]:
    """A resnet18 state dict with another head, written with safetensors; returns it."""
    torch.manual_seed(123)
    state = timm.create_model("resnet18", num_classes=num_classes).state_dict()
    state = {k: v.contiguous() for k, v in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return state


def test_load_pretrained_drops_the_head_and_adapts_the_first_conv(tmp_path: Path) -> None:
    state = resnet_file(tmp_path / "r18.safetensors")
    module = timm.create_model("resnet18", num_classes=2, in_chans=1)
    fresh_head = module.fc.weight.detach().clone()
    load_pretrained(module, tmp_path / "r18.safetensors", "resnet18")
    loaded = module.state_dict()
    torch.testing.assert_close(loaded["layer4.1.conv2.weight"], state["layer4.1.conv2.weight"])
    torch.testing.assert_close(loaded["conv1.weight"], state["conv1.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(loaded["fc.weight"], fresh_head)  # (2, 512): not the file's


def test_load_pretrained_resamples_a_vit_position_embedding(tmp_path: Path) -> None:
    path = tmp_path / "vit.safetensors"
    source = timm.create_model("vit_tiny_patch16_224", num_classes=3)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    module = timm.create_model("vit_tiny_patch16_224", num_classes=2, img_size=32)
    load_pretrained(module, path, "vit_tiny_patch16_224")
    assert module.pos_embed.shape == (1, 5, 192)
    torch.testing.assert_close(module.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight)


def test_load_pretrained_refuses_another_architecture(tmp_path: Path) -> None:
    path = tmp_path / "cnn.safetensors"
    save_file(SmallCNN(3, 2).state_dict(), str(path))
    with pytest.raises(ModelError, match=r"does not fit resnet18: it lacks \d+ of the model's"):
        load_pretrained(timm.create_model("resnet18", num_classes=2), path, "resnet18")


def test_fit_from_a_weights_file_and_a_model_folder(tmp_path: Path) -> None:
    state = resnet_file(tmp_path / "hub" / "model.safetensors")
    images, labels = stripes(8, size=32, mode="RGB")
    at_start: list[dict[str, Tensor]] = []

    def hook(name: str, trainer: Trainer) -> None:
        if name == "train_start":
            at_start.append({k: v.clone() for k, v in trainer.model.state_dict().items()})

    for weights in (tmp_path / "hub" / "model.safetensors", tmp_path / "hub"):
        clf = ImageClassifier(
            "resnet18",
            pretrained=True,
            weights=str(weights),
            image_size=32,
            callbacks=[Recorder(hook)],
            loop=loop(),
        ).fit(images, labels)
        assert clf.transform_.resize_size == round(32 / 0.95)
        backbone = [k for k in state if not k.startswith("fc.")]
        assert all(torch.equal(at_start[-1][k], state[k]) for k in backbone)
        assert at_start[-1]["fc.weight"].shape == (2, 512)


def test_pretrained_from_the_hugging_face_cache(_empty_hub_cache: Path) -> None:
    repo = _empty_hub_cache / f"models--{RESNET_HUB_ID.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abc")
    state = resnet_file(repo / "snapshots" / "0123abc" / "model.safetensors")
    images, labels = stripes(8, size=32, mode="RGB")
    clf = ImageClassifier(
        "resnet18", pretrained=True, image_size=32, loop=loop(learning_rate=1e-9)
    ).fit(images, labels)
    torch.testing.assert_close(
        clf.module_.state_dict()["layer3.0.conv1.weight"], state["layer3.0.conv1.weight"]
    )


def test_pretrained_without_weights_offline_is_one_clear_line() -> None:
    images, labels = stripes(4, size=32, mode="RGB")
    expected = (
        "pretrained weights for resnet18 are not available offline: pass "
        "model.weights=<path to a .safetensors file or a timm model folder>, or download them "
        f"once into the Hugging Face cache (hf download {RESNET_HUB_ID} model.safetensors)"
    )
    with pytest.raises(ModelError) as caught:
        ImageClassifier("resnet18", pretrained=True, loop=loop()).fit(images, labels)
    assert str(caught.value) == expected


def test_weights_that_are_not_safetensors(tmp_path: Path) -> None:
    pickled = tmp_path / "model.pth"
    pickled.write_bytes(b"not read")
    images, labels = stripes(4, size=32, mode="RGB")
    with pytest.raises(ModelError, match=r"not a \.safetensors file: trainwell never unpickles"):
        ImageClassifier("resnet18", pretrained=True, weights=str(pickled)).fit(images, labels)
    with pytest.raises(ModelError, match="does not exist"):
        ImageClassifier("resnet18", pretrained=True, weights="missing.safetensors").fit(
            images, labels
        )


# --- the estimator contract -----------------------------------------------------------------


def test_constructor_only_stores_and_clones() -> None:
    clf = ImageClassifier("resnet18", mixup=0.2, freeze_backbone_epochs=2)
    params = clf.get_params()
    assert params["model_name"] == "resnet18"
    assert params["mixup"] == 0.2
    assert clone(clf).get_params() == params
    assert ImageClassifier.augments_inputs is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"crop_scale": 0.0}, "The 'crop_scale' parameter of ImageClassifier must be a float in"),
        ({"auto_augment": "heavy"}, "'auto_augment' parameter of ImageClassifier must be one of"),
        ({"class_weight": "auto"}, "'class_weight' parameter of ImageClassifier must be None or"),
        ({"backbone_lr_scale": 0.0}, "'backbone_lr_scale' parameter of ImageClassifier must be"),
        ({"weights": "w.safetensors"}, "is set but pretrained is False"),
    ],
)
def test_invalid_parameters(params: dict[str, Any], message: str) -> None:
    images, labels = stripes(4)
    with pytest.raises(ValueError, match=message):
        ImageClassifier("small-cnn", **params).fit(images, labels)


def test_bad_inputs() -> None:
    images, labels = stripes(4)
    with pytest.raises(ModelError, match="unknown image model"):
        ImageClassifier("no_such_net").fit(images, labels)
    with pytest.raises(DataError, match="X must be an ImageSet"):
        ImageClassifier("small-cnn").fit(np.zeros((4, 8, 8)), labels)
    with pytest.raises(DataError, match="at least 2 classes"):
        ImageClassifier("small-cnn").fit(images, np.zeros(4))
    clf = ImageClassifier("small-cnn", loop=loop()).fit(images, labels)
    with pytest.raises(DataError, match="holds RGB images but the model was fitted on L"):
        clf.predict(stripes(2, mode="RGB")[0])


def test_registry_builder() -> None:
    build = build_image_classifier("vit_tiny_patch16_224")
    clf = build("classification", 7, {"epochs": 2, "hflip": False, "mixup": 0.2})
    assert isinstance(clf, ImageClassifier)
    assert (clf.model_name, clf.random_state, clf.loop.epochs) == ("vit_tiny_patch16_224", 7, 2)
    assert (clf.hflip, clf.mixup) == (False, 0.2)
    with pytest.raises(ValueError, match="classification"):
        build("regression", 0, {})
    with pytest.raises(TypeError):
        build("classification", 0, {"no_such_param": 1})
    assert tv.ESTIMATORS["ImageClassifier"] is ImageClassifier


def test_exact_resume_with_augmentation_freezing_and_mixup(tmp_path: Path) -> None:
    """3 epochs straight == 1 epoch, then resumed to 3 from its checkpoint: the same weights.

    The random crops, RandAugment, mixup and the frozen-backbone phase all continue where the
    checkpoint left them (the Trainer restores the RNG and the data position)."""
    images, labels = stripes(24)
    params: dict[str, Any] = {
        "auto_augment": "randaugment",
        "mixup": 0.4,
        "freeze_backbone_epochs": 2,
        "random_state": 3,
    }

    def fitted(epochs: int, directory: Path, resume: str | None) -> ImageClassifier:
        clf = ImageClassifier("small-cnn", **params, loop=loop(epochs=epochs, resume=resume))
        clf.checkpoint_dir = str(directory)
        return clf.fit(images, labels)

    straight = fitted(3, tmp_path / "straight", None)
    fitted(1, tmp_path / "resumed", None)
    resumed = fitted(3, tmp_path / "resumed", "latest")
    for (name, a), b in zip(
        straight.module_.state_dict().items(), resumed.module_.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(straight.predict_proba(images), resumed.predict_proba(images))
