"""The built-in datasets: numbers from real (small) data, files written the way users have them."""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from models.data import DATASETS, dataset_names, load_dataset
from models.data.folder import load_folder
from models.data.shapes import AREA_RANGE, COLOURS, POSITION_MARGIN, SHAPES, load_shapes
from models.errors import DatasetError

# --- digits ------------------------------------------------------------------------------------


def test_digits_are_all_1797_real_images_balanced_over_ten_labels() -> None:
    data = load_dataset("digits", image_size=32)
    assert data.images.shape == (1797, 1, 32, 32)
    assert data.images.dtype == np.uint8
    assert data.label_names == tuple("0123456789")
    assert data.label_field == "digit"
    assert data.labels is not None and data.labels.dtype == np.int64
    counts = np.bincount(data.labels, minlength=10)
    assert counts.sum() == 1797
    assert counts.min() >= 174 and counts.max() <= 183  # sklearn's digits are near-balanced
    assert (data.metadata["digit"] == np.array(data.label_names)[data.labels]).all()
    assert data.item_names[7] == "digit-0007"
    assert data.images.max() == 255 and data.images.min() == 0


def test_digits_upsampling_is_bilinear_from_the_source_pixels() -> None:
    import torch
    from sklearn.datasets import load_digits

    source = load_digits().images * (255.0 / 16.0)  # (1797, 8, 8), 0..255
    data = load_dataset("digits", image_size=32)
    # An independent bilinear upsampling (pixel centres aligned) agrees to the rounding.
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(source)[:, None], size=32, mode="bilinear", align_corners=False
    )[:, 0].numpy()  # (1797, 32, 32)
    assert np.abs(data.images[:, 0] - expected).max() <= 0.5 + 1e-9
    blocks = data.images[:, 0].reshape(1797, 8, 4, 8, 4).mean(axis=(2, 4))
    assert np.corrcoef(blocks.ravel(), source.ravel())[0, 1] > 0.97
    assert abs(data.images.mean() - source.mean()) < 0.1  # no brightness shift


def test_digits_subset_is_seeded_and_keeps_source_order() -> None:
    a = load_dataset("digits", image_size=16, size=100, seed=3)
    b = load_dataset("digits", image_size=16, size=100, seed=3)
    c = load_dataset("digits", image_size=16, size=100, seed=4)
    assert len(a) == 100 and a.images.shape == (100, 1, 16, 16)
    assert (a.item_names == b.item_names).all() and a.images.tobytes() == b.images.tobytes()
    assert (a.item_names != c.item_names).any()
    assert list(a.item_names) == sorted(a.item_names)
    with pytest.raises(DatasetError, match="1797"):
        load_dataset("digits", image_size=16, size=5000)


# --- shapes ------------------------------------------------------------------------------------


def _measured_area_and_centroid(images: np.ndarray) -> tuple[np.ndarray, ...]:
    """Fraction of the frame covered, and intensity centroid (x, y downwards) in [0, 1]."""
    ink = images.max(axis=1).astype(np.float64) / 255.0  # (N, S, S)
    size = ink.shape[-1]
    centres = (np.arange(size) + 0.5) / size
    total = ink.sum(axis=(1, 2))
    x = (ink.sum(axis=1) * centres).sum(axis=1) / total
    y = (ink.sum(axis=2) * centres).sum(axis=1) / total
    return total / size**2, x, y


def test_shapes_are_deterministic_by_seed() -> None:
    a = load_dataset("shapes", image_size=32, size=300, seed=7)
    b = load_dataset("shapes", image_size=32, size=300, seed=7)
    c = load_dataset("shapes", image_size=32, size=300, seed=8)
    assert a.images.tobytes() == b.images.tobytes()
    assert all((a.metadata[k] == b.metadata[k]).all() for k in a.metadata)
    assert a.images.tobytes() != c.images.tobytes()
    # Item i depends only on (seed, i): a smaller set is a prefix of a larger one.
    small = load_dataset("shapes", image_size=32, size=50, seed=7)
    assert small.images.tobytes() == a.images[:50].tobytes()


def test_shapes_default_size_and_naming() -> None:
    data = load_shapes(image_size=8)  # smallest size keeps the full default set quick
    assert data.images.shape == (20_000, 1, 8, 8)
    assert data.item_names[42] == "shapes-00042"
    assert data.label_field == "shape" and data.label_names == SHAPES


def test_shape_factors_are_uniform_independent_and_in_range() -> None:
    data = load_dataset("shapes", image_size=32, size=4000, seed=1)
    meta = data.metadata
    assert set(meta) == {"shape", "scale", "rotation", "x", "y"}
    assert meta["scale"].dtype == np.float64 and meta["shape"].dtype.kind == "U"
    assert AREA_RANGE[0] <= meta["scale"].min() and meta["scale"].max() <= AREA_RANGE[1]
    assert 0.0 <= meta["rotation"].min() and meta["rotation"].max() < 360.0
    for axis in ("x", "y"):
        assert POSITION_MARGIN <= meta[axis].min() and meta[axis].max() <= 1 - POSITION_MARGIN
    assert 0.25 < POSITION_MARGIN < 0.35  # the largest triangle's circumradius
    counts = np.array([(meta["shape"] == s).sum() for s in SHAPES])
    assert counts.min() > 900 and counts.max() < 1100  # 1000 each expected
    assert data.labels is not None
    assert (np.array(SHAPES)[data.labels] == meta["shape"]).all()
    numeric = np.stack([meta[k] for k in ("scale", "rotation", "x", "y")])
    off_diagonal = np.corrcoef(numeric)[~np.eye(4, dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.06


def test_shape_scale_is_the_rendered_area_for_every_shape() -> None:
    data = load_dataset("shapes", image_size=32, size=2000, seed=2)
    area, _, _ = _measured_area_and_centroid(data.images)
    scale = data.metadata["scale"]
    assert np.corrcoef(area, scale)[0, 1] > 0.95
    for shape in SHAPES:
        chosen = data.metadata["shape"] == shape
        # A cut-off shape would lose area, so this also shows every shape stays in frame.
        assert np.abs(area[chosen] - scale[chosen]).max() < 0.004, shape
        assert abs(np.mean(area[chosen] - scale[chosen])) < 0.0005, shape


def test_shape_position_is_the_rendered_centroid() -> None:
    data = load_dataset("shapes", image_size=32, size=2000, seed=3)
    _, x, y = _measured_area_and_centroid(data.images)
    assert np.corrcoef(x, data.metadata["x"])[0, 1] > 0.99
    assert np.corrcoef(y, data.metadata["y"])[0, 1] > 0.99
    assert np.abs(x - data.metadata["x"]).max() < 0.01  # a third of a pixel
    assert np.abs(y - data.metadata["y"]).max() < 0.01


def test_ellipse_rotation_is_counter_clockwise_degrees() -> None:
    data = load_dataset("shapes", image_size=64, size=400, seed=4)
    chosen = np.flatnonzero(data.metadata["shape"] == "ellipse")
    ink = data.images[chosen, 0].astype(np.float64)  # (M, S, S)
    cols = np.arange(64) + 0.5
    rows = -(np.arange(64) + 0.5)  # y up, so angles turn counter-clockwise
    total = ink.sum(axis=(1, 2))
    mx = (ink.sum(axis=1) * cols).sum(axis=1) / total
    my = (ink.sum(axis=2) * rows).sum(axis=1) / total
    dx = cols[None, None, :] - mx[:, None, None]
    dy = rows[None, :, None] - my[:, None, None]
    mu20 = (ink * dx**2).sum(axis=(1, 2))
    mu02 = (ink * dy**2).sum(axis=(1, 2))
    mu11 = (ink * dx * dy).sum(axis=(1, 2))
    measured = np.degrees(0.5 * np.arctan2(2 * mu11, mu20 - mu02))  # major axis, mod 180
    error = (measured - data.metadata["rotation"][chosen] + 90.0) % 180.0 - 90.0
    assert len(chosen) > 70
    assert np.abs(error).max() < 4.0


def test_colour_shapes_have_three_channels_matching_the_colour_factor() -> None:
    grey = load_dataset("shapes", image_size=32, size=1000, seed=5)
    data = load_dataset("shapes", image_size=32, size=1000, seed=5, colour=True)
    assert data.images.shape == (1000, 3, 32, 32) and grey.images.shape == (1000, 1, 32, 32)
    names = data.metadata["colour"]
    assert set(names) == set(COLOURS)
    lit = data.images.sum(axis=(2, 3)) > 0  # (N, 3): which channels carry the shape
    expected = np.array([COLOURS[c] for c in names]) > 0
    assert (lit == expected).all()
    for channel, colour in enumerate(("red", "green", "blue")):
        dominant = data.images[names == colour].sum(axis=(2, 3)).argmax(axis=1)
        assert (dominant == channel).all()
    # Same geometry as the grey variant: the brightest channel is the grey image.
    assert (data.images.max(axis=1) == grey.images[:, 0]).all()


# --- mnist -------------------------------------------------------------------------------------


def _write_idx(folder: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    """Write IDX files the way the published ones are: big-endian dims after a magic number."""
    folder.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    files = {
        f"{split}-images-idx3-ubyte": struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes(),
        f"{split}-labels-idx1-ubyte": struct.pack(">II", 2049, n) + labels.tobytes(),
    }
    for name, payload in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / name).write_bytes(payload)


def _fake_mnist(root: Path, folder: str, n: int = 40, gz: bool = False) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    _write_idx(root / folder / "raw", "train", images, labels, gz)
    _write_idx(root / folder / "raw", "t10k", images[:5], labels[:5], gz)
    return images, labels


def test_mnist_reads_idx_files_in_torchvision_layout(tmp_path: Path) -> None:
    images, labels = _fake_mnist(tmp_path, "MNIST")
    data = load_dataset("mnist", image_size=28, data_dir=tmp_path)
    assert data.images.shape == (40, 1, 28, 28)
    assert (data.images[:, 0] == images).all()  # 28 px: no resampling
    assert data.labels is not None and (data.labels == labels).all()
    assert data.label_field == "digit" and data.label_names == tuple("0123456789")
    assert data.item_names[3] == "mnist-00003"

    resized = load_dataset("mnist", image_size=16, data_dir=tmp_path, size=10, seed=1)
    assert resized.images.shape == (10, 1, 16, 16)
    index = np.array([int(name.split("-")[1]) for name in resized.item_names])
    assert resized.labels is not None and (resized.labels == labels[index]).all()


def test_fashion_mnist_from_gz_files_has_class_names(tmp_path: Path) -> None:
    _, labels = _fake_mnist(tmp_path, "FashionMNIST", gz=True)
    data = load_dataset("fashion-mnist", image_size=32, data_dir=tmp_path)
    assert data.images.shape == (40, 1, 32, 32)
    assert data.label_names[0] == "T-shirt/top" and data.label_names[9] == "Ankle boot"
    assert data.label_field == "class"
    assert (data.metadata["class"] == np.array(data.label_names)[labels]).all()
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_missing_mnist_files_name_the_expected_paths(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as missing:
        load_dataset("mnist", image_size=28, data_dir=tmp_path)
    message = str(missing.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert "train-labels-idx1-ubyte" in message and "--download" in message

    # torchvision also insists on the test split, so that is what is reported missing.
    _write_idx(tmp_path / "MNIST" / "raw", "train", np.zeros((2, 28, 28), np.uint8),
               np.zeros(2, np.uint8), gz=False)  # fmt: skip
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte") as partial:
        load_dataset("mnist", image_size=28, data_dir=tmp_path)
    assert "train-images" not in str(partial.value)

    with pytest.raises(DatasetError, match="--data-dir"):
        load_dataset("fashion-mnist", image_size=28)


# --- folders -----------------------------------------------------------------------------------


def _save(path: Path, image: Image.Image, **options: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)


def _labelled_folder(root: Path) -> None:
    red = Image.new("RGB", (40, 30), (255, 0, 0))
    _save(root / "cats" / "red.PNG", red)
    # Left half opaque green, right half fully transparent white: must come out black.
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[:, :10] = (0, 255, 0, 255)
    rgba[:, 10:] = (255, 255, 255, 0)
    _save(root / "cats" / "half.png", Image.fromarray(rgba))
    palette = Image.new("P", (16, 16), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    _save(root / "cats" / "palette.gif", palette)
    # Stored with the bright half on top; EXIF orientation 6 says "turn 90 degrees clockwise".
    stored = np.zeros((32, 32, 3), np.uint8)
    stored[:16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    _save(root / "dogs" / "turned.jpg", Image.fromarray(stored), exif=exif, quality=95)
    _save(root / "dogs" / "grey.bmp", Image.new("L", (8, 12), 128))
    (root / "dogs" / "broken.jpeg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "dogs" / "notes.txt").write_text("not an image")
    _save(root / ".thumbnails" / "hidden.png", red)


def test_labelled_folder_reads_every_format_and_skips_the_corrupt_file(tmp_path: Path) -> None:
    _labelled_folder(tmp_path)
    data = load_dataset(f"folder:{tmp_path}", image_size=16)
    names = list(data.item_names)
    assert names == ["cats/half.png", "cats/palette.gif", "cats/red.PNG", "dogs/grey.bmp",
                     "dogs/turned.jpg"]  # fmt: skip
    assert data.skipped == 1
    assert data.images.shape == (5, 3, 16, 16)  # colour present, so RGB
    assert data.label_field == "class" and data.label_names == ("cats", "dogs")
    assert data.labels is not None and list(data.labels) == [0, 0, 0, 1, 1]
    assert list(data.metadata["class"]) == ["cats", "cats", "cats", "dogs", "dogs"]
    assert list(data.metadata["file"]) == names

    half, palette, red, grey, turned = (data.images[i].astype(int) for i in range(5))
    assert (half[1, :, :7] > 250).all() and (half[:, :, 9:] < 5).all()  # alpha onto black
    assert (palette[2] == 255).all() and (palette[:2] == 0).all()
    assert (red[0] == 255).all() and (red[1:] == 0).all()
    assert (grey == 128).all()
    # Orientation applied: the bright half is now on the right.
    assert turned[:, :, 10:].mean() > 240 and turned[:, :, :6].mean() < 15


def test_flat_grey_folder_is_unlabelled_and_grey(tmp_path: Path) -> None:
    for i, level in enumerate((0, 100, 200)):
        _save(tmp_path / f"img{i}.png", Image.new("L", (20, 20), level))
    _save(tmp_path / "rgb-but-grey.jpg", Image.new("RGB", (20, 20), (60, 60, 60)))
    data = load_dataset(f"folder:{tmp_path}", image_size=8)
    assert data.images.shape == (4, 1, 8, 8)
    assert data.labels is None and data.label_field is None and data.label_names == ()
    assert set(data.metadata) == {"file"}
    assert [int(data.images[i].mean()) for i in range(3)] == [0, 100, 200]
    assert load_dataset(f"folder:{tmp_path}", image_size=8, channels=3).images.shape[1] == 3


def test_folder_subset_is_seeded(tmp_path: Path) -> None:
    for i in range(12):
        _save(tmp_path / f"{i:02d}.png", Image.new("L", (8, 8), i * 20))
    a = load_folder(tmp_path, image_size=8, size=5, seed=1)
    b = load_folder(tmp_path, image_size=8, size=5, seed=1)
    assert len(a) == 5 and list(a.item_names) == list(b.item_names)
    assert list(a.item_names) == sorted(a.item_names)
    assert a.images[:, 0, 0, 0].tolist() == [int(n[:2]) * 20 for n in a.item_names]


def test_unusable_folders_are_refused_with_their_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images in") as empty:
        load_dataset(f"folder:{tmp_path}", image_size=16)
    assert str(tmp_path) in str(empty.value)
    with pytest.raises(DatasetError, match="not a directory"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}", image_size=16)
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="no readable images"):
        load_dataset(f"folder:{tmp_path}", image_size=16)
    _save(tmp_path / "cls" / "ok.png", Image.new("L", (8, 8)))
    with pytest.raises(DatasetError, match="mixes 1 images at the top"):
        load_dataset(f"folder:{tmp_path}", image_size=16)
    with pytest.raises(DatasetError, match="needs a path"):
        load_dataset("folder:", image_size=16)


# --- load_dataset ------------------------------------------------------------------------------


def test_unknown_spec_lists_every_allowed_name() -> None:
    assert dataset_names() == ("digits", "shapes", "mnist", "fashion-mnist", "folder:PATH")
    assert set(DATASETS) == {"digits", "shapes", "mnist", "fashion-mnist", "folder"}
    with pytest.raises(DatasetError) as bad:
        load_dataset("digitz", image_size=32)
    assert str(bad.value) == (
        "unknown dataset 'digitz': choose one of digits, shapes, mnist, fashion-mnist, folder:PATH"
    )
    with pytest.raises(DatasetError, match="unknown dataset 'digits:x'"):
        load_dataset("digits:x", image_size=32)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"image_size": 1000}, "1000 px is out of range"),
        ({"image_size": 32, "size": 0}, "positive"),
        ({"image_size": 32, "channels": 2}, "1 \\(grey\\) or 3 \\(RGB\\)"),
        ({"image_size": 32, "colour": True}, "colour applies only to shapes"),
    ],
)
def test_bad_options_are_refused(options: dict[str, int], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_dataset("digits", **options)  # type: ignore[arg-type]


def test_channels_convert_between_grey_and_rgb() -> None:
    rgb = load_dataset("digits", image_size=8, size=20, channels=3)
    assert rgb.images.shape == (20, 3, 8, 8)
    assert (rgb.images[:, 0] == rgb.images[:, 2]).all()
    grey = load_dataset("shapes", image_size=16, size=200, colour=True, channels=1)
    colour = load_dataset("shapes", image_size=16, size=200, colour=True)
    luma = np.rint(np.einsum("nchw,c->nhw", colour.images.astype(float), [0.299, 0.587, 0.114]))
    assert grey.images.shape == (200, 1, 16, 16)
    assert (grey.images[:, 0] == luma).all()
    blue = colour.metadata["colour"] == "blue"
    assert math.isclose(grey.images[blue].max(), round(0.114 * 255))
