"""Reference resolution and the checks every operation shares, on the session model."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.loaded import LoadedModel
from app.services.refs import (
    Ref,
    check_k,
    check_latent,
    check_point,
    parse_item,
    projection_name,
    resolve,
)
from models.errors import LatentExplorerError


def test_an_id_resolves_to_a_copy_of_its_latent(m: LoadedModel) -> None:
    z = resolve(m, Ref(id=7))
    np.testing.assert_array_equal(z, m.index.latents[7])
    z[:] = 99.0  # a copy: the index is not changed through it
    assert not np.any(m.index.latents[7] == 99.0)


def test_a_point_resolves_through_the_projection_inverse(m: LoadedModel) -> None:
    z = resolve(m, Ref(point=(0.5, -0.25), projection="pca"))
    expected = m.index.inverses["pca"].transform(np.array([[0.5, -0.25]], np.float32))[0]
    np.testing.assert_allclose(z, expected, rtol=1e-6)
    assert z.dtype == np.float32 and z.shape == (m.latent_dim,)


def test_a_latent_resolves_to_itself_as_float32(m: LoadedModel) -> None:
    z = resolve(m, Ref(latent=[0.5, -1.0, 2.0, 0.0]))
    assert z.dtype == np.float32
    assert z.tolist() == [0.5, -1.0, 2.0, 0.0]


@pytest.mark.parametrize(
    ("ref", "status", "code"),
    [
        (Ref(), 422, "bad_reference"),
        (Ref(id=1, latent=[0.0] * 4), 422, "bad_reference"),
        (Ref(id=1797), 404, "unknown_item"),
        (Ref(id=-1), 404, "unknown_item"),
        (Ref(latent=[0.0] * 3), 422, "wrong_latent_size"),
        (Ref(latent=[0.0, 0.0, 0.0, float("nan")]), 422, "not_finite"),
        (Ref(latent=[0.0, 0.0, 0.0, 2e6]), 422, "latent_out_of_range"),
        (Ref(point=(0.0, float("inf"))), 422, "bad_point"),
        (Ref(point=(0.0, 0.0), projection="nope"), 422, "unknown_projection"),
    ],
)
def test_bad_refs_name_the_mistake(m: LoadedModel, ref: Ref, status: int, code: str) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        resolve(m, ref, "start")
    assert (caught.value.status, caught.value.code) == (status, code)


def test_projection_default_and_choices(m: LoadedModel) -> None:
    assert projection_name(m, None) == "umap"
    assert projection_name(m, "pca") == "pca"
    with pytest.raises(
        LatentExplorerError, match="choose one of pca, umap|choose one of umap, pca"
    ):
        projection_name(m, "tsne-ish")


@pytest.mark.parametrize("text", ["1797", "-1", "1.5", "..", "²", "9" * 13])
def test_path_item_ids_outside_the_rows_are_not_found(m: LoadedModel, text: str) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        parse_item(m, text)
    assert (caught.value.status, caught.value.code) == (404, "unknown_item")


def test_path_item_ids_inside_the_rows_parse(m: LoadedModel) -> None:
    assert parse_item(m, "0") == 0
    assert parse_item(m, "1796") == 1796


def test_k_latent_and_point_limits(m: LoadedModel) -> None:
    check_k(m, 0)
    check_k(m, 1000)
    with pytest.raises(LatentExplorerError, match="k must be from 0 to 1000, got 1001"):
        check_k(m, 1001)
    with pytest.raises(LatentExplorerError, match="term 2 vector has 5 values"):
        check_latent(m, [0.0] * 5, "term 2 vector")
    assert check_point([1.0, 2.0]).tolist() == [1.0, 2.0]
    with pytest.raises(LatentExplorerError, match="two finite numbers"):
        check_point([1.0, 2e9])
