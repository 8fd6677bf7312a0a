"""The index: checkpoint, blocks, events and their projections.

Revision ID: 0001_index
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_index"
down_revision = None
branch_labels = None
depends_on = None

HASH = sa.String(66)
ADDRESS = sa.String(42)
CODE = sa.String(2)
CERT_NO = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", HASH, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_checkpoint_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoint")),
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.Column("has_events", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_blocks")),
    )
    op.create_index(op.f("ix_blocks_has_events_number"), "blocks", ["has_events", "number"])
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", HASH, nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("cert_no", CERT_NO, nullable=True),
        sa.Column("exporting", CODE, nullable=True),
        sa.Column("importing", CODE, nullable=True),
        sa.Column("participant", CODE, nullable=True),
        sa.Column("args", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("block_hash", "log_index", name=op.f("uq_events_block_hash_log_index")),
        sqlite_autoincrement=True,
    )
    for name, columns in (
        ("ix_events_block_number_log_index", ["block_number", "log_index"]),
        ("ix_events_cert_no", ["cert_no"]),
        ("ix_events_participant", ["participant"]),
        ("ix_events_exporting_id", ["exporting", "id"]),
        ("ix_events_importing_id", ["importing", "id"]),
    ):
        op.create_index(op.f(name), "events", columns)

    op.create_table(
        "certificates",
        sa.Column("cert_no", CERT_NO, nullable=False),
        sa.Column("exporting", CODE, nullable=False),
        sa.Column("importing", CODE, nullable=False),
        sa.Column("origin", sa.String(5), nullable=False),
        sa.Column("provenance", CODE, nullable=True),
        sa.Column("origin_zone", HASH, nullable=True),
        sa.Column("exporter_hash", HASH, nullable=False),
        sa.Column("importer_hash", HASH, nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("issuing_authority", sa.Text(), nullable=False),
        sa.Column("replaces", CERT_NO, nullable=True),
        sa.Column("doc_hash", HASH, nullable=False),
        sa.Column("signer", ADDRESS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("carats_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
        sa.Column("parcels", sa.BigInteger(), nullable=False),
        sa.Column("issued_block", sa.BigInteger(), nullable=False),
        sa.Column("issued_tx", HASH, nullable=False),
        sa.Column("issued_time", sa.BigInteger(), nullable=False),
        sa.Column("shipped_block", sa.BigInteger(), nullable=True),
        sa.Column("shipped_tx", HASH, nullable=True),
        sa.Column("shipped_time", sa.BigInteger(), nullable=True),
        sa.Column("shipped_authority", ADDRESS, nullable=True),
        sa.Column("seal_ref_hash", HASH, nullable=True),
        sa.Column("received_block", sa.BigInteger(), nullable=True),
        sa.Column("received_tx", HASH, nullable=True),
        sa.Column("received_time", sa.BigInteger(), nullable=True),
        sa.Column("received_authority", ADDRESS, nullable=True),
        sa.Column("received_parcels", sa.BigInteger(), nullable=True),
        sa.Column("received_carats_hundredths", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=True),
        sa.Column("confirmation_hash", HASH, nullable=True),
        sa.Column("rejected_block", sa.BigInteger(), nullable=True),
        sa.Column("rejected_tx", HASH, nullable=True),
        sa.Column("rejected_time", sa.BigInteger(), nullable=True),
        sa.Column("rejected_authority", ADDRESS, nullable=True),
        sa.Column("rejection_reason", sa.String(32), nullable=True),
        sa.Column("cancelled_block", sa.BigInteger(), nullable=True),
        sa.Column("cancelled_tx", HASH, nullable=True),
        sa.Column("cancelled_time", sa.BigInteger(), nullable=True),
        sa.Column("cancelled_authority", ADDRESS, nullable=True),
        sa.PrimaryKeyConstraint("cert_no", name=op.f("pk_certificates")),
    )
    for name, columns in (
        (
            "ix_certificates_exporting_issued_block_cert_no",
            ["exporting", "issued_block", "cert_no"],
        ),
        (
            "ix_certificates_importing_issued_block_cert_no",
            ["importing", "issued_block", "cert_no"],
        ),
        ("ix_certificates_issued_at", ["issued_at"]),
        ("ix_certificates_received_at", ["received_at"]),
        ("ix_certificates_replaces", ["replaces"]),
    ):
        op.create_index(op.f(name), "certificates", columns)
    op.create_table(
        "certificate_lines",
        sa.Column("cert_no", CERT_NO, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hs_code", sa.Integer(), nullable=False),
        sa.Column("carats_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
        sa.Column("parcels", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cert_no"],
            ["certificates.cert_no"],
            name=op.f("fk_certificate_lines_cert_no_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cert_no", "position", name=op.f("pk_certificate_lines")),
    )

    op.create_table(
        "participants",
        sa.Column("code", CODE, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admin", ADDRESS, nullable=False),
        sa.Column("origin_restricted", sa.Boolean(), nullable=False),
        sa.Column("admitted_block", sa.BigInteger(), nullable=False),
        sa.Column("admitted_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_participants")),
    )
    op.create_table(
        "participant_zones",
        sa.Column("code", CODE, nullable=False),
        sa.Column("zone_id", HASH, nullable=False),
        sa.Column("allowed_block", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["participants.code"],
            name=op.f("fk_participant_zones_code_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", "zone_id", name=op.f("pk_participant_zones")),
    )
    op.create_table(
        "authorities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("address", ADDRESS, nullable=False),
        sa.Column("participant", CODE, nullable=False),
        sa.Column("added_block", sa.BigInteger(), nullable=False),
        sa.Column("added_time", sa.BigInteger(), nullable=False),
        sa.Column("added_tx", HASH, nullable=False),
        sa.Column("added_by", ADDRESS, nullable=False),
        sa.Column("revoked_block", sa.BigInteger(), nullable=True),
        sa.Column("revoked_time", sa.BigInteger(), nullable=True),
        sa.Column("revoked_tx", HASH, nullable=True),
        sa.Column("revoked_by", ADDRESS, nullable=True),
        sa.ForeignKeyConstraint(
            ["participant"],
            ["participants.code"],
            name=op.f("fk_authorities_participant_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorities")),
    )
    op.create_index(op.f("ix_authorities_address_id"), "authorities", ["address", "id"])
    op.create_index(op.f("ix_authorities_participant_id"), "authorities", ["participant", "id"])


def downgrade() -> None:
    for table in (
        "authorities",
        "participant_zones",
        "participants",
        "certificate_lines",
        "certificates",
        "events",
        "blocks",
        "checkpoint",
    ):
        op.drop_table(table)
