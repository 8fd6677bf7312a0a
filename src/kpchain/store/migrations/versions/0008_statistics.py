"""Indexes that cover the statistics' queries: a year's exports (by date of issue) and imports
(by date of receipt) are read from the index alone, and each certificate's lines by HS code
likewise, instead of a row lookup in the wide certificates table per certificate. They replace
the single-column issued_at and received_at indexes, which only the statistics used and which
the new ones lead with.

Revision ID: 0008_statistics
Revises: 0007_governance
"""

from __future__ import annotations

from alembic import op

revision = "0008_statistics"
down_revision = "0007_governance"
branch_labels = None
depends_on = None

_AMOUNTS = ["cert_no", "carats_hundredths", "value_cents"]


def upgrade() -> None:
    op.create_index(
        op.f("ix_certificates_exports"),
        "certificates",
        ["issued_at", "status", "exporting", *_AMOUNTS],
    )
    op.create_index(
        op.f("ix_certificates_imports"),
        "certificates",
        ["received_at", "status", "importing", *_AMOUNTS],
    )
    op.create_index(
        op.f("ix_certificate_lines_by_hs_code"),
        "certificate_lines",
        ["cert_no", "hs_code", "carats_hundredths", "value_cents"],
    )
    op.drop_index(op.f("ix_certificates_issued_at"), table_name="certificates")
    op.drop_index(op.f("ix_certificates_received_at"), table_name="certificates")


def downgrade() -> None:
    op.create_index(op.f("ix_certificates_received_at"), "certificates", ["received_at"])
    op.create_index(op.f("ix_certificates_issued_at"), "certificates", ["issued_at"])
    op.drop_index(op.f("ix_certificate_lines_by_hs_code"), table_name="certificate_lines")
    op.drop_index(op.f("ix_certificates_imports"), table_name="certificates")
    op.drop_index(op.f("ix_certificates_exports"), table_name="certificates")
