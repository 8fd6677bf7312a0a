"""Maker-checker issuing (issue 15): a clerk (or an officer) of the exporting participant saves a
certificate draft, an officer whose API key neither created nor edited it approves it, and only
then is it signed and issued; the officer may instead return it with a comment, and its author
corrects it.

A draft is a complete certificate document, validated as `POST /v1/certificates` validates one:
an incomplete or invalid draft is refused (422, each field's problem in `detail.errors`), so
the officer reviews exactly what will be issued. The dashboard's form keeps what was typed and
shows each field's problem, so nothing is lost by refusing it. Approval validates the document
again (the rules may have changed since it was saved) and issues it through
`AuthorityService.issue`, with every check an issue makes.

Approval is crash-safe and happens once: the draft is linked to its issue's operation in the
same database transaction that records the operation (`Writer.submit`'s `on_record`), under a
lock of the draft's row that re-checks its status. A second approval finds the draft issuing or
issued (409 `draft_status_invalid`); a retry with the same Idempotency-Key answers as the first
did (201 with the same view); after a crash the reconciler finishes the issue, and the draft
reads as issued once it is done. An issue that fails for good leaves the draft awaiting approval
again, with the error.

Drafts are the participant's own work, not yet a certificate: only keys of its participant see
them, and to any other key a draft does not exist (404 `draft_not_found`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.audit.trail import note_subject
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.fields import Note
from kpchain.certificates.views import CertificateView
from kpchain.contracts.encoding import zone_id
from kpchain.errors import (
    ConflictError,
    ErrorCode,
    InvalidRequestError,
    KpchainError,
    NotFoundError,
    PermissionDeniedError,
)
from kpchain.indexer import queries
from kpchain.service.authority import AuthorityService
from kpchain.service.keys import Principal
from kpchain.service.operations import Writer
from kpchain.service.tables import ApiKey, Draft, Operation
from kpchain.store import begin_write
from kpchain.vocabulary import MIXED, Label, Role

MAX_DRAFT_PAGE = 500


class DraftStatus(Label):
    """Where a draft stands: waiting for an officer, sent back to its author, approved and being
    issued, or issued."""

    AWAITING_APPROVAL = "awaiting_approval"
    RETURNED = "returned"
    ISSUING = "issuing"
    ISSUED = "issued"


EDITABLE = (DraftStatus.AWAITING_APPROVAL, DraftStatus.RETURNED)
"""The statuses in which a draft may be edited."""


class DraftAction(Label):
    """A step in a draft's history."""

    CREATED = "created"
    EDITED = "edited"
    RETURNED = "returned"
    APPROVED = "approved"
    APPROVAL_FAILED = "approval_failed"


_CONFIG = ConfigDict(extra="forbid", frozen=True)


class ReturnRequest(BaseModel):
    """Body of POST /v1/drafts/{id}/return: what the author must change."""

    model_config = _CONFIG

    comment: Note = Field(description="What the author must change, for the author to read.")


class ApproveRequest(BaseModel):
    """Body of POST /v1/drafts/{id}/approve (optional): the version the officer reviewed; an
    edit since then is refused (409 draft_version_mismatch) instead of issued unseen."""

    model_config = _CONFIG

    version: int | None = Field(default=None, ge=1)


class DraftStep(BaseModel):
    """One step of a draft: what was done, by which API key (its id, label and role), when."""

    model_config = _CONFIG

    action: DraftAction
    key_id: str
    label: str | None
    role: Role
    at: datetime
    comment: str | None = None
    version: int = Field(description="The draft's version after this step.")
    error: dict[str, Any] | None = Field(
        default=None, description="For approval_failed: the error the issue ended with."
    )


class DraftView(BaseModel):
    """A draft as GET /v1/drafts/{id} returns it.

    Attributes:
        document: the certificate document as it will be issued.
        version: 1 when created, one more at every edit (what an approval may name).
        created, last_edited, returned, approved: the last step of each kind (who, when).
        return_comment: the officer's comment while the draft is returned.
        cert_no: the certificate's number (the document's).
        approval_error: why the last approval's issue failed, if it did (`{"code", "message",
            "detail"}`).
        history: every step, oldest first.
    """

    model_config = _CONFIG

    id: int
    participant: str
    status: DraftStatus
    cert_no: str
    version: int
    document: dict[str, Any]
    created: DraftStep
    last_edited: DraftStep | None
    returned: DraftStep | None
    approved: DraftStep | None
    return_comment: str | None
    approval_error: dict[str, Any] | None
    history: list[DraftStep]


class DraftPage(BaseModel):
    """A page of drafts, newest first; `next_cursor` asks for the next page."""

    model_config = _CONFIG

    items: list[DraftView]
    next_cursor: str | None


def field_problems(error: ValidationError) -> list[dict[str, str]]:
    """Each field's problem of `error`, as the API's 422 lists them (`detail.errors`): the
    field's dotted path ("lines.0.carats"), the message, and the rule's type."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "message": item["msg"],
            "type": item["type"],
        }
        for item in error.errors()
    ]


def invalid_document(problems: list[dict[str, str]], *, draft_id: int | None = None) -> Exception:
    """The 422 of a document that breaks the document's rules, in the API's shape."""
    summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems[:5])
    detail: dict[str, Any] = {"errors": problems}
    if draft_id is not None:
        detail["draft_id"] = draft_id
    return InvalidRequestError(
        summary or "the document is invalid", code=ErrorCode.INVALID_DOCUMENT, detail=detail
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """`patch` applied to `target` as a JSON Merge Patch (RFC 7396): objects merge key by key,
    null removes a key, anything else (arrays included) replaces."""
    if not isinstance(patch, Mapping):
        return patch
    merged: dict[str, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


class DraftService:
    """The drafts of the participants this service hosts.

    Args:
        sessions: the service database.
        authority: the certificate operations an approval issues through.
        writer: the writer behind `authority` (a retried approval is known by its
            Idempotency-Key).
    """

    def __init__(
        self, *, sessions: sessionmaker[Session], authority: AuthorityService, writer: Writer
    ) -> None:
        self._sessions = sessions
        self._authority = authority
        self._write = writer

    # --- the maker's ----------------------------------------------------------------------

    def create(self, principal: Principal, document: CertificateDocument) -> DraftView:
        """Saves `document` as a draft awaiting approval.

        Raises:
            PermissionDeniedError: not a clerk or officer key (role_insufficient), or not the
                exporting participant's (participant_mismatch), or a participant this service
                does not sign for (participant_not_hosted).
            InvalidRequestError: the origin zone breaks the origin's restriction
                (invalid_document), or the validity is longer than this service issues.
            ConflictError: the certificate number is issued already, or another open draft
                has it (draft_already_exists).
        """
        note_subject(document.cert_no)  # the audit trail's, whether saved or refused
        _require_role(principal, Role.CLERK, Role.OFFICER, doing="prepare a certificate draft")
        self._check(principal, document, draft_id=None)
        now = datetime.now(UTC)
        with self._sessions() as session:
            begin_write(session)
            self._refuse_taken_number(session, principal, document.cert_no, draft_id=None)
            row = Draft(
                participant=document.exporting_participant,
                status=DraftStatus.AWAITING_APPROVAL,
                cert_no=document.cert_no,
                document=document.model_dump(mode="json"),
                version=1,
                created_by=principal.key_id,
                created_at=now,
                editors=[principal.key_id],
                updated_at=now,
                history=[_step(session, principal, DraftAction.CREATED, at=now, version=1)],
            )
            session.add(row)
            session.commit()
            note_subject(f"draft {row.id}")
            return _view(row)

    def patch(self, principal: Principal, draft_id: int, patch: Mapping[str, Any]) -> DraftView:
        """Applies `patch` (a JSON Merge Patch of the document) to a draft awaiting approval or
        returned; a returned draft awaits approval again.

        Raises:
            NotFoundError: no such draft of the key's participant.
            ConflictError: the draft is issuing or issued (draft_status_invalid), or its new
                certificate number is taken.
            InvalidRequestError: the patched document is invalid (invalid_document, each
                field's problem in `detail.errors`).
            PermissionDeniedError: as `create`.
        """
        _require_role(principal, Role.CLERK, Role.OFFICER, doing="edit a certificate draft")
        with self._sessions() as session:
            row = self._row(session, principal, draft_id)
            _require_editable(row)
            merged = merge_patch(row.document, patch)
        document = _validated(merged, draft_id=draft_id)
        self._check(principal, document, draft_id=draft_id)
        now = datetime.now(UTC)
        with self._sessions() as session:
            begin_write(session)
            row = self._row(session, principal, draft_id)
            _require_editable(row)  # again, in the write transaction: an approval may have won
            self._refuse_taken_number(session, principal, document.cert_no, draft_id=draft_id)
            row.document = document.model_dump(mode="json")
            row.cert_no = document.cert_no
            row.version += 1
            row.status = DraftStatus.AWAITING_APPROVAL
            row.return_comment = None
            row.updated_at = now
            if principal.key_id not in row.editors:
                row.editors = [*row.editors, principal.key_id]
            row.history = [
                *row.history,
                _step(session, principal, DraftAction.EDITED, at=now, version=row.version),
            ]
            session.commit()
            return _view(row)

    # --- the checker's --------------------------------------------------------------------

    def send_back(self, principal: Principal, draft_id: int, request: ReturnRequest) -> DraftView:
        """Returns a draft awaiting approval to its author with `request.comment`.

        Raises:
            PermissionDeniedError: not an officer key (role_insufficient).
            NotFoundError: no such draft of the key's participant.
            ConflictError: the draft is not awaiting approval (draft_status_invalid).
        """
        _require_role(principal, Role.OFFICER, doing="return a certificate draft")
        now = datetime.now(UTC)
        with self._sessions() as session:
            begin_write(session)
            row = self._row(session, principal, draft_id)
            _require_status(row, DraftStatus.AWAITING_APPROVAL)
            row.status = DraftStatus.RETURNED
            row.return_comment = request.comment
            row.updated_at = now
            row.history = [
                *row.history,
                _step(
                    session,
                    principal,
                    DraftAction.RETURNED,
                    at=now,
                    version=row.version,
                    comment=request.comment,
                ),
            ]
            session.commit()
            return _view(row)

    def approve(
        self,
        principal: Principal,
        draft_id: int,
        *,
        idempotency_key: str | None,
        version: int | None = None,
    ) -> CertificateView:
        """Issues the draft's document, signed with the participant's authority key, when an
        officer other than every key that created or edited it approves; answers with the
        issued certificate's view once mined.

        Raises:
            PermissionDeniedError: not an officer key (role_insufficient); a key that created
                or edited the draft (four_eyes_required); and as `AuthorityService.issue`.
            NotFoundError: no such draft of the key's participant.
            ConflictError: the draft is not awaiting approval (draft_status_invalid: returned,
                being issued or issued); it changed since `version` (draft_version_mismatch);
                and as `AuthorityService.issue` (certificate_already_exists, …).
            InvalidRequestError: the document would not be accepted (invalid_document, each
                field's problem), and as `AuthorityService.issue`.
        """
        _require_role(principal, Role.OFFICER, doing="approve a certificate draft")
        assert principal.participant is not None  # a governor key has no role above
        with self._sessions() as session:
            row = self._row(session, principal, draft_id)
            if principal.key_id in row.editors:
                raise PermissionDeniedError(
                    f"draft {draft_id} was created or edited with this key ({principal.key_id}): "
                    "another officer's key must approve it (four eyes)",
                    code=ErrorCode.FOUR_EYES_REQUIRED,
                    detail={"draft_id": draft_id, "key_id": principal.key_id},
                )
            # A retry of an approval that was recorded answers as the first one did.
            if not self._write.recorded(principal.participant, idempotency_key):
                _require_status(row, DraftStatus.AWAITING_APPROVAL)
                _require_version(row, version)
            seen = row.version
            stored = row.document
        document = _validated(stored, draft_id=draft_id)

        def link(session: Session, operation: Operation) -> None:
            # In the transaction that records the issue: the draft is issuing exactly when its
            # issue exists, and a concurrent approval (or edit) loses here.
            draft = session.get_one(Draft, draft_id, with_for_update=True)
            _require_status(draft, DraftStatus.AWAITING_APPROVAL)
            _require_version(draft, seen)
            now = datetime.now(UTC)
            draft.status = DraftStatus.ISSUING
            draft.operation_id = operation.id
            draft.approved_by = principal.key_id
            draft.approval_error = None
            draft.updated_at = now
            draft.history = [
                *draft.history,
                _step(session, principal, DraftAction.APPROVED, at=now, version=draft.version),
            ]
            session.flush()

        try:
            view = self._authority.issue(
                principal, document, idempotency_key=idempotency_key, on_record=link
            )
        except KpchainError:
            self._settle(draft_id)  # an issue that failed for good leaves it awaiting approval
            raise
        self._settle(draft_id)
        return view

    # --- reads ----------------------------------------------------------------------------

    def draft(self, principal: Principal, draft_id: int) -> DraftView:
        """The draft `draft_id` of the key's participant.

        Raises:
            NotFoundError: no such draft of the key's participant.
        """
        _acting(principal)
        self._settle(draft_id)
        with self._sessions() as session:
            return _view(self._row(session, principal, draft_id))

    def drafts(
        self,
        principal: Principal,
        *,
        status: DraftStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> DraftPage:
        """The drafts of the key's participant, newest first, optionally of one status."""
        participant = _acting(principal)
        with self._sessions() as session:
            issuing = session.scalars(
                select(Draft.id).where(
                    Draft.participant == participant, Draft.status == DraftStatus.ISSUING
                )
            ).all()
        for draft_id in issuing:
            self._settle(draft_id)
        limit = min(max(limit, 1), MAX_DRAFT_PAGE)
        query = select(Draft).where(Draft.participant == participant)
        if status is not None:
            query = query.where(Draft.status == status)
        if cursor is not None:
            query = query.where(Draft.id < _cursor(cursor))
        with self._sessions() as session:
            rows = list(session.scalars(query.order_by(Draft.id.desc()).limit(limit + 1)))
            more = len(rows) > limit
            items = [_view(row) for row in rows[:limit]]
        return DraftPage(items=items, next_cursor=str(items[-1].id) if more else None)

    # --- internals ------------------------------------------------------------------------

    def _row(self, session: Session, principal: Principal, draft_id: int) -> Draft:
        participant = _acting(principal)
        row = session.get(Draft, draft_id)
        if row is None or row.participant != participant:
            raise NotFoundError(
                f"{participant} has no draft {draft_id}",
                code=ErrorCode.DRAFT_NOT_FOUND,
                detail={"draft_id": draft_id},
            )
        return row

    def _check(
        self, principal: Principal, document: CertificateDocument, *, draft_id: int | None
    ) -> None:
        """What saving a draft checks besides the document's own rules: as an issue would
        (participant, hosting, validity), and the origin zone where the origin is restricted
        (which the registry checks only at issue): the certificate's, and that of each line
        stating its own origin."""
        self._authority.check_issuable(principal, document)
        origins = [("", document.origin, document.origin_zone)] + [
            (f"lines.{index}.", line.origin, line.origin_zone)
            for index, line in enumerate(document.lines)
            if line.origin is not None
        ]
        problems = [
            {"field": prefix + "origin_zone", "message": message, "type": "origin_zone_not_allowed"}
            for prefix, origin, zone in origins
            if (message := self._zone_problem(origin, zone)) is not None
        ]
        if problems:
            raise invalid_document(problems, draft_id=draft_id)

    def _zone_problem(self, origin: str, zone: str | None) -> str | None:
        """What is wrong with `zone` as a zone of `origin`, when that origin is restricted to
        its allowed zones; None when nothing is."""
        if origin == MIXED:
            return None
        try:
            found = self._authority.participant(origin)  # caught up if need be
        except NotFoundError:
            return None  # not a participant: an origin, but no restriction of the registry's
        if not found.origin_restricted:
            return None
        allowed = {allowed_zone.lower() for allowed_zone in found.zones}
        if zone is not None and "0x" + zone_id(zone).hex() in allowed:
            return None
        if zone is None:
            return f"is required: the origin {origin} is restricted to its allowed zones"
        return f"is not one of the allowed zones of the origin {origin}"

    def _refuse_taken_number(
        self, session: Session, principal: Principal, cert_no: str, *, draft_id: int | None
    ) -> None:
        if queries.certificate(session, cert_no) is not None:
            raise ConflictError(
                f"certificate {cert_no} already exists",
                code=ErrorCode.CERTIFICATE_ALREADY_EXISTS,
                detail={"cert_no": cert_no},
            )
        other = session.scalar(
            select(Draft.id).where(
                Draft.participant == principal.participant,
                Draft.cert_no == cert_no,
                Draft.status.in_([*EDITABLE, DraftStatus.ISSUING]),
                Draft.id != (draft_id or 0),
            )
        )
        if other is not None:
            raise ConflictError(
                f"draft {other} is open with the certificate number {cert_no}; edit that draft "
                "or choose another number",
                code=ErrorCode.DRAFT_ALREADY_EXISTS,
                detail={"cert_no": cert_no, "draft_id": other},
            )

    def _settle(self, draft_id: int) -> None:
        """Moves an issuing draft on once its issue has finished: issued when it is done,
        awaiting approval again (with the error) when it failed. After a crash the reconciler
        finishes the issue; the draft follows here, at its next read."""
        with self._sessions() as session:
            row = session.get(Draft, draft_id)
            if row is None or row.status != DraftStatus.ISSUING or row.operation_id is None:
                return
            operation = session.get(Operation, row.operation_id)
            if operation is None or operation.status not in ("done", "failed"):
                return
            begin_write(session)
            row = session.get_one(Draft, draft_id)
            if row.status != DraftStatus.ISSUING:
                return
            if operation.status == "done":
                row.status = DraftStatus.ISSUED
            else:
                error = operation.error or {}
                row.status = DraftStatus.AWAITING_APPROVAL
                row.operation_id = None
                row.approved_by = None
                row.approval_error = _public_error(error)
                row.history = [
                    *row.history,
                    {
                        **row.history[-1],
                        "action": DraftAction.APPROVAL_FAILED,
                        "at": datetime.now(UTC).isoformat(),
                        "error": _public_error(error),
                    },
                ]
            row.updated_at = datetime.now(UTC)
            session.commit()


# --- helpers ---------------------------------------------------------------------------------


def _acting(principal: Principal) -> str:
    if principal.participant is None:
        raise PermissionDeniedError(
            "a governor key acts for no participant and has no drafts; use a participant's key",
            code=ErrorCode.PARTICIPANT_KEY_REQUIRED,
        )
    return principal.participant


def _require_role(principal: Principal, *roles: Role, doing: str) -> None:
    if principal.role not in roles:
        raise PermissionDeniedError(
            f"a {principal.role} key cannot {doing}; it needs a {' or '.join(roles)} key",
            code=ErrorCode.ROLE_INSUFFICIENT,
            detail={"role": principal.role, "required": list(roles)},
        )
    _acting(principal)


def _require_status(row: Draft, *allowed: DraftStatus) -> None:
    if row.status not in allowed:
        raise ConflictError(
            f"draft {row.id} is {row.status.replace('_', ' ')}; this needs it "
            + " or ".join(status.replace("_", " ") for status in allowed),
            code=ErrorCode.DRAFT_STATUS_INVALID,
            detail={
                "draft_id": row.id,
                "status": row.status,
                "required": list(allowed),
                "cert_no": row.cert_no,
            },
        )


def _require_editable(row: Draft) -> None:
    _require_status(row, *EDITABLE)


def _require_version(row: Draft, version: int | None) -> None:
    if version is not None and row.version != version:
        raise ConflictError(
            f"draft {row.id} is at version {row.version}, not {version}: it was edited since; "
            "review it again",
            code=ErrorCode.DRAFT_VERSION_MISMATCH,
            detail={"draft_id": row.id, "version": row.version, "reviewed": version},
        )


def _validated(data: Any, *, draft_id: int) -> CertificateDocument:
    try:
        return CertificateDocument.model_validate(data)
    except ValidationError as exc:
        raise invalid_document(field_problems(exc), draft_id=draft_id) from None


def _step(
    session: Session,
    principal: Principal,
    action: DraftAction,
    *,
    at: datetime,
    version: int,
    comment: str | None = None,
) -> dict[str, Any]:
    key = session.get(ApiKey, principal.key_id)
    return {
        "action": action,
        "key_id": principal.key_id,
        "label": key.label if key is not None else None,
        "role": principal.role,
        "at": at.isoformat(),
        "comment": comment,
        "version": version,
    }


def _public_error(error: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": error.get("code", ErrorCode.KPCHAIN_ERROR),
        "message": error.get("message", ""),
        "detail": error.get("detail") or {},
    }


def _last(steps: list[DraftStep], *actions: DraftAction) -> DraftStep | None:
    return next((step for step in reversed(steps) if step.action in actions), None)


def _view(row: Draft) -> DraftView:
    steps = [DraftStep.model_validate(step) for step in row.history]
    approved = None
    if row.status in (DraftStatus.ISSUING, DraftStatus.ISSUED):
        approved = _last(steps, DraftAction.APPROVED)
    return DraftView(
        id=row.id,
        participant=row.participant,
        status=DraftStatus(row.status),
        cert_no=row.cert_no,
        version=row.version,
        document=row.document,
        created=steps[0],
        last_edited=_last(steps, DraftAction.EDITED),
        returned=_last(steps, DraftAction.RETURNED),
        approved=approved,
        return_comment=row.return_comment,
        approval_error=row.approval_error,
        history=steps,
    )


def _cursor(cursor: str) -> int:
    try:
        return int(cursor)
    except ValueError:
        raise InvalidRequestError(
            "the cursor is not one this service handed out; start from the first page",
            code=ErrorCode.CURSOR_INVALID,
            detail={"cursor": cursor},
        ) from None
