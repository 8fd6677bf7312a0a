"""Maker-checker drafts: a clerk prepares a certificate, another officer issues it (issue 15).

Revision ID: 0009_drafts
Revises: 0008_statistics
"""

from __future__ import annotations

revision = "0009_drafts"
down_revision = "0008_statistics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
