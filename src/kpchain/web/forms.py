"""What the pages' forms and links accept, validated before anything else sees it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kpchain.certificates.fields import UINT32_MAX, Amount, IsoDate, Note
from kpchain.certificates.requests import ReceiveRequest, RejectRequest
from kpchain.i18n import mark
from kpchain.vocabulary import RejectionReasonLabel

# In English; the page shows them in its language (marked for the catalogues).
_REASON_TEXTS = {
    RejectionReasonLabel.DISCREPANCY: mark("Discrepancy between the shipment and the certificate"),
    RejectionReasonLabel.SEAL_BROKEN: mark("Seal or container broken"),
    RejectionReasonLabel.EXPIRED: mark("Certificate expired"),
    RejectionReasonLabel.SUSPECTED_FORGERY: mark("Suspected forgery"),
    RejectionReasonLabel.OTHER: mark("Other (explain in the note)"),
}

REJECTION_REASONS: tuple[tuple[RejectionReasonLabel, str], ...] = tuple(
    (reason, _REASON_TEXTS[reason]) for reason in RejectionReasonLabel
)
"""The rejection form's choices, each reason with what the officer reads, in the vocabulary's
order (a reason without a text fails here, at import)."""


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
