"""The dashboard's maker-checker pages: a clerk (or officer) fills in the "New certificate" form,
which saves a draft; officers see the drafts awaiting approval, and on a draft's page an officer
whose key neither created nor edited it approves it (it is issued) or returns it with a comment;
"Replace" opens the form filled in from a cancelled or rejected certificate's document.

Every write goes through `DraftService` as the REST API's do. The form is plain HTML (the pages
run no script): "Add a line" and "Remove" are submit buttons that show the form again with one
line more or less, nothing saved. A refused form is shown again as it was typed, with each
field's problem at the field and in a summary at the top (422; 409/403 for a number already
taken or a participant this service does not sign for).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from kpchain.api.deps import AuthorityDep, DraftsDep
from kpchain.api.errors import status_of
from kpchain.audit.trail import note_error
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.fields import Note
from kpchain.errors import (
    ConflictError,
    ErrorCode,
    InvalidRequestError,
    KpchainError,
    PermissionDeniedError,
)
from kpchain.i18n import gettext
from kpchain.service.drafts import EDITABLE, DraftStatus, DraftView, ReturnRequest, field_problems
from kpchain.vocabulary import CERT_NO_MAX_LENGTH, CERT_NO_TEXT_PATTERN, MIXED, HsCode, Role
from kpchain.web.messages import page_worded, problem_text, refusal_text
from kpchain.web.rendering import render, status_name
from kpchain.web.session import CheckedSessionDep, PageSession, SessionDep

router = APIRouter(prefix="/dashboard/drafts", include_in_schema=False)

MAX_FORM_LINES = 20
"""Lines the form offers at most (a KP certificate has one a HS code in practice)."""
LISTED = 100
"""Drafts each section of the drafts page shows."""

_LINE_FIELD = re.compile(
    r"lines\.(\d{1,2})\.(hs_code|carats|value_usd|parcels|origin|provenance|origin_zone)"
)
_LINE_ORIGIN_FIELDS = ("origin", "provenance", "origin_zone")
"""A line's own origin: all blank, the line is of the certificate's origin."""
_PARTY_FIELDS = ("name", "address", "licence")
_TEXT_FIELDS = (
    "cert_no",
    "importing_participant",
    "origin",
    "provenance",
    "origin_zone",
    "issued_at",
    "expires_at",
    "issuing_authority",
    "replaces",
)
_EMPTY_LINE: dict[str, str] = {
    "hs_code": HsCode.NON_INDUSTRIAL,
    "carats": "",
    "value_usd": "",
    "parcels": "",
    "origin": "",
    "provenance": "",
    "origin_zone": "",
}
_FIELD_OF_CODE: dict[str, str] = {
    ErrorCode.CERTIFICATE_ALREADY_EXISTS: "cert_no",
    ErrorCode.DRAFT_ALREADY_EXISTS: "cert_no",
    ErrorCode.CERTIFICATE_VALIDITY_TOO_LONG: "expires_at",
}
"""Refusals of a saved form that one field of it answers for."""


async def _form(request: Request) -> FormData:
    return await request.form()  # read once (the session's check read it already)


FormDep = Annotated[FormData, Depends(_form)]


# --- the drafts -------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def drafts_page(request: Request, session: SessionDep, drafts: DraftsDep) -> Response:
    """The participant's drafts: awaiting approval, returned to their authors, issued."""

    def listed(status: DraftStatus) -> list[dict[str, Any]]:
        page = drafts.drafts(session.principal, status=status, limit=LISTED)
        return [_summary(view) for view in page.items]

    context = {
        "session": session,
        "can_draft": _can_draft(session),
        "awaiting": listed(DraftStatus.AWAITING_APPROVAL),
        "returned": listed(DraftStatus.RETURNED),
        "issuing": listed(DraftStatus.ISSUING),
        "issued": listed(DraftStatus.ISSUED),
    }
    return render(request, "drafts.html", context, private=True)


@router.get("/new", response_class=HTMLResponse)
def new_draft_page(
    request: Request,
    session: SessionDep,
    authority: AuthorityDep,
    replaces: Annotated[
        str | None, Query(max_length=CERT_NO_MAX_LENGTH, pattern=CERT_NO_TEXT_PATTERN)
    ] = None,
) -> Response:
    """The "New certificate" form, empty, or filled in from the document of the cancelled or
    rejected certificate it `replaces`."""
    _require_maker(session)
    values = _blank(session.participant)
    if replaces is not None:
        values = _replacing(session, authority, replaces)
    return _form_page(request, session, authority, values=values, action="/dashboard/drafts/new")


@router.post("/new", response_class=HTMLResponse)
def create_draft(
    request: Request,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    drafts: DraftsDep,
    form: FormDep,
) -> Response:
    """Saves the form as a draft (or adds or removes a line and shows it again)."""
    _require_maker(session)
    values = _values(form, session.participant)
    page = _edit_lines(request, session, authority, form, values, "/dashboard/drafts/new")
    if page is not None:
        return page
    try:
        document = CertificateDocument.model_validate(_document(values))
        view = drafts.create(session.principal, document)
    except (ValidationError, KpchainError) as refused:
        return _refused(request, session, authority, values, "/dashboard/drafts/new", refused)
    return RedirectResponse(f"/dashboard/drafts/{view.id}?saved=1", status_code=303)


# --- one draft -------------------------------------------------------------------------------


@router.get("/{draft_id}", response_class=HTMLResponse)
def draft_page(
    request: Request,
    draft_id: int,
    session: SessionDep,
    drafts: DraftsDep,
    authority: AuthorityDep,
    saved: Annotated[int | None, Query(ge=0, le=1)] = None,
) -> Response:
    """A draft: its document, its history, and what this key may do with it."""
    view = drafts.draft(session.principal, draft_id)
    principal = session.principal
    editors = {view.created.key_id} | {
        step.key_id for step in view.history if step.action == "edited"
    }
    is_officer = principal.role == Role.OFFICER
    awaiting = view.status == DraftStatus.AWAITING_APPROVAL
    certificate = None
    if view.status == DraftStatus.ISSUED:
        certificate = authority.certificate(principal, view.cert_no).model_dump(mode="json")
    context = {
        "session": session,
        "draft": view.model_dump(mode="json"),
        "document": view.document,
        "totals": _totals(view.document),
        "saved": saved == 1,
        "can_edit": _can_draft(session) and view.status in EDITABLE,
        "can_approve": is_officer and awaiting and principal.key_id not in editors,
        "four_eyes": is_officer and awaiting and principal.key_id in editors,
        "can_return": is_officer and awaiting,
        "approve_key": f"web-{secrets.token_urlsafe(18)}",
        "certificate": certificate,
    }
    return render(request, "draft.html", context, private=True)


@router.get("/{draft_id}/edit", response_class=HTMLResponse)
def edit_draft_page(
    request: Request,
    draft_id: int,
    session: SessionDep,
    drafts: DraftsDep,
    authority: AuthorityDep,
) -> Response:
    """The form, filled in with the draft's document."""
    _require_maker(session)
    view = drafts.draft(session.principal, draft_id)
    values = _from_document(view.document)
    return _form_page(
        request,
        session,
        authority,
        values=values,
        action=f"/dashboard/drafts/{draft_id}/edit",
        draft=view.model_dump(mode="json"),
    )


@router.post("/{draft_id}/edit", response_class=HTMLResponse)
def edit_draft(
    request: Request,
    draft_id: int,
    session: CheckedSessionDep,
    drafts: DraftsDep,
    authority: AuthorityDep,
    form: FormDep,
) -> Response:
    """Saves the edited form over the draft (a returned draft awaits approval again)."""
    _require_maker(session)
    values = _values(form, session.participant)
    action = f"/dashboard/drafts/{draft_id}/edit"
    current = drafts.draft(session.principal, draft_id).model_dump(mode="json")
    page = _edit_lines(request, session, authority, form, values, action, draft=current)
    if page is not None:
        return page
    # The whole document, as a merge patch: what the form leaves blank is removed.
    patch: dict[str, Any] = {"provenance": None, "origin_zone": None, "replaces": None}
    patch.update(_document(values))
    try:
        drafts.patch(session.principal, draft_id, patch)
    except KpchainError as refused:
        return _refused(request, session, authority, values, action, refused, draft=current)
    return RedirectResponse(f"/dashboard/drafts/{draft_id}?saved=1", status_code=303)


@router.post("/{draft_id}/approve")
def approve_draft(
    draft_id: int,
    session: CheckedSessionDep,
    drafts: DraftsDep,
    idempotency_key: Annotated[str, Form(min_length=8, max_length=100)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    """Approves the draft (another officer's key than its author's): it is signed and issued."""
    drafts.approve(session.principal, draft_id, idempotency_key=idempotency_key, version=version)
    return RedirectResponse(f"/dashboard/drafts/{draft_id}", status_code=303)


@router.post("/{draft_id}/return")
def return_draft(
    draft_id: int,
    session: CheckedSessionDep,
    drafts: DraftsDep,
    comment: Annotated[Note, Form()],
) -> Response:
    """Returns the draft to its author with the officer's comment."""
    drafts.send_back(session.principal, draft_id, ReturnRequest(comment=comment))
    return RedirectResponse(f"/dashboard/drafts/{draft_id}", status_code=303)


# --- the form --------------------------------------------------------------------------------


def _form_page(
    request: Request,
    session: PageSession,
    authority: AuthorityDep,
    *,
    values: dict[str, Any],
    action: str,
    errors: Mapping[str, str] | None = None,
    summary: list[dict[str, str]] | None = None,
    message: str | None = None,
    draft: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    participants = authority.participants()
    context = {
        "session": session,
        "values": values,
        "action": action,
        "errors": dict(errors or {}),
        "summary": summary or [],
        "message": message,
        "draft": draft,
        "hs_codes": list(HsCode),
        "mixed": MIXED,
        "importers": [
            p.code for p in participants if p.code != session.participant and p.status == "active"
        ],
        "participants": [p.code for p in participants],
        "restricted": [p.code for p in participants if p.origin_restricted],
        "max_lines": MAX_FORM_LINES,
    }
    return render(request, "draft_form.html", context, status_code=status_code, private=True)


def _edit_lines(
    request: Request,
    session: PageSession,
    authority: AuthorityDep,
    form: FormData,
    values: dict[str, Any],
    action: str,
    *,
    draft: dict[str, Any] | None = None,
) -> Response | None:
    """The form again with a line added or removed, when that is what was pressed."""
    pressed = str(form.get("form_action") or "save")
    lines: list[dict[str, Any]] = values["lines"]
    if pressed == "add_line":
        if len(lines) < MAX_FORM_LINES:
            lines.append(dict(_EMPTY_LINE))
    elif pressed.startswith("remove_line:"):
        index = pressed.partition(":")[2]
        if index.isdigit() and int(index) < len(lines) and len(lines) > 1:
            del lines[int(index)]
    else:
        return None
    return _form_page(request, session, authority, values=values, action=action, draft=draft)


def _refused(
    request: Request,
    session: PageSession,
    authority: AuthorityDep,
    values: dict[str, Any],
    action: str,
    refused: Exception,
    *,
    draft: dict[str, Any] | None = None,
) -> Response:
    """The form again as it was typed, with each field's problem."""
    problems: list[dict[str, str]] = []
    status, message = 422, None
    if isinstance(refused, ValidationError):  # the form's document, before the service
        problems = field_problems(refused)
        note_error(ErrorCode.INVALID_DOCUMENT)  # the audit trail's, as /v1/drafts answers it
    elif not isinstance(refused, KpchainError):
        raise refused
    elif refused.code == ErrorCode.INVALID_DOCUMENT:
        problems = list(refused.detail.get("errors", []))
        status = status_of(refused)
    elif refused.code in _FIELD_OF_CODE:
        words = refusal_text(refused.code, refused.message, refused.detail)
        problems = [{"field": _FIELD_OF_CODE[refused.code], "message": words}]
        status = status_of(refused)
    elif isinstance(refused, ConflictError | PermissionDeniedError | InvalidRequestError):
        message = refusal_text(refused.code, refused.message, refused.detail)
        status = status_of(refused)
    else:
        raise refused
    # Each problem in the page's language (the document's rules word them in English).
    problems = [{**problem, "message": problem_text(problem)} for problem in problems]
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem["field"], problem["message"])
    return _form_page(
        request,
        session,
        authority,
        values=values,
        action=action,
        errors=errors,
        summary=problems,
        message=message,
        draft=draft,
        status_code=status,
    )


def _values(form: FormData, participant: str) -> dict[str, Any]:
    """What the form holds, as it was typed (the form is shown again with these)."""
    values: dict[str, Any] = {"exporting_participant": participant}
    for name in _TEXT_FIELDS:
        values[name] = str(form.get(name) or "").strip()
    for party in ("exporter", "importer"):
        values[party] = {
            name: str(form.get(f"{party}.{name}") or "").strip() for name in _PARTY_FIELDS
        }
    lines: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        found = _LINE_FIELD.fullmatch(key)
        if found is not None and int(found.group(1)) < MAX_FORM_LINES:
            line = lines.setdefault(int(found.group(1)), dict.fromkeys(_LINE_ORIGIN_FIELDS, ""))
            line[found.group(2)] = str(value).strip()
    values["lines"] = [lines[index] for index in sorted(lines)] or [dict(_EMPTY_LINE)]
    return values


def _document(values: Mapping[str, Any]) -> dict[str, Any]:
    """The certificate document of the form's values: blank optional fields are null, and a
    number of parcels that is a whole number is one (the rest is left to the document's
    rules, which say what is wrong)."""
    document: dict[str, Any] = {
        name: values[name] or None for name in ("exporting_participant", *_TEXT_FIELDS)
    }
    for party in ("exporter", "importer"):
        document[party] = dict(values[party])
    lines = []
    for line in values["lines"]:
        parcels = line.get("parcels", "")
        fields = {
            "hs_code": line.get("hs_code", ""),
            "carats": line.get("carats", ""),
            "value_usd": line.get("value_usd", ""),
            "parcels": int(parcels) if parcels.isdigit() else parcels,
        }
        # A line's own origin only as far as it is filled in: left blank, the line is of the
        # certificate's origin (and a provenance or zone without an origin is the document's
        # rules' to refuse, at the field).
        fields.update({name: line[name] for name in _LINE_ORIGIN_FIELDS if line.get(name)})
        lines.append(fields)
    document["lines"] = lines
    return {key: value for key, value in document.items() if value is not None}


def _from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values of a stored document."""
    values: dict[str, Any] = {
        name: str(document.get(name) or "") for name in ("exporting_participant", *_TEXT_FIELDS)
    }
    for party in ("exporter", "importer"):
        held = document.get(party) or {}
        values[party] = {name: str(held.get(name) or "") for name in _PARTY_FIELDS}
    values["lines"] = [
        {key: "" if line.get(key) is None else str(line[key]) for key in _EMPTY_LINE}
        for line in document.get("lines") or []
    ] or [dict(_EMPTY_LINE)]
    return values


def _blank(participant: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    values = _from_document(
        {
            "exporting_participant": participant,
            "origin": participant,
            "issued_at": today.isoformat(),
            "expires_at": (today + timedelta(days=60)).isoformat(),
        }
    )
    return values


def _replacing(session: PageSession, authority: AuthorityDep, cert_no: str) -> dict[str, Any]:
    """The form's values for a replacement of `cert_no`: its document, with a new number to
    give, today's date and the same validity."""
    view = authority.certificate(session.principal, cert_no)
    if view.exporting_participant != session.participant:
        raise PermissionDeniedError(
            gettext("%(cert_no)s is %(exporter)s's certificate: only its exporter replaces it")
            % {"cert_no": cert_no, "exporter": view.exporting_participant},
            code=ErrorCode.PARTICIPANT_MISMATCH,
            detail=page_worded({"cert_no": cert_no}),
        )
    if view.status not in ("cancelled", "rejected"):
        raise ConflictError(
            gettext(
                "%(cert_no)s is %(status)s: only a cancelled or rejected certificate is replaced"
            )
            % {"cert_no": cert_no, "status": status_name(view.status)},
            code=ErrorCode.CONFLICT,
            detail=page_worded({"cert_no": cert_no, "status": view.status}),
        )
    if view.replaced_by is not None:
        raise ConflictError(
            gettext("%(cert_no)s is replaced already, by %(by)s: a certificate is replaced once")
            % {"cert_no": cert_no, "by": view.replaced_by},
            code=ErrorCode.CONFLICT,
            detail=page_worded({"cert_no": cert_no, "replaced_by": view.replaced_by}),
        )
    old = authority.document(session.principal, cert_no).document
    today = datetime.now(UTC).date()
    validity = (old.expires_at - old.issued_at).days
    values = _from_document(old.model_dump(mode="json"))
    values.update(
        cert_no="",
        replaces=cert_no,
        issued_at=today.isoformat(),
        expires_at=(today + timedelta(days=validity)).isoformat(),
    )
    return values


# --- helpers ---------------------------------------------------------------------------------


def _can_draft(session: PageSession) -> bool:
    return session.principal.role in (Role.CLERK, Role.OFFICER)


def _require_maker(session: PageSession) -> None:
    if not _can_draft(session):
        raise PermissionDeniedError(
            gettext(
                "a %(role)s key can only read; preparing a certificate needs a clerk or officer key"
            )
            % {"role": status_name(session.principal.role)},
            code=ErrorCode.ROLE_INSUFFICIENT,
            detail=page_worded(),
        )


def _summary(view: DraftView) -> dict[str, Any]:
    document = view.document
    return {
        "id": view.id,
        "cert_no": view.cert_no,
        "status": view.status,
        "importing_participant": document.get("importing_participant", ""),
        "created": view.created.model_dump(mode="json"),
        "updated": (view.last_edited or view.created).model_dump(mode="json"),
        "return_comment": view.return_comment,
        **_totals(document),
    }


def _totals(document: Mapping[str, Any]) -> dict[str, Any]:
    try:
        carats, value, parcels = CertificateDocument.model_validate(document).totals()
    except ValueError:
        return {"carats": "", "value_usd": "", "parcels": ""}
    return {"carats": f"{carats:.2f}", "value_usd": f"{value:.2f}", "parcels": parcels}


def replace_link(cert_no: str) -> str:
    """The "New certificate" form filled in to replace `cert_no` (for the pages that list
    cancelled and rejected certificates)."""
    return f"/dashboard/drafts/new?{urlencode({'replaces': cert_no})}"
