"""The pages' routes: the public verify page, the authority dashboard, and their stylesheet.

`router` is what the application includes (kpchain.app); the pages answer HTML, and their
errors are HTML pages too (kpchain.api.errors hands them to kpchain.web.error_pages).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Response

from kpchain.web import certificates, dashboard, drafts, governance, participant, verify

router = APIRouter(include_in_schema=False)
router.include_router(verify.router)
router.include_router(drafts.router)
router.include_router(dashboard.router)
# After the dashboard's: its printable PDF's path (…/{cert_no}.pdf) is also a certificate page's.
router.include_router(certificates.router)
router.include_router(participant.router)
router.include_router(governance.router)


@router.get("/static/kpchain.css")
def stylesheet() -> Response:
    """The pages' one stylesheet. Pages link it with the version in the query, so it may be
    cached for long: a new release changes its address."""
    return Response(
        _stylesheet(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@cache
def _stylesheet() -> bytes:
    return files("kpchain.web").joinpath("static/kpchain.css").read_bytes()
