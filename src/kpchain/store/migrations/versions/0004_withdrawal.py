"""Certificates withdrawn in transit (ShipmentWithdrawn): the reason, beside the cancelled step.

Revision ID: 0004_withdrawal
Revises: 0003_webhooks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_withdrawal"
down_revision = "0003_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, so existing rows need no value: no certificate was withdrawn before the event.
    op.add_column("certificates", sa.Column("withdrawal_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("withdrawal_reason")
