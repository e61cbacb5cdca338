"""Built-in datasets, loaded by spec: ``digits``, ``shapes``, ``mnist``, ``fashion-mnist``,
``folder:PATH``.

``load_dataset`` is the one entry point; ``DATASETS`` maps each name to a loader taking a
``DatasetRequest``. Heavy libraries (scikit-learn, torchvision) are imported by the loader that
needs them, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from models.data.base import ImageSet, check_image_size
from models.data.digits import load_digits_set
from models.data.folder import load_folder
from models.data.imageops import check_subset_size, convert_channels
from models.data.mnist import load_mnist
from models.data.shapes import load_shapes
from models.errors import DatasetError

__all__ = [
    "DATASETS",
    "DatasetRequest",
    "ImageSet",
    "check_image_size",
    "dataset_names",
    "load_dataset",
]


@dataclass(frozen=True)
class DatasetRequest:
    """Everything ``load_dataset`` was asked for, handed to the chosen loader."""

    argument: str  # the part after "name:" in the spec ("" when there is none)
    image_size: int
    channels: int | None
    size: int | None
    seed: int
    data_dir: Path | None
    download: bool
    colour: bool


def _digits(request: DatasetRequest) -> ImageSet:
    return load_digits_set(image_size=request.image_size, size=request.size, seed=request.seed)


def _shapes(request: DatasetRequest) -> ImageSet:
    return load_shapes(
        image_size=request.image_size, size=request.size, seed=request.seed, colour=request.colour
    )


def _mnist_loader(name: str) -> Callable[[DatasetRequest], ImageSet]:
    def load(request: DatasetRequest) -> ImageSet:
        return load_mnist(
            name,
            image_size=request.image_size,
            data_dir=request.data_dir,
            download=request.download,
            size=request.size,
            seed=request.seed,
        )

    return load


def _folder(request: DatasetRequest) -> ImageSet:
    if not request.argument:
        raise DatasetError("folder needs a path: folder:PATH, e.g. folder:./my-images")
    return load_folder(
        request.argument,
        image_size=request.image_size,
        channels=request.channels,
        size=request.size,
        seed=request.seed,
    )


DATASETS: dict[str, Callable[[DatasetRequest], ImageSet]] = {
    "digits": _digits,
    "shapes": _shapes,
    "mnist": _mnist_loader("mnist"),
    "fashion-mnist": _mnist_loader("fashion-mnist"),
    "folder": _folder,
}
_TAKES_ARGUMENT = {"folder": "folder:PATH"}  # specs written as name:argument
_COLOUR_OPTION = {"shapes"}  # datasets that have a colour variant


def dataset_names() -> tuple[str, ...]:
    """Every accepted spec, as a person would type it ("folder:PATH" for the folder loader)."""
    return tuple(_TAKES_ARGUMENT.get(name, name) for name in DATASETS)


def load_dataset(
    spec: str,
    *,
    image_size: int,
    channels: int | None = None,
    size: int | None = None,
    seed: int = 0,
    data_dir: Path | None = None,
    download: bool = False,
    colour: bool = False,
) -> ImageSet:
    """Load the dataset named by ``spec`` as an ``ImageSet`` of square uint8 images.

    spec:       a name from ``dataset_names()``; ``folder:PATH`` for a folder of images
    image_size: side of the square images in pixels (8..64)
    channels:   1 (grey) or 3 (RGB) to convert to; None keeps the dataset's own
    size:       number of items: a seeded subset, or for ``shapes`` how many to generate
    seed:       seeds subsets and generated data, so a load is reproducible
    data_dir:   folder holding downloaded datasets (``mnist``, ``fashion-mnist``)
    download:   let torchvision fetch missing ``mnist``/``fashion-mnist`` files into data_dir
    colour:     ``shapes`` only: coloured shapes on 3 channels
    """
    name, _, argument = spec.strip().partition(":")
    name = name.lower()
    loader = DATASETS.get(name)
    if loader is None or (argument and name not in _TAKES_ARGUMENT):
        raise DatasetError(f"unknown dataset {spec!r}: choose one of {', '.join(dataset_names())}")
    check_image_size(image_size)
    check_subset_size(size)
    if channels is not None and channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), not {channels}")
    if colour and name not in _COLOUR_OPTION:
        raise DatasetError(
            f"colour applies only to {', '.join(sorted(_COLOUR_OPTION))}, not {name}; "
            "use channels=3 for RGB images"
        )

    request = DatasetRequest(
        argument=argument,
        image_size=image_size,
        channels=channels,
        size=size,
        seed=seed,
        data_dir=data_dir,
        download=download,
        colour=colour,
    )
    dataset = loader(request)
    if channels is not None and dataset.images.shape[1] != channels:
        dataset = replace(dataset, images=convert_channels(dataset.images, channels))
    return dataset
