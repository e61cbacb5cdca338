"""The attribute vectors a model offers: derived from its metadata once, plus the ones users
define from two groups of items (kept on the model while the server runs)."""

from __future__ import annotations

from app.services.attributes import Attribute, custom_attribute
from app.services.loaded import LoadedModel
from models.errors import ConflictError, NotFoundError


def list_attributes(m: LoadedModel) -> list[Attribute]:
    """Every attribute of ``m``: the derived ones, then the user-defined ones."""
    return m.attributes()


def find_attribute(m: LoadedModel, attribute_id: str) -> Attribute:
    """The attribute with this id; 404 ``unknown_attribute`` otherwise."""
    for attribute in m.attributes():
        if attribute.id == attribute_id:
            return attribute
    raise NotFoundError(
        f"model {m.name!r} has no attribute {attribute_id[:60]!r}: list them with "
        f"GET /api/models/{m.name}/attributes",
        code="unknown_attribute",
    )


def add_attribute(
    m: LoadedModel, name: str, group_a: list[int], group_b: list[int], limit: int
) -> Attribute:
    """A new attribute centroid(A) - centroid(B), numbered after the ones users defined;
    409 ``too_many_attributes`` when the model already has ``limit`` of them."""
    if len(m.custom_attributes) >= limit:
        raise ConflictError(
            f"model {m.name!r} already has {limit} user-defined attributes, the most allowed "
            "(setting max_custom_attributes); they are kept until the server restarts",
            code="too_many_attributes",
        )
    number = len(m.custom_attributes) + 1
    attribute = custom_attribute(m.index, number, name, group_a, group_b)
    m.custom_attributes.append(attribute)
    return attribute
