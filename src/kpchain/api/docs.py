"""The API's own documentation, `/docs` (Swagger UI) and `/redoc` (ReDoc), served with their
scripts and stylesheets from the package (fastapi-offline carries them): FastAPI's defaults load
them from a CDN, and an authority's network, or this project's test machines, may reach none.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
_OAUTH2_REDIRECT = "/docs/oauth2-redirect"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this service's OpenAPI document."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        oauth2_redirect_url=_OAUTH2_REDIRECT,
    )


@router.get(_OAUTH2_REDIRECT, response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this service's OpenAPI document."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS + "/{name}")
def asset(name: str) -> Response:
    """A script, stylesheet or icon of the documentation pages. Their names change with the
    package's version only, so browsers may keep them a day."""
    media_type = _MEDIA_TYPES.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="no such documentation asset")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


# ReDoc's menu shows its maker's logo from their CDN: the page's own icon stands in for it.
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _asset(name: str) -> bytes:
    content = files("fastapi_offline").joinpath("static", name).read_bytes()
    if name == "redoc.standalone.js":
        content = content.replace(_REDOC_LOGO, f"{ASSETS}/favicon.png".encode())
    return content
