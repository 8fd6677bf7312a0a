"""The language of a page: an explicit choice (``?lang=`` on any page, remembered in a cookie),
else the browser's ``Accept-Language``, negotiated among English, French and Russian.

`LanguageMiddleware` sets it (`kpchain.i18n.use_language`) for the whole of a page's request, so
that every text translated while the page is made (the route's, an error page's) is in it; the
REST API is left alone and answers in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import Request
from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kpchain.i18n import LANGUAGE_NAMES, LANGUAGES, language_code, negotiate, use_language

LANGUAGE_PARAM = "lang"
LANGUAGE_COOKIE = "kp_lang"
_COOKIE_SECONDS = 365 * 24 * 3600
_PAGE_ROOTS = ("/dashboard", "/verify")

VARY = "Accept-Language, Cookie"
"""A page's text depends on both (the cookie remembers a choice made with the switch)."""


def chosen_language(
    query: Mapping[str, str], cookies: Mapping[str, str], accept: str | None
) -> str:
    """The page's language: ``?lang=``, else the cookie, else `accept` (Accept-Language)."""
    return (
        language_code(query.get(LANGUAGE_PARAM))
        or language_code(cookies.get(LANGUAGE_COOKIE))
        or negotiate(accept)
    )


def page_language(request: Request) -> str:
    """The language `request`'s page is written in."""
    return chosen_language(
        request.query_params, request.cookies, request.headers.get("accept-language")
    )


def switch_links(request: Request, current: str) -> list[dict[str, str | bool]]:
    """The language switch: this page's address in each language (its other query kept)."""
    query = {k: v for k, v in request.query_params.items() if k != LANGUAGE_PARAM}
    return [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "href": f"{request.url.path}?{urlencode({**query, LANGUAGE_PARAM: code})}",
            "current": code == current,
        }
        for code in LANGUAGES
    ]


def send_language(response: Response, request: Request, language: str) -> None:
    """The headers of a page in `language`; when it was chosen with ``?lang=``, the cookie that
    keeps the choice for the next pages (the dashboard's forms and redirects carry no query)."""
    response.headers["Content-Language"] = language
    response.headers["Vary"] = VARY
    if language_code(request.query_params.get(LANGUAGE_PARAM)) == language:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=_COOKIE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


class LanguageMiddleware:
    """Serves each page's request in its language (see the module); other paths as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not any(
            path == root or path.startswith(root + "/") for root in _PAGE_ROOTS
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookies: dict[str, str] = {}
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == LANGUAGE_COOKIE:
                cookies[name] = value
        language = chosen_language(
            QueryParams(scope.get("query_string", b"")), cookies, headers.get("accept-language")
        )
        with use_language(language):
            await self.app(scope, receive, send)
