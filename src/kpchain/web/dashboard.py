"""The authority dashboard: log in with an API key, then see the participant's inbound shipments
awaiting confirmation (and confirm or reject them), outbound shipments in transit, overdue and
expired ones, and the year's statistics.

Every write goes through the service core (`AuthorityService.receive` / `reject`) exactly as the
REST API's do, with an Idempotency-Key the form was rendered with: submitting a form twice
(a double click, a reload after a slow answer) acts once. After a write the browser is sent back
to the dashboard (303), which shows the certificate's new status as the index has it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kpchain.api.deps import AuthorityDep, RuntimeDep
from kpchain.api.errors import status_of
from kpchain.errors import AuthenticationError, ErrorCode, KpchainError, PermissionDeniedError
from kpchain.i18n import current_language, gettext, mark
from kpchain.printing.cjk import installed_cjk_font
from kpchain.reports.monitoring import monitoring
from kpchain.reports.statistics import FLOWS, MAX_YEAR, MIN_YEAR, PERIODS, statistics
from kpchain.runtime import Runtime
from kpchain.service.authority import MAX_PAGE, AuthorityService
from kpchain.service.keys import Principal
from kpchain.service.printing import print_certificate
from kpchain.vocabulary import (
    CERT_NO_MAX_LENGTH,
    CERT_NO_TEXT_PATTERN,
    CertificateStatusLabel,
    Direction,
    StepName,
)
from kpchain.web import session as web_session
from kpchain.web.chart import BarChart, bar_chart, format_number
from kpchain.web.forms import REJECTION_REASONS, ConfirmForm, RejectForm
from kpchain.web.language import VARY
from kpchain.web.messages import page_worded
from kpchain.web.rendering import render
from kpchain.web.session import CheckedSessionDep, PageSession, SessionDep

router = APIRouter(prefix="/dashboard", include_in_schema=False)


# --- log in and out ----------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The log-in form."""
    return _login(request)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    runtime: RuntimeDep,
    api_key: Annotated[str, Form(max_length=200)],
    login_token: Annotated[str, Form(max_length=100)],
) -> Response:
    """Checks the key; on success sets the session cookie and opens the dashboard."""
    web_session.check_login_token(request, login_token)
    try:
        token, _ = web_session.log_in(runtime, api_key)
    except (AuthenticationError, PermissionDeniedError) as refused:
        # A refused key is the form's own outcome, answered on the form with the status the API
        # gives it (401 unknown or revoked, 403 a governor key) rather than on an error page.
        return _login(request, error=_login_error(refused), status_code=status_of(refused))
    response = RedirectResponse("/dashboard", status_code=303)
    web_session.start(response, request, token)
    return response


@router.post("/logout")
def logout(request: Request, session: CheckedSessionDep, runtime: RuntimeDep) -> Response:
    """Ends the session (the form carries its token, so no other site can log you out)."""
    web_session.log_out(runtime, request)
    response = RedirectResponse("/dashboard/login?logged_out=1", status_code=303)
    web_session.end(response)
    return response


def _login(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    token = web_session.new_login_token()
    response = render(
        request,
        "login.html",
        {
            "error": error,
            "logged_out": request.query_params.get("logged_out") == "1",
            "login_token": token,
        },
        status_code=status_code,
        private=True,
    )
    web_session.remember_login_token(response, request, token)
    return response


def _login_error(refused: KpchainError) -> str:
    # The page's language is set (kpchain.web.language); a refusal's message is looked up in
    # the catalogues, and shown as the API words it when it has no translation.
    if isinstance(refused, PermissionDeniedError):
        return gettext(refused.message)
    return gettext("That API key is not valid (or has been revoked). Check it and try again.")


# --- the dashboard -----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    authority: AuthorityDep,
    year: Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)] = None,
    updated: Annotated[
        str | None, Query(max_length=CERT_NO_MAX_LENGTH, pattern=CERT_NO_TEXT_PATTERN)
    ] = None,
) -> Response:
    """The participant's dashboard for `year` (default: this year)."""
    principal = session.principal
    now = authority.now()
    today = datetime.fromtimestamp(now, UTC).date()
    year = year or today.year

    def shipped(direction: Direction) -> dict[str, Any]:
        page = authority.certificates(
            principal,
            direction=direction,
            status=CertificateStatusLabel.SHIPPED,
            limit=MAX_PAGE,
            cursor=None,
        )
        return page.model_dump(mode="json")  # the templates read the views as the API's JSON

    inbound, outbound = shipped(Direction.INBOUND), shipped(Direction.OUTBOUND)
    inbound["items"] += late_receipts(authority, principal, today=today)
    exchange = runtime.exchange.shipment_documents([*inbound["items"], *outbound["items"]])
    context: dict[str, Any] = {
        "session": session,
        "today": today.isoformat(),
        "year": year,
        "updated": (
            authority.certificate(principal, updated).model_dump(mode="json") if updated else None
        ),
        "inbound": [
            {**_IN_TIME, **view, "forms": _form_keys(), **exchange.get(view["cert_no"], {})}
            for view in inbound["items"]
        ],
        "inbound_more": inbound["next_cursor"] is not None,
        "outbound": [{**view, **exchange.get(view["cert_no"], {})} for view in outbound["items"]],
        "outbound_more": outbound["next_cursor"] is not None,
        "reasons": REJECTION_REASONS,
        **_monitoring(runtime, session.participant, now=now),
        **_statistics(runtime, session.participant, year=year),
    }
    return render(request, "dashboard.html", context, private=True)


# --- confirm or reject an inbound shipment -------------------------------------------------------


@router.post("/certificates/{cert_no:path}/receive")
def confirm(
    cert_no: str,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    form: Annotated[ConfirmForm, Form()],
) -> Response:
    """Confirms receipt of an inbound shipment, then goes back to the dashboard."""
    _require_officer(session)
    authority.receive(
        session.principal, cert_no, form.request(), idempotency_key=form.idempotency_key
    )
    return _back_to_dashboard(cert_no)


@router.post("/certificates/{cert_no:path}/reject")
def reject(
    cert_no: str,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    form: Annotated[RejectForm, Form()],
) -> Response:
    """Rejects an inbound shipment with a reason, then goes back to the dashboard."""
    _require_officer(session)
    authority.reject(
        session.principal, cert_no, form.request(), idempotency_key=form.idempotency_key
    )
    return _back_to_dashboard(cert_no)


def _require_officer(session: PageSession) -> None:
    if not session.can_act:
        raise PermissionDeniedError(
            gettext(
                "a %(role)s key can only read; confirming or rejecting a shipment needs an "
                "officer key"
            )
            % {"role": gettext(session.principal.role)},
            code=ErrorCode.ROLE_INSUFFICIENT,
            detail=page_worded(),
        )


def _back_to_dashboard(cert_no: str) -> Response:
    query = urlencode({"updated": cert_no})
    return RedirectResponse(f"/dashboard?{query}#updated", status_code=303)


_IN_TIME = {"confirm_by": None, "confirmable": True}
"""What a shipment not yet expired reads as beside `late_receipts`' (no grace period to show)."""


def late_receipts(authority: AuthorityService, principal: Principal, *, today: date) -> list[Any]:
    """Inbound shipments whose certificate expired in transit, as the API's JSON with
    `confirm_by` (the last day of the registry's grace period, during which a shipment received
    by the expiry date may still be confirmed) and `confirmable` (that day not past). Each can
    be rejected whatever the day (the registry closes an expired shipment by rejection); the
    service checks the exact instant when the officer confirms, so a day either side of the
    exporter's time zone only decides which form is shown."""
    page = authority.certificates(
        principal,
        direction=Direction.INBOUND,
        status=CertificateStatusLabel.EXPIRED,
        limit=MAX_PAGE,
        cursor=None,
    )
    in_transit = [view for view in page.items if StepName.SHIPPED in view.steps]
    if not in_transit:
        return []  # the registry is asked for its grace period only when it matters
    grace = timedelta(seconds=authority.receipt_grace_period())
    late = []
    for view in in_transit:
        confirm_by = view.expires_at + grace
        late.append(
            {
                **view.model_dump(mode="json"),
                "confirm_by": confirm_by.isoformat(),
                "confirmable": confirm_by >= today,
            }
        )
    return late


def _form_keys() -> dict[str, str]:
    """Fresh Idempotency-Keys for one shipment's confirm and reject forms."""
    return {action: f"web-{secrets.token_urlsafe(18)}" for action in ("receive", "reject")}


@router.get("/certificates/{cert_no:path}.pdf")
def certificate_pdf(
    cert_no: str, session: SessionDep, authority: AuthorityDep, runtime: RuntimeDep
) -> Response:
    """The printable certificate for the logged-in authority, with the session's key: the same
    PDF, under the same file name, as the REST API's (which wants a bearer key), in the page's
    language (``?lang=``, the switch's cookie or Accept-Language) beside the English."""
    language = current_language()  # set for the page's request (kpchain.web.language)
    printed = print_certificate(
        authority,
        session.principal,
        cert_no,
        base_url=runtime.settings.base_url,
        language=language,
        cjk_font=installed_cjk_font(runtime.settings.cjk_font),
    )
    return Response(
        content=printed.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{printed.filename}"',
            "Content-Language": language,
            "Vary": VARY,
        },
    )


# --- monitoring and statistics -------------------------------------------------------------------


def _monitoring(runtime: Runtime, participant: str, *, now: int) -> dict[str, Any]:
    settings = runtime.settings
    with runtime.sessions() as db:
        found = monitoring(
            db,
            now=now,
            overdue_days=settings.overdue_days,
            outlier_factor=settings.outlier_factor,
            participant=participant,
        )
    return {
        "overdue_days": settings.overdue_days,
        "overdue": found["overdue"],
        "expired": found["expired_in_transit"],
        "discrepancies": found["discrepancies"]["items"],
    }


def _statistics(runtime: Runtime, participant: str, *, year: int) -> dict[str, Any]:
    with runtime.sessions() as db:
        quarters = [
            _figures(statistics(db, year=year, participant=participant, period=q), participant)
            for q in PERIODS
        ]
        total = _figures(statistics(db, year=year, participant=participant), participant)
    periods = [gettext(_PERIOD_NAMES[q]) for q in PERIODS]
    chart: BarChart = bar_chart(
        periods,
        [gettext(_FLOW_NAMES[flow]) for flow in FLOWS],
        [[row[flow]["carats"] for flow in FLOWS] for row in quarters],
        unit=gettext("carats"),
    )
    return {
        "chart": chart,
        "table": [(q, row) for q, row in zip(periods, quarters, strict=True)],
        "total": total,
        "fmt": format_number,
    }


# The chart's and the table's words, in the page's language.
_PERIOD_NAMES = {"Q1": mark("Q1"), "Q2": mark("Q2"), "Q3": mark("Q3"), "Q4": mark("Q4")}
_FLOW_NAMES = {"exports": mark("exports"), "imports": mark("imports")}

_NONE: dict[str, Any] = {"carats": "0.00", "value_usd": "0.00", "certificates": 0}


def _figures(report: dict[str, Any], participant: str) -> dict[str, dict[str, Any]]:
    """The exports and imports of `participant` in a statistics report (zero when absent),
    amounts as Decimals."""
    flows: dict[str, Any] = next(
        (entry for entry in report["participants"] if entry["code"] == participant), {}
    )
    return {
        flow: {
            "carats": Decimal(flows.get(flow, _NONE)["carats"]),
            "value_usd": Decimal(flows.get(flow, _NONE)["value_usd"]),
            "certificates": int(flows.get(flow, _NONE)["certificates"]),
        }
        for flow in FLOWS
    }
