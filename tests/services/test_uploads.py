"""encode_uploads without HTTP: an item's own image lands on its latent, errors are scored."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.uploads import Upload, encode_uploads
from models.errors import LatentExplorerError
from tests.services.conftest import run

PIXELS = 4_000_000


def item_png(m: LoadedModel, i: int) -> bytes:
    assert m.index.images is not None
    out = io.BytesIO()
    Image.fromarray(m.index.images[i, 0]).save(out, "PNG")  # (H, W) uint8
    return out.getvalue()


def test_an_items_own_image_encodes_to_its_latent(m: LoadedModel, worker: InferenceWorker) -> None:
    uploads = [Upload(item_png(m, 4), "four.png"), Upload(item_png(m, 8), None)]
    encoded = run(encode_uploads(worker, m, uploads, 3, max_images=2, max_pixels=PIXELS))
    assert [e.filename for e in encoded] == ["four.png", None]
    np.testing.assert_allclose(encoded[0].latent, m.index.latents[4], atol=1e-4)
    np.testing.assert_allclose(encoded[1].latent, m.index.latents[8], atol=1e-4)
    first = encoded[0]
    assert first.neighbors is not None and len(first.neighbors.ids) == 3
    assert first.input_image is not None and first.image is not None
    error = float(np.mean((first.image - first.input_image) ** 2))
    assert first.reconstruction_error == pytest.approx(error)
    assert m.index.errors is not None
    share = 100.0 * float(np.mean(m.index.errors <= error))
    assert first.error_percentile == pytest.approx(share)


def test_more_uploads_than_the_limit_are_refused(m: LoadedModel, worker: InferenceWorker) -> None:
    uploads = [Upload(item_png(m, 0))] * 3
    with pytest.raises(LatentExplorerError) as caught:
        run(encode_uploads(worker, m, uploads, 0, max_images=2, max_pixels=PIXELS))
    assert (caught.value.status, caught.value.code) == (422, "too_many_images")
    assert "3 images in one request; the limit is 2" in str(caught.value)


def test_a_damaged_file_is_400(m: LoadedModel, worker: InferenceWorker) -> None:
    broken = item_png(m, 0)[:40]
    with pytest.raises(LatentExplorerError) as caught:
        run(encode_uploads(worker, m, [Upload(broken)], 0, max_images=1, max_pixels=PIXELS))
    assert (caught.value.status, caught.value.code) == (400, "corrupt_image")
