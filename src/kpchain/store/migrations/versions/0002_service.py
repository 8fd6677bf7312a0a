"""The service's own tables: API keys, operations (the write path's journal), documents.

Revision ID: 0002_service
Revises: 0001_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_service"
down_revision = "0001_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("participant", sa.String(2), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_participant"), "api_keys", ["participant"])
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("unsigned_tx", sa.JSON(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        sa.UniqueConstraint(
            "actor", "idempotency_key", name=op.f("uq_operations_actor_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_operations_subject"), "operations", ["subject"])
    op.create_index(op.f("ix_operations_status"), "operations", ["status"])
    op.create_table(
        "documents",
        sa.Column("cert_no", sa.String(32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("exporter_salt", sa.String(66), nullable=False),
        sa.Column("importer_salt", sa.String(66), nullable=False),
        sa.Column("doc_hash", sa.String(66), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("signer", sa.String(42), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cert_no", name=op.f("pk_documents")),
    )


def downgrade() -> None:
    op.drop_table("documents")
    op.drop_index(op.f("ix_operations_status"), table_name="operations")
    op.drop_index(op.f("ix_operations_subject"), table_name="operations")
    op.drop_table("operations")
    op.drop_index(op.f("ix_api_keys_participant"), table_name="api_keys")
    op.drop_table("api_keys")
