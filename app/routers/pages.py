from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.index.projection import DEFAULT_PROJECTION, PROJECTIONS
from app.services.denoise import noise_choices
from models.errors import NotFoundError

router = APIRouter(include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")


def projection_choices() -> list[dict[str, str]]:
    """Every registered projection as {name, label}, the default first: the header's choices.

    The page hides the ones the current model was not indexed with (GET /api/models says)."""
    ordered = sorted(PROJECTIONS.values(), key=lambda p: p.name != DEFAULT_PROJECTION)
    return [{"name": p.name, "label": p.label} for p in ordered]


@router.get("/", response_class=HTMLResponse)
async def get_index(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        "index.html",
        {"projections": projection_choices(), "noise_kinds": noise_choices()},
    )


@router.get("/compare", response_class=HTMLResponse)
async def get_compare(request: Request) -> HTMLResponse:
    """Two models' maps side by side (?a=MODEL&b=MODEL; static/js/compare.js reads them)."""
    return TEMPLATES.TemplateResponse(
        request, "compare.html", {"projections": projection_choices()}
    )


@router.get("/vendor/plotly.min.js")
async def get_plotly() -> FileResponse:
    """plotly.js from the installed plotly package: the page loads nothing from outside."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise NotFoundError("plotly.min.js is missing from the installed plotly package")
    return FileResponse(
        path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
    )
