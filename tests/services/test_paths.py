"""interpolate_path without HTTP: the ends exactly, evenly spaced lerp steps, drawn images."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.paths import interpolate_path
from app.services.refs import Ref
from models.errors import LatentExplorerError
from tests.services.conftest import run


def test_a_lerp_path_runs_evenly_from_end_to_end(m: LoadedModel, worker: InferenceWorker) -> None:
    path = run(interpolate_path(worker, m, Ref(id=0), Ref(id=9), 5, "lerp", "pca"))
    a, b = m.index.latents[0], m.index.latents[9]
    np.testing.assert_array_equal(path.latents[0], a)
    np.testing.assert_allclose(path.latents[-1], b, atol=1e-6)
    np.testing.assert_allclose(path.latents[2], (a + b) / 2, atol=1e-6)
    assert path.projection == "pca" and path.method == "lerp"
    expected = m.index.projections["pca"].transform(path.latents)
    np.testing.assert_allclose(path.positions, expected, rtol=1e-5, atol=1e-5)
    assert path.images is not None and path.images.shape == (5, *m.image_shape)
    assert path.nearest is None


def test_slerp_keeps_the_norm_between_equal_norm_ends(
    m: LoadedModel, worker: InferenceWorker
) -> None:
    start, end = [3.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]
    path = run(interpolate_path(worker, m, Ref(latent=start), Ref(latent=end), 7, "slerp", None))
    np.testing.assert_allclose(np.linalg.norm(path.latents, axis=1), 3.0, rtol=1e-5)
    assert path.projection == "umap"


@pytest.mark.parametrize(
    ("steps", "method", "code"),
    [(1, "lerp", "bad_steps"), (65, "lerp", "bad_steps"), (5, "cubic", "bad_method")],
)
def test_bad_steps_and_methods_are_422(
    m: LoadedModel, worker: InferenceWorker, steps: int, method: str, code: str
) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        run(interpolate_path(worker, m, Ref(id=0), Ref(id=1), steps, method, None))
    assert (caught.value.status, caught.value.code) == (422, code)
