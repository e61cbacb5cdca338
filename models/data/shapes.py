"""A procedural dataset in the manner of dSprites: one shape per image, known factors.

Every image shows one shape drawn from five independent, uniformly sampled factors:

- ``shape``:    square, ellipse (2:1), triangle (equilateral) or heart
- ``scale``:    the shape's AREA as a fraction of the image, 0.02..0.12; equal scale means equal
                area whatever the shape, so scale and shape are separate factors
- ``rotation``: degrees counter-clockwise, 0..360 (squares repeat every 90, ellipses every 180
                and triangles every 120 degrees; the factor is recorded as drawn)
- ``x``, ``y``: the shape's centroid as a fraction of the image width and height, ``y``
                measured downwards like image rows; the range is one fixed interval, wide
                enough that the largest shape at any rotation stays inside the frame, so
                position does not depend on the other factors
- ``colour``:   only with ``colour=True``: red, green, blue, yellow or white on black, 3 channels;
                otherwise a white shape on black, 1 channel

Pixels are antialiased by supersampling (4x4 samples per pixel). Generation is deterministic
by seed, and item i depends only on the seed and i, so a smaller ``size`` gives a prefix of a
larger one, and the colour and grey variants share their geometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from models.data.base import ImageSet, check_image_size
from models.data.imageops import check_subset_size
from models.data.items import ItemColumns

NAME = "shapes"
DEFAULT_SIZE = 20_000
SHAPES = ("square", "ellipse", "triangle", "heart")
# Rotational symmetry order: a square looks the same every 90 degrees (4), an ellipse every
# 180 (2), the equilateral triangle every 120 (3); the heart only after a full turn (1).
SYMMETRY_ORDER = {"square": 4, "ellipse": 2, "triangle": 3, "heart": 1}
FACTORS = ("x", "y", "scale", "rotation")  # the continuous factors, besides the shape
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "white": (255, 255, 255),
}
AREA_RANGE = (0.02, 0.12)  # 2% is still ~20 px at 32x32; 12% leaves room to move
SUPERSAMPLE = 4  # samples per pixel along each axis: 17 grey levels of edge coverage
_CHUNK_SAMPLES = 1 << 21  # samples per rendering chunk: big enough to vectorise, small for cache

# Each shape is defined at unit area with its centroid at the origin, in coordinates (u, v)
# with v pointing up; an item of area A is the unit shape scaled by sqrt(A).
_ELLIPSE_B = 1.0 / math.sqrt(2.0 * math.pi)  # semi-minor axis: pi * (2b) * b = 1
_ELLIPSE_A = 2.0 * _ELLIPSE_B
_TRIANGLE_INRADIUS = 1.0 / math.sqrt(3.0 * math.sqrt(3.0))  # area of equilateral = 3*sqrt(3)*r^2
_TRIANGLE_NORMALS = np.radians([-90.0, 30.0, 150.0])  # outward edge normals, apex up
# Heart: a diamond |u| + |y| <= d (a square turned 45 degrees, side L) with a half-disc of
# radius L/2 on each upper edge. The discs touch the opposite edge lines only tangentially, so
# the area is exactly L^2 (1 + pi/4).
_HEART_L = 1.0 / math.sqrt(1.0 + math.pi / 4.0)
_HEART_D = _HEART_L / math.sqrt(2.0)  # diamond half-diagonal
_HEART_R = _HEART_L / 2.0  # lobe radius
# Centroid height above the diamond's centre: only the two outer half-discs (total area
# pi L^2 / 4) are off-centre; each half-disc centroid lies 4r/(3 pi) out from its edge midpoint.
_HEART_LOBE_Y = _HEART_D / 2.0 + 4.0 * _HEART_R / (3.0 * math.pi) / math.sqrt(2.0)
_HEART_CENTROID = (math.pi * _HEART_L**2 / 4.0) * _HEART_LOBE_Y

# Farthest point from the centroid of each unit-area shape, to size windows and margins.
_CIRCUMRADIUS = {
    "square": math.sqrt(2.0) / 2.0,
    "ellipse": _ELLIPSE_A,
    "triangle": 2.0 * _TRIANGLE_INRADIUS,
    "heart": max(
        _HEART_D + _HEART_CENTROID,  # the bottom tip
        math.hypot(_HEART_D / 2.0, _HEART_D / 2.0 - _HEART_CENTROID) + _HEART_R,  # a lobe
    ),
}
# Centroids are drawn from [margin, 1 - margin] whatever the item's shape, scale and rotation,
# which keeps the factors independent; the largest shape then just fits.
POSITION_MARGIN = max(_CIRCUMRADIUS.values()) * math.sqrt(AREA_RANGE[1])


def load_shapes(
    *, image_size: int, size: int | None = None, seed: int = 0, colour: bool = False
) -> ImageSet:
    """Generate ``size`` shape images (default 20,000) as (N, C, S, S) uint8, C = 3 if colour."""
    check_image_size(image_size)
    check_subset_size(size)
    n = DEFAULT_SIZE if size is None else size
    factors = sample_factors(n, seed=seed, colour=colour)
    coverage = render_coverage(factors, image_size)  # (N, S, S) samples inside, 0..SS^2

    # Map sample counts to 0..255 through a lookup table rather than arithmetic per pixel.
    levels = np.arange(SUPERSAMPLE**2 + 1) * (255.0 / SUPERSAMPLE**2)  # (SS^2 + 1,)
    if colour:
        palette = np.array(list(COLOURS.values()), dtype=np.float64) / 255.0  # (K, 3)
        table = np.rint(palette[:, :, None] * levels).astype(np.uint8)  # (K, 3, SS^2 + 1)
        tint = _index_of(factors["colour"], tuple(COLOURS))[:, None, None]  # (N, 1, 1)
        images = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
        for channel in range(3):
            images[:, channel] = table[tint, channel, coverage]
    else:
        images = np.rint(levels).astype(np.uint8)[coverage][:, None]  # (N, 1, S, S)

    items = ItemColumns(
        item_names=np.array([f"{NAME}-{i:05d}" for i in range(n)], dtype=np.str_),
        labels=_index_of(factors["shape"], SHAPES),
        label_field="shape",
        label_names=SHAPES,
        metadata=factors,
        images=images,
    )
    return ImageSet(name=NAME, items=items)


def _index_of(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Positions of categorical values in ``names``, as int64."""
    lookup = np.array(names, dtype=np.str_)
    order = np.argsort(lookup)
    return order[np.searchsorted(lookup, values, sorter=order)].astype(np.int64)


def sample_factors(n: int, *, seed: int, colour: bool = False) -> dict[str, np.ndarray]:
    """Draw n items' factors, each uniform and independent of the others.

    One row of uniforms per item, drawn in row order, so item i is the same for any n >= i + 1
    and for both colour settings.
    """
    u = np.random.default_rng(seed).random((n, 6))  # (N, 6)
    low, high = AREA_RANGE
    span = 1.0 - 2.0 * POSITION_MARGIN
    factors: dict[str, np.ndarray] = {
        "shape": np.array(SHAPES, dtype=np.str_)[(u[:, 0] * len(SHAPES)).astype(np.int64)],
        "scale": low + (high - low) * u[:, 1],
        "rotation": 360.0 * u[:, 2],
        "x": POSITION_MARGIN + span * u[:, 3],
        "y": POSITION_MARGIN + span * u[:, 4],
    }
    if colour:
        names = np.array(list(COLOURS), dtype=np.str_)
        factors["colour"] = names[(u[:, 5] * len(COLOURS)).astype(np.int64)]
    return factors


def render_coverage(factors: dict[str, np.ndarray], image_size: int) -> np.ndarray:
    """Count, per pixel, the supersamples that fall inside each item's shape.

    Returns (N, S, S) uint8 counts in 0..SUPERSAMPLE**2. Items are rendered in chunks of one
    shape and similar scale, each only inside a square window around its shape, which is where
    the time goes: a full frame would sample ~5x more points that are certainly empty.
    """
    n = len(factors["shape"])
    out = np.zeros((n, image_size, image_size), dtype=np.uint8)
    shape_index = _index_of(factors["shape"], SHAPES)
    # Grouping by shape, then scale, keeps each chunk's window close to its items' own sizes.
    order = np.lexsort((factors["scale"], shape_index))
    for kind_index, kind in enumerate(SHAPES):
        members = order[shape_index[order] == kind_index]
        if len(members) == 0:
            continue
        # Chunk length from the largest window of this shape, so no chunk exceeds the budget.
        largest = _window_pixels(kind, float(np.sqrt(factors["scale"][members[-1]])), image_size)
        per_chunk = max(1, _CHUNK_SAMPLES // (largest * SUPERSAMPLE) ** 2)
        for start in range(0, len(members), per_chunk):
            chunk = members[start : start + per_chunk]
            # Members are sorted by scale, so the chunk's last item is its largest.
            biggest = float(np.sqrt(factors["scale"][chunk[-1]]))
            _render_chunk(kind, chunk, factors, _window_pixels(kind, biggest, image_size), out)
    return out


def _window_pixels(kind: str, linear_scale: float, image_size: int) -> int:
    """Side in pixels of a window that holds the shape at any rotation and sub-pixel offset."""
    diameter = 2.0 * _CIRCUMRADIUS[kind] * linear_scale * image_size
    return min(image_size, math.ceil(diameter) + 2)


def _render_chunk(
    kind: str,
    items: np.ndarray,
    factors: dict[str, np.ndarray],
    window: int,
    out: np.ndarray,
) -> None:
    """Render the items (all one shape) into ``out`` through a window of ``window`` pixels."""
    size = out.shape[1]
    cx = factors["x"][items]
    cy = factors["y"][items]
    linear = np.sqrt(factors["scale"][items])  # unit-area shape -> this item's area
    theta = np.radians(factors["rotation"][items])

    # Window corners: the shape's disc (radius <= window/2 - 1 px) fits whatever the rounding,
    # and clamping cannot cut it because every shape lies inside the frame.
    left = np.clip(np.floor(cx * size - window / 2.0).astype(np.int64), 0, size - window)
    top = np.clip(np.floor(cy * size - window / 2.0).astype(np.int64), 0, size - window)
    offsets = (np.arange(window * SUPERSAMPLE) + 0.5) / SUPERSAMPLE  # sample positions, px

    # Sample offsets from the centroid, in unit-shape coordinates with y pointing up.
    # (B, W*SS) each; the 2-D grid is their outer sum, formed only inside the inside-tests.
    dx = ((left[:, None] + offsets) / size - cx[:, None]) / linear[:, None]
    dy = (cy[:, None] - (top[:, None] + offsets) / size) / linear[:, None]
    inside = _INSIDE[kind](dx.astype(np.float32), dy.astype(np.float32), theta)  # (B, Y, X)

    count = inside.reshape(len(items), window, SUPERSAMPLE, window, SUPERSAMPLE)
    count = count.sum(axis=(2, 4), dtype=np.uint8)  # (B, W, W)
    span = np.arange(window)
    rows = (top[:, None] + span)[:, :, None]  # (B, W, 1)
    cols = (left[:, None] + span)[:, None, :]  # (B, 1, W)
    out[items[:, None, None], rows, cols] = count


def _linear(dx: np.ndarray, dy: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """The grid dx * cos + dy * sin as (B, Y, X), from (B, X) dx, (B, Y) dy and (B,) weights."""
    return (dx * cos[:, None])[:, None, :] + (dy * sin[:, None])[:, :, None]


def _rotated(dx: np.ndarray, dy: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample grid in the shape's own frame: (u, v), each (B, Y, X), undoing a CCW rotation."""
    cos = np.cos(theta).astype(np.float32)
    sin = np.sin(theta).astype(np.float32)
    return _linear(dx, dy, cos, sin), _linear(dx, dy, -sin, cos)


def _inside_square(dx: np.ndarray, dy: np.ndarray, theta: np.ndarray) -> np.ndarray:
    u, v = _rotated(dx, dy, theta)
    np.abs(u, out=u)
    np.abs(v, out=v)
    return np.maximum(u, v, out=u) <= 0.5


def _inside_ellipse(dx: np.ndarray, dy: np.ndarray, theta: np.ndarray) -> np.ndarray:
    # Dividing the 1-D offsets by the semi-axes first leaves a unit-circle test on the grid.
    u, v = _rotated(dx, dy, theta)
    u *= 1.0 / _ELLIPSE_A
    v *= 1.0 / _ELLIPSE_B
    np.square(u, out=u)
    np.square(v, out=v)
    return np.add(u, v, out=u) <= 1.0


def _inside_triangle(dx: np.ndarray, dy: np.ndarray, theta: np.ndarray) -> np.ndarray:
    # Inside all three edges: each edge test is linear in (dx, dy) with its normal rotated.
    farthest: np.ndarray | None = None
    for normal in _TRIANGLE_NORMALS:
        angle = theta + normal
        reach = _linear(dx, dy, np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32))
        farthest = reach if farthest is None else np.maximum(farthest, reach, out=farthest)
    assert farthest is not None
    return farthest <= _TRIANGLE_INRADIUS


def _inside_heart(dx: np.ndarray, dy: np.ndarray, theta: np.ndarray) -> np.ndarray:
    u, v = _rotated(dx, dy, theta)
    np.abs(u, out=u)  # the heart is mirror-symmetric about its vertical axis
    y = np.add(v, np.float32(_HEART_CENTROID), out=v)  # relative to the diamond's centre
    diamond = (u + np.abs(y)) <= _HEART_D
    u -= np.float32(_HEART_D / 2.0)
    y -= np.float32(_HEART_D / 2.0)
    np.square(u, out=u)
    np.square(y, out=y)
    lobe = np.add(u, y, out=u) <= np.float32(_HEART_R**2)
    return np.logical_or(diamond, lobe, out=diamond)


_INSIDE: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "square": _inside_square,
    "ellipse": _inside_ellipse,
    "triangle": _inside_triangle,
    "heart": _inside_heart,
}


def factor_targets(metadata: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The continuous factors of shapes items as regression targets: x, y and scale as
    (N,), rotation as (N, 2) ``sin`` and ``cos`` of the angle times the shape's symmetry order
    (a square turned by 90 degrees is the same image, so its angle is only defined modulo 90).
    None when the metadata is not that of shapes items."""
    if not {"shape", *FACTORS} <= set(metadata):
        return None
    shape = np.asarray(metadata["shape"]).astype(np.str_)
    if not set(np.unique(shape)) <= set(SYMMETRY_ORDER):
        return None
    orders = np.array(list(SYMMETRY_ORDER.values()))[_index_of(shape, tuple(SYMMETRY_ORDER))]
    angle = np.radians(np.asarray(metadata["rotation"], dtype=np.float64)) * orders  # (N,)
    targets = {key: np.asarray(metadata[key], dtype=np.float64) for key in FACTORS[:3]}
    targets["rotation"] = np.stack([np.sin(angle), np.cos(angle)], axis=1)  # (N, 2)
    return targets
