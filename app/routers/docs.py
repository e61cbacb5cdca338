"""The API documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served with their
assets from the installed ``fastapi-offline`` package, so that they render without internet
(FastAPI's defaults load them, a favicon and a font from CDNs)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response

from models.errors import NotFoundError

router = APIRouter(include_in_schema=False)

ASSETS_URL = "/vendor/docs"
# The only files served from the package's folder, with their media types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


# ReDoc's side menu shows Redocly's logo from their CDN (it hides the image when the request
# fails, after a console error): the bundle is served with a blank image in its place.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
BLANK_SVG = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


def assets_dir() -> Path:
    """The folder of Swagger UI's and ReDoc's files in the installed fastapi-offline."""
    return Path(str(files("fastapi_offline") / "static"))


@router.get("/docs", response_class=HTMLResponse)
async def get_swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
async def get_swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
async def get_redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,  # the font would come from Google's CDN
    )


@cache
def redoc_bundle(path: Path) -> bytes:
    """ReDoc's bundle with nothing left in it that loads from outside."""
    return path.read_bytes().replace(REDOC_LOGO, BLANK_SVG)


@router.get(ASSETS_URL + "/{name}")
async def get_docs_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFoundError(f"no documentation asset {name!r}: one of {', '.join(ASSETS)}")
    path = assets_dir() / name
    if not path.is_file():
        raise NotFoundError(f"{name} is missing from the installed fastapi-offline package")
    headers = {"Cache-Control": "max-age=86400"}
    if name == "redoc.standalone.js":
        return Response(redoc_bundle(path), media_type=ASSETS[name], headers=headers)
    return FileResponse(path, media_type=ASSETS[name], headers=headers)
