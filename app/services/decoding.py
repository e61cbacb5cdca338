"""Decode a place in latent space (an item, a latent, a map point) into its image."""

from __future__ import annotations

from dataclasses import replace

from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.nearest import require_decoder
from app.services.placing import place
from app.services.refs import Ref, projection_name, resolve
from app.services.results import FromData, Placed


async def decode_ref(worker: InferenceWorker, m: LoadedModel, ref: Ref) -> Placed:
    """A ref's image and positions. Without a decoder a click (a point or an id) gets the
    nearest real item's image, while decoding a raw latent is refused (409 no_decoder)."""
    latent = resolve(m, ref, "input")
    if ref.latent is not None:
        require_decoder(m, "an image of a latent vector")
    placed = await place(worker, m, latent, item=ref.id)
    if ref.point is not None:
        # The latent came from this very point: report it there, not where the forward
        # placement (a different, lossy map) would put the latent.
        name = projection_name(m, ref.projection)
        placed.positions[name] = (float(ref.point[0]), float(ref.point[1]))
        placed.from_data = on_the_map(m, name, ref.point, placed.from_data)
    return placed


def on_the_map(
    m: LoadedModel, projection: str, point: tuple[float, float], far: FromData | None
) -> FromData | None:
    """``far`` with how far the map point itself is from the items' positions: away from
    them (in an empty corner, say) its latent is the inverse map's blend of the nearest
    items', which reads "inside the data" although the map shows nothing there."""
    fitted = m.map_distance(projection)
    if far is None or fitted is None:
        return far
    d = float(m.index.inverses[projection].point_distance([point])[0])
    return replace(far, map_distance=d, map_percentile=float(fitted.percentile(d)))
