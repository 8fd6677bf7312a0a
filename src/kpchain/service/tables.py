"""The service's own tables (migrations 0002_service, 0003_webhooks, 0005_dashboard_sessions,
0006_exchange for the received documents, 0009_drafts); the index's tables are in
`kpchain.indexer.tables`, the exchange's keys and outbox in `kpchain.exchange.tables`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kpchain.store import Base


class ApiKey(Base):
    """An API key: a public id and the SHA-256 of its secret, scoped to a participant and role.

    The secret has 256 bits of entropy, so a plain hash is as strong as a slow one and keeps each
    request cheap; the secret itself is shown once, by `kpchain keys create`, and never stored.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    participant: Mapped[str | None] = mapped_column(String(2), index=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Operation(Base):
    """One write, from the intent to its mined and indexed result.

    Status: ``pending`` (intent recorded, nothing signed), ``signed`` (the signed transaction is
    stored and may have been sent), ``done`` (mined and indexed; `response` is the first result),
    ``failed`` (refused or reverted; `error` says why, and a retry returns it again).
    """

    __tablename__ = "operations"
    __table_args__ = (UniqueConstraint("actor", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(16))  # participant code, or "governor"
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), index=True)  # cert_no or participant code
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    sender: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[str | None] = mapped_column(Text)
    unsigned_tx: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """The full certificate document an authority of this service signed and issued.

    The chain holds only the document's hash and its salted identity hashes; the names and
    licences of exporter and importer stay here, with the salts that let a holder of the
    document recompute those hashes.
    """

    __tablename__ = "documents"

    cert_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    exporter_salt: Mapped[str] = mapped_column(String(66))
    importer_salt: Mapped[str] = mapped_column(String(66))
    doc_hash: Mapped[str] = mapped_column(String(66))
    signature: Mapped[str] = mapped_column(Text)
    signer: Mapped[str] = mapped_column(String(42))
    operation_id: Mapped[int] = mapped_column(Integer)


class ReceivedDocument(Base):
    """The inbox: a certificate's signed document, delivered by the exporter's service and
    checked against the chain before it was stored (its hash is the certificate's docHash, its
    signer an authority of the exporter at the issue block). Never deleted."""

    __tablename__ = "exchange_received_documents"

    cert_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    sender: Mapped[str] = mapped_column(String(2))
    recipient: Mapped[str] = mapped_column(String(2), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    exporter_salt: Mapped[str] = mapped_column(String(66))
    importer_salt: Mapped[str] = mapped_column(String(66))
    doc_hash: Mapped[str] = mapped_column(String(66))
    signature: Mapped[str] = mapped_column(Text)
    signer: Mapped[str] = mapped_column(String(42))  # the authority that signed the document
    envelope_signer: Mapped[str] = mapped_column(String(42))  # who signed the delivery
    encryption_key: Mapped[str] = mapped_column(String(66))  # the key it was encrypted to
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookCursor(Base):
    """How far a participant's webhook has been delivered: the last feed id it accepted."""

    __tablename__ = "webhook_cursors"

    participant: Mapped[str] = mapped_column(String(2), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DashboardSession(Base):
    """A log-in to the dashboard: the SHA-256 of its random cookie token (the cookie never holds
    an API key), the key it logged in with, and its times in Unix seconds.

    A session ends at log-out (its row is deleted), when its key is revoked, when it has been
    idle too long and when it is too old (`KPCHAIN_DASHBOARD_IDLE_MINUTES`,
    `KPCHAIN_DASHBOARD_SESSION_HOURS`).
    """

    __tablename__ = "dashboard_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger)


class Draft(Base):
    """A certificate prepared by one key of the exporting participant and issued once another
    officer's key approves it (maker-checker, `kpchain.service.drafts`).

    Status: ``awaiting_approval`` (saved, waiting for an officer), ``returned`` (an officer sent
    it back with a comment; its author corrects it), ``issuing`` (approved: `operation_id` is the
    issue, not yet finished) and ``issued`` (that issue is done). An issue that fails leaves the
    draft awaiting approval again, with the error in `approval_error`. `history` lists every
    step (created, edited, returned, approved, approval failed) with the key's id and label and
    when; the columns hold what the rules read (who created it, who edited it, who approved it).
    """

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant: Mapped[str] = mapped_column(String(2), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    cert_no: Mapped[str] = mapped_column(String(32), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)  # 1 when created, one more at every edit
    created_by: Mapped[str] = mapped_column(String(16))  # the API key's id
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    editors: Mapped[list[str]] = mapped_column(JSON)  # ids of every key that created or edited it
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    return_comment: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(16))
    operation_id: Mapped[int | None] = mapped_column(Integer)
    approval_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
