"""Events -> projections: the one place that turns registry events into certificates,
participants, zones and authority terms.

`project_all` applies a run of events, in chain order, on top of the projections; the indexer
calls it with each range's new events, and `rederive` with the remaining events of the
certificates and participants a reorg touched. Both therefore agree by construction.

Certificates are most of the events (three or more each) and depend on nothing but their own
events, so they are projected in bulk: the rows a run's steps need are read in one query, the
run is applied to them in memory, and the result is written in bulk (kpchain.indexer.bulk) and
with one executemany UPDATE per set of changed columns, never a query an event. Participants, their
zones, authorities and endpoints, and the governance (a few events in a year) go through the ORM
one event at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from kpchain.contracts.enums import ParticipantStatus, RejectionReason, WithdrawalReason
from kpchain.indexer import governance
from kpchain.indexer.bulk import insert_rows
from kpchain.indexer.decoding import code_of, text_of
from kpchain.indexer.tables import (
    Authority,
    Certificate,
    CertificateLine,
    Event,
    Participant,
    ParticipantZone,
    ServiceEndpoint,
)
from kpchain.vocabulary import MIXED

logger = logging.getLogger(__name__)

INT64_MAX = 2**63 - 1
_CHUNK = 500  # keys per IN (...) list, well under every database's parameter limit

T = TypeVar("T")


class EventRecord(Protocol):
    """What a projection reads of an event: an `Event` row, or a `DecodedEvent` not yet
    stored."""

    @property
    def block_number(self) -> int: ...
    @property
    def block_hash(self) -> str: ...
    @property
    def block_time(self) -> int: ...
    @property
    def tx_hash(self) -> str: ...
    @property
    def log_index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def cert_no(self) -> str | None: ...
    @property
    def exporting(self) -> str | None: ...
    @property
    def importing(self) -> str | None: ...
    @property
    def participant(self) -> str | None: ...
    @property
    def args(self) -> dict[str, Any]: ...


def project(session: Session, event: EventRecord) -> None:
    """Applies `event` to the projections in `session` (events the projections do not use,
    such as role changes, are left alone)."""
    project_all(session, [event])


def project_all(session: Session, events: Sequence[EventRecord]) -> None:
    """Applies `events`, in their order (the chain's), to the projections in `session`."""
    certificates = _Certificates(session, events)
    for event in events:
        if event.name in _CERTIFICATE_EVENTS:
            certificates.apply(event)
            continue
        handler = _HANDLERS.get(event.name)
        if handler is not None:
            handler(session, event)
        else:
            governance.project(session, _orm_event(event))
    certificates.write()


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
    project_all(session, sorted(replay.values(), key=lambda e: (e.block_number, e.log_index)))
    # Governance events name no certificate nor participant column: rebuilt whole (a few rows).
    governance.rederive(session)


def _orm_event(event: EventRecord) -> Event:
    if isinstance(event, Event):
        return event
    return Event(
        block_number=event.block_number,
        block_hash=event.block_hash,
        block_time=event.block_time,
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        name=event.name,
        cert_no=event.cert_no,
        exporting=event.exporting,
        importing=event.importing,
        participant=event.participant,
        args=event.args,
    )


# --- certificates ------------------------------------------------------------------------------

_STEPS = {
    "CertificateShipped": "shipped",
    "CertificateReceived": "received",
    "CertificateRejected": "rejected",
    "CertificateCancelled": "cancelled",
    # The registry moves a withdrawn shipment to Cancelled: the same status and step, with why.
    "ShipmentWithdrawn": "cancelled",
}
_CERTIFICATE_EVENTS = {"CertificateIssued", *_STEPS}
_CERTIFICATES: Table = Certificate.__table__  # type: ignore[assignment]
_LINES: Table = CertificateLine.__table__  # type: ignore[assignment]
# Built once: a one-event write (the service's, after each transaction) pays no statement
# construction, and the compiled forms are found in SQLAlchemy's cache.
_READ_CERTIFICATES = select(_CERTIFICATES).where(
    _CERTIFICATES.c.cert_no.in_(bindparam("nos", expanding=True))
)
# The SET clause is the other parameters of each executemany.
_UPDATE_CERTIFICATE = update(_CERTIFICATES).where(_CERTIFICATES.c.cert_no == bindparam("b_cert_no"))

Row = dict[str, Any]


class _Certificates:
    """The certificate rows one run of events touches, in memory until `write`."""

    def __init__(self, session: Session, events: Sequence[EventRecord]) -> None:
        self._session = session
        self._rows: dict[str, Row] = {}  # cert no -> every column
        self._lines: dict[str, list[Row]] = {}  # of the certificates issued in this run
        self._changed: dict[str, set[str]] = {}  # stored certificates: columns changed
        issued: set[str] = set()
        stored: set[str] = set()
        for event in events:
            if event.name == "CertificateIssued":
                issued.add(_require(event.cert_no))
            elif event.name in _STEPS and event.cert_no not in issued:
                stored.add(_require(event.cert_no))
        for chunk in _chunks(sorted(stored)):
            for row in session.execute(_READ_CERTIFICATES, {"nos": chunk}).mappings():
                self._rows[row["cert_no"]] = dict(row)

    def apply(self, event: EventRecord) -> None:
        if event.name == "CertificateIssued":
            self._issued(event)
            return
        cert_no = _require(event.cert_no)
        row = self._rows.get(cert_no)
        if row is None:
            # Only when indexing started after the certificate was issued (start_block too high).
            logger.warning("%s for unknown certificate %s: skipped", event.name, cert_no)
            return
        step = _STEPS[event.name]
        args = event.args
        changes: Row = {
            "status": step,
            f"{step}_block": event.block_number,
            f"{step}_tx": event.tx_hash,
            f"{step}_time": event.block_time,
            f"{step}_authority": args["authority"],
        }
        if event.name == "CertificateShipped":
            changes["seal_ref_hash"] = _nonzero(args["sealRef"])
        elif event.name == "CertificateReceived":
            confirmation = args["confirmation"]
            changes["received_parcels"] = int(confirmation["parcels"])
            changes["received_carats_hundredths"] = _int64(confirmation["carats"], cert_no)
            changes["received_at"] = int(confirmation["receivedAt"])
            changes["confirmation_hash"] = confirmation["confirmationHash"]
        elif event.name == "CertificateRejected":
            changes["rejection_reason"] = _label(RejectionReason, args["reason"])
        elif event.name == "ShipmentWithdrawn":
            changes["withdrawal_reason"] = _label(WithdrawalReason, args["reason"])
        row.update(changes)
        if cert_no not in self._lines:
            self._changed.setdefault(cert_no, set()).update(changes)

    def _issued(self, event: EventRecord) -> None:
        args = event.args
        # No lookup first: numbers are unique on chain (CertificateAlreadyExists), and an event
        # is projected once (the indexer skips stored ones; a reorg deletes before it replays).
        cert_no = _require(event.cert_no)
        lines: list[Row] = [
            {
                "cert_no": cert_no,
                "position": position,
                "hs_code": int(line["hsCode"]),
                "carats_hundredths": _int64(line["carats"], cert_no),
                "value_cents": _int64(line["valueUsdCents"], cert_no),
                "parcels": int(line["parcels"]),
            }
            for position, line in enumerate(args["lines"])
        ]
        row: Row = dict.fromkeys(_CERTIFICATES.c.keys())
        row.update(
            cert_no=cert_no,
            exporting=_require(event.exporting),
            importing=_require(event.importing),
            origin=code_of(args["origin"]) or MIXED,
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
            carats_hundredths=_int64(sum(line["carats_hundredths"] for line in lines), cert_no),
            value_cents=_int64(sum(line["value_cents"] for line in lines), cert_no),
            parcels=sum(line["parcels"] for line in lines),
            issued_block=event.block_number,
            issued_tx=event.tx_hash,
            issued_time=event.block_time,
        )
        self._rows[cert_no] = row
        self._lines[cert_no] = lines

    def write(self) -> None:
        """Inserts the certificates issued in the run, updates the stored ones it moved."""
        session = self._session
        if self._lines:
            insert_rows(session, _CERTIFICATES, [self._rows[no] for no in self._lines])
            insert_rows(session, _LINES, [line for rows in self._lines.values() for line in rows])
        # One executemany per set of changed columns.
        by_columns: dict[tuple[str, ...], list[Row]] = {}
        for cert_no, changed in self._changed.items():
            row = self._rows[cert_no]
            key = tuple(sorted(changed))
            by_columns.setdefault(key, []).append(
                {"b_cert_no": cert_no, **{column: row[column] for column in key}}
            )
        for rows in by_columns.values():
            session.execute(_UPDATE_CERTIFICATE, rows)


# --- participants ------------------------------------------------------------------------------


def _admitted(session: Session, event: EventRecord) -> None:
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


def _status_changed(session: Session, event: EventRecord) -> None:
    participant = _participant(session, event)
    if participant is not None:
        participant.status = _label(ParticipantStatus, event.args["status"])


def _admin_changed(session: Session, event: EventRecord) -> None:
    participant = _participant(session, event)
    if participant is not None:
        participant.admin = event.args["admin"]


def _restriction_changed(session: Session, event: EventRecord) -> None:
    participant = _participant(session, event)
    if participant is not None:
        participant.origin_restricted = bool(event.args["restricted"])


def _zone_changed(session: Session, event: EventRecord) -> None:
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


def _authority_added(session: Session, event: EventRecord) -> None:
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


def _authority_revoked(session: Session, event: EventRecord) -> None:
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


def _endpoint_set(session: Session, event: EventRecord) -> None:
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


def _participant(session: Session, event: EventRecord) -> Participant | None:
    participant = session.get(Participant, _require(event.participant))
    if participant is None:
        logger.warning("%s for unknown participant %s: skipped", event.name, event.participant)
    return participant


_HANDLERS: dict[str, Callable[[Session, EventRecord], None]] = {
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
