"""What the exchange's routes answer: a participant's endpoint and key history, a certificate's
delivery state, the receipt of an envelope; and the signed document this service holds of a
certificate, whether it issued it or received it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kpchain.certificates.fields import Address, Hex32, ParticipantCode
from kpchain.exchange.tables import Delivery
from kpchain.indexer import queries
from kpchain.service.tables import ReceivedDocument

_CONFIG = ConfigDict(extra="forbid", frozen=True)

DeliveryState = Literal["pending", "delivered", "failed"]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def aware(value: datetime) -> datetime:
    """`value` in UTC: SQLite gives back a stored time without its zone, which was UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Time = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class EndpointRegistration(BaseModel):
    """One registration of a service endpoint and encryption key, as the chain recorded it."""

    model_config = _CONFIG

    url: str
    encryption_key: Hex32
    block_number: int = Field(ge=0)
    at: Time
    tx_hash: Hex32


class EndpointView(BaseModel):
    """`GET /v1/participants/{code}/endpoint`: where a participant's service takes documents
    and the X25519 key to encrypt them to (None when it has registered none), with every
    registration it has made (the last one is in force)."""

    model_config = _CONFIG

    code: ParticipantCode
    url: str | None
    encryption_key: Hex32 | None
    history: list[EndpointRegistration]


class DeliveryError(BaseModel):
    """Why the last delivery attempt failed (or why none could be made yet)."""

    model_config = _CONFIG

    code: str = Field(examples=["endpoint_unreachable", "endpoint_missing"])
    message: str


class DeliveryView(BaseModel):
    """`GET /v1/certificates/{cert_no}/delivery`: whether the certificate's signed document has
    reached the importer's service.

    Attributes:
        direction: "outbound" at the exporter's service (it delivers), "inbound" at the
            importer's (it receives).
        state: pending (not yet sent, or waiting for the importer's endpoint), failed (the last
            attempt failed and is retried at `next_attempt_at`), delivered.
        local: the importer is hosted by this same service, which holds the document already.
        attempts: delivery attempts so far (outbound).
        endpoint: the importer's endpoint of the last attempt.
        encryption_key: the importer's key the document was (last) encrypted to.
        delivered_at: when the importer's service acknowledged it (outbound) or received it
            (inbound).
    """

    model_config = _CONFIG

    cert_no: str
    direction: Literal["outbound", "inbound"]
    sender: ParticipantCode
    recipient: ParticipantCode
    doc_hash: Hex32
    state: DeliveryState
    local: bool = False
    attempts: int = Field(default=0, ge=0)
    last_attempt_at: Time | None = None
    next_attempt_at: Time | None = None
    delivered_at: Time | None = None
    endpoint: str | None = None
    encryption_key: Hex32 | None = None
    error: DeliveryError | None = None


class EnvelopeReceipt(BaseModel):
    """The importer's service's acknowledgement of an envelope: the document is stored."""

    model_config = _CONFIG

    cert_no: str
    doc_hash: Hex32
    sender: ParticipantCode
    recipient: ParticipantCode
    signer: Address = Field(description="The authority that signed the document.")
    received_at: Time
    duplicate: bool = Field(
        description="True when this service had already received this document (a retry)."
    )


def endpoint_view(session: Session, code: str) -> EndpointView:
    """`code`'s endpoint and key history, from the index."""
    history = [
        {
            "url": row.url,
            "encryption_key": row.encryption_key,
            "block_number": row.block_number,
            "at": _time(row.block_time),
            "tx_hash": row.tx_hash,
        }
        for row in queries.service_endpoints(session, code)
    ]
    current = history[-1] if history else None
    view = {
        "code": code,
        "url": None if current is None else current["url"],
        "encryption_key": None if current is None else current["encryption_key"],
        "history": history,
    }
    return EndpointView.model_validate(view)


def outbound_view(delivery: Delivery) -> DeliveryView:
    """The exporter's view of a delivery."""
    error = None
    if delivery.error_code is not None:
        error = {"code": delivery.error_code, "message": delivery.error or ""}
    waiting = delivery.state != "delivered"
    view = {
        "cert_no": delivery.cert_no,
        "direction": "outbound",
        "sender": delivery.sender,
        "recipient": delivery.recipient,
        "doc_hash": delivery.doc_hash,
        "state": delivery.state,
        "local": delivery.local,
        "attempts": delivery.attempts,
        "last_attempt_at": _optional_time(delivery.last_attempt_at),
        "next_attempt_at": _optional_time(delivery.next_attempt_at) if waiting else None,
        "delivered_at": _optional_time(delivery.delivered_at),
        "endpoint": delivery.endpoint,
        "encryption_key": delivery.encryption_key,
        "error": error,
    }
    return DeliveryView.model_validate(view)


def inbound_view(
    *, cert_no: str, sender: str, recipient: str, doc_hash: str, received: ReceivedDocument | None
) -> DeliveryView:
    """The importer's view: delivered once the document is in the inbox, pending until then."""
    view: dict[str, Any] = {
        "cert_no": cert_no,
        "direction": "inbound",
        "sender": sender,
        "recipient": recipient,
        "doc_hash": doc_hash,
        "state": "pending",
    }
    if received is not None:
        view.update(
            state="delivered",
            delivered_at=aware(received.received_at),
            encryption_key=received.encryption_key,
        )
    return DeliveryView.model_validate(view)


def delivery_states(session: Session, cert_nos: list[str]) -> dict[str, str]:
    """The outbox's state of each of `cert_nos` this service delivers, by number."""
    if not cert_nos:
        return {}
    rows = session.execute(
        select(Delivery.cert_no, Delivery.state).where(Delivery.cert_no.in_(cert_nos))
    )
    return {cert_no: state for cert_no, state in rows}


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _optional_time(seconds: int | None) -> datetime | None:
    return None if seconds is None else _time(seconds)
