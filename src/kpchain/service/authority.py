"""What an authority can do through the service, checked against the index before any gas is
spent (the contract checks again), and turned into crash-safe operations; and what a
participant's admin does to the participant's own authority keys (adds and revokes them).

Reads come from the index; writes go to the chain through `Writer` and answer with the index's
view of the mined result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3.contract.contract import ContractFunction

from kpchain.audit.trail import note_subject
from kpchain.certificates import dates
from kpchain.certificates.conversions import (
    SECONDS_PER_DAY,
    confirmation_to_contract,
    date_from_seconds,
    expiry_date,
    new_salt,
    rejection_reason_code,
    seal_ref_hash,
    to_contract,
    validity_days,
    withdrawal_reason_code,
)
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import (
    CancelRequest,
    ReceiveRequest,
    RejectRequest,
    ShipRequest,
    WithdrawRequest,
)
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.certificates.views import (
    CertificateDocumentView,
    CertificatePage,
    CertificateView,
    ParticipantView,
)
from kpchain.contracts.registry import Confirmation, Registry
from kpchain.errors import (
    ConflictError,
    ErrorCode,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from kpchain.indexer import queries
from kpchain.indexer.indexer import Indexer
from kpchain.service import views
from kpchain.service.keys import Principal, require_participant
from kpchain.service.operations import (
    CallBuilder,
    Hosting,
    Intent,
    Renderer,
    Response,
    RowHook,
    Writer,
    admin_actor,
    response_as,
)
from kpchain.service.tables import Document, Operation
from kpchain.vocabulary import Direction

MAX_PAGE = 500
MAX_BATCH = 100
ADD_AUTHORITY = "add_authority"
"""The operation kind that makes an account an authority of a participant (its admin signs)."""
REVOKE_AUTHORITY = "revoke_authority"
"""The operation kind that revokes an authority account of a participant (its admin signs)."""


class AuthorityService:
    """The service's operations for authenticated principals.

    Args:
        sessions: the service database (index and service tables).
        registry: the deployed registry.
        indexer: the index reads come from and writes wait for.
        hosting: the accounts this service signs with.
        writer: the writer its writes go through (the service's one writer, built with `CALLS`
            and `renderer`).
        chain_id: the chain's id (EIP-712 domain of document signatures).
        max_validity_days: the most calendar days a certificate this service issues may be valid
            on (`KPCHAIN_MAX_VALIDITY_DAYS`); None leaves only the registry's maximum.
        max_issue_age_days: the most days before today a certificate it issues may be dated
            (`KPCHAIN_MAX_ISSUE_AGE_DAYS`).
        time_zones: the IANA time zone of each participant whose expiries are not UTC's
            (`KPCHAIN_TIME_ZONES`).
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        registry: Registry,
        indexer: Indexer,
        hosting: Hosting,
        writer: Writer,
        chain_id: int,
        max_validity_days: int | None = None,
        max_issue_age_days: int = 30,
        time_zones: Mapping[str, str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._indexer = indexer
        self._hosting = hosting
        self._chain_id = chain_id
        self._max_validity_days = max_validity_days
        self._max_issue_age_days = max_issue_age_days
        self._time_zones = {code: ZoneInfo(name) for code, name in (time_zones or {}).items()}
        self._write = writer

    # --- certificate writes ----------------------------------------------------------------

    def issue(
        self,
        principal: Principal,
        document: CertificateDocument,
        *,
        idempotency_key: str | None,
        on_record: RowHook | None = None,
    ) -> CertificateView:
        """Signs `document` with the exporting participant's authority key and issues it.

        Args:
            on_record: writes rows that must exist exactly when the issue's operation does (an
                approved draft's link to it), as `Writer.submit`'s.
        """
        return self._issue(
            principal, [document], idempotency_key=idempotency_key, on_record=on_record, batch=False
        )[0]

    def issue_batch(
        self,
        principal: Principal,
        documents: Sequence[CertificateDocument],
        *,
        idempotency_key: str | None,
        on_record: RowHook | None = None,
    ) -> list[CertificateView]:
        """Issues `documents` in one transaction; all or none (`on_record` as `issue`'s)."""
        return self._issue(
            principal, documents, idempotency_key=idempotency_key, on_record=on_record, batch=True
        )

    def _issue(
        self,
        principal: Principal,
        documents: Sequence[CertificateDocument],
        *,
        idempotency_key: str | None,
        on_record: RowHook | None,
        batch: bool,
    ) -> list[CertificateView]:
        # `batch`: each date problem names its document's index ("0.issued_at"), as the
        # validation of a batch body does.
        if not documents:
            raise InvalidRequestError(
                "a batch needs at least one certificate", code=ErrorCode.BATCH_EMPTY
            )
        if len(documents) > MAX_BATCH:
            raise InvalidRequestError(
                f"a batch holds at most {MAX_BATCH} certificates", code=ErrorCode.BATCH_TOO_LARGE
            )
        numbers = [document.cert_no for document in documents]
        for number in numbers:  # the audit trail's subject, whether issued or refused
            note_subject(number)
        if len(set(numbers)) != len(numbers):
            raise InvalidRequestError(
                "a batch names the same certificate number twice", code=ErrorCode.BATCH_DUPLICATE
            )
        actor = _acting_participant(principal)
        for document in documents:
            self._check_issuable(actor, document)
        body = [document.model_dump(mode="json") for document in documents]
        retry = self._write.recorded(actor, idempotency_key)
        if not retry:  # a retry answers as the first did, whatever day it comes on
            documents = self._check_dates(documents, batch=batch)
        with self._sessions() as session:
            existing = [n for n in numbers if queries.certificate(session, n) is not None]
        if existing and not retry:
            raise _already_exists(existing[0])
        sender = self._hosting.sender(actor)
        signed = [self._sign_document(sender.signer, document) for document in documents]
        intent = Intent(
            actor=actor,
            kind="issue" if len(documents) == 1 else "issue_batch",
            subject=numbers[0],
            request={"signer": sender.address, "certificates": signed},
            body=body,
            idempotency_key=idempotency_key,
        )

        def record_documents(session: Session, operation: Operation) -> None:
            # One issue of a number at a time: the document of another issue stays (its salts
            # are the only way back to the identities behind its hashes) unless that issue
            # failed. A new number is an INSERT, which a concurrent issue of it makes fail; a
            # failed issue's document is replaced under a row lock.
            try:
                for item in signed:
                    cert_no = item["document"]["cert_no"]
                    held = session.get(Document, cert_no, with_for_update=True)
                    if held is not None and _issue_live(session, held):
                        raise _already_exists(cert_no)
                    document = Document(
                        cert_no=cert_no,
                        document=item["document"],
                        exporter_salt=item["exporter_salt"],
                        importer_salt=item["importer_salt"],
                        doc_hash=item["doc_hash"],
                        signature=item["signature"],
                        signer=sender.address,
                        operation_id=operation.id,
                    )
                    if held is None:
                        session.add(document)
                    else:
                        session.merge(document)
                session.flush()
            except IntegrityError:
                # A concurrent issue of one of these numbers recorded its document first.
                raise _already_exists(numbers[0]) from None
            if on_record is not None:
                on_record(session, operation)

        response = self._write.submit(intent, on_record=record_documents)
        return response_as(views.IssuedCertificates, response).certificates

    def check_issuable(self, principal: Principal, document: CertificateDocument) -> None:
        """Refuses `document` as `issue` would before signing anything (a draft is checked so
        when it is saved, and again when it is issued): another participant's certificate, a
        participant this service does not sign for, a validity longer than this service's, a
        date of issue after today or older than `max_issue_age_days`, an expiry offset other
        than the exporter's time zone's.

        Raises:
            PermissionDeniedError: participant_key_required, participant_mismatch,
                participant_not_hosted.
            InvalidRequestError: certificate_validity_too_long; invalid_document (each date
                field's problem in `detail.errors`, as the issue's).
        """
        actor = _acting_participant(principal)
        self._check_issuable(actor, document)
        self._hosting.sender(actor)
        self._check_dates([document], batch=False)

    def _check_issuable(self, actor: str, document: CertificateDocument) -> None:
        _require_party(actor, document.exporting_participant, "exporting", document.cert_no)
        _check_validity(document, self._max_validity_days)

    def ship(
        self,
        principal: Principal,
        cert_no: str,
        request: ShipRequest,
        *,
        idempotency_key: str | None,
    ) -> CertificateView:
        """Marks the certificate shipped (the advance notice to the importer)."""
        return self._lifecycle(principal, cert_no, "ship", "exporting", request, idempotency_key)

    def receive(
        self,
        principal: Principal,
        cert_no: str,
        request: ReceiveRequest,
        *,
        idempotency_key: str | None,
    ) -> CertificateView:
        """Confirms receipt (the KP import confirmation), dated from the shipping day to today."""

        def check(row: Any) -> None:
            if row.shipped_time is None:
                # The index may not have the shipping yet (another service shipped a block
                # ago), and the registry keeps no shipping time to judge the date by: caught
                # up once, so a receipt dated before its shipping is refused here.
                self._indexer.sync()
                with self._sessions() as session:
                    row = queries.certificate_parties(session, cert_no) or row
            _check_received_at(row, request.received_at, now=self._now())
            # Expiry as the registry judges it, by block time: the last block's (later blocks
            # are later still), not this host's clock, so that only what the registry would
            # revert is refused here. It reads its grace period only then, and so does this.
            chain_now = self._indexer.head_time
            if (
                row.shipped_time is not None
                and chain_now is not None
                and chain_now > row.expires_at
            ):
                grace = self._registry.receipt_grace_period()
                _check_late_receipt(row, request.received_at, now=chain_now, grace_period=grace)

        return self._lifecycle(
            principal, cert_no, "receive", "importing", request, idempotency_key, check=check
        )

    def reject(
        self,
        principal: Principal,
        cert_no: str,
        request: RejectRequest,
        *,
        idempotency_key: str | None,
    ) -> CertificateView:
        """Rejects a shipment with a reason."""
        return self._lifecycle(principal, cert_no, "reject", "importing", request, idempotency_key)

    def cancel(
        self,
        principal: Principal,
        cert_no: str,
        request: CancelRequest,
        *,
        idempotency_key: str | None,
    ) -> CertificateView:
        """Cancels a certificate not yet shipped."""
        return self._lifecycle(principal, cert_no, "cancel", "exporting", request, idempotency_key)

    def withdraw(
        self,
        principal: Principal,
        cert_no: str,
        request: WithdrawRequest,
        *,
        idempotency_key: str | None,
    ) -> CertificateView:
        """Withdraws a shipment in transit to an importer no longer Active, with a reason (the
        registry refuses while the importer is Active: 409 importer_still_active)."""
        return self._lifecycle(
            principal, cert_no, "withdraw", "exporting", request, idempotency_key
        )

    # --- the participant's authority keys (its admin's) ------------------------------------

    def add_authority(
        self, principal: Principal, code: str, account: str, *, idempotency_key: str | None
    ) -> ParticipantView:
        """Makes `account` an authority of `code` (a key that signs its certificates), signed by
        `code`'s admin key; answers with the participant's view once mined and indexed.

        Raises:
            PermissionDeniedError: the key is another participant's (participant_mismatch), or
                this service does not host `code`'s admin key (participant_not_hosted).
            NotFoundError: `code` is not admitted.
            ConflictError: `account` is an authority already, of `code` or of another
                participant (authority_already_registered, as the registry's revert).
        """
        return self._authority_key(principal, code, account, ADD_AUTHORITY, idempotency_key)

    def revoke_authority(
        self, principal: Principal, code: str, account: str, *, idempotency_key: str | None
    ) -> ParticipantView:
        """Revokes `account` as an authority of `code` (a leaked or retired key), signed by
        `code`'s admin key; answers with the participant's view once mined and indexed.

        Raises:
            PermissionDeniedError: as `add_authority`.
            NotFoundError: `code` is not admitted.
            ConflictError: `account` is not a current authority of `code`
                (authority_not_registered, as the registry's revert).
        """
        return self._authority_key(principal, code, account, REVOKE_AUTHORITY, idempotency_key)

    def _authority_key(
        self,
        principal: Principal,
        code: str,
        account: str,
        kind: str,
        idempotency_key: str | None,
    ) -> ParticipantView:
        require_participant(principal, code, doing=f"manages {code}'s authority keys")
        actor = admin_actor(code)
        if not self._write.recorded(actor, idempotency_key):  # a retry answers as the first did
            self._hosting.sender(actor)  # refuse an unhosted admin before judging anything
            self._indexer.sync()  # another service may have added or revoked it a block ago
            with self._sessions() as session:
                self._participant_row(session, code)
                holder = _authority_holder(session, account)
            _check_authority_change(kind, code, account, holder)
        response = self._write.submit(
            Intent(
                actor=actor,
                kind=kind,
                subject=code,
                request={"code": code, "account": account},
                body={"account": account},
                idempotency_key=idempotency_key,
            )
        )
        return response_as(ParticipantView, response)

    # --- reads -----------------------------------------------------------------------------

    def certificate(self, principal: Principal, cert_no: str) -> CertificateView:
        """The view of a certificate the principal's participant is a party to."""
        with self._sessions() as session:
            row = self._certificate_row(session, cert_no)
            _require_reader(principal, row.exporting, row.importing, cert_no)
            return views.certificate_view(session, row, now=self._now())

    def certificates(
        self,
        principal: Principal,
        *,
        direction: Direction | None,
        status: str | None,
        limit: int,
        cursor: str | None,
    ) -> CertificatePage:
        """A page of the participant's certificates, newest first."""
        participant = _acting_participant(principal)
        now = self._now()
        with self._sessions() as session:
            rows, next_cursor = queries.certificates(
                session,
                participant=participant,
                direction=direction,
                status=status,
                now=now,
                limit=min(max(limit, 1), MAX_PAGE),
                cursor=cursor,
            )
            items = views.certificate_views(session, rows, now=now)
        return CertificatePage(items=items, next_cursor=next_cursor)

    def document(self, principal: Principal, cert_no: str) -> CertificateDocumentView:
        """The signed certificate document, when this service issued it or received it from
        the exporter's service (`kpchain.exchange`): for the two parties' keys only, since it
        names the exporter and the importer (a governor's key reads the certificate's view,
        which holds only their salted hashes)."""
        with self._sessions() as session:
            row = self._certificate_row(session, cert_no)
            _require_party_reader(principal, row.exporting, row.importing, cert_no)
            stored = views.held_document(session, cert_no, row.doc_hash)
            if stored is None:
                raise NotFoundError(
                    f"the document of {cert_no} is held by the exporting authority's service, "
                    "which delivers it to the importer's (see GET "
                    f"/v1/certificates/{cert_no}/delivery); this service does not hold it, "
                    "the chain holds its hash",
                    code=ErrorCode.DOCUMENT_NOT_HELD,
                    detail={"cert_no": cert_no, "doc_hash": row.doc_hash},
                )
            return views.document_view(stored)

    def participants(self) -> list[ParticipantView]:
        with self._sessions() as session:
            return [views.participant_view(session, row) for row in queries.participants(session)]

    def participant(self, code: str) -> ParticipantView:
        with self._sessions() as session:
            return views.participant_view(session, self._participant_row(session, code))

    def events_after(
        self, principal: Principal, *, after_id: int, limit: int = 100
    ) -> list[views.EventView]:
        """Index events that concern the principal's participant, after feed id `after_id`."""
        participant = _acting_participant(principal)
        with self._sessions() as session:
            rows = queries.events_after(
                session, participant=participant, after_id=after_id, limit=limit
            )
            return [views.event_view(row) for row in rows]

    # --- internals -------------------------------------------------------------------------

    def _lifecycle(
        self,
        principal: Principal,
        cert_no: str,
        kind: str,
        party: Literal["exporting", "importing"],
        request: Any,
        idempotency_key: str | None,
        *,
        check: Callable[[Any], None] | None = None,
    ) -> CertificateView:
        actor = _acting_participant(principal)
        with self._sessions() as session:
            row = self._certificate_row(session, cert_no, queries.certificate_parties)
            _require_party(
                actor, row.exporting if party == "exporting" else row.importing, party, cert_no
            )
            if check is not None:
                check(row)
        body = request.model_dump(mode="json")
        response = self._write.submit(
            Intent(
                actor=actor,
                kind=kind,
                subject=cert_no,
                request={"cert_no": cert_no, **body},
                body=body,
                idempotency_key=idempotency_key,
            )
        )
        return response_as(CertificateView, response)

    def _check_dates(
        self, documents: Sequence[CertificateDocument], *, batch: bool
    ) -> list[CertificateDocument]:
        """The documents with their exporter's expiry offset (`kpchain.certificates.dates`),
        once their dates pass the day's rules; each field's problem otherwise (422, as the
        validation of the body answers)."""
        today = date_from_seconds(self._now())
        checked, problems = [], []
        for index, document in enumerate(documents):
            where = f"{index}." if batch else ""
            problems += dates.issue_date_problems(
                document,
                today=today,
                max_age_days=self._max_issue_age_days,
                field=f"{where}issued_at",
            )
            zone = self._time_zones.get(document.exporting_participant)
            document, offset_problems = dates.with_expiry_offset(
                document, zone, field=f"{where}expiry_utc_offset"
            )
            problems += offset_problems
            checked.append(document)
        if problems:
            summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
            raise InvalidRequestError(
                summary, code=ErrorCode.INVALID_DOCUMENT, detail={"errors": problems}
            )
        return checked

    def receipt_grace_period(self) -> int:
        """How long (seconds) after its expiry the registry still accepts the confirmation of a
        shipment received by then: read from the chain, as governance may change it."""
        return self._registry.receipt_grace_period()

    def now(self) -> int:
        """The Unix time statuses are read at (expiry included): see `index_time`.
        Verification, monitoring and the pages read the same clock as the certificate views."""
        return index_time(self._indexer)

    def _now(self) -> int:
        return index_time(self._indexer)

    def _certificate_row(
        self,
        session: Session,
        cert_no: str,
        lookup: Callable[[Session, str], Any] | None = None,
    ) -> Any:
        return certificate_row(self._indexer, session, cert_no, lookup or queries.certificate)

    def _participant_row(self, session: Session, code: str) -> Any:
        return participant_row(self._indexer, session, code)

    def _sign_document(self, signer: Any, document: CertificateDocument) -> dict[str, Any]:
        exporter_salt, importer_salt = new_salt(), new_salt()
        certificate = to_contract(
            document, exporter_salt=exporter_salt, importer_salt=importer_salt
        )
        data = typed_data(
            certificate, chain_id=self._chain_id, verifying_contract=self._registry.address
        )
        signature = signer.sign_typed_data(data)
        doc_hash = document_hash(
            certificate, chain_id=self._chain_id, verifying_contract=self._registry.address
        )
        return {
            "document": document.model_dump(mode="json"),
            "exporter_salt": "0x" + exporter_salt.hex(),
            "importer_salt": "0x" + importer_salt.hex(),
            "signature": "0x" + bytes(signature).hex(),
            "doc_hash": "0x" + doc_hash.hex(),
        }


def index_time(indexer: Indexer) -> int:
    """The Unix time statuses are read at: this host's clock, or the time of the block the
    index has reached when the chain's clock is ahead of it.

    Expiry is the registry's rule, judged by block time: a certificate whose receipt the
    registry refuses as expired must not read as shipped because this host's clock is
    behind the chain's. The indexer already reads every block's time, so this costs nothing.
    """
    return max(int(time.time()), indexer.head_time or 0)


def certificate_row(
    indexer: Indexer,
    session: Session,
    cert_no: str,
    lookup: Callable[[Session, str], Any] = queries.certificate,
) -> Any:
    """The indexed certificate `cert_no` (read by `lookup`), after one catch-up if need be.

    Raises:
        NotFoundError: the index has no such certificate.
    """
    # It may be on chain already and the index a block behind (another service issued it a
    # moment ago): caught up once before saying it does not exist.
    row = indexer.find(session, lambda s: lookup(s, cert_no))
    if row is None:
        raise NotFoundError(
            f"no certificate {cert_no}",
            code=ErrorCode.CERTIFICATE_NOT_FOUND,
            detail={"cert_no": cert_no},
        )
    return row


def participant_row(indexer: Indexer, session: Session, code: str) -> Any:
    """The indexed participant `code`, after one catch-up if need be.

    Raises:
        NotFoundError: the index has no such participant.
    """
    # As for certificates: the index may trail the chain (just after a start, or when
    # another service admitted it a moment ago).
    row = indexer.find(session, lambda s: queries.participant(s, code))
    if row is None:
        raise NotFoundError(
            f"participant {code} is not admitted",
            code=ErrorCode.PARTICIPANT_NOT_FOUND,
            detail={"code": code},
        )
    return row


def renderer(indexer: Indexer, others: Mapping[str, Renderer] | None = None) -> Renderer:
    """How the writer renders a finished operation: the index's view of what it wrote.

    Args:
        indexer: the index the views are read from.
        others: how the operation kinds of other concerns (the exchange, governance) are
            rendered, by kind.
    """
    renders = dict(others or {})

    def render(session: Session, operation: Operation) -> Response:
        now = index_time(indexer)
        if operation.kind in ("issue", "issue_batch"):
            numbers = [item["document"]["cert_no"] for item in operation.request["certificates"]]
            rows = [certificate_row(indexer, session, number) for number in numbers]
            return views.IssuedCertificates(
                certificates=views.certificate_views(session, rows, now=now)
            )
        if operation.kind in (ADD_AUTHORITY, REVOKE_AUTHORITY):
            return views.participant_view(
                session, participant_row(indexer, session, operation.subject)
            )
        if operation.kind in renders:
            return renders[operation.kind](session, operation)
        return views.certificate_view(
            session, certificate_row(indexer, session, operation.subject), now=now
        )

    return render


# --- the calls each operation kind makes --------------------------------------------------------


def _issue(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    items = request["certificates"]
    certificates = [
        to_contract(
            CertificateDocument.model_validate(item["document"]),
            exporter_salt=bytes.fromhex(item["exporter_salt"][2:]),
            importer_salt=bytes.fromhex(item["importer_salt"][2:]),
        )
        for item in items
    ]
    signatures = [bytes.fromhex(item["signature"][2:]) for item in items]
    if len(certificates) == 1:
        return registry.issue(certificates[0], request["signer"], signatures[0])
    return registry.issue_batch(certificates, request["signer"], signatures)


def _ship(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    return registry.ship(request["cert_no"], seal_ref_hash(request.get("seal_ref")))


def _receive(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    cert_no = request["cert_no"]
    body = ReceiveRequest.model_validate({k: v for k, v in request.items() if k != "cert_no"})
    parcels, carats, received_at, digest = confirmation_to_contract(cert_no, body)
    return registry.confirm_receipt(cert_no, Confirmation(parcels, carats, received_at, digest))


def _reject(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    return registry.reject(request["cert_no"], rejection_reason_code(request["reason"]))


def _cancel(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    return registry.cancel(request["cert_no"])


def _withdraw(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    reason = withdrawal_reason_code(request["reason"])
    return registry.withdraw_shipment(request["cert_no"], reason)


def _add_authority(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    return registry.add_authority(request["code"], request["account"])


def _revoke_authority(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    return registry.revoke_authority(request["code"], request["account"])


CALLS: Mapping[str, CallBuilder] = {
    "issue": _issue,
    "issue_batch": _issue,
    "ship": _ship,
    "receive": _receive,
    "reject": _reject,
    "cancel": _cancel,
    "withdraw": _withdraw,
    ADD_AUTHORITY: _add_authority,
    REVOKE_AUTHORITY: _revoke_authority,
}
"""How each operation kind of this module becomes a registry call (for the writer)."""


# --- authorization -------------------------------------------------------------------------------


def _acting_participant(principal: Principal) -> str:
    if principal.participant is None:
        raise PermissionDeniedError(
            "a governor key acts for no participant; use a participant's key",
            code=ErrorCode.PARTICIPANT_KEY_REQUIRED,
        )
    return principal.participant


def _require_party(actor: str, party: str, role: str, cert_no: str) -> None:
    if actor != party:
        raise PermissionDeniedError(
            f"only the {role} participant ({party}) can do this to {cert_no}; "
            f"this key is {actor}'s",
            code=ErrorCode.PARTICIPANT_MISMATCH,
            detail={"cert_no": cert_no, "participant": actor, "required": party},
        )


def _require_reader(principal: Principal, exporting: str, importing: str, cert_no: str) -> None:
    if principal.role == "governor":
        return
    _require_party_reader(principal, exporting, importing, cert_no)


def _require_party_reader(
    principal: Principal, exporting: str, importing: str, cert_no: str
) -> None:
    if principal.participant is None:
        raise PermissionDeniedError(
            f"the document of {cert_no} names the exporter and the importer: only keys of "
            f"{exporting} and {importing} read it",
            code=ErrorCode.PARTICIPANT_KEY_REQUIRED,
            detail={"cert_no": cert_no},
        )
    if principal.participant not in (exporting, importing):
        raise PermissionDeniedError(
            f"{cert_no} is between {exporting} and {importing}; "
            f"this key is {principal.participant}'s",
            code=ErrorCode.PARTICIPANT_MISMATCH,
            detail={"cert_no": cert_no, "participant": principal.participant},
        )


# --- checks the registry cannot make, or makes only once gas would be spent ---------------------


def _check_validity(document: CertificateDocument, max_days: int | None) -> None:
    """The service's own maximum validity (`KPCHAIN_MAX_VALIDITY_DAYS`), checked before any
    transaction. The registry's `maxValidity` is checked by the contract itself (its gas estimate
    reverts with CertificateValidityTooLong, the same code), and no setting can loosen it."""
    days = validity_days(document.issued_at, document.expires_at)
    if max_days is None or days <= max_days:
        return
    raise InvalidRequestError(
        f"{document.cert_no} would be valid on {days} days ({document.issued_at.isoformat()} "
        f"through {document.expires_at.isoformat()}); this service issues certificates valid on "
        f"at most {max_days} days (KPCHAIN_MAX_VALIDITY_DAYS): give an earlier expires_at",
        code=ErrorCode.CERTIFICATE_VALIDITY_TOO_LONG,
        detail={
            "cert_no": document.cert_no,
            "issued_at": document.issued_at.isoformat(),
            "expires_at": document.expires_at.isoformat(),
            "validity_days": days,
            "max_validity_days": max_days,
        },
    )


def _check_received_at(row: Any, received_at: date, *, now: int) -> None:
    """A receipt is dated from the shipping day (the index has its block's time; the registry
    keeps no such time) to today: UTC, or the chain's day when its clock is ahead (`now`).
    A certificate not shipped is left to the registry (CertificateStatusInvalid)."""
    cert_no = row.cert_no
    if row.shipped_time is not None:
        shipped = date_from_seconds(row.shipped_time)
        if received_at < shipped:
            raise InvalidRequestError(
                f"received_at {received_at.isoformat()} is before {cert_no} was shipped "
                f"({shipped.isoformat()}): give the date the shipment arrived",
                code=ErrorCode.RECEIPT_DATE_BEFORE_SHIPPING,
                detail={
                    "cert_no": cert_no,
                    "received_at": received_at.isoformat(),
                    "shipped_at": shipped.isoformat(),
                },
            )
    today = date_from_seconds(now)
    if received_at > today:
        raise InvalidRequestError(
            f"received_at {received_at.isoformat()} is after today ({today.isoformat()}, UTC): "
            "a receipt is confirmed once the shipment has arrived",
            code=ErrorCode.RECEIPT_DATE_IN_FUTURE,
            detail={
                "cert_no": cert_no,
                "received_at": received_at.isoformat(),
                "today": today.isoformat(),
            },
        )


def _check_late_receipt(row: Any, received_at: date, *, now: int, grace_period: int) -> None:
    """A shipment whose certificate expired (`now`, block time, past its `expires_at`) may still be
    confirmed within the registry's grace period after the expiry, when it arrived by then: the
    receipt date on or before the expiry date. Refused otherwise with the registry's own error
    (409 certificate_expired, detail.error CertificateExpired), before any gas is spent.

    The registry compares the receipt date's 00:00 UTC with the expiry instant, which for an
    exporter west of UTC also lets the next UTC date through; this checks the rule as the KP
    states it, by the expiry date.
    """
    cert_no = row.cert_no
    expires_on = expiry_date(row.expires_at)
    deadline = row.expires_at + grace_period
    detail = {
        "error": "CertificateExpired",
        "cert_no": cert_no,
        "expires_at": expires_on.isoformat(),
        "received_at": received_at.isoformat(),
        "grace_period_days": grace_period // SECONDS_PER_DAY,
    }
    if received_at > expires_on:
        raise ConflictError(
            f"{cert_no} expired on {expires_on.isoformat()} and the shipment is dated as "
            f"received on {received_at.isoformat()}, after its expiry: only a shipment that "
            "arrived by the expiry date may be confirmed late; reject it instead (reason: "
            "certificate expired)",
            code=ErrorCode.CERTIFICATE_EXPIRED,
            detail=detail,
        )
    if now > deadline:
        raise ConflictError(
            f"{cert_no} expired on {expires_on.isoformat()}, and the grace period of "
            f"{grace_period // SECONDS_PER_DAY} days to confirm a shipment received by then is "
            "over: reject it instead (reason: certificate expired)",
            code=ErrorCode.CERTIFICATE_EXPIRED,
            detail=detail,
        )


def _authority_holder(session: Session, account: str) -> str | None:
    """The participant `account` is an authority of now, as the index has it (an account acts
    for one participant at a time), or None."""
    terms = queries.authority_history(session, account)
    if terms and terms[-1].revoked_block is None:
        return terms[-1].participant
    return None


def _check_authority_change(kind: str, code: str, account: str, holder: str | None) -> None:
    """Refuses what the registry would revert, with its error's code: adding an account that is
    an authority already (of any participant), revoking one that is not `code`'s."""
    if kind == ADD_AUTHORITY and holder is not None:
        raise ConflictError(
            f"{account} is an authority of {holder} already: an account acts for one "
            "participant at a time (its admin revokes it first)",
            code=ErrorCode.AUTHORITY_ALREADY_REGISTERED,
            detail={"account": account, "participant": holder},
        )
    if kind == REVOKE_AUTHORITY and holder != code:
        held = "no participant's" if holder is None else f"{holder}'s"
        raise ConflictError(
            f"{account} is not a current authority of {code} (it is {held}): nothing to revoke",
            code=ErrorCode.AUTHORITY_NOT_REGISTERED,
            detail={"account": account, "participant": code},
        )


def _already_exists(cert_no: str) -> ConflictError:
    return ConflictError(
        f"certificate {cert_no} already exists",
        code=ErrorCode.CERTIFICATE_ALREADY_EXISTS,
        detail={"cert_no": cert_no},
    )


def _issue_live(session: Session, document: Document) -> bool:
    """Whether the issue that recorded `document` is done or may still be (not failed)."""
    operation = session.get(Operation, document.operation_id)
    return operation is not None and operation.status != "failed"
