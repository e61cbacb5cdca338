"""The attribute catalogue without HTTP: derived once, user attributes numbered in turn."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.attribute_catalog import add_attribute, find_attribute, list_attributes
from app.services.loaded import LoadedModel
from models.errors import LatentExplorerError


def test_added_attributes_are_listed_after_the_derived_ones(m: LoadedModel) -> None:
    derived = m.attributes()[: len(m.attributes()) - len(m.custom_attributes)]
    added = add_attribute(m, "", [1, 2, 2], [3], limit=100)
    listed = list_attributes(m)
    assert listed[: len(derived)] == derived
    assert listed[-1] is added
    assert added.id == f"custom-{len(m.custom_attributes)}" and added.n_a == 2
    z = m.index.latents
    np.testing.assert_allclose(added.vector, z[[1, 2]].mean(0) - z[3], atol=1e-6)
    assert find_attribute(m, added.id) is added


def test_the_derived_attributes_are_computed_once(m: LoadedModel) -> None:
    first = m.attributes()
    assert m.derived_attributes is not None
    assert all(a is b for a, b in zip(first, m.attributes(), strict=True))


def test_unknown_ids_are_404(m: LoadedModel) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        find_attribute(m, "digit=11")
    assert (caught.value.status, caught.value.code) == (404, "unknown_attribute")
    with pytest.raises(LatentExplorerError) as caught:
        add_attribute(m, "x", [1], [1797], limit=100)
    assert (caught.value.status, caught.value.code) == (404, "unknown_item")


def test_past_the_limit_a_new_attribute_is_409_and_nothing_is_added(m: LoadedModel) -> None:
    before = len(m.custom_attributes)
    add_attribute(m, "one more", [1], [2], limit=before + 1)
    with pytest.raises(LatentExplorerError) as caught:
        add_attribute(m, "too many", [1], [2], limit=before + 1)
    assert (caught.value.status, caught.value.code) == (409, "too_many_attributes")
    assert "max_custom_attributes" in str(caught.value)
    assert len(m.custom_attributes) == before + 1
