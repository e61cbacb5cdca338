"""Latent arithmetic: ``start + sum(weight_i * vector_i)``, or the analogy ``a - b + c``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.services.attribute_catalog import find_attribute
from app.services.inference import InferenceWorker
from app.services.latent_math import analogy, combine
from app.services.loaded import LoadedModel
from app.services.placing import place
from app.services.refs import Ref, check_k, check_latent, resolve
from app.services.results import Placed
from models.errors import InvalidInputError

MAX_WEIGHT = 1e3


@dataclass
class Term:
    """``weight`` times an attribute (by id) or a raw vector: exactly one of the two."""

    attribute: str | None
    vector: list[float] | None
    weight: float


async def compute_arithmetic(
    worker: InferenceWorker,
    m: LoadedModel,
    start: Ref | None,
    terms: list[Term],
    analogy_refs: tuple[Ref, Ref, Ref] | None,
    k: int,
    metric: str = "euclidean",
) -> Placed:
    """``start`` plus ``terms``, or ``a - b + c`` for ``analogy_refs``; exactly one is given.
    The result is placed with its ``k`` neighbors by ``metric``."""
    if (analogy_refs is None) == (start is None):
        raise InvalidInputError(
            "give either start (with terms) or analogy, not both or neither", code="bad_arithmetic"
        )
    check_k(m, k)
    if analogy_refs is not None:
        a, b, c = analogy_refs
        z = analogy(resolve(m, a, "a"), resolve(m, b, "b"), resolve(m, c, "c"))
    else:
        assert start is not None
        z = _combined(m, resolve(m, start, "start"), terms)
    return await place(worker, m, z, k, metric)


def _combined(m: LoadedModel, base: np.ndarray, terms: list[Term]) -> np.ndarray:
    vectors, weights = [], []
    for i, term in enumerate(terms):
        if (term.attribute is None) == (term.vector is None):
            raise InvalidInputError(
                f"term {i} needs exactly one of attribute or vector", code="bad_term"
            )
        if not np.isfinite(term.weight) or abs(term.weight) > MAX_WEIGHT:
            raise InvalidInputError(
                f"term {i}: weight must be a finite number within +-{MAX_WEIGHT:g}",
                code="bad_weight",
            )
        vectors.append(
            find_attribute(m, term.attribute).vector
            if term.attribute is not None
            else check_latent(m, term.vector or [], f"term {i} vector")
        )
        weights.append(term.weight)
    return combine(base, vectors, weights)
