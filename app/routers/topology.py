"""Persistent homology of a model's latents: the Topology tab's data and its bar clicks."""

from __future__ import annotations

import math

import numpy as np
from fastapi import APIRouter, Path, Query

from app.deps import ExplorerDep, ModelDep, SettingsDep, StoreDep
from app.errors import API_ERRORS, error_responses
from app.schemas import (
    ClassTopologyOut,
    TopologyDistanceOut,
    TopologyGroupsOut,
    TopologyLoopOut,
    TopologyOut,
)
from app.services import topology as service

router = APIRouter(prefix="/api", tags=["topology"], responses=API_ERRORS)

Bar = Path(ge=0, description="a bar's position in the diagram, as GET .../topology lists it")
FIRST_TIME = (
    " Computed on first request in a process of its own (seconds: about 2-5 s at 2,000 "
    "landmarks on 2 cores), then answered from memory."
)


def _bars(dgm: np.ndarray) -> list[tuple[float | None, float | None]]:
    return [(float(b), None if math.isinf(d) else float(d)) for b, d in dgm]


@router.get(
    "/models/{model}/topology",
    summary="The H0 and H1 persistence diagrams of the model's latents, whole and per class",
    description="On a greedy (farthest-point) subsample of at most 2,000 latents (setting "
    "`topology_max_points`), seeded; each "
    "class on at most 500 of its own." + FIRST_TIME,
)
async def get_topology(m: ModelDep, explorer: ExplorerDep, settings: SettingsDep) -> TopologyOut:
    report = await service.topology(m, explorer.analysis, settings.topology_max_points)
    whole = report.whole
    return TopologyOut(
        model=m.name,
        n_items=report.n_items,
        n_landmarks=len(whole.landmarks_),
        landmark_ids=whole.landmarks_.tolist(),
        cover_radius=whole.cover_radius_,
        h0=_bars(whole.dgms_[0]),
        h1=[(float(b), float(d)) for b, d in whole.dgms_[1]],
        n_classes=len(m.index.label_names),
        classes=[
            ClassTopologyOut(
                label=c.label,
                n_items=c.n_items,
                h0=_bars(c.dgms[0]),
                h1=[(float(b), float(d)) for b, d in c.dgms[1]],
            )
            for c in report.classes
        ],
        seconds=report.seconds,
    )


@router.get(
    "/models/{model}/topology/h0/{bar}",
    summary="The two groups of items that join at an H0 bar's death",
    description="H0 bars are single-linkage merge heights: this bar's death is the distance at "
    "which two groups of latents become one. A bar out of range (or the infinite one) is 422."
    + FIRST_TIME,
)
async def get_h0_groups(
    m: ModelDep, explorer: ExplorerDep, settings: SettingsDep, bar: int = Bar
) -> TopologyGroupsOut:
    report = await service.topology(m, explorer.analysis, settings.topology_max_points)
    service.check_bar(report, 0, bar)
    a, b = service.h0_groups(report, bar)
    scale = float(report.whole.dgms_[0][bar, 1])
    return TopologyGroupsOut(model=m.name, bar=bar, scale=scale, groups=(a, b))


@router.get(
    "/models/{model}/topology/h1/{bar}",
    summary="The items on an H1 bar's loop (its representative cocycle's landmarks)",
    description="A bar out of range is 422." + FIRST_TIME,
)
async def get_h1_loop(
    m: ModelDep, explorer: ExplorerDep, settings: SettingsDep, bar: int = Bar
) -> TopologyLoopOut:
    report = await service.topology(m, explorer.analysis, settings.topology_max_points)
    service.check_bar(report, 1, bar)
    return TopologyLoopOut(model=m.name, bar=bar, ids=service.h1_items(report, bar))


@router.get(
    "/compare/topology",
    summary="Bottleneck and Wasserstein distances between two models' persistence diagrams",
    description="Any two loaded models (their latents need not be the same size); both "
    "topologies are computed first if need be." + FIRST_TIME,
    responses=error_responses(404),
)
async def compare_topology(
    store: StoreDep,
    explorer: ExplorerDep,
    settings: SettingsDep,
    a: str = Query(min_length=1, max_length=200, description="a model"),
    b: str = Query(min_length=1, max_length=200, description="another model"),
) -> TopologyDistanceOut:
    ma, mb = store.get(a), store.get(b)
    ra = await service.topology(ma, explorer.analysis, settings.topology_max_points)
    rb = await service.topology(mb, explorer.analysis, settings.topology_max_points)
    found = await explorer.analysis.run(service.distances, ra.whole.dgms_, rb.whole.dgms_)
    return TopologyDistanceOut(a=a, b=b, h0=found["h0"], h1=found["h1"])
