"""traverse without HTTP: one decoded row per latent dimension, spaced by its spread."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.refs import Ref
from app.services.traversal import traverse
from models.errors import LatentExplorerError
from tests.services.conftest import run


def test_dimension_rows_step_by_the_latents_spread(m: LoadedModel, worker: InferenceWorker) -> None:
    rows = run(traverse(worker, m, Ref(id=2), 5, 2.0))
    assert [r.label for r in rows] == [f"z{d}" for d in range(m.latent_dim)]
    std = m.index.latents.std(0)
    start = m.index.latents[2]
    for d, row in enumerate(rows):
        assert row.offsets.tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
        np.testing.assert_allclose(row.latents[:, d], start[d] + row.offsets * std[d], rtol=1e-5)
        others = np.delete(row.latents, d, axis=1)
        np.testing.assert_allclose(others, np.delete(start, d)[None].repeat(5, 0), atol=1e-6)
        assert row.images is not None and row.images.shape == (5, *m.image_shape)
        np.testing.assert_allclose(row.images, m.decode(row.latents), atol=1e-5)


def test_attribute_rows_move_along_the_unit_vector(m: LoadedModel, worker: InferenceWorker) -> None:
    attribute = m.attributes()[0]
    (row,) = run(traverse(worker, m, Ref(id=2), 3, 1.0, [attribute.id]))
    unit = attribute.vector / np.linalg.norm(attribute.vector)
    spread = float((m.index.latents @ unit).std())
    np.testing.assert_allclose(row.latents[2] - row.latents[1], unit * spread, rtol=1e-4, atol=1e-5)


def test_bad_grids_are_422(m: LoadedModel, worker: InferenceWorker) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        run(traverse(worker, m, Ref(id=2), 2, 1.0))
    assert (caught.value.status, caught.value.code) == (422, "bad_steps")
