"""The dashboard's certificates: the participant's list, and a certificate's page with the actions
the logged-in key may take on it. The exporting authority's officer ships an issued certificate
(with the seal or container reference) or cancels it (with a reason, after a confirmation step);
the other actions are links to where they are done (confirming receipt on the dashboard,
replacing a cancelled or rejected certificate in the new-certificate form).

Ship and cancel call `AuthorityService.ship` / `cancel` as the REST API's routes do, with an
officer's key only (the API's refusal otherwise) and with the form's Idempotency-Key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from kpchain.api.deps import AuthorityDep
from kpchain.certificates.fields import Note, SealRef
from kpchain.certificates.requests import CancelRequest, ShipRequest
from kpchain.errors import KpchainError
from kpchain.service.authority import MAX_PAGE
from kpchain.vocabulary import CertificateStatusLabel, Direction, Role
from kpchain.web.pages import (
    FormDep,
    Refusal,
    entered,
    form_key,
    refusal,
    require_role,
    validated,
)
from kpchain.web.rendering import render
from kpchain.web.session import CheckedSessionDep, PageSession, SessionDep

router = APIRouter(prefix="/dashboard/certificates", include_in_schema=False)

Done = Literal["shipped", "cancelled"]
"""What a certificate's page says was just done (after the redirect)."""

LISTED = 100
"""Certificates the list shows (the API pages through them all)."""


class _ActionForm(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    idempotency_key: str = Field(min_length=8, max_length=100)


class ShipForm(_ActionForm):
    """The ship form: the seal or container reference (optional, as in the API)."""

    seal_ref: SealRef | None = None

    def request(self) -> ShipRequest:
        return ShipRequest(seal_ref=self.seal_ref)


class CancelForm(_ActionForm):
    """The cancel form: the reason is required on the page (the API's is optional); it stays
    off chain, as the API keeps it."""

    reason: Note

    def request(self) -> CancelRequest:
        return CancelRequest(reason=self.reason)


# --- the list ------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def certificates_page(
    request: Request,
    session: SessionDep,
    authority: AuthorityDep,
    direction: Direction = Direction.OUTBOUND,
    status: CertificateStatusLabel | None = CertificateStatusLabel.ISSUED,
    every: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """The participant's certificates one way (default: its exports issued, not yet shipped);
    `all=1` lists every status."""
    chosen = None if every else status
    page = authority.certificates(
        session.principal,
        direction=direction,
        status=chosen,
        limit=min(LISTED, MAX_PAGE),
        cursor=None,
    )
    context = {
        "session": session,
        "direction": direction.value,
        "status": chosen.value if chosen is not None else "",
        "directions": [d.value for d in Direction],
        "statuses": [s.value for s in CertificateStatusLabel],
        "items": [view.model_dump(mode="json") for view in page.items],
        "more": page.next_cursor is not None,
    }
    return render(request, "certificates.html", context, private=True)


# --- a certificate ------------------------------------------------------------------------------


@router.get("/{cert_no:path}", response_class=HTMLResponse)
def certificate_page(
    request: Request,
    cert_no: str,
    session: SessionDep,
    authority: AuthorityDep,
    done: Done | None = None,
) -> Response:
    """The certificate as its parties read it, with the actions the key may take on it."""
    return _page(request, session, authority, cert_no, done=done)


@router.post("/{cert_no:path}/ship", response_class=HTMLResponse)
def ship(
    request: Request,
    cert_no: str,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    form: FormDep,
) -> Response:
    """Ships an issued certificate (the advance notice to the importing authority)."""
    typed = entered(form, "seal_ref", "idempotency_key")
    try:
        require_role(session, Role.OFFICER)
        shipping = validated(ShipForm, typed)
        authority.ship(
            session.principal,
            cert_no,
            shipping.request(),
            idempotency_key=shipping.idempotency_key,
        )
    except KpchainError as error:
        refused = refusal(error, form="ship")
        return _page(request, session, authority, cert_no, refused=refused, typed=typed)
    return _done(cert_no, "shipped")


@router.post("/{cert_no:path}/cancel", response_class=HTMLResponse)
def cancel(
    request: Request,
    cert_no: str,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    form: FormDep,
) -> Response:
    """Cancels an issued certificate, in two steps: the form's first post shows what will be
    cancelled and asks to confirm; the confirmation (`confirmed=yes`) cancels it."""
    typed = entered(form, "reason", "idempotency_key")
    try:
        require_role(session, Role.OFFICER)
        cancelling = validated(CancelForm, typed)
        if form.get("confirmed") != "yes":
            view = authority.certificate(session.principal, cert_no).model_dump(mode="json")
            context = {"session": session, "view": view, "form": cancelling.model_dump()}
            return render(request, "cancel_confirm.html", context, private=True)
        authority.cancel(
            session.principal,
            cert_no,
            cancelling.request(),
            idempotency_key=cancelling.idempotency_key,
        )
    except KpchainError as error:
        refused = refusal(error, form="cancel")
        return _page(request, session, authority, cert_no, refused=refused, typed=typed)
    return _done(cert_no, "cancelled")


def _page(
    request: Request,
    session: PageSession,
    authority: AuthorityDep,
    cert_no: str,
    *,
    done: Done | None = None,
    refused: Refusal | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    view = authority.certificate(session.principal, cert_no).model_dump(mode="json")
    context = {
        "session": session,
        "view": view,
        "actions": actions(session, view),
        "done": done,
        "refused": refused,
        "typed": typed or {},
        "keys": {"ship": form_key(), "cancel": form_key()},
    }
    return render(
        request,
        "certificate.html",
        context,
        status_code=refused.status if refused else 200,
        private=True,
    )


def actions(session: PageSession, view: dict[str, Any]) -> frozenset[str]:
    """What the logged-in key may do to the certificate `view` (its status as the index has it):
    ship and cancel (the exporter's officer, issued only), confirm or reject receipt (the
    importer's officer, shipped only), replace (the exporter's clerk or officer, cancelled or
    rejected)."""
    role = session.principal.role
    participant = session.participant
    status = view["status"]
    can: set[str] = set()
    if participant == view["exporting_participant"]:
        if role == Role.OFFICER and status == CertificateStatusLabel.ISSUED:
            can |= {"ship", "cancel"}
        if role in (Role.CLERK, Role.OFFICER) and status in (
            CertificateStatusLabel.CANCELLED,
            CertificateStatusLabel.REJECTED,
        ):
            can.add("replace")
    if (
        participant == view["importing_participant"]
        and role == Role.OFFICER
        and status == CertificateStatusLabel.SHIPPED
    ):
        can.add("receive")
    return frozenset(can)


def certificate_link(cert_no: str, **query: str) -> str:
    """The certificate's page (a relative link; certificate numbers may hold ``/`` and ``?``)."""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"/dashboard/certificates/{quote(cert_no, safe='')}{suffix}"


def _done(cert_no: str, done: Done) -> Response:
    return RedirectResponse(certificate_link(cert_no, done=done) + "#done", status_code=303)
