from __future__ import annotations

from fastapi import APIRouter

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS
from app.schemas import AttributeIn, AttributeOut, AttributesOut
from app.services.attributes import Attribute

router = APIRouter(prefix="/api/models", tags=["attributes"], responses=API_ERRORS)


def attribute_out(a: Attribute) -> AttributeOut:
    return AttributeOut(
        id=a.id,
        name=a.name,
        kind=a.kind,  # type: ignore[arg-type]
        field=a.field,
        vector=a.vector.tolist(),
        effect_size=a.effect_size,
        n_a=a.n_a,
        n_b=a.n_b,
    )


@router.get(
    "/{model}/attributes",
    summary="Attribute vectors derived from the metadata, with effect sizes",
    description="For each label or categorical value: centroid(with) - centroid(without) "
    "(`digit=3`); for the label field every class pair (`digit:3-7`); for numeric factors "
    "top third minus bottom third (`scale:high-low`); plus vectors defined with POST.",
)
async def list_attributes(m: ModelDep, explorer: ExplorerDep) -> AttributesOut:
    return AttributesOut(attributes=[attribute_out(a) for a in explorer.attributes(m)])


@router.post(
    "/{model}/attributes",
    summary="Define an attribute vector from two groups of items: centroid(A) - centroid(B)",
    status_code=201,
)
async def create_attribute(m: ModelDep, explorer: ExplorerDep, body: AttributeIn) -> AttributeOut:
    return attribute_out(explorer.add_attribute(m, body.name, body.group_a, body.group_b))
