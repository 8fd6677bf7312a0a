"""KP rules in the service (issue 15): the discrepancy flag of a confirmation of receipt.

`certificates.discrepancy` is derived from the two events (the certificate's totals in
CertificateIssued, the confirmed parcels and carats in CertificateReceived), as the projection
derives it for new receipts; the rows received before this revision are filled from the columns
that already hold both, so no rebuild is needed.

Revision ID: 0012_kp_checks
Revises: 0011_kp_rules
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_kp_checks"
down_revision = "0011_kp_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("discrepancy", sa.Boolean(), nullable=True))
    op.execute(
        "UPDATE certificates SET discrepancy = ("
        "received_parcels <> parcels OR received_carats_hundredths <> carats_hundredths"
        ") WHERE received_block IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("discrepancy")
