"""A model's items without HTTP: points and names serialised once, items by path id."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.services.items import describe_item, item_names, item_png, map_points
from app.services.loaded import LoadedModel
from models.errors import LatentExplorerError


def test_points_are_serialised_once_per_projection_and_form(m: LoadedModel) -> None:
    body = map_points(m, "pca", "json")
    assert map_points(m, "pca", "json") is body
    assert map_points(m, None, "binary") is map_points(m, "umap", "binary")
    points = json.loads(body)
    xy = m.index.projections["pca"].transform(m.index.latents[:3])
    np.testing.assert_allclose(points["x"][:3], xy[:, 0], atol=1e-4)
    assert len(points["x"]) == len(m.index)


def test_names_list_every_item_in_id_order(m: LoadedModel) -> None:
    names = json.loads(item_names(m))
    assert names["count"] == len(m.index) == len(names["names"])
    assert names["names"][:3] == m.index.item_names[:3].tolist()


def test_an_item_by_its_path_id(m: LoadedModel) -> None:
    facts = describe_item(m, "10")
    assert facts.id == 10 and facts.name == str(m.index.item_names[10])
    assert item_png(m, "10").startswith(b"\x89PNG")
    with pytest.raises(LatentExplorerError) as caught:
        item_png(m, "1797")
    assert (caught.value.status, caught.value.code) == (404, "unknown_item")


def test_an_unknown_projection_is_422(m: LoadedModel) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        map_points(m, "nope", "json")
    assert (caught.value.status, caught.value.code) == (422, "unknown_projection")
