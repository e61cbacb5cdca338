"""The drag stream's work without a socket: messages parsed, frames decoded at the point."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.services.drag import drag_frame, open_drag, parse_point
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore
from models.errors import LatentExplorerError
from tests.services.conftest import run


def test_a_frame_is_the_decoded_inverse_of_the_point(
    store: ModelStore, m: LoadedModel, worker: InferenceWorker
) -> None:
    session = open_drag(store, m.name, "pca")
    frame = run(drag_frame(worker, session, '{"x": 0.5, "y": -0.5, "seq": 3}'))
    assert (frame["seq"], frame["projection"], frame["image_source"]) == (3, "pca", "decoded")
    latent = m.index.inverses["pca"].transform(np.array([[0.5, -0.5]], np.float32))[0]
    np.testing.assert_allclose(frame["latent"], latent, rtol=1e-5, atol=1e-6)
    png = base64.b64decode(frame["image"].split(",", 1)[1])
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    expected = np.rint(np.clip(m.decode(latent[None])[0, 0] * 255, 0, 255))
    assert np.abs(pixels.astype(int) - expected).max() <= 1


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("not json", "not JSON"),
        ('{"x": true, "y": 1}', "numbers"),
        ('{"x": 1e10, "y": 1}', "finite"),
        ('{"x": 1, "y": 1, "projection": []}', "projection"),
        ("x" * 5000, "4096"),
    ],
)
def test_bad_messages_are_422_bad_point(text: str, hint: str) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        parse_point(text, "umap")
    assert (caught.value.status, caught.value.code) == (422, "bad_point")
    assert hint in str(caught.value)


def test_seq_is_echoed_only_when_plain() -> None:
    assert parse_point('{"x": 0, "y": 0, "seq": "a"}', "umap")[2] == "a"
    assert parse_point('{"x": 0, "y": 0, "seq": {"a": 1}}', "umap")[2] is None
    assert parse_point('{"x": 0, "y": 0, "seq": Infinity}', "umap")[2] is None


def test_a_stream_on_an_unknown_model_or_projection_does_not_open(store: ModelStore) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        open_drag(store, "nope", "umap")
    assert (caught.value.status, caught.value.code) == (404, "unknown_model")
    with pytest.raises(LatentExplorerError) as caught:
        open_drag(store, next(iter(store.models)), "tsne-ish")
    assert (caught.value.status, caught.value.code) == (422, "unknown_projection")
