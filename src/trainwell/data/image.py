"""The image modality: a folder of class folders, a CSV/Parquet of image paths, or bundled digits.

``IMAGE`` is the row image task kinds name (``trainwell.tasks.TASKS``). The examples are an
index table, one row per image (``image``: an absolute path, or ``sklearn:digits#<i>`` for
in-memory images; the label; a CSV's other columns such as ``data.group_column``), so splitting
reuses the table's splitters unchanged. Model input is an :class:`~trainwell.data.image_io.ImageSet`
per split, decoded on demand; the transforms (resize, crop, normalise, augmentation) belong to
the model, which stores its eval transform in its ``estimator.json``. The bundle's input spec is
``image_spec.json``: the classes in index order with their index map, the channel mode and the
conversion rule.

Sources (``data.path`` or ``data.train_path``/``valid_path``/``test_path``):

* a folder with one subfolder per class (the class name is the folder's name);
* a CSV/Parquet with ``data.image_column`` (paths relative to the file's folder) and
  ``data.target``;
* ``sklearn:digits``: scikit-learn's 1,797 8×8 digits as grayscale images.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from trainwell.data import table
from trainwell.data.modality import Features, InputBatch, Loaded, Modality, PreparedData
from trainwell.errors import BundleError, ConfigError, DataError
from trainwell.utils.files import write_json
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import pandas as pd

    from trainwell.config.schema import ExperimentConfig
    from trainwell.data.image_io import ImageSet
    from trainwell.evaluation.checks import CheckResult
    from trainwell.evaluation.objectives import Objective, Targets
    from trainwell.models.registry import ArchitectureSpec

logger = get_logger(__name__)

SPEC_FILE = "image_spec.json"
SPEC_VERSION = 1
IMAGE_COLUMN = "image"
DEFAULT_TARGET = "label"
HASH_COLUMN = "sha256"
SPLIT_NAMES = ("train", "valid", "test")
# images decoded in one predict batch (the output is written batch by batch)
PREDICT_CHUNK = 256
# the checklist decodes at most this many images per split (every one up to it)
MAX_DECODED_PER_SPLIT = 50_000
# perceptual hashes this close (of 64 bits) are the same picture re-encoded, resized or shifted
NEAR_DUPLICATE_BITS = 4
# below this side a perceptual hash sees too little: distinct MNIST-sized digits hash alike
PHASH_MIN_SIDE = 32
# an image whose shorter side is below this share of the model's input is upsampled a lot
SMALL_IMAGE_SHARE = 0.5
SMALL_IMAGE_WARN_SHARE = 0.1
SHOWN = 5


class ImageSpec(BaseModel):
    """The bundle's ``image_spec.json``: what `predict` needs to read new images as training did.

    Attributes:
        classes: class names in index order; ``class_to_index`` is the same map, explicit.
        mode: ``L`` or ``RGB``: every image is converted to it by ``conversion_rule``.
        image_column: the column of paths a CSV given to `predict` holds.
        native_size: the training images' median (height, width).
        input_size: the side of the square the model sees (its transform's crop), by the
            rule in ``models.vision_entries.input_size``; the model's ``estimator.json`` holds
            the whole eval transform it applies.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = SPEC_VERSION
    classes: tuple[str, ...]
    class_to_index: dict[str, int]
    mode: str
    conversion_rule: str
    image_column: str
    native_size: tuple[int, int]
    input_size: int


def _source(config: ExperimentConfig) -> str:
    source = config.data.path or config.data.train_path
    assert source is not None  # guaranteed by ExperimentConfig's validator
    return source


def _target(config: ExperimentConfig) -> str:
    return config.data.target or DEFAULT_TARGET


def _read_source(source: str, config: ExperimentConfig, where: str) -> pd.DataFrame:
    """One source as an index table: ``image``, the label, a CSV's other columns, ``sha256``."""
    import pandas as pd

    from trainwell.data import image_io

    target = _target(config)
    if source.startswith("sklearn:"):
        arrays, labels = image_io.bundled_images(source)
        frame = pd.DataFrame(
            {IMAGE_COLUMN: [f"{source}#{i}" for i in range(len(arrays))], target: labels}
        )
        frame[HASH_COLUMN] = [
            hashlib.sha256(a.tobytes() + str(a.shape).encode()).hexdigest() for a in arrays
        ]
        return frame
    path = Path(source).expanduser()
    if path.is_dir() or not path.suffix:
        if config.data.image_column is not None:
            raise ConfigError(
                f"data.image_column names a column of a CSV/Parquet file, but {source} is a "
                "folder (its class subfolders are the labels): drop data.image_column"
            )
        paths, names = image_io.scan_class_folders(path)
        frame = pd.DataFrame({IMAGE_COLUMN: [str(p) for p in paths], target: names})
    else:
        column = config.data.image_column
        if column is None:
            raise ConfigError(
                f"{source} is a table: set data.image_column to its column of image paths "
                "(and data.target to its label column)"
            )
        if config.data.target is None:
            raise ConfigError(f"{source} is a table: set data.target to its label column")
        frame = image_io.read_path_table(path, column, target)
        frame = frame.rename(columns={column: IMAGE_COLUMN})
        frame[target] = frame[target].astype(str)
    files = image_io.ImageSet.from_files(frame[IMAGE_COLUMN].tolist(), "RGB")
    frame[HASH_COLUMN] = [files.content_hash(i) for i in range(len(files))]
    logger.info("images_indexed", source=source, split=where, images=len(frame))
    return frame


def _image_set(frame: pd.DataFrame, source: str, mode: str) -> ImageSet:
    """The images of an index table (in-memory arrays for bundled datasets)."""
    import numpy as np

    from trainwell.data import image_io

    names = frame[IMAGE_COLUMN].tolist()
    if source.startswith("sklearn:"):
        arrays, _ = image_io.bundled_images(source)
        positions = np.array([int(n.rsplit("#", 1)[1]) for n in names], dtype=np.int64)
        return image_io.ImageSet(tuple(names), mode, arrays[positions])
    return image_io.ImageSet.from_files(names, mode)


def _mode(frame: pd.DataFrame, source: str) -> str:
    from trainwell.data import image_io

    if source.startswith("sklearn:"):
        return "L"
    return image_io.choose_file_mode(frame[IMAGE_COLUMN].tolist())


def load(config: ExperimentConfig, target_optional: bool, include_test: bool) -> Loaded:
    """Index and profile the images the config names (a test source is left closed for tuning)."""
    import pandas as pd

    from trainwell.data.profile import profile_frame

    data = config.data
    target = _target(config)
    source = _source(config)
    parts: dict[str, pd.DataFrame] = {}
    if data.path is not None:
        frame = _read_source(data.path, config, "input")
    else:
        assert data.train_path is not None
        parts["train"] = _read_source(data.train_path, config, "train")
        for name, path in (("valid", data.valid_path), ("test", data.test_path)):
            if path is None:
                continue
            if name == "test" and not include_test:
                parts[name] = parts["train"].iloc[0:0]
                continue
            part = _read_source(path, config, name)
            if list(part.columns) != list(parts["train"].columns):
                raise DataError(
                    f"the {name} source's columns differ from the training one's: {path}"
                )
            parts[name] = part
        frame = pd.concat(parts.values(), keys=list(parts), names=["split", None])
    flat = frame.reset_index(drop=True)
    mode = _mode(flat, source)
    images = _image_set(flat, source, mode)
    features = [c for c in flat.columns if c not in (IMAGE_COLUMN, HASH_COLUMN)]
    profile = profile_frame(flat[features], target).model_copy(
        update={"image_size": images.native_size(), "image_mode": mode}
    )
    fingerprint = hashlib.sha256(
        "\n".join(f"{h} {y}" for h, y in zip(flat[HASH_COLUMN], flat[target], strict=True)).encode()
    ).hexdigest()
    return Loaded(
        examples=frame,
        parts=parts,
        target=target,
        profile=profile,
        fingerprint=fingerprint,
        dataset=table.dataset_name(config),
        size_bytes=_size_bytes(flat, source),
    )


def _size_bytes(frame: pd.DataFrame, source: str) -> int | None:
    if source.startswith("sklearn:"):
        return None
    return sum(Path(p).stat().st_size for p in frame[IMAGE_COLUMN])


def _input_size(spec: ArchitectureSpec, config: ExperimentConfig, native: tuple[int, int]) -> int:
    """The side of the square the model sees (see ``models.vision_entries.input_size``)."""
    from trainwell.models import vision_entries

    return vision_entries.input_size(
        spec.name, config.model.params, config.model.uses_pretrained, native
    )


def fit_inputs(
    config: ExperimentConfig, prepared: PreparedData, spec: ArchitectureSpec, targets: Targets
) -> Features:
    """Every split as an :class:`ImageSet` in the training split's channel mode."""
    source = _source(config)
    splits = prepared.splits
    mode = prepared.profile.image_mode or _mode(splits.train, source)
    X = {name: _image_set(getattr(splits, name), source, mode) for name in SPLIT_NAMES}
    native = X["train"].native_size() if len(X["train"]) else (0, 0)
    from trainwell.data import image_io

    spec_doc = ImageSpec(
        classes=targets.classes,
        class_to_index={c: i for i, c in enumerate(targets.classes)},
        mode=mode,
        conversion_rule=image_io.CONVERSION_RULE,
        image_column=config.data.image_column or image_io.DEFAULT_PATH_COLUMN,
        native_size=native,
        input_size=_input_size(spec, config, native),
    )
    return Features(
        schema=spec_doc,
        preprocessor=None,
        X=X,
        y=targets.y,
        classes=targets.classes,
    )


def checks(
    config: ExperimentConfig, prepared: PreparedData, features: Features, objective: Objective
) -> list[CheckResult]:
    """Unreadable files, exact and near duplicates across splits, small images, imbalance."""
    from trainwell.data import image_io

    splits = prepared.splits
    X: dict[str, ImageSet] = features.X
    decoded: dict[str, list[int]] = {}
    broken: list[str] = []
    small: dict[str, int] = {}
    assert isinstance(features.schema, ImageSpec)
    input_side = features.schema.input_size
    threshold = SMALL_IMAGE_SHARE * input_side
    for name in SPLIT_NAMES:
        images = X[name]
        hashes: list[int] = []
        n_small = 0
        for i in range(min(len(images), MAX_DECODED_PER_SPLIT)):
            try:
                image = images.open(i)
            except DataError as exc:
                broken.append(str(exc))
                continue
            if min(image.size) < threshold:
                n_small += 1
            hashes.append(image_io.perceptual_hash(image))
        decoded[name] = hashes
        small[name] = n_small
    results = [_check_readable(broken)]
    results.append(_check_exact_duplicates(splits, config.checks.duplicate_share_fail))
    native = features.schema.native_size
    if min(native) < PHASH_MIN_SIDE:
        from trainwell.evaluation.checks.result import skipped

        results.append(
            skipped(
                "leakage.near_duplicate_images",
                f"images of {native[0]}×{native[1]} px are too small for a perceptual hash "
                f"(it needs {PHASH_MIN_SIDE} px): distinct tiny images hash alike; exact "
                "duplicates are still checked",
            )
        )
    elif not broken:
        results.append(_check_near_duplicates(decoded))
    results.append(_check_small(small, {n: len(X[n]) for n in SPLIT_NAMES}, input_side))
    results.append(_check_imbalance(prepared, config.checks.imbalance_ratio))
    return results


def _check_readable(broken: list[str]) -> CheckResult:
    from trainwell.evaluation.checks.result import fired, passed

    cid = "data.unreadable_images"
    if broken:
        return fired(
            cid,
            "fail",
            f"{len(broken)} image(s) cannot be decoded: {'; '.join(broken[:SHOWN])}",
            "re-save or remove those files (a truncated download, a non-image with an image "
            "suffix)",
            count=len(broken),
        )
    return passed(cid, "every image decodes fully (no unreadable or truncated files)")


def _check_exact_duplicates(splits: Any, fail_share: float) -> CheckResult:
    from trainwell.evaluation.checks.result import fired, passed

    cid = "leakage.duplicate_images"
    train = set(splits.train[HASH_COLUMN])
    found = {
        name: int(getattr(splits, name)[HASH_COLUMN].isin(train).sum())
        for name in ("valid", "test")
    }
    total = sum(len(getattr(splits, n)) for n in ("valid", "test"))
    shared = sum(found.values())
    if shared:
        share = shared / max(total, 1)
        return fired(
            cid,
            "fail" if share > fail_share else "warn",
            f"{shared} validation/test image(s) are byte-identical to training images "
            f"(valid {found['valid']}, test {found['test']}; {share:.1%})",
            "deduplicate by content before splitting, or split by data.group_column",
            **found,
        )
    return passed(cid, "no validation or test image is byte-identical to a training image")


def _check_near_duplicates(hashes: dict[str, list[int]]) -> CheckResult:
    import numpy as np

    from trainwell.data import image_io
    from trainwell.evaluation.checks.result import fired, passed

    cid = "leakage.near_duplicate_images"
    reference = np.array(hashes["train"], dtype=np.uint64)
    counts: dict[str, int] = {}
    for name in ("valid", "test"):
        query = np.array(hashes[name], dtype=np.uint64)
        pairs = image_io.near_duplicates(reference, query, NEAR_DUPLICATE_BITS)
        counts[name] = len(pairs)
    if sum(counts.values()):
        return fired(
            cid,
            "warn",
            f"{sum(counts.values())} validation/test image(s) are near-duplicates of training "
            f"images (perceptual hash within {NEAR_DUPLICATE_BITS} of 64 bits; valid "
            f"{counts['valid']}, test {counts['test']})",
            "resized, re-encoded or burst-shot copies inflate the scores: group them with "
            "data.group_column or drop the copies",
            **counts,
        )
    return passed(
        cid, f"no near-duplicates across splits (perceptual hash, {NEAR_DUPLICATE_BITS} bits)"
    )


def _check_small(small: dict[str, int], sizes: dict[str, int], side: int) -> CheckResult:
    from trainwell.evaluation.checks.result import fired, passed

    cid = "data.image_size"
    n_small, n_all = sum(small.values()), max(sum(sizes.values()), 1)
    if n_small / n_all > SMALL_IMAGE_WARN_SHARE:
        return fired(
            cid,
            "warn",
            f"{n_small} of {n_all} images have a side shorter than half the model's "
            f"{side}px input: they are upsampled {side}px and look blurred to it",
            "use a smaller model.params.image_size, the small-cnn architecture for tiny "
            "images, or higher-resolution sources",
            small=n_small,
            input_size=side,
        )
    return passed(cid, f"images are large enough for the model's {side}px input")


def _check_imbalance(prepared: PreparedData, ratio: float) -> CheckResult:
    from trainwell.evaluation.checks.result import fired, passed

    cid = "class_balance"
    counts = prepared.splits.train[prepared.target].value_counts()
    largest, smallest = int(counts.max()), int(counts.min())
    found = largest / max(smallest, 1)
    details = {"largest": largest, "smallest": smallest, "classes": len(counts)}
    if found > ratio:
        return fired(
            cid,
            "warn",
            f"the largest class has {found:.0f}× the images of the smallest "
            f"({counts.idxmax()!r} {largest}, {counts.idxmin()!r} {smallest})",
            "model.params.class_weight=balanced, collect more of the rare classes, and read "
            "balanced accuracy and per-class recall rather than accuracy",
            **details,
        )
    return passed(cid, f"classes within {found:.1f}× of each other in training", **details)


SAMPLES_DIR = "samples"
# held-out images a bundle keeps for export's parity gate
SAMPLE_IMAGES = 32


def save_samples(prepared: PreparedData, features: Features, directory: Path) -> list[str]:
    """Up to ``SAMPLE_IMAGES`` held-out images (test split, else validation) as lossless PNGs
    in ``samples/``, decoded and converted to the bundle's mode, at their native size: what
    export's parity gate feeds both runtimes."""
    held = features.X["test"] if len(features.X["test"]) else features.X["valid"]
    if not len(held):
        return []
    (directory / SAMPLES_DIR).mkdir()
    names = []
    for i in range(min(SAMPLE_IMAGES, len(held))):
        name = f"{SAMPLES_DIR}/{i:04d}.png"
        held.open(i).save(directory / name, format="PNG")
        names.append(name)
    return names


def reference_columns(
    prepared: PreparedData, features: Features, split: str
) -> dict[str, Any] | None:
    """Images keep no drift reference (no per-feature columns): `serve` runs without drift."""
    return None


def save_inputs(features: Features, directory: Path) -> list[str]:
    """``image_spec.json``: classes and their index map, channel mode, conversion rule."""
    write_json(directory / SPEC_FILE, features.schema.model_dump(mode="json"))
    return [SPEC_FILE]


@dataclass(frozen=True)
class ImageInputs:
    """A bundle's ``image_spec.json``: new image files -> an :class:`ImageSet` the model reads."""

    spec: ImageSpec
    directory: Path | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in index order."""
        return self.spec.classes

    def samples(self) -> Any | None:
        """The remembered held-out images (None when the bundle has none)."""
        from trainwell.data import image_io

        folder = None if self.directory is None else self.directory / SAMPLES_DIR
        if folder is None or not folder.is_dir():
            return None
        paths = sorted(str(p) for p in folder.glob("*.png"))
        return image_io.ImageSet.from_files(paths, self.spec.mode) if paths else None

    def preprocess(self, X: Any) -> Any:
        """Images have no fitted preprocessing: X unchanged."""
        return X

    def for_graph(self) -> ImageInputs:
        """Images have no fitted preprocessing to hold in a graph: the same input."""
        return self

    def from_frame(self, frame: pd.DataFrame, *, strict: bool) -> Any:
        """The images named in the frame's path column (``image_spec.image_column``)."""
        from trainwell.data import image_io

        column = self.spec.image_column
        if column not in frame.columns:
            shown = ", ".join(map(str, frame.columns))
            raise DataError(f"no {column!r} column of image paths (columns: {shown})")
        return image_io.ImageSet.from_files(frame[column].astype(str).tolist(), self.spec.mode)

    def read(
        self, path: Path, *, chunk_rows: int, strict: bool, skip_invalid: bool
    ) -> Iterator[InputBatch]:
        """A folder (recursively), a CSV/Parquet of paths, or one image, in batches."""
        from trainwell.data import image_io

        files = image_io.list_predict_inputs(path, self.spec.image_column)
        size = min(chunk_rows, PREDICT_CHUNK)
        for start in range(0, len(files), size):
            chunk = [str(p) for p in files[start : start + size]]
            rejected: list[tuple[str, str]] = []
            if skip_invalid:
                chunk, rejected = _readable(chunk, self.spec.mode)
            yield InputBatch(
                keys={"path": chunk},
                X=image_io.ImageSet.from_files(chunk, self.spec.mode),
                n_rows=len(chunk),
                rejected=tuple(rejected),
            )


def _readable(paths: Sequence[str], mode: str) -> tuple[list[str], list[tuple[str, str]]]:
    from trainwell.data import image_io

    good: list[str] = []
    bad: list[tuple[str, str]] = []
    for p in paths:
        try:
            image_io.read_image(Path(p), mode)
        except DataError as exc:
            bad.append((p, str(exc)))
        else:
            good.append(p)
    return good, bad


def open_inputs(directory: Path) -> ImageInputs:
    """The input spec an image bundle holds."""
    path = directory / SPEC_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    if int(document.get("format_version", 0)) > SPEC_VERSION:
        raise BundleError(f"{path} was written by a newer trainwell: upgrade trainwell")
    return ImageInputs(ImageSpec.model_validate(document), directory=directory)


IMAGE = Modality(
    name="image",
    load=load,
    split=table.split,
    fit_inputs=fit_inputs,
    checks=checks,
    save_inputs=save_inputs,
    input_files=(SPEC_FILE,),
    open_inputs=open_inputs,
    save_samples=save_samples,
    reference_columns=reference_columns,
)
