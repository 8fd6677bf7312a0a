"""The public verification page: what GET /v1/verify/{cert_no} answers, for a person holding a
certificate (a customs officer, a trader). The printed certificate's QR code opens it with the
document's hash: ``/verify/<cert_no>?doc_hash=0x…``.

The page answers 200 with a verdict (genuine or not), 404 when the chain has no such number, and
422 with the form again when what was entered cannot be a certificate number or a hash.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kpchain.api.deps import RuntimeDep
from kpchain.errors import InvalidRequestError
from kpchain.i18n import gettext
from kpchain.verification.checks import Verification
from kpchain.verification.verify import verify
from kpchain.web.rendering import PAGE_HEADERS, render, verify_link

router = APIRouter(prefix="/verify", include_in_schema=False)

_Entered = Annotated[str | None, Query(max_length=200)]


@router.get("", response_class=HTMLResponse)
def verify_form(request: Request, cert_no: _Entered = None, doc_hash: _Entered = None) -> Response:
    """The form; submitted, it opens the certificate's own page (the address a QR code holds)."""
    number, digest = _entered(cert_no), _entered(doc_hash)
    if number is not None:
        response = RedirectResponse(verify_link(number, digest), status_code=303)
        response.headers.update(PAGE_HEADERS)
        return response
    if cert_no is not None:  # the form was sent without a number
        return _page(
            request, cert_no="", doc_hash=digest, error=gettext("Enter a certificate number.")
        )
    return _page(request, cert_no="", doc_hash=None)


@router.get("/{cert_no:path}", response_class=HTMLResponse)
def verify_certificate(
    request: Request, cert_no: str, runtime: RuntimeDep, doc_hash: _Entered = None
) -> Response:
    """The verdict on certificate `cert_no`, checking the document hash when one is given."""
    digest = _entered(doc_hash)
    with runtime.sessions() as session:
        try:
            report = verify(session, cert_no, now=runtime.authority.now(), doc_hash=digest)
        except InvalidRequestError as refused:
            # Malformed input is answered on the form, with what to fix, not on an error page.
            return _page(request, cert_no=cert_no, doc_hash=digest, error=gettext(refused.message))
    result = _localized(report)
    failed = [check for check in result["checks"] if not check["passed"]]
    return _page(
        request,
        cert_no=cert_no,
        doc_hash=digest,
        result=result,
        # Authenticity in doubt (not a mere status such as expired or cancelled): the full steps
        # for a suspected forgery apply.
        suspect=not result["found"] or any(check["name"] != "status" for check in failed),
        status_code=200 if result["found"] else 404,
    )


def _localized(report: Verification) -> dict[str, Any]:
    """The report's public JSON with its sentences (the checks', the problem, the advice, the
    note) in the page's language; in English they are the API's, unchanged."""
    result = report.as_dict()
    for check, shown in zip(report.checks, result["checks"], strict=True):
        shown["message"] = check.localized()
    failed = [check for check in report.checks if not check.passed]
    result["problem"] = failed[0].localized() if failed else None
    result["advice"] = report.localized_advice()
    result["note"] = report.localized_note()
    return result


def _page(
    request: Request,
    *,
    cert_no: str,
    doc_hash: str | None,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    suspect: bool = False,
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "verify.html",
        {
            "cert_no": cert_no,
            "doc_hash": doc_hash or "",
            "error": error,
            "result": result,
            "suspect": suspect,
        },
        status_code=status_code or (422 if error else 200),
    )


def _entered(value: str | None) -> str | None:
    """What was typed, without surrounding spaces; None when nothing was."""
    value = (value or "").strip()
    return value or None
