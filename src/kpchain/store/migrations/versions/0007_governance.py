"""Governance by consensus: proposals and votes as the index follows them.

Revision ID: 0007_governance
Revises: 0006_exchange
"""

from __future__ import annotations

revision = "0007_governance"
down_revision = "0006_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
