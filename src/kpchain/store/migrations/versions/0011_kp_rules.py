"""KP rules on the chain (issue 15): several origins per line, replacing a rejected one.

Revision ID: 0011_kp_rules
Revises: 0010_audit
"""

from __future__ import annotations

revision = "0011_kp_rules"
down_revision = "0010_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
