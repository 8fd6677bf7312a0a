"""What the pages' forms and links accept, validated before anything else sees it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kpchain.certificates.models import (
    UINT32_MAX,
    Amount,
    IsoDate,
    Note,
    ReceiveRequest,
    RejectionReasonLabel,
    RejectRequest,
)

CERT_NO_PATTERN = r"^[!-~]{1,32}$"
"""A certificate number's shape: printable ASCII without spaces, at most 32 characters."""

DOC_HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
"""A document hash: 0x and 64 hexadecimal digits."""

REJECTION_REASONS: tuple[tuple[RejectionReasonLabel, str], ...] = (
    ("discrepancy", "Discrepancy between the shipment and the certificate"),
    ("seal_broken", "Seal or container broken"),
    ("expired", "Certificate expired"),
    ("suspected_forgery", "Suspected forgery"),
    ("other", "Other (explain in the note)"),
)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class _ActionForm(BaseModel):
    """What every write form carries besides its anti-forgery token."""

    model_config = ConfigDict(extra="ignore")

    idempotency_key: str = Field(min_length=8, max_length=100)


class ConfirmForm(_ActionForm):
    """The confirmation of receipt form (KPCS Section III): what arrived, and when."""

    parcels: int = Field(ge=1, le=UINT32_MAX)
    carats: Amount
    received_at: IsoDate

    def request(self) -> ReceiveRequest:
        return ReceiveRequest(
            parcels=self.parcels, carats=self.carats, received_at=self.received_at
        )


class RejectForm(_ActionForm):
    """The rejection form: a reason (on chain) and an optional note (kept by this service)."""

    reason: RejectionReasonLabel
    note: Annotated[Note | None, BeforeValidator(_blank_is_none)] = None

    def request(self) -> RejectRequest:
        return RejectRequest(reason=self.reason, note=self.note)
