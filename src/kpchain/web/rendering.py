"""The pages' templates, and the headers every page is sent with.

Templates live in ``kpchain/web/templates`` (package data) and are autoescaped: every value a
template prints is text, never markup. Pages load nothing from elsewhere and run no script, so
the Content-Security-Policy allows only this service's own stylesheet and forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kpchain import __version__
from kpchain.certificates.participants import participant_label
from kpchain.printing.pdf import verification_link

PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Sent with every page."""

PRIVATE_HEADERS: dict[str, str] = {**PAGE_HEADERS, "Cache-Control": "no-store"}
"""Sent with pages for a logged-in authority: nothing of them stays in a cache."""


@cache
def environment() -> Environment:
    """The Jinja environment of the pages (built once per process)."""
    env = Environment(
        loader=PackageLoader("kpchain.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,  # a misspelt variable fails the page in tests, not silently
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Templates mark their text with _("…") (gettext); until catalogues are installed it is
    # English as written.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.globals["version"] = __version__
    env.globals["verify_link"] = verify_link
    env.filters["when"] = _when
    env.filters["segment"] = _segment
    env.filters["sentence"] = _sentence
    env.filters["participant"] = participant_label
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    private: bool = False,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `template` filled with `context`.

    Args:
        request: the request being answered (templates read its path for the navigation).
        template: the file name under templates/.
        context: the template's variables.
        status_code: the HTTP status of the answer.
        private: whether the page shows an authority's data (then it is never cached).
        headers: more headers.
    """
    html = environment().get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status_code)
    response.headers.update(PRIVATE_HEADERS if private else PAGE_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


def _when(value: str | None) -> str:
    """An ISO timestamp of the API ("2026-11-27T10:00:00Z") as people read it, in UTC."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def verify_link(cert_no: str, doc_hash: str | None = None) -> str:
    """The verify page of a certificate on this service (a relative link); with `doc_hash`, the
    page also checks that the holder's document is the one issued (as the QR code does)."""
    if doc_hash is None:
        return f"/verify/{_segment(cert_no)}"
    return verification_link("", cert_no, doc_hash)


def _sentence(text: str) -> str:
    """A message as a sentence: a capital first letter (the rest as it is: codes and numbers
    keep their case) and a full stop."""
    text = text.strip()
    if not text:
        return ""
    return text[:1].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


def _segment(value: str) -> str:
    """`value` as one path segment: certificate numbers may hold ``/``, ``?`` and ``#``."""
    return quote(value, safe="")
