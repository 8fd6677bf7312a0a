"""The index's tables: the events (the source of truth) and the projections derived from them.

`events` holds every registry event the chain emitted, decoded; everything else (certificates,
their lines, participants, their zones, the authority key history, the history of their service
endpoints and encryption keys, and the governance's proposals, votes and validator terms) is a
projection of those events, rebuilt from them after a reorg. `checkpoint` and `blocks` track how
far the index got and which chain it followed.

Conventions: participant codes and certificate numbers are text ("BW", "BW-2026-000123");
hashes and zone ids are 0x-prefixed lower-case hex; addresses are checksummed; times are Unix
seconds; quantities are in the contract's units (hundredths of a carat, US cents). Labels
("shipped", "seal_broken", "suspended") are the lower-case names of kpchain.contracts.enums.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpchain.store import Base

HASH = String(66)  # 0x + 32 bytes in hex
ADDRESS = String(42)  # checksummed 0x + 20 bytes
CODE = String(2)  # ISO 3166-1 alpha-2, or "EU"
CERT_NO = String(32)  # the contract's bytes32, as ASCII
# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid, which autoincrements.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
ARGS = JSON().with_variant(JSONB(), "postgresql")
PROPOSAL_ID = String(78)  # the decimal digits of a uint256: a proposal id does not fit a BIGINT

INDEX_TABLES = (
    "proposal_votes",
    "proposals",
    "validators",
    "certificate_lines",
    "certificates",
    "participant_zones",
    "authorities",
    "service_endpoints",
    "participants",
    "events",
    "blocks",
    "checkpoint",
)
"""Every table the index owns, children before parents (the order to empty them in)."""


class Checkpoint(Base):
    """How far the index got: the last block indexed, by number and hash. One row at most."""

    __tablename__ = "checkpoint"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH)


class Block(Base):
    """A block the index went through, kept to find the common ancestor after a reorg.

    Rows are kept for the last ~256 indexed blocks and, forever, for every block that carried
    one of the registry's events (`has_events`): those are the ones a reorg must undo.
    """

    __tablename__ = "blocks"
    __table_args__ = (Index(None, "has_events", "number"),)

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(HASH)
    has_events: Mapped[bool] = mapped_column(Boolean)


class Event(Base):
    """One decoded registry event.

    `id` only grows, across reorgs and rebuilds too (SQLite AUTOINCREMENT, a PostgreSQL
    sequence): it is the cursor of the event feed, so a client never misses an event that
    replaced one it saw. `args` holds every argument by its Solidity name, JSON-friendly:
    bytes as 0x-hex, addresses checksummed, structs as objects, enums and integers as JSON
    numbers (exact: every value fits in uint64, which Python and PostgreSQL keep exactly;
    JavaScript clients must not read quantities above 2**53 as numbers, and real ones never
    get near it). The columns beside it are the keys readers filter by.
    """

    __tablename__ = "events"
    __table_args__ = (
        # A block hash names one block for good, so this key survives reorgs; a transaction
        # hash would not (the same transaction can be mined again in another block).
        UniqueConstraint("block_hash", "log_index"),
        Index(None, "block_number", "log_index"),
        Index(None, "cert_no"),
        Index(None, "participant"),
        Index(None, "exporting", "id"),
        Index(None, "importing", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(HASH)
    log_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    cert_no: Mapped[str | None] = mapped_column(CERT_NO)
    exporting: Mapped[str | None] = mapped_column(CODE)
    importing: Mapped[str | None] = mapped_column(CODE)
    participant: Mapped[str | None] = mapped_column(CODE)  # participant registry events
    args: Mapped[dict[str, Any]] = mapped_column(ARGS)


class Certificate(Base):
    """A certificate as its events left it. `status` is the stored one: "expired" is derived
    at read time (see kpchain.indexer.queries.derived_status)."""

    __tablename__ = "certificates"
    __table_args__ = (
        Index(None, "exporting", "issued_block", "cert_no"),
        Index(None, "importing", "issued_block", "cert_no"),
        # The statistics' exports (by date of issue) and imports (by date of receipt), read
        # from these alone (kpchain.reports.statistics; migration 0008_statistics).
        Index(
            "ix_certificates_exports",
            "issued_at", "status", "exporting", "cert_no", "carats_hundredths", "value_cents",
        ),
        Index(
            "ix_certificates_imports",
            "received_at", "status", "importing", "cert_no", "carats_hundredths", "value_cents",
        ),
        Index(None, "replaces"),
    )  # fmt: skip

    cert_no: Mapped[str] = mapped_column(CERT_NO, primary_key=True)
    exporting: Mapped[str] = mapped_column(CODE)
    importing: Mapped[str] = mapped_column(CODE)
    origin: Mapped[str] = mapped_column(String(5))  # ISO code, or "MIXED"
    provenance: Mapped[str | None] = mapped_column(CODE)  # mixed origin only
    origin_zone: Mapped[str | None] = mapped_column(HASH)  # zone id; None when none named
    exporter_hash: Mapped[str] = mapped_column(HASH)
    importer_hash: Mapped[str] = mapped_column(HASH)
    issued_at: Mapped[int] = mapped_column(BigInteger)  # date of issue, Unix seconds
    expires_at: Mapped[int] = mapped_column(BigInteger)  # Unix seconds
    issuing_authority: Mapped[str] = mapped_column(Text)
    replaces: Mapped[str | None] = mapped_column(CERT_NO)
    doc_hash: Mapped[str] = mapped_column(HASH)
    signer: Mapped[str] = mapped_column(ADDRESS)
    status: Mapped[str] = mapped_column(String(16))  # issued|shipped|received|rejected|cancelled
    carats_hundredths: Mapped[int] = mapped_column(BigInteger)  # sum of the lines
    value_cents: Mapped[int] = mapped_column(BigInteger)
    parcels: Mapped[int] = mapped_column(BigInteger)

    issued_block: Mapped[int] = mapped_column(BigInteger)
    issued_tx: Mapped[str] = mapped_column(HASH)
    issued_time: Mapped[int] = mapped_column(BigInteger)  # block time

    shipped_block: Mapped[int | None] = mapped_column(BigInteger)
    shipped_tx: Mapped[str | None] = mapped_column(HASH)
    shipped_time: Mapped[int | None] = mapped_column(BigInteger)
    shipped_authority: Mapped[str | None] = mapped_column(ADDRESS)
    seal_ref_hash: Mapped[str | None] = mapped_column(HASH)  # None when shipped without one

    received_block: Mapped[int | None] = mapped_column(BigInteger)
    received_tx: Mapped[str | None] = mapped_column(HASH)
    received_time: Mapped[int | None] = mapped_column(BigInteger)
    received_authority: Mapped[str | None] = mapped_column(ADDRESS)
    received_parcels: Mapped[int | None] = mapped_column(BigInteger)
    received_carats_hundredths: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[int | None] = mapped_column(BigInteger)  # date of receipt, Unix seconds
    confirmation_hash: Mapped[str | None] = mapped_column(HASH)

    rejected_block: Mapped[int | None] = mapped_column(BigInteger)
    rejected_tx: Mapped[str | None] = mapped_column(HASH)
    rejected_time: Mapped[int | None] = mapped_column(BigInteger)
    rejected_authority: Mapped[str | None] = mapped_column(ADDRESS)
    rejection_reason: Mapped[str | None] = mapped_column(String(32))  # "seal_broken" …

    # Cancelled before shipping (CertificateCancelled), or withdrawn in transit from an importer
    # no longer Active (ShipmentWithdrawn: then `withdrawal_reason` is set).
    cancelled_block: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_tx: Mapped[str | None] = mapped_column(HASH)
    cancelled_time: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_authority: Mapped[str | None] = mapped_column(ADDRESS)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(32))  # "returned" …

    lines: Mapped[list[CertificateLine]] = relationship(
        order_by="CertificateLine.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",  # load with selectinload: a lazy load per row is N+1 queries
    )


class CertificateLine(Base):
    """One HS-code line of a certificate, in document order (`position` from 0)."""

    __tablename__ = "certificate_lines"
    # A certificate's lines by HS code, read from the index alone (the statistics).
    __table_args__ = (
        Index(
            "ix_certificate_lines_by_hs_code",
            "cert_no",
            "hs_code",
            "carats_hundredths",
            "value_cents",
        ),
    )

    cert_no: Mapped[str] = mapped_column(
        ForeignKey("certificates.cert_no", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hs_code: Mapped[int] = mapped_column(Integer)  # 710210, 710221 or 710231
    carats_hundredths: Mapped[int] = mapped_column(BigInteger)
    value_cents: Mapped[int] = mapped_column(BigInteger)
    parcels: Mapped[int] = mapped_column(BigInteger)


class Participant(Base):
    """A KP participant as the registry's events left it."""

    __tablename__ = "participants"

    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # active|suspended|withdrawn
    admin: Mapped[str] = mapped_column(ADDRESS)
    origin_restricted: Mapped[bool] = mapped_column(Boolean)
    admitted_block: Mapped[int] = mapped_column(BigInteger)
    admitted_time: Mapped[int] = mapped_column(BigInteger)

    zones: Mapped[list[ParticipantZone]] = relationship(
        order_by="ParticipantZone.zone_id", passive_deletes=True, lazy="raise_on_sql"
    )
    authorities: Mapped[list[Authority]] = relationship(
        order_by="Authority.id", passive_deletes=True, lazy="raise_on_sql"
    )


class ServiceEndpoint(Base):
    """One registration of a participant's service endpoint and document encryption key
    (`ServiceEndpointSet`), kept for good: the newest is in force, and the older ones are every
    key the participant has had, from the block each was set in (a key rotation is a new row).
    """

    __tablename__ = "service_endpoints"

    participant: Mapped[str] = mapped_column(
        ForeignKey("participants.code", ondelete="CASCADE"), primary_key=True
    )
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    url: Mapped[str] = mapped_column(Text)
    encryption_key: Mapped[str] = mapped_column(HASH)  # X25519 public key, 0x-hex
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(HASH)


class ParticipantZone(Base):
    """An allowed zone of origin of a participant (keccak256 of its name)."""

    __tablename__ = "participant_zones"

    code: Mapped[str] = mapped_column(
        ForeignKey("participants.code", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[str] = mapped_column(HASH, primary_key=True)
    allowed_block: Mapped[int] = mapped_column(BigInteger)


class Authority(Base):
    """One term of an authority account: added at a block, perhaps revoked at a later one.

    An account revoked and added again gets a new row, so the key set valid at any block is
    `added_block <= b` and (`revoked_block` is None or `b < revoked_block`).
    """

    __tablename__ = "authorities"
    __table_args__ = (Index(None, "address", "id"), Index(None, "participant", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(ADDRESS)
    participant: Mapped[str] = mapped_column(ForeignKey("participants.code", ondelete="CASCADE"))
    added_block: Mapped[int] = mapped_column(BigInteger)
    added_time: Mapped[int] = mapped_column(BigInteger)
    added_tx: Mapped[str] = mapped_column(HASH)
    added_by: Mapped[str] = mapped_column(ADDRESS)  # the participant's admin
    revoked_block: Mapped[int | None] = mapped_column(BigInteger)
    revoked_time: Mapped[int | None] = mapped_column(BigInteger)
    revoked_tx: Mapped[str | None] = mapped_column(HASH)
    revoked_by: Mapped[str | None] = mapped_column(ADDRESS)


# --- governance (projected by kpchain.indexer.governance) ----------------------------------------
# A proposal's state is not stored: it depends on the time (pending, active, then the outcome),
# so the views derive it from these columns and the chain's time.


class Proposal(Base):
    """A proposal as the governor's events left it (ProposalCreated, ProposalTermsSet, the seats'
    votes, ProposalQueued, ProposalExecuted, ProposalCanceled) and the seats' emergency
    suspension events about it."""

    __tablename__ = "proposals"
    __table_args__ = (Index(None, "created_block"), Index(None, "subject"))

    id: Mapped[str] = mapped_column(PROPOSAL_ID, primary_key=True)
    proposer: Mapped[str] = mapped_column(ADDRESS)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(ARGS)  # [{target, value, calldata}]
    description: Mapped[str] = mapped_column(Text)
    vote_start: Mapped[int] = mapped_column(BigInteger)  # the snapshot, Unix seconds
    vote_end: Mapped[int] = mapped_column(BigInteger)  # the deadline, Unix seconds
    subject: Mapped[str | None] = mapped_column(CODE)  # the participant it is about
    quorum: Mapped[int | None] = mapped_column(Integer)  # approvals it needs
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    approvals: Mapped[int] = mapped_column(Integer, default=0)
    objections: Mapped[int] = mapped_column(Integer, default=0)
    abstentions: Mapped[int] = mapped_column(Integer, default=0)
    eta: Mapped[int | None] = mapped_column(BigInteger)  # executable from, once queued

    created_block: Mapped[int] = mapped_column(BigInteger)
    created_tx: Mapped[str] = mapped_column(HASH)
    created_time: Mapped[int] = mapped_column(BigInteger)
    queued_block: Mapped[int | None] = mapped_column(BigInteger)
    queued_tx: Mapped[str | None] = mapped_column(HASH)
    queued_time: Mapped[int | None] = mapped_column(BigInteger)
    executed_block: Mapped[int | None] = mapped_column(BigInteger)
    executed_tx: Mapped[str | None] = mapped_column(HASH)
    executed_time: Mapped[int | None] = mapped_column(BigInteger)
    canceled_block: Mapped[int | None] = mapped_column(BigInteger)
    canceled_tx: Mapped[str | None] = mapped_column(HASH)
    canceled_time: Mapped[int | None] = mapped_column(BigInteger)

    # The emergency suspension: applied (with the approvals' threshold), then settled by a
    # decision executed meanwhile, or lifted once the proposal failed.
    emergency_threshold: Mapped[int | None] = mapped_column(Integer)
    applied_block: Mapped[int | None] = mapped_column(BigInteger)
    applied_tx: Mapped[str | None] = mapped_column(HASH)
    applied_time: Mapped[int | None] = mapped_column(BigInteger)
    settled_block: Mapped[int | None] = mapped_column(BigInteger)
    settled_tx: Mapped[str | None] = mapped_column(HASH)
    settled_time: Mapped[int | None] = mapped_column(BigInteger)
    lifted_block: Mapped[int | None] = mapped_column(BigInteger)
    lifted_tx: Mapped[str | None] = mapped_column(HASH)
    lifted_time: Mapped[int | None] = mapped_column(BigInteger)


class ProposalVote(Base):
    """One seat's vote on a proposal (the governor's SeatVoted)."""

    __tablename__ = "proposal_votes"

    proposal_id: Mapped[str] = mapped_column(PROPOSAL_ID, primary_key=True)
    voter: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    seat: Mapped[str] = mapped_column(CODE)  # the participant the voter voted for
    support: Mapped[str] = mapped_column(String(8))  # approve|object|abstain
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(HASH)
    block_time: Mapped[int] = mapped_column(BigInteger)


class Validator(Base):
    """One term of a validator in the ValidatorSet: added at a block, perhaps removed later (an
    address removed and added again gets a new row)."""

    __tablename__ = "validators"
    __table_args__ = (Index(None, "address", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(ADDRESS)
    added_block: Mapped[int] = mapped_column(BigInteger)
    added_tx: Mapped[str] = mapped_column(HASH)
    added_time: Mapped[int] = mapped_column(BigInteger)
    removed_block: Mapped[int | None] = mapped_column(BigInteger)
    removed_tx: Mapped[str | None] = mapped_column(HASH)
    removed_time: Mapped[int | None] = mapped_column(BigInteger)
