"""The request bodies of the certificate operations (ship, receive, reject, cancel, withdraw) and
of a participant's authority keys, validated as the document is: unknown fields refused, each
problem at its field. What goes on chain of them is `kpchain.certificates.conversions`'s
(`seal_ref_hash`, `confirmation_to_contract`, the reasons' enums).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kpchain.certificates.conversions import rejection_reason_code, withdrawal_reason_code
from kpchain.certificates.fields import Amount, IsoDate, NonZeroAddress, Note, Parcels, SealRef
from kpchain.contracts.enums import RejectionReason, WithdrawalReason
from kpchain.vocabulary import RejectionReasonLabel, WithdrawalReasonLabel

_REQUEST_CONFIG = ConfigDict(extra="forbid", frozen=True)


class ShipRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/ship: the seal or container reference, if any.
    The chain keeps only `seal_ref_hash(seal_ref)`."""

    model_config = _REQUEST_CONFIG

    seal_ref: SealRef | None = None


class ReceiveRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/receive: the importing authority's confirmation
    of receipt (KPCS Section III)."""

    model_config = _REQUEST_CONFIG

    parcels: Parcels
    carats: Amount
    received_at: IsoDate


class RejectRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/reject. Only `reason` goes on chain."""

    model_config = _REQUEST_CONFIG

    reason: RejectionReasonLabel
    note: Note | None = None

    def reason_code(self) -> RejectionReason:
        """The reason as the contract's enum."""
        return rejection_reason_code(self.reason)


class CancelRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/cancel. The reason stays off chain."""

    model_config = _REQUEST_CONFIG

    reason: Note | None = None


class WithdrawRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/withdraw: the exporter withdraws a shipment in
    transit to a participant that is no longer Active. Only `reason` goes on chain."""

    model_config = _REQUEST_CONFIG

    reason: WithdrawalReasonLabel
    note: Note | None = None

    def reason_code(self) -> WithdrawalReason:
        """The reason as the contract's enum."""
        return withdrawal_reason_code(self.reason)


class AuthorityRequest(BaseModel):
    """Body of POST /v1/participants/{code}/authorities: the account the participant's admin
    makes an authority of the participant (a key that signs its certificates)."""

    model_config = _REQUEST_CONFIG

    account: NonZeroAddress = Field(
        description="The new authority account (EIP-55 checksummed, or all one case).",
        examples=["0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"],
    )
