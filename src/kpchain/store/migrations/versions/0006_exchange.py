"""The private document exchange: service endpoints and encryption keys, the outbox and the inbox.

`service_endpoints` is an index table (every endpoint and key a participant registered, rebuilt
from `ServiceEndpointSet` events); the others are the service's own, never emptied by a rebuild:
its encryption keys (`exchange_keys`), its deliveries (`exchange_deliveries`) and the documents
it received (`exchange_received_documents`).

Revision ID: 0006_exchange
Revises: 0005_dashboard_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_exchange"
down_revision = "0005_dashboard_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_endpoints",
        sa.Column("participant", sa.String(2), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("encryption_key", sa.String(66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant"],
            ["participants.code"],
            name=op.f("fk_service_endpoints_participant_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "participant", "block_number", "log_index", name=op.f("pk_service_endpoints")
        ),
    )
    op.create_table(
        "exchange_keys",
        sa.Column("public_key", sa.String(66), nullable=False),
        sa.Column("participant", sa.String(2), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("public_key", name=op.f("pk_exchange_keys")),
    )
    op.create_index(op.f("ix_exchange_keys_participant"), "exchange_keys", ["participant"])
    op.create_table(
        "exchange_deliveries",
        sa.Column("cert_no", sa.String(32), nullable=False),
        sa.Column("doc_hash", sa.String(66), nullable=False),
        sa.Column("sender", sa.String(2), nullable=False),
        sa.Column("recipient", sa.String(2), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("encryption_key", sa.String(66), nullable=True),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cert_no", name=op.f("pk_exchange_deliveries")),
    )
    for column in ("recipient", "state", "next_attempt_at"):
        op.create_index(op.f(f"ix_exchange_deliveries_{column}"), "exchange_deliveries", [column])
    op.create_table(
        "exchange_received_documents",
        sa.Column("cert_no", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(2), nullable=False),
        sa.Column("recipient", sa.String(2), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("exporter_salt", sa.String(66), nullable=False),
        sa.Column("importer_salt", sa.String(66), nullable=False),
        sa.Column("doc_hash", sa.String(66), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("signer", sa.String(42), nullable=False),
        sa.Column("envelope_signer", sa.String(42), nullable=False),
        sa.Column("encryption_key", sa.String(66), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cert_no", name=op.f("pk_exchange_received_documents")),
    )
    op.create_index(
        op.f("ix_exchange_received_documents_recipient"),
        "exchange_received_documents",
        ["recipient"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_exchange_received_documents_recipient"),
        table_name="exchange_received_documents",
    )
    op.drop_table("exchange_received_documents")
    for column in ("next_attempt_at", "state", "recipient"):
        op.drop_index(op.f(f"ix_exchange_deliveries_{column}"), table_name="exchange_deliveries")
    op.drop_table("exchange_deliveries")
    op.drop_index(op.f("ix_exchange_keys_participant"), table_name="exchange_keys")
    op.drop_table("exchange_keys")
    op.drop_table("service_endpoints")
