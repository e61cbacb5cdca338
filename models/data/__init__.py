"""Built-in datasets, loaded by spec: ``digits``, ``shapes``, ``mnist``, ``fashion-mnist``,
``folder:PATH``.

A ``DatasetSpec`` names a dataset, loads it and records it in a model's config.json
(``load_dataset`` takes the same fields as keywords); ``DATASETS`` maps each name to a loader
taking the spec. Heavy libraries (scikit-learn, torchvision) are imported by the loader that
needs them, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from models.data.base import ImageSet, check_image_size
from models.data.digits import load_digits_set
from models.data.folder import load_folder
from models.data.imageops import check_subset_size, convert_channels
from models.data.mnist import load_mnist
from models.data.shapes import load_shapes
from models.errors import DatasetError

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "ImageSet",
    "check_image_size",
    "dataset_names",
    "load_dataset",
]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as ``train`` and ``import-model`` name it, and as config.json records it.

    spec:       a name from ``dataset_names()``; ``folder:PATH`` for a folder of images
    image_size: side of the square images in pixels (8..64)
    channels:   1 (grey) or 3 (RGB) to convert to; None keeps the dataset's own
    size:       number of items: a seeded subset, or for ``shapes`` how many to generate
    seed:       seeds subsets and generated data, so a load is reproducible
    data_dir:   folder holding downloaded datasets (``mnist``, ``fashion-mnist``)
    colour:     ``shapes`` only: coloured shapes on 3 channels
    download:   let torchvision fetch missing ``mnist``/``fashion-mnist`` files into data_dir
                (a permission for this run, so not recorded)
    """

    spec: str
    image_size: int = 32
    channels: int | None = None
    size: int | None = None
    seed: int = 0
    data_dir: Path | None = None
    colour: bool = False
    download: bool = False

    @property
    def name(self) -> str:
        """The loader's name: the part of ``spec`` before any ":", lower case."""
        return self.spec.strip().partition(":")[0].lower()

    @property
    def argument(self) -> str:
        """The part of ``spec`` after "name:" ("" when there is none)."""
        return self.spec.strip().partition(":")[2]

    def load(self) -> ImageSet:
        """Check the spec and load it as an ``ImageSet`` of square uint8 images."""
        loader = DATASETS.get(self.name)
        if loader is None or (self.argument and self.name not in _TAKES_ARGUMENT):
            raise DatasetError(
                f"unknown dataset {self.spec!r}: choose one of {', '.join(dataset_names())}"
            )
        check_image_size(self.image_size)
        check_subset_size(self.size)
        if self.channels is not None and self.channels not in (1, 3):
            raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), not {self.channels}")
        if self.colour and self.name not in _COLOUR_OPTION:
            raise DatasetError(
                f"colour applies only to {', '.join(sorted(_COLOUR_OPTION))}, not {self.name}; "
                "use channels=3 for RGB images"
            )
        dataset = loader(self)
        if self.channels is not None and dataset.images.shape[1] != self.channels:
            images = convert_channels(dataset.images, self.channels)
            dataset = replace(dataset, items=replace(dataset.items, images=images))
        return dataset

    def record(self, data: ImageSet) -> dict[str, Any]:
        """config.json's ``dataset``: what ``from_record`` needs to load it again."""
        return {
            "spec": self.spec,
            "image_size": self.image_size,
            "channels": data.image_shape[0],
            "size": self.size,
            "seed": self.seed,
            "colour": self.colour,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "n_items": len(data),
            "skipped": data.skipped,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> DatasetSpec:
        """The spec a config.json ``dataset`` record (``record``'s output) describes."""
        data_dir = record.get("data_dir")
        return cls(
            spec=str(record["spec"]),
            image_size=int(record["image_size"]),
            channels=record.get("channels"),
            size=record.get("size"),
            seed=int(record.get("seed", 0)),
            data_dir=Path(data_dir) if data_dir else None,
            colour=bool(record.get("colour", False)),
        )


def _digits(request: DatasetSpec) -> ImageSet:
    return load_digits_set(image_size=request.image_size, size=request.size, seed=request.seed)


def _shapes(request: DatasetSpec) -> ImageSet:
    return load_shapes(
        image_size=request.image_size, size=request.size, seed=request.seed, colour=request.colour
    )


def _mnist_loader(name: str) -> Callable[[DatasetSpec], ImageSet]:
    def load(request: DatasetSpec) -> ImageSet:
        return load_mnist(
            name,
            image_size=request.image_size,
            data_dir=request.data_dir,
            download=request.download,
            size=request.size,
            seed=request.seed,
        )

    return load


def _folder(request: DatasetSpec) -> ImageSet:
    if not request.argument:
        raise DatasetError("folder needs a path: folder:PATH, e.g. folder:./my-images")
    return load_folder(
        request.argument,
        image_size=request.image_size,
        channels=request.channels,
        size=request.size,
        seed=request.seed,
    )


DATASETS: dict[str, Callable[[DatasetSpec], ImageSet]] = {
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
    """Load the dataset named by ``spec`` as an ``ImageSet`` of square uint8 images; the
    arguments are ``DatasetSpec``'s fields."""
    return DatasetSpec(
        spec=spec,
        image_size=image_size,
        channels=channels,
        size=size,
        seed=seed,
        data_dir=data_dir,
        download=download,
        colour=colour,
    ).load()
