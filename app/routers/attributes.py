from __future__ import annotations

from fastapi import APIRouter

from app.convert import attribute_out
from app.deps import ModelDep, SettingsDep
from app.errors import API_ERRORS, error_responses
from app.schemas import AttributeIn, AttributeOut, AttributesOut
from app.services import attribute_catalog

router = APIRouter(prefix="/api/models", tags=["attributes"], responses=API_ERRORS)


@router.get(
    "/{model}/attributes",
    summary="Attribute vectors derived from the metadata, with effect sizes",
    description="For each label or categorical value: centroid(with) - centroid(without) "
    "(`digit=3`); for the label field every class pair (`digit:3-7`); for numeric factors "
    "top third minus bottom third (`scale:high-low`); plus vectors defined with POST.",
)
async def list_attributes(m: ModelDep) -> AttributesOut:
    return AttributesOut(
        attributes=[attribute_out(a) for a in attribute_catalog.list_attributes(m)]
    )


@router.post(
    "/{model}/attributes",
    summary="Define an attribute vector from two groups of items: centroid(A) - centroid(B)",
    status_code=201,
    responses=error_responses(409),
)
async def create_attribute(m: ModelDep, settings: SettingsDep, body: AttributeIn) -> AttributeOut:
    attribute = attribute_catalog.add_attribute(
        m, body.name, body.group_a, body.group_b, limit=settings.max_custom_attributes
    )
    return attribute_out(attribute)
