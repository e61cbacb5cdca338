"""What the latent operations return: plain dataclasses of numpy arrays, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.index.data_distance import Placement
from app.services.nearest import Nearest


@dataclass
class FromData:
    """How far a latent is from the data (app/services/from_data.py)."""

    distance: float  # euclidean, to the nearest item's latent
    percentile: float  # share (%) of items at most this far from their nearest other item
    placement: Placement
    # A map point only: the same two on the map, for its position (app/services/decoding.py)
    map_distance: float | None = None
    map_percentile: float | None = None


@dataclass
class Neighbors:
    ids: list[int]
    distances: list[float]
    metric: str
    exact: bool = True  # False when the approximate (FAISS) index answered


@dataclass
class Placed:
    """A latent with everything the page shows about it."""

    latent: np.ndarray  # (D,)
    positions: dict[str, tuple[float, float]]
    # (C, H, W): float32 decoded, or (no decoder) uint8 the nearest item's; None: it has none
    image: np.ndarray | None
    neighbors: Neighbors | None = None
    nearest: Nearest | None = None  # set when the image is the nearest real item's (B = 1)
    # what decoded the image when ``nearest`` is None: "decoded" or "fitted_decoder"
    image_source: str = "decoded"
    from_data: FromData | None = None  # None: a model of one item


@dataclass
class Encoded(Placed):
    reconstruction_error: float | None = None  # None: no decoder, so no reconstruction
    error_percentile: float | None = None
    knn_score: float | None = None  # anomaly: None unless trained on normal classes only
    input_image: np.ndarray | None = None
    filename: str | None = None


@dataclass
class LatentPath:
    latents: np.ndarray  # (T, D)
    positions: np.ndarray  # (T, 2) on the requested projection
    images: np.ndarray | None  # (T, C, H, W), decoded or the nearest items' (see Placed.image)
    projection: str
    method: str
    nearest: Nearest | None = None  # per step, when the images are the nearest real items'
    image_source: str = "decoded"  # as Placed.image_source
    from_data: list[FromData] | None = None  # per step, as Placed.from_data
