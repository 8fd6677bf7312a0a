"""Governance by consensus: proposals, their votes and the validator set, as the index follows
the governance contracts' events (index tables: a rebuild empties and refills them).

Revision ID: 0007_governance
Revises: 0006_exchange
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_governance"
down_revision = "0006_exchange"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _step(name: str) -> list[sa.Column[object]]:
    """The block, transaction and time columns of a step `name` (all null until it happens)."""
    return [
        sa.Column(f"{name}_block", sa.BigInteger(), nullable=True),
        sa.Column(f"{name}_tx", sa.String(66), nullable=True),
        sa.Column(f"{name}_time", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(78), nullable=False),
        sa.Column("proposer", sa.String(42), nullable=False),
        sa.Column("actions", _JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("vote_start", sa.BigInteger(), nullable=False),
        sa.Column("vote_end", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(2), nullable=True),
        sa.Column("quorum", sa.Integer(), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("objections", sa.Integer(), nullable=False),
        sa.Column("abstentions", sa.Integer(), nullable=False),
        sa.Column("eta", sa.BigInteger(), nullable=True),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_tx", sa.String(66), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        *_step("queued"),
        *_step("executed"),
        *_step("canceled"),
        sa.Column("emergency_threshold", sa.Integer(), nullable=True),
        *_step("applied"),
        *_step("settled"),
        *_step("lifted"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_created_block"), "proposals", ["created_block"])
    op.create_index(op.f("ix_proposals_subject"), "proposals", ["subject"])
    op.create_table(
        "proposal_votes",
        sa.Column("proposal_id", sa.String(78), nullable=False),
        sa.Column("voter", sa.String(42), nullable=False),
        sa.Column("seat", sa.String(2), nullable=False),
        sa.Column("support", sa.String(8), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", "voter", name=op.f("pk_proposal_votes")),
    )
    op.create_table(
        "validators",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("added_block", sa.BigInteger(), nullable=False),
        sa.Column("added_tx", sa.String(66), nullable=False),
        sa.Column("added_time", sa.BigInteger(), nullable=False),
        *_step("removed"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validators")),
    )
    op.create_index(op.f("ix_validators_address_id"), "validators", ["address", "id"])


def downgrade() -> None:
    op.drop_table("validators")
    op.drop_table("proposal_votes")
    op.drop_table("proposals")
