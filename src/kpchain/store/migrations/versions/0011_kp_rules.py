"""KP rules on the chain (issue 15): several origins per line, replacing a rejected one.

Each certificate line may state its own origin (registry 1.3.0): three nullable columns, None
for a line of the certificate's origin. Replacing a rejected certificate needs no column: a
certificate's `replaced_by` is read through the existing index on `certificates.replaces`.

Revision ID: 0011_kp_rules
Revises: 0010_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_kp_rules"
down_revision = "0010_audit"
branch_labels = None
depends_on = None

HASH = sa.String(66)


def upgrade() -> None:
    op.add_column("certificate_lines", sa.Column("origin", sa.String(5), nullable=True))
    op.add_column("certificate_lines", sa.Column("provenance", sa.String(2), nullable=True))
    op.add_column("certificate_lines", sa.Column("origin_zone", HASH, nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table (batch mode); PostgreSQL drops it in place.
    with op.batch_alter_table("certificate_lines") as batch:
        batch.drop_column("origin_zone")
        batch.drop_column("provenance")
        batch.drop_column("origin")
