"""compute_arithmetic without HTTP: the vector sums are exact, the result is placed."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.arithmetic import Term, compute_arithmetic
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.refs import Ref
from models.errors import LatentExplorerError
from tests.services.conftest import run


def test_an_analogy_is_a_minus_b_plus_c(m: LoadedModel, worker: InferenceWorker) -> None:
    refs = (Ref(id=1), Ref(id=2), Ref(id=3))
    placed = run(compute_arithmetic(worker, m, None, [], refs, k=4))
    z = m.index.latents
    np.testing.assert_allclose(placed.latent, z[1] - z[2] + z[3], atol=1e-5)
    assert placed.neighbors is not None and len(placed.neighbors.ids) == 4


def test_terms_add_weighted_attributes_and_vectors(m: LoadedModel, worker: InferenceWorker) -> None:
    attribute = m.attributes()[0]
    terms = [Term(attribute.id, None, 2.0), Term(None, [1.0, 0.0, 0.0, -1.0], 0.5)]
    placed = run(compute_arithmetic(worker, m, Ref(id=0), terms, None, k=0))
    expected = m.index.latents[0] + 2.0 * attribute.vector + 0.5 * np.array([1, 0, 0, -1])
    np.testing.assert_allclose(placed.latent, expected, atol=1e-5)
    assert placed.neighbors is None
    assert placed.image is not None and placed.image.shape == m.image_shape


@pytest.mark.parametrize(
    ("start", "terms", "analogy", "status", "code"),
    [
        (None, [], None, 422, "bad_arithmetic"),
        (Ref(id=0), [], (Ref(id=1), Ref(id=2), Ref(id=3)), 422, "bad_arithmetic"),
        (Ref(id=0), [Term(None, None, 1.0)], None, 422, "bad_term"),
        (Ref(id=0), [Term(None, [0.0] * 4, float("inf"))], None, 422, "bad_weight"),
        (Ref(id=0), [Term("no-such", None, 1.0)], None, 404, "unknown_attribute"),
    ],
)
def test_bad_requests_name_the_mistake(
    m: LoadedModel,
    worker: InferenceWorker,
    start: Ref | None,
    terms: list[Term],
    analogy: tuple[Ref, Ref, Ref] | None,
    status: int,
    code: str,
) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        run(compute_arithmetic(worker, m, start, terms, analogy, k=0))
    assert (caught.value.status, caught.value.code) == (status, code)
