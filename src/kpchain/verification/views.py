"""The shape of a verification report, as `GET /v1/verify/{cert_no}` answers it
(`Verification.as_dict`). It never holds a commercial identity."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from kpchain.verification.checks import CheckName
from kpchain.vocabulary import CertificateStatusLabel

_CONFIG = ConfigDict(extra="forbid", frozen=True)


class CheckView(BaseModel):
    """One named check and what it found."""

    model_config = _CONFIG

    name: CheckName
    passed: bool
    message: str


class VerificationReport(BaseModel):
    """Whether a presented certificate is genuine, each check, and what to do when it is not."""

    model_config = _CONFIG

    cert_no: str
    found: bool = Field(description="Whether the chain has a certificate with that number.")
    genuine: bool = Field(description="Whether every check that ran passed.")
    status: CertificateStatusLabel | None
    exporting_participant: str | None
    importing_participant: str | None
    origin: str | None
    issued_at: date | None
    expires_at: date | None
    received_at: date | None
    doc_hash_checked: bool
    signer: str | None
    replaced_by: str | None
    replaces: str | None = Field(
        default=None, description="The cancelled or rejected certificate this one replaces."
    )
    checks: list[CheckView]
    problem: str | None
    advice: str | None
    note: str | None
