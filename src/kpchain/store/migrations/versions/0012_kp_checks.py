"""KP rules in the service (issue 15): discrepancies on receipt, exporters' time zones.

Revision ID: 0012_kp_checks
Revises: 0011_kp_rules
"""

from __future__ import annotations

revision = "0012_kp_checks"
down_revision = "0011_kp_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
