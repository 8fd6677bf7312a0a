"""Events -> projections: the one place that turns registry events into certificates,
participants, zones and authority terms.

`project` applies one event on top of the projections; the indexer calls it for each new
event, and `rederive` replays the remaining events of the certificates and participants a reorg
touched. Both therefore agree by construction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kpchain.contracts.enums import ParticipantStatus, RejectionReason, WithdrawalReason
from kpchain.governance import projection as governance
from kpchain.indexer.decoding import MIXED_ORIGIN, code_of, text_of
from kpchain.indexer.tables import (
    Authority,
    Certificate,
    CertificateLine,
    Event,
    Participant,
    ParticipantZone,
    ServiceEndpoint,
)

logger = logging.getLogger(__name__)

INT64_MAX = 2**63 - 1
_CHUNK = 500  # keys per IN (...) list, well under every database's parameter limit

T = TypeVar("T")


def project(session: Session, event: Event) -> None:
    """Applies `event` to the projections in `session` (events the projections do not use,
    such as role changes, are left alone)."""
    handler = _HANDLERS.get(event.name)
    if handler is not None:
        handler(session, event)
    else:
        governance.project(session, event)


def rederive(session: Session, *, cert_nos: Collection[str], codes: Collection[str]) -> None:
    """Rebuilds the projections of certificates `cert_nos` and participants `codes` from the
    events left in the table: deletes their rows, then replays their events in chain order."""
    for chunk in _chunks(cert_nos):
        session.execute(delete(CertificateLine).where(CertificateLine.cert_no.in_(chunk)))
        session.execute(delete(Certificate).where(Certificate.cert_no.in_(chunk)))
    for chunk in _chunks(codes):
        session.execute(delete(ParticipantZone).where(ParticipantZone.code.in_(chunk)))
        session.execute(delete(Authority).where(Authority.participant.in_(chunk)))
        session.execute(delete(ServiceEndpoint).where(ServiceEndpoint.participant.in_(chunk)))
        session.execute(delete(Participant).where(Participant.code.in_(chunk)))
    # Bulk deletes bypass the identity map: forget any object loaded before them.
    session.expunge_all()
    replay: dict[int, Event] = {}
    for certs, participants in _pairs(list(cert_nos), list(codes)):
        query = select(Event).where(
            or_(Event.cert_no.in_(certs), Event.participant.in_(participants))
        )
        replay.update((event.id, event) for event in session.scalars(query))
    for event in sorted(replay.values(), key=lambda e: (e.block_number, e.log_index)):
        project(session, event)
    # Governance events name no certificate nor participant column: rebuilt whole (a few rows).
    governance.rederive(session)


# --- certificates ------------------------------------------------------------------------------


def _issued(session: Session, event: Event) -> None:
    args = event.args
    # No lookup first: numbers are unique on chain (CertificateAlreadyExists), and an event is
    # projected once (the indexer skips stored ones; a reorg deletes before it replays).
    cert_no = _require(event.cert_no)
    lines = [
        CertificateLine(
            position=position,
            hs_code=int(line["hsCode"]),
            carats_hundredths=_int64(line["carats"], cert_no),
            value_cents=_int64(line["valueUsdCents"], cert_no),
            parcels=int(line["parcels"]),
        )
        for position, line in enumerate(args["lines"])
    ]
    session.add(
        Certificate(
            cert_no=cert_no,
            exporting=_require(event.exporting),
            importing=_require(event.importing),
            origin=code_of(args["origin"]) or MIXED_ORIGIN,
            provenance=code_of(args["provenance"]),
            origin_zone=_nonzero(args["originZone"]),
            exporter_hash=args["exporterHash"],
            importer_hash=args["importerHash"],
            issued_at=int(args["issuedAt"]),
            expires_at=int(args["expiresAt"]),
            issuing_authority=str(args["issuingAuthority"]),
            replaces=text_of(args["replaces"]) if _nonzero(args["replaces"]) else None,
            doc_hash=args["docHash"],
            signer=args["signer"],
            status="issued",
            carats_hundredths=_int64(sum(line.carats_hundredths for line in lines), cert_no),
            value_cents=_int64(sum(line.value_cents for line in lines), cert_no),
            parcels=sum(line.parcels for line in lines),
            issued_block=event.block_number,
            issued_tx=event.tx_hash,
            issued_time=event.block_time,
            lines=lines,
        )
    )


def _shipped(session: Session, event: Event) -> None:
    cert = _step(session, event, "shipped")
    if cert is not None:
        cert.seal_ref_hash = _nonzero(event.args["sealRef"])


def _received(session: Session, event: Event) -> None:
    cert = _step(session, event, "received")
    if cert is None:
        return
    confirmation = event.args["confirmation"]
    cert.received_parcels = int(confirmation["parcels"])
    cert.received_carats_hundredths = _int64(confirmation["carats"], cert.cert_no)
    cert.received_at = int(confirmation["receivedAt"])
    cert.confirmation_hash = confirmation["confirmationHash"]


def _rejected(session: Session, event: Event) -> None:
    cert = _step(session, event, "rejected")
    if cert is not None:
        cert.rejection_reason = _label(RejectionReason, event.args["reason"])


def _cancelled(session: Session, event: Event) -> None:
    _step(session, event, "cancelled")


def _withdrawn(session: Session, event: Event) -> None:
    # The registry moves a withdrawn shipment to Cancelled: the same status and step, with why.
    cert = _step(session, event, "cancelled")
    if cert is not None:
        cert.withdrawal_reason = _label(WithdrawalReason, event.args["reason"])


def _step(session: Session, event: Event, step: str) -> Certificate | None:
    """Moves the event's certificate to status `step` and records the step's block,
    transaction, time and acting authority (the `<step>_*` columns)."""
    cert = _certificate(session, event)
    if cert is None:
        return None
    cert.status = step
    setattr(cert, f"{step}_block", event.block_number)
    setattr(cert, f"{step}_tx", event.tx_hash)
    setattr(cert, f"{step}_time", event.block_time)
    setattr(cert, f"{step}_authority", event.args["authority"])
    return cert


def _certificate(session: Session, event: Event) -> Certificate | None:
    cert = session.get(Certificate, _require(event.cert_no))
    if cert is None:
        # Only when indexing started after the certificate was issued (start_block too high).
        logger.warning("%s for unknown certificate %s: skipped", event.name, event.cert_no)
    return cert


# --- participants ------------------------------------------------------------------------------


def _admitted(session: Session, event: Event) -> None:
    code = _require(event.participant)  # admitted once on chain (ParticipantAlreadyAdmitted)
    session.add(
        Participant(
            code=code,
            status=ParticipantStatus.ACTIVE.label,
            admin=event.args["admin"],
            origin_restricted=False,
            admitted_block=event.block_number,
            admitted_time=event.block_time,
        )
    )


def _status_changed(session: Session, event: Event) -> None:
    participant = _participant(session, event)
    if participant is not None:
        participant.status = _label(ParticipantStatus, event.args["status"])


def _admin_changed(session: Session, event: Event) -> None:
    participant = _participant(session, event)
    if participant is not None:
        participant.admin = event.args["admin"]


def _restriction_changed(session: Session, event: Event) -> None:
    participant = _participant(session, event)
    if participant is not None:
        participant.origin_restricted = bool(event.args["restricted"])


def _zone_changed(session: Session, event: Event) -> None:
    participant = _participant(session, event)
    if participant is None:
        return
    zone = session.get(ParticipantZone, (participant.code, event.args["zone"]))
    if event.args["allowed"] and zone is None:
        session.add(
            ParticipantZone(
                code=participant.code, zone_id=event.args["zone"], allowed_block=event.block_number
            )
        )
    elif not event.args["allowed"] and zone is not None:
        session.delete(zone)


def _authority_added(session: Session, event: Event) -> None:
    participant = _participant(session, event)
    if participant is None:
        return
    session.add(
        Authority(
            address=event.args["account"],
            participant=participant.code,
            added_block=event.block_number,
            added_time=event.block_time,
            added_tx=event.tx_hash,
            added_by=event.args["admin"],
        )
    )


def _authority_revoked(session: Session, event: Event) -> None:
    term = session.scalars(
        select(Authority)
        .where(
            Authority.address == event.args["account"],
            Authority.participant == event.participant,
            Authority.revoked_block.is_(None),
        )
        .order_by(Authority.id.desc())
        .limit(1)
    ).first()
    if term is None:
        logger.warning(
            "%s revoked as authority of %s, but never added in the events: skipped",
            event.args["account"],
            event.participant,
        )
        return
    term.revoked_block = event.block_number
    term.revoked_time = event.block_time
    term.revoked_tx = event.tx_hash
    term.revoked_by = event.args["admin"]


def _endpoint_set(session: Session, event: Event) -> None:
    participant = _participant(session, event)
    if participant is None:
        return
    session.add(
        ServiceEndpoint(
            participant=participant.code,
            block_number=event.block_number,
            log_index=event.log_index,
            url=str(event.args["url"]),
            encryption_key=event.args["encryptionKey"],
            block_time=event.block_time,
            tx_hash=event.tx_hash,
        )
    )


def _participant(session: Session, event: Event) -> Participant | None:
    participant = session.get(Participant, _require(event.participant))
    if participant is None:
        logger.warning("%s for unknown participant %s: skipped", event.name, event.participant)
    return participant


_HANDLERS: dict[str, Callable[[Session, Event], None]] = {
    "CertificateIssued": _issued,
    "CertificateShipped": _shipped,
    "CertificateReceived": _received,
    "CertificateRejected": _rejected,
    "CertificateCancelled": _cancelled,
    "ShipmentWithdrawn": _withdrawn,
    "ParticipantAdmitted": _admitted,
    "ParticipantStatusChanged": _status_changed,
    "ParticipantAdminChanged": _admin_changed,
    "OriginRestrictionChanged": _restriction_changed,
    "OriginZoneChanged": _zone_changed,
    "AuthorityAdded": _authority_added,
    "AuthorityRevoked": _authority_revoked,
    "ServiceEndpointSet": _endpoint_set,
}


# --- helpers -----------------------------------------------------------------------------------


def _require(value: str | None) -> str:
    if value is None:  # the decoder sets these keys for every event that has them
        raise ValueError("event lacks its key column")
    return value


def _nonzero(hex_value: str) -> str | None:
    """0x-hex, or None when all zero (the contract's "none")."""
    return None if int(hex_value, 16) == 0 else hex_value


def _int64(value: Any, cert_no: str) -> int:
    # A uint64 quantity (or a sum of them) may exceed a BIGINT column. No real shipment comes
    # near it (2**63 hundredths of a carat); clamping keeps the index moving, and the event in
    # `events.args` keeps the exact figure.
    number = int(value)
    if number > INT64_MAX:
        logger.error("%s has a quantity above 2**63-1 (%s): stored as 2**63-1", cert_no, number)
        return INT64_MAX
    return number


def _label(enum: Any, value: Any) -> str:
    try:
        return str(enum(int(value)).name.lower())
    except ValueError:
        return f"unknown_{int(value)}"  # a newer contract's value: shown, not fatal


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _pairs(certs: list[str], codes: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    """Chunks of both key lists, so one query's IN lists stay short."""
    for start in range(0, max(len(certs), len(codes)), _CHUNK):
        yield certs[start : start + _CHUNK], codes[start : start + _CHUNK]
