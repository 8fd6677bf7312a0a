"""Maker-checker drafts: a clerk prepares a certificate, another officer issues it (issue 15).

Revision ID: 0009_drafts
Revises: 0008_statistics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_drafts"
down_revision = "0008_statistics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("participant", sa.String(2), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("cert_no", sa.String(32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("editors", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("return_comment", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(16), nullable=True),
        sa.Column("operation_id", sa.Integer(), nullable=True),
        sa.Column("approval_error", sa.JSON(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    op.create_index(op.f("ix_drafts_participant"), "drafts", ["participant"])
    op.create_index(op.f("ix_drafts_status"), "drafts", ["status"])
    op.create_index(op.f("ix_drafts_cert_no"), "drafts", ["cert_no"])


def downgrade() -> None:
    op.drop_index(op.f("ix_drafts_cert_no"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_status"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_participant"), table_name="drafts")
    op.drop_table("drafts")
