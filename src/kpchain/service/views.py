"""Index rows to the API's views (DESIGN.md section 4): the domain's view models, which the
routes answer with as they are (a write stores its view as JSON in `operations.response`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Row, Table, bindparam, literal, literal_column, select
from sqlalchemy.orm import Session

from kpchain.certificates import views as view_models
from kpchain.certificates.conversions import (
    cents_to_usd,
    date_from_seconds,
    expiry_date,
    hs_code_text,
    hundredths_to_carats,
)
from kpchain.contracts.enums import ParticipantStatus
from kpchain.indexer import queries
from kpchain.indexer import tables as index
from kpchain.service.tables import Document, ReceivedDocument
from kpchain.vocabulary import StepName

# The names the event stream and webhooks give the registry's certificate events.
_EVENT_NAMES = {
    "CertificateIssued": "certificate.issued",
    "CertificateShipped": "certificate.shipped",
    "CertificateReceived": "certificate.received",
    "CertificateRejected": "certificate.rejected",
    "CertificateCancelled": "certificate.cancelled",
    "ShipmentWithdrawn": "certificate.withdrawn",
}
EVENT_NAMES: tuple[str, ...] = tuple(_EVENT_NAMES.values())
"""Every event name the stream and webhooks use."""


def certificate_view(
    session: Session, row: queries.CertificateRecord, *, now: int
) -> view_models.CertificateView:
    """The certificate view of `row` at time `now` (expiry is derived from it)."""
    return _certificate_view(
        row,
        _held_bodies(session, {row.cert_no: row.doc_hash}).get(row.cert_no),
        now=now,
        replaced_by=queries.replaced_by(session, row.cert_no),
    )


def certificate_views(
    session: Session, rows: Sequence[queries.CertificateRecord], *, now: int
) -> list[view_models.CertificateView]:
    """The views of a page of rows, with the documents this service holds (issued here or
    received) read in one query."""
    numbers = [row.cert_no for row in rows]
    documents = _held_bodies(session, {row.cert_no: row.doc_hash for row in rows})
    replacements = queries.replacements(session, numbers)
    return [
        _certificate_view(
            row,
            documents.get(row.cert_no),
            now=now,
            replaced_by=replacements.get(row.cert_no),
        )
        for row in rows
    ]


def held_document(
    session: Session, cert_no: str, doc_hash: str
) -> Document | ReceivedDocument | None:
    """The signed document of `cert_no` whose hash is `doc_hash` (the chain's) that this service
    holds: the one it issued, or the one it received. None when it holds neither."""
    issued = session.get(Document, cert_no)
    if issued is not None and issued.doc_hash == doc_hash:
        return issued
    received = session.get(ReceivedDocument, cert_no)
    if received is not None and received.doc_hash == doc_hash:
        return received
    return None


def held_documents(session: Session, cert_nos: list[str]) -> dict[str, Document | ReceivedDocument]:
    """The documents this service holds of `cert_nos`, issued or received, by number (the
    caller compares their hashes with the chain's)."""
    if not cert_nos:
        return {}
    found: dict[str, Document | ReceivedDocument] = {
        row.cert_no: row
        for row in session.scalars(
            select(ReceivedDocument).where(ReceivedDocument.cert_no.in_(cert_nos))
        )
    }
    found.update(
        (row.cert_no, row)
        for row in session.scalars(select(Document).where(Document.cert_no.in_(cert_nos)))
    )
    return found


def _held_bodies(session: Session, hashes: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The document body this service holds of each number of `hashes` (number -> the chain's
    document hash), in one statement: as `held_document`, the one it issued, else the one it
    received, of that hash."""
    if not hashes:
        return {}
    found: dict[str, dict[str, Any]] = {}
    # Received ones first: one issued here, of the same hash, takes its place.
    for cert_no, doc_hash, document, _rank in session.connection().execute(
        _HELD_BODIES, {"cert_nos": list(hashes)}
    ):
        if hashes[cert_no] == doc_hash:
            found[cert_no] = document
    return found


_documents = cast(Table, Document.__table__)
_received = cast(Table, ReceivedDocument.__table__)
_HELD_BODIES = (
    select(
        _received.c.cert_no.label("cert_no"),
        _received.c.doc_hash.label("doc_hash"),
        _received.c.document.label("document"),
        literal(1).label("rank"),
    )
    .where(_received.c.cert_no.in_(bindparam("cert_nos", expanding=True)))
    .union_all(
        select(
            _documents.c.cert_no, _documents.c.doc_hash, _documents.c.document, literal(0)
        ).where(_documents.c.cert_no.in_(bindparam("cert_nos", expanding=True)))
    )
    .order_by(literal_column("rank").desc())
)
"""`_held_bodies`' statement: the received documents first, then the issued."""


def _certificate_view(
    row: queries.CertificateRecord,
    document: dict[str, Any] | None,
    *,
    now: int,
    replaced_by: str | None,
) -> view_models.CertificateView:
    """The view of `row`, with `document` (the signed document this service holds of it, whose
    hash is the chain's; None when it holds none)."""
    document_lines = (document or {}).get("lines") or []
    view = {
        "cert_no": row.cert_no,
        "exporting_participant": row.exporting,
        "importing_participant": row.importing,
        "origin": row.origin,
        "provenance": row.provenance,
        "origin_zone": (document or {}).get("origin_zone") or row.origin_zone,
        "exporter_hash": row.exporter_hash,
        "importer_hash": row.importer_hash,
        "lines": [
            {
                "hs_code": hs_code_text(line.hs_code),
                "carats": hundredths_to_carats(line.carats_hundredths),
                "value_usd": cents_to_usd(line.value_cents),
                "parcels": line.parcels,
                "origin": line.origin,
                "provenance": line.provenance,
                "origin_zone": _line_zone(document_lines, line),
            }
            for line in row.lines
        ],
        "issued_at": date_from_seconds(row.issued_at),
        "expires_at": expiry_date(row.expires_at),
        "issuing_authority": row.issuing_authority,
        "replaces": row.replaces,
        "status": queries.derived_status(row, now),
        "doc_hash": row.doc_hash,
        "signer": row.signer,
        "carats": hundredths_to_carats(row.carats_hundredths),
        "value_usd": cents_to_usd(row.value_cents),
        "parcels": row.parcels,
        "seal_ref_hash": row.seal_ref_hash,
        "confirmation": _confirmation(row),
        "discrepancy": discrepancy(row),
        "rejection_reason": row.rejection_reason,
        "withdrawal_reason": row.withdrawal_reason,
        "steps": _steps(row),
        "replaced_by": replaced_by,
    }
    return view_models.CertificateView.model_validate(view)


def _line_zone(
    document_lines: list[dict[str, Any]], line: index.CertificateLine | Row[Any]
) -> str | None:
    """A line's zone of origin: its name from the held document, else the index's zone id."""
    if line.origin_zone is None:
        return None
    if line.position < len(document_lines):
        name = document_lines[line.position].get("origin_zone")
        if isinstance(name, str):
            return name
    return line.origin_zone


def document_view(stored: Document | ReceivedDocument) -> view_models.CertificateDocumentView:
    """The signed document as its issuing service keeps it, or as the importer's service
    received it."""
    view = {
        "document": stored.document,
        "doc_hash": stored.doc_hash,
        "signature": stored.signature,
        "signer": stored.signer,
        "exporter_salt": stored.exporter_salt,
        "importer_salt": stored.importer_salt,
    }
    return view_models.CertificateDocumentView.model_validate(view)


def participant_view(session: Session, row: index.Participant) -> view_models.ParticipantView:
    """A participant of the registry with its zones and authority key history."""
    view = {
        "code": row.code,
        "status": row.status,
        "admin": row.admin,
        "origin_restricted": row.origin_restricted,
        "zones": [zone.zone_id for zone in row.zones],
        "authorities": [
            {
                "address": authority.address,
                "added_block": authority.added_block,
                "revoked_block": authority.revoked_block,
            }
            for authority in row.authorities
        ],
    }
    return view_models.ParticipantView.model_validate(view)


class IssuedCertificates(BaseModel):
    """What an issue (or a batch) answers, as `operations.response` stores it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certificates: list[view_models.CertificateView]


def participant_status(row: index.Participant) -> ParticipantStatus:
    return ParticipantStatus[row.status.upper()]


def event_name(contract_event: str) -> str | None:
    """The feed's name of a registry event (`certificate.shipped`), None for events the feed
    does not carry."""
    return _EVENT_NAMES.get(contract_event)


class EventView(BaseModel):
    """One entry of the event feed (`GET /v1/events`, and the webhooks' `data`). Its fields are
    the index's values as they are (no normalising types), so its JSON is what the feed and the
    webhooks have always sent, field for field in this order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    event: str
    cert_no: str | None
    exporting_participant: str | None
    importing_participant: str | None
    block_number: int
    tx_hash: str
    at: str
    args: dict[str, Any]


def event_view(row: index.Event) -> EventView:
    """One entry of the event feed (`GET /v1/events`)."""
    return EventView(
        id=row.id,
        event=row.name,
        cert_no=row.cert_no,
        exporting_participant=row.exporting,
        importing_participant=row.importing,
        block_number=row.block_number,
        tx_hash=row.tx_hash,
        at=_time(row.block_time),
        args=row.args,
    )


def discrepancy(row: queries.CertificateRecord) -> view_models.DiscrepancyView | None:
    """The discrepancy of `row`'s confirmation of receipt (the index's flag), or None."""
    if not row.discrepancy:
        return None
    assert row.received_parcels is not None  # set with the flag, on receipt
    assert row.received_carats_hundredths is not None
    return view_models.DiscrepancyView.of(
        certified=(row.parcels, hundredths_to_carats(row.carats_hundredths)),
        confirmed=(row.received_parcels, hundredths_to_carats(row.received_carats_hundredths)),
    )


def _confirmation(row: queries.CertificateRecord) -> dict[str, Any] | None:
    if row.received_at is None:
        return None
    assert row.received_carats_hundredths is not None
    return {
        "parcels": row.received_parcels,
        "carats": hundredths_to_carats(row.received_carats_hundredths),
        "received_at": date_from_seconds(row.received_at),
        "confirmation_hash": row.confirmation_hash,
    }


def _steps(row: queries.CertificateRecord) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    for step in StepName:
        block = getattr(row, f"{step}_block")
        if block is None:
            continue
        steps[step] = {
            "at": _time(getattr(row, f"{step}_time")),
            "block_number": block,
            "tx_hash": getattr(row, f"{step}_tx"),
            "authority": row.signer if step == "issued" else getattr(row, f"{step}_authority"),
        }
    return steps


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
