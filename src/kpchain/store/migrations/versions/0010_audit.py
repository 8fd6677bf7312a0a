"""The audit trail (issue 15): who did what, when and from where; kept outside the index.

Revision ID: 0010_audit
Revises: 0009_drafts
"""

from __future__ import annotations

revision = "0010_audit"
down_revision = "0009_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
