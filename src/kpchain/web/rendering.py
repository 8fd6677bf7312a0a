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
from kpchain.i18n import gettext, mark, ngettext, use_language
from kpchain.printing.pdf import verification_link
from kpchain.vocabulary import CertificateStatusLabel
from kpchain.web.language import page_language, send_language, switch_links

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
    # Templates mark their text with _("…"). The callables read the language of the request
    # being rendered (a context variable, see kpchain.i18n), so this one cached environment
    # serves every language at once and concurrent pages never share a translation.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext, newstyle=True
    )
    env.globals["version"] = __version__
    env.globals["verify_link"] = verify_link
    env.filters["when"] = _when
    env.filters["segment"] = _segment
    env.filters["sentence"] = _sentence
    env.filters["participant"] = participant_label
    env.filters["status"] = status_name
    env.filters["translate"] = gettext
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
    language = page_language(request)
    with use_language(language):
        html = (
            environment()
            .get_template(template)
            .render(
                request=request,
                language=language,
                languages=switch_links(request, language),
                **context,
            )
        )
    response = HTMLResponse(html, status_code=status_code)
    response.headers.update(PRIVATE_HEADERS if private else PAGE_HEADERS)
    send_language(response, request, language)
    if headers:
        response.headers.update(headers)
    return response


_STATUS_NAMES: dict[str, str] = {
    CertificateStatusLabel.ISSUED: mark("issued"),
    CertificateStatusLabel.SHIPPED: mark("shipped"),
    CertificateStatusLabel.RECEIVED: mark("received"),
    CertificateStatusLabel.REJECTED: mark("rejected"),
    CertificateStatusLabel.CANCELLED: mark("cancelled"),
    CertificateStatusLabel.EXPIRED: mark("expired"),
    # How far a certificate's document has gone to the importer's service (the exchange).
    "pending": mark("pending"),
    "delivered": mark("delivered"),
    "failed": mark("failed"),
    # Rejection reasons, after "Rejected:".
    "discrepancy": mark("discrepancy"),
    "seal_broken": mark("seal broken"),
    "suspected_forgery": mark("suspected forgery"),
    "other": mark("other"),
    # Roles of API keys, after "Logged in with an".
    "officer": mark("officer"),
    "clerk": mark("clerk"),
    "auditor": mark("auditor"),
    "admin": mark("admin"),
    # Where a draft stands, and the steps of its history (the maker-checker pages).
    "awaiting_approval": mark("awaiting approval"),
    "returned": mark("returned"),
    "issuing": mark("issuing"),
    "created": mark("created"),
    "edited": mark("edited"),
    "approved": mark("approved"),
    "approval_failed": mark("approval failed"),
    # A governance proposal's state (the governor's words; "canceled" as OpenZeppelin spells it).
    "active": mark("active"),
    "canceled": mark("canceled"),
    "defeated": mark("defeated"),
    "succeeded": mark("succeeded"),
    "queued": mark("queued"),
    "executed": mark("executed"),
    # What a proposal decides, as its page's heading names it.
    "admit": mark("admit"),
    "suspend": mark("suspend"),
    "reinstate": mark("reinstate"),
    "withdraw": mark("withdraw"),
    "restrict_origin": mark("restrict origin"),
    "allow_zone": mark("allow zone"),
    "disallow_zone": mark("disallow zone"),
    "set_admin": mark("set admin"),
    "add_validator": mark("add validator"),
    "remove_validator": mark("remove validator"),
    "set_max_validity": mark("set max validity"),
    "custom": mark("custom"),
}


def status_name(value: str) -> str:
    """A word of the API (a status such as "shipped", a document's "delivered", a rejection
    reason, a key's role, a draft's status or step, a proposal's state or action) in the page's
    language; in English, as the pages always wrote it."""
    return gettext(_STATUS_NAMES[value]) if value in _STATUS_NAMES else value


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
