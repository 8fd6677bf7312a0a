"""The index's governance tables: proposals, their votes, and the validator set's history, all
projections of the governance contracts' events (kpchain.governance.projection), emptied by a
rebuild like every index table and rebuilt from the events after a reorg.

Conventions as in kpchain.indexer.tables: participant codes as text, addresses checksummed,
times in Unix seconds. A proposal id is a uint256, kept as its decimal digits (it does not fit
a BIGINT). A proposal's state is not stored: it depends on the time (pending, active, then the
outcome), so the views derive it from these columns and the chain's time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kpchain.store import Base

# The index's column types (kpchain.indexer.tables), spelled out here: importing the indexer
# package would import the indexer, whose projection imports this concern's.
HASH = String(66)  # 0x + 32 bytes in hex
ADDRESS = String(42)  # checksummed 0x + 20 bytes
CODE = String(2)  # ISO 3166-1 alpha-2, or "EU"
ARGS = JSON().with_variant(JSONB(), "postgresql")
PROPOSAL_ID = String(78)  # the decimal digits of a uint256


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
