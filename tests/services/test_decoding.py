"""decode_ref without HTTP: the image is the decoder's, the positions are the projections'."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.decoding import decode_ref
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.refs import Ref
from models.errors import LatentExplorerError
from tests.services.conftest import run


def test_an_item_decodes_to_the_decoder_output_of_its_latent(
    m: LoadedModel, worker: InferenceWorker
) -> None:
    placed = run(decode_ref(worker, m, Ref(id=5)))
    np.testing.assert_array_equal(placed.latent, m.index.latents[5])
    assert placed.image is not None and placed.image.shape == m.image_shape
    np.testing.assert_allclose(placed.image, m.decode(m.index.latents[5:6])[0], atol=1e-6)
    assert placed.nearest is None and placed.neighbors is None
    for name, projection in m.index.projections.items():
        expected = projection.transform(m.index.latents[5:6])[0]
        np.testing.assert_allclose(placed.positions[name], expected, rtol=1e-5, atol=1e-5)


def test_a_point_is_reported_where_it_was_asked(m: LoadedModel, worker: InferenceWorker) -> None:
    placed = run(decode_ref(worker, m, Ref(point=(0.25, -0.5), projection="pca")))
    assert placed.positions["pca"] == (0.25, -0.5)
    assert set(placed.positions) == set(m.index.projections)


def test_a_bad_ref_fails_before_any_decoding(m: LoadedModel, worker: InferenceWorker) -> None:
    with pytest.raises(LatentExplorerError, match="input needs exactly one of id"):
        run(decode_ref(worker, m, Ref(id=1, point=(0.0, 0.0))))
