"""``Entry``: one workspace entry (stored, or held in memory), with its results as numpy
arrays and PIL images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from app.services.latent_math import interpolate
from app.services.loaded import LoadedModel
from app.services.nearest import require_decoder
from app.services.neighbors import search_neighbors
from app.services.refs import Ref, resolve
from models.errors import ConfigError

Saver = Callable[[Path, str, bool], Path]


class Entry:
    """A model (or embeddings) and its index, ready to explore from Python.

    Made by ``Workspace.load``, ``from_torch`` and ``from_embeddings``. ``stored`` says
    whether it lives in a workspace folder; an in-memory one is served only by this process.
    """

    def __init__(
        self, loaded: LoadedModel, *, stored: bool, saver: Saver | None, why_not: str = ""
    ) -> None:
        self.loaded = loaded
        self.stored = stored
        self._saver = saver
        self._why_not = why_not

    def __repr__(self) -> str:
        where = str(self.loaded.folder) if self.stored else "in memory"
        return f"<Entry {self.name!r}: {len(self)} items, D={self.loaded.latent_dim}, {where}>"

    def __len__(self) -> int:
        return len(self.loaded.index)

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def latents(self) -> np.ndarray:
        """(N, D) float32: every item's latent."""
        return self.loaded.index.latents

    @property
    def quality(self) -> dict[str, object]:
        """The index's quality figures (kNN accuracy, trustworthiness...)."""
        return dict(self.loaded.index.quality)

    @property
    def projections(self) -> list[str]:
        return list(self.loaded.index.projections)

    def _latent(
        self,
        item: int | None,
        latent: Sequence[float] | np.ndarray | None,
        point: tuple[float, float] | None,
        projection: str | None,
    ) -> np.ndarray:
        values = None if latent is None else np.asarray(latent, np.float32).tolist()
        ref = Ref(id=item, latent=values, point=point, projection=projection)
        return resolve(self.loaded, ref, "the place")

    def neighbors(
        self,
        item: int | None = None,
        *,
        latent: Sequence[float] | np.ndarray | None = None,
        point: tuple[float, float] | None = None,
        projection: str | None = None,
        k: int = 10,
        metric: str = "euclidean",
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items nearest an item (itself left out), a latent or a map point:
        (ids (k,) int64, distances (k,) float64), nearest first.

        >>> ids, dist = entry.neighbors(0, k=5)
        """
        z = self._latent(item, latent, point, projection)
        found = search_neighbors(self.loaded, z, k, metric, exclude=item)
        return np.asarray(found.ids, np.int64), np.asarray(found.distances, np.float64)

    def decode(
        self,
        latent: Sequence[float] | np.ndarray | None = None,
        *,
        item: int | None = None,
        point: tuple[float, float] | None = None,
        projection: str | None = None,
    ) -> Image.Image:
        """The decoder's image of a latent, an item or a map point (``projection`` names the
        map, default its first).

        >>> entry.decode(point=(0.5, -1.0), projection="pca")
        """
        require_decoder(self.loaded, "decoded images")
        z = self._latent(item, latent, point, projection)
        return to_pil(self.loaded.decode(z[None])[0])

    def interpolate(
        self,
        start: int | Sequence[float] | np.ndarray,
        end: int | Sequence[float] | np.ndarray,
        steps: int = 8,
        method: str = "lerp",
    ) -> tuple[np.ndarray, list[Image.Image]]:
        """``steps`` latents from ``start`` to ``end`` (item ids or latents), lerp or slerp,
        and their decoded images (none without a decoder): ((steps, D) float32, images)."""
        if method not in ("lerp", "slerp"):
            raise ConfigError(f"unknown method {method!r}: choose lerp or slerp")
        ends = [
            self._latent(p, None, None, None)
            if isinstance(p, int)
            else self._latent(None, p, None, None)
            for p in (start, end)
        ]
        path = interpolate(ends[0], ends[1], steps, "lerp" if method == "lerp" else "slerp")
        if not self.loaded.can_decode:
            return path, []
        return path, [to_pil(image) for image in self.loaded.decode(path)]

    def encode(self, images: np.ndarray) -> np.ndarray:
        """(B, C, H, W) floats in [0, 1] -> (B, D) float32 latents."""
        if not self.loaded.can_encode:
            raise ConfigError(f"{self.name}: precomputed embeddings have no encoder")
        return self.loaded.encode(np.asarray(images, np.float32))

    def save(self, workspace: object, *, name: str | None = None, overwrite: bool = False) -> Path:
        """Write this entry into ``workspace`` (a ``Workspace`` or a folder); returns the
        folder. An entry served from memory whose code cannot be imported again says why."""
        if self._saver is None:
            raise ConfigError(f"{self.name} cannot be stored: {self._why_not}")
        root = Path(getattr(workspace, "path", workspace))  # type: ignore[arg-type]
        return self._saver(root, name or self.name, overwrite)


def to_pil(image: np.ndarray) -> Image.Image:
    """(C, H, W) float in [0, 1] -> a PIL image (L or RGB)."""
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0))
