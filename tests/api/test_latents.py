"""GET latents: every item's latent as raw little-endian float32, exactly the index's."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import assert_error


def test_latents_are_the_index_latents_in_id_order(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    response = client.get(f"{api}/latents")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    n, d = index.latents.shape
    assert (response.headers["x-items"], response.headers["x-latent-dim"]) == (str(n), str(d))
    assert len(response.content) == n * d * 4
    latents = np.frombuffer(response.content, dtype="<f4").reshape(n, d)
    np.testing.assert_array_equal(latents, index.latents)


def test_latents_of_an_unknown_model_are_404(client: TestClient) -> None:
    assert "available models" in assert_error(
        client.get("/api/models/nope/latents"), 404, "unknown_model"
    )
