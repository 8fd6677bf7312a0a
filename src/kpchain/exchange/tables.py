"""The document exchange's tables (migration 0006_exchange): this service's encryption keys, its
outbox of deliveries; the inbox of received documents is `kpchain.service.tables.ReceivedDocument`,
beside the documents this service issued. The history of every participant's
registered endpoint and key is an index table (`kpchain.indexer.tables.ServiceEndpoint`).

None of these rows is ever deleted: a key stays to read what was encrypted to it, a delivery
keeps its outcome, and a received document stays readable for as long as the database lives
(the KP keeps certificates at least five years).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kpchain.store import Base

_HASH = String(66)  # 0x + 32 bytes in hex
_ADDRESS = String(42)
_CODE = String(2)
_CERT_NO = String(32)


class ExchangeKey(Base):
    """A document encryption key pair of a participant this service hosts.

    The private key is an encrypted PKCS #8 PEM (scrypt and AES-256-CBC, under the exchange
    passphrase); it never leaves the service. A rotation adds a row: older keys stay, so what
    was encrypted to them is still readable.
    """

    __tablename__ = "exchange_keys"

    public_key: Mapped[str] = mapped_column(_HASH, primary_key=True)  # 0x + 32 raw bytes
    participant: Mapped[str] = mapped_column(_CODE, index=True)
    private_key: Mapped[str] = mapped_column(Text)  # encrypted PKCS #8 PEM
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """The outbox: delivering one certificate's signed document to its importer's service.

    State: ``pending`` (not sent yet, or waiting for the importer to register an endpoint),
    ``failed`` (the last attempt failed: `error_code`/`error` say why; it is tried again at
    `next_attempt_at`, with exponential backoff), ``delivered`` (the importer's service
    acknowledged it; `receipt` is its answer). A delivery is tried until it is delivered.
    """

    __tablename__ = "exchange_deliveries"

    cert_no: Mapped[str] = mapped_column(_CERT_NO, primary_key=True)
    doc_hash: Mapped[str] = mapped_column(_HASH)
    sender: Mapped[str] = mapped_column(_CODE)
    recipient: Mapped[str] = mapped_column(_CODE, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    local: Mapped[bool] = mapped_column(default=False)  # the importer is hosted here too
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, index=True)  # Unix seconds
    last_attempt_at: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    endpoint: Mapped[str | None] = mapped_column(Text)  # the URL of the last attempt
    encryption_key: Mapped[str | None] = mapped_column(_HASH)  # the key of the last attempt
    delivered_at: Mapped[int | None] = mapped_column(BigInteger)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
