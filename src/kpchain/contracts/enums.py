"""The Solidity enums of contracts/interfaces, as IntEnums in the contracts' order.

The ABI carries an enum as its uint8 index, so a member's value is its position in the Solidity
declaration; tests/contracts/test_enums.py checks these against the interface sources.
"""

from __future__ import annotations

from enum import IntEnum


class ParticipantStatus(IntEnum):
    """Mirrors IParticipantRegistry.ParticipantStatus: a participant's standing in the KP."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    WITHDRAWN = 3

    @property
    def label(self) -> str:
        """The lower-case name used in devnet.json and the API ("active", "suspended" …)."""
        return self.name.lower()


class CertificateStatus(IntEnum):
    """Mirrors ICertificateRegistry.CertificateStatus: where a certificate is in its lifecycle.

    EXPIRED is derived (an ISSUED or SHIPPED certificate past its expiry), never stored.
    """

    NONE = 0
    ISSUED = 1
    SHIPPED = 2
    RECEIVED = 3
    REJECTED = 4
    CANCELLED = 5
    EXPIRED = 6


class RejectionReason(IntEnum):
    """Mirrors ICertificateRegistry.RejectionReason: why an importing authority rejected a
    shipment."""

    DISCREPANCY = 0
    SEAL_BROKEN = 1
    EXPIRED = 2
    SUSPECTED_FORGERY = 3
    OTHER = 4


class WithdrawalReason(IntEnum):
    """Mirrors ICertificateRegistry.WithdrawalReason: why an exporting authority withdrew a
    shipment in transit to a participant that is no longer Active."""

    RETURNED = 0
    SEIZED = 1
    LOST = 2
    OTHER = 3


class Support(IntEnum):
    """Mirrors IKPGovernor.Support: how a seat votes on a governance proposal, in
    GovernorCountingSimple's numbering (0 Against, 1 For, 2 Abstain)."""

    OBJECT = 0
    APPROVE = 1
    ABSTAIN = 2

    @property
    def label(self) -> str:
        """The API's name ("approve", "object", "abstain")."""
        return self.name.lower()
