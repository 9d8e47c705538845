"""Small image datasets for tests: synthetic class folders, broken files and an MNIST sample.

    from tests.image_data import write_class_folders
    root = write_class_folders(tmp_path / "shapes", per_class=6, size=(16, 16))

Classes differ in both colour (or brightness) and stripe direction, so a tiny model separates
them in a few steps; every pixel also gets seeded noise, so no two images are identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from trainwell.data.image_io import write_mnist_5k

# One base colour per class (cycled when there are more classes); grayscale uses their luma.
CLASS_COLOURS = (
    (220, 40, 40),
    (40, 180, 60),
    (50, 70, 220),
    (230, 200, 40),
    (160, 60, 200),
    (40, 200, 200),
)
NOISE = 12  # ± grey levels of uniform noise per pixel
STRIPE_PERIOD = 4  # pixels per dark/light stripe pair
STRIPE_DEPTH = 60  # how much darker the dark stripes are


def _class_image(
    index: int, size: tuple[int, int], mode: str, rng: np.random.Generator
) -> Image.Image:
    height, width = size
    colour = np.array(CLASS_COLOURS[index % len(CLASS_COLOURS)], dtype=np.float64)
    rows, cols = np.mgrid[0:height, 0:width]
    shift = int(rng.integers(STRIPE_PERIOD))
    # even classes: horizontal stripes; odd classes: vertical ones
    lines = rows if index % 2 == 0 else cols
    dark = ((lines + shift) % STRIPE_PERIOD) < STRIPE_PERIOD // 2
    pixels = colour[None, None, :] - STRIPE_DEPTH * dark[:, :, None]
    pixels = pixels + rng.uniform(-NOISE, NOISE, size=(height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    return image.convert("L") if mode == "L" else image


def write_class_folders(
    root: Path,
    per_class: int = 8,
    size: tuple[int, int] = (32, 32),
    mode: str = "RGB",
    classes: tuple[str, ...] = ("cat", "dog"),
    seed: int = 0,
) -> Path:
    """Write ``root/<class>/<i:03d>.png`` images, ``size`` = (height, width); returns ``root``."""
    rng = np.random.default_rng(seed)
    for index, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _class_image(index, size, mode, rng).save(folder / f"{i:03d}.png")
    return root


def write_corrupt_image(path: Path) -> Path:
    """A file named like an image whose bytes are not one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a PNG\x00\x01\x02" * 8)
    return path


def write_truncated_png(path: Path) -> Path:
    """A PNG cut in half: its header reads, decoding fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def mnist_folders(tmp_path: Path, per_class: int) -> Path:
    """The first ``per_class`` MNIST digits of each class as ``tmp_path/mnist/<digit>/*.png``."""
    return write_mnist_5k(tmp_path / "mnist", per_class=per_class)
