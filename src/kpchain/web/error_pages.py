"""Errors on the pages, as pages: the same status the API would answer, explained for a person.

`kpchain.api.errors` stays the one place that maps errors to statuses; for a page's path it
hands the answer to `error_page` instead of writing the JSON error shape. A dashboard request
whose session is missing or no longer valid is sent to the log-in page instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from kpchain.i18n import gettext, mark, use_language
from kpchain.web import session
from kpchain.web.language import page_language
from kpchain.web.messages import chain_refusal, problem_text, refusal_text
from kpchain.web.rendering import PAGE_HEADERS, render

DASHBOARD = "/dashboard"
VERIFY = "/verify"
_PAGE_ROOTS = (DASHBOARD, VERIFY)

_TITLES: dict[int, str] = {
    400: mark("The request could not be read"),
    401: mark("Please log in"),
    403: mark("Not allowed"),
    404: mark("Not found"),
    405: mark("Not possible here"),
    409: mark("Not possible in the certificate's current state"),
    422: mark("Please check what you entered"),
    502: mark("The chain answered unexpectedly"),
    503: mark("The chain cannot be reached right now"),
}


# Headers of an error that still apply to its page (WWW-Authenticate: Bearer, for one, does not).
_KEPT_HEADERS = ("retry-after", "allow")


def is_page(request: Request) -> bool:
    """Whether `request` is for a page (whose errors are pages too)."""
    path = request.url.path
    return any(path == root or path.startswith(root + "/") for root in _PAGE_ROOTS)


def error_page(
    request: Request,
    *,
    status: int,
    message: str,
    code: str = "",
    detail: Mapping[str, Any] | None = None,
    problems: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page answering an error of status `status`.

    Args:
        request: the request that failed.
        status: the HTTP status the error maps to.
        message: what went wrong (the API's message).
        code: the error's code; the chain's refusals of a dashboard action are explained in
            words instead of the contract's error (`CertificateStatusInvalid(certNo=0x…)`).
        detail: the error's detail (the contract error's arguments).
        problems: for invalid input, each field's problem (`{"field", "message"}`).
        headers: headers the error's status calls for (Retry-After), kept on the page.
    """
    in_dashboard = request.url.path.startswith(DASHBOARD)
    if status == 401 and in_dashboard:
        response = RedirectResponse(f"{DASHBOARD}/login", status_code=303)
        response.headers.update(PAGE_HEADERS)
        session.end(response)
        return response
    # The page's texts in its language (also when the error was raised outside the language
    # middleware, as a request that cannot be routed is). A message the catalogues know (the
    # pages' own refusals) is translated; any other is the API's, shown in English.
    with use_language(page_language(request)):
        default = gettext("Something went wrong on our side; please try again later")
        title = _TITLES.get(
            status, mark("Something went wrong") if status >= 500 else mark("Refused")
        )
        told = status < 500 or status in _TITLES  # else the internals stay out of the page
        context = {
            "status": status,
            "title": gettext(title),
            "message": chain_refusal(code, detail or {})
            or (refusal_text(code, message, detail) if told else default),
            "problems": [
                {"field": p.get("field", "").rpartition(".")[2], "message": problem_text(p)}
                for p in problems
                if p.get("message")
            ],
            "back": (DASHBOARD, gettext("Back to the dashboard"))
            if in_dashboard
            else (VERIFY, gettext("Verify a certificate")),
        }
    return render(
        request,
        "error.html",
        context,
        status_code=status,
        private=in_dashboard,
        headers={k: v for k, v in (headers or {}).items() if k.lower() in _KEPT_HEADERS},
    )
