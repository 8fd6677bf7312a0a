"""The private document exchange: service endpoints and encryption keys, the outbox and the inbox.

Revision ID: 0006_exchange
Revises: 0005_dashboard_sessions
"""

from __future__ import annotations

revision = "0006_exchange"
down_revision = "0005_dashboard_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
