"""MNIST and Fashion-MNIST training sets (60,000 28x28 grey images each), read by torchvision.

torchvision looks for the files in ``<data_dir>/MNIST/raw/`` (``FashionMNIST/raw/`` for
Fashion-MNIST) and, unless asked to download, only accepts them when all four uncompressed IDX
files are there, the test-split ones included:

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

Files present only as ``.gz`` are unpacked next to themselves first, as torchvision's own
download does, so a folder of the published ``.gz`` files works without ``download``.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.data.base import ImageSet, check_image_size
from models.data.imageops import resize_stack, subset_indices
from models.data.items import ItemColumns
from models.errors import DatasetError

# Every file torchvision's MNIST checks for before it reads anything, train split first.
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class _Variant:
    name: str  # the dataset spec
    folder: str  # torchvision's class name, which is also its folder under data_dir
    label_field: str
    label_names: tuple[str, ...]


_VARIANTS = {
    "mnist": _Variant("mnist", "MNIST", "digit", tuple(str(d) for d in range(10))),
    "fashion-mnist": _Variant("fashion-mnist", "FashionMNIST", "class", FASHION_CLASSES),
}


def load_mnist(
    name: str,
    *,
    image_size: int,
    data_dir: Path | None,
    download: bool = False,
    size: int | None = None,
    seed: int = 0,
) -> ImageSet:
    """Load the training split of ``mnist`` or ``fashion-mnist`` as (N, 1, S, S) uint8.

    ``size`` takes a seeded random subset (kept in source order) before resizing, which is
    where the time goes; None keeps all 60,000.
    """
    variant = _VARIANTS[name]
    check_image_size(image_size)
    if data_dir is None:
        raise DatasetError(
            f"{name} needs --data-dir: the folder that holds (or, with --download, will hold) "
            f"{variant.folder}/raw/{RAW_FILES[0]} and the other IDX files"
        )
    source, targets = _read_train_split(variant, Path(data_dir).expanduser(), download)

    index = subset_indices(len(source), size, seed, name)
    labels = targets[index].astype(np.int64)
    images = resize_stack(source[index], image_size)  # (N, S, S)
    items = ItemColumns(
        item_names=np.array([f"{name}-{i:05d}" for i in index], dtype=np.str_),
        labels=labels,
        label_field=variant.label_field,
        label_names=variant.label_names,
        metadata={variant.label_field: np.array(variant.label_names, dtype=np.str_)[labels]},
        images=images[:, None],  # (N, 1, S, S)
    )
    return ImageSet(name=name, items=items)


def _read_train_split(
    variant: _Variant, data_dir: Path, download: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 images and (N,) labels of the training split, through torchvision."""
    from torchvision import datasets  # heavy import, only when this dataset is used

    raw = data_dir / variant.folder / "raw"
    if not download:
        missing = [name for name in RAW_FILES if not _unpacked(raw / name)]
        if missing:
            listed = ", ".join(str(raw / name) for name in missing)
            raise DatasetError(
                f"{variant.name} files not found: {listed} (each may also be .gz); "
                f"pass --download to fetch them into {raw}"
            )
    dataset_class = getattr(datasets, variant.folder)
    try:
        dataset = dataset_class(root=str(data_dir), train=True, download=download)
    except (RuntimeError, OSError, ValueError, TypeError, AssertionError) as error:
        # RuntimeError: download failed or files missing; the rest: a file that is not IDX.
        action = "download" if download else "read"
        raise DatasetError(f"could not {action} {variant.name} in {raw}: {error}") from error
    images = dataset.data.numpy()  # (N, 28, 28) uint8
    labels = dataset.targets.numpy()  # (N,) int64
    if images.ndim != 3 or len(images) != len(labels):
        raise DatasetError(
            f"{variant.name} in {raw}: {len(images)} images of shape {images.shape[1:]} "
            f"for {len(labels)} labels; expected N images of 28x28 and N labels"
        )
    return images, labels


def _unpacked(path: Path) -> bool:
    """Whether the uncompressed IDX file exists, unpacking ``path.gz`` beside it if need be."""
    if path.is_file():
        return True
    packed = path.with_name(path.name + ".gz")
    if not packed.is_file():
        return False
    try:
        with gzip.open(packed, "rb") as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target)
    except (OSError, EOFError) as error:
        path.unlink(missing_ok=True)  # never leave a half-written file for torchvision to trust
        raise DatasetError(f"could not unpack {packed}: {error}") from error
    return True
