"""Typed bindings of the deployed registry (CertificateRegistry, which is a ParticipantRegistry).

Each write method returns the web3 call, unsent: the caller's `TransactionSender` estimates,
signs and sends it. Arguments are in the contract's units (`kpchain.contracts.encoding`); the
domain layer converts documents to them and builds the `Certificate` struct
(`kpchain.certificates.typed_data.Certificate`, which `CertificateStruct` describes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from kpchain.artifacts import load_artifact
from kpchain.chain.transactions import call_node, calldata
from kpchain.contracts.encoding import cert_number, participant_code
from kpchain.contracts.enums import (
    CertificateStatus,
    ParticipantStatus,
    RejectionReason,
    WithdrawalReason,
)

REGISTRY_ARTIFACT = "CertificateRegistry"


class CertificateStruct(Protocol):
    """A certificate document as the registry's `Certificate` struct takes it. The domain's
    `kpchain.certificates.typed_data.Certificate` is one; the binding asks only for the ABI
    tuple, so that the contracts layer does not import the domain above it."""

    def to_abi(self) -> tuple[Any, ...]:
        """The struct as an ABI tuple, in the Solidity struct's field order."""
        ...


@dataclass(frozen=True)
class ServiceEndpoint:
    """A participant's service endpoint and document encryption key, as the registry holds them
    (an empty URL and a zero key when it has registered none)."""

    url: str
    encryption_key: bytes  # 32 bytes: an X25519 public key


@dataclass(frozen=True)
class Confirmation:
    """The importing authority's confirmation of receipt, in the contract's units."""

    parcels: int
    carats: int  # hundredths of a carat
    received_at: int  # Unix seconds
    confirmation_hash: bytes  # 32 bytes


class Registry:
    """The registry at `address`, as seen through `w3`."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(
            address=self.address, abi=load_artifact(REGISTRY_ARTIFACT).abi
        )

    # --- certificates ----------------------------------------------------------------------

    def issue(
        self, certificate: CertificateStruct, signer: str, signature: bytes
    ) -> ContractFunction:
        return self.contract.functions.issue(certificate.to_abi(), signer, signature)

    def issue_batch(
        self, certificates: Sequence[CertificateStruct], signer: str, signatures: Sequence[bytes]
    ) -> ContractFunction:
        return self.contract.functions.issueBatch(
            [certificate.to_abi() for certificate in certificates], signer, list(signatures)
        )

    def ship(self, cert_no: str, seal_ref: bytes) -> ContractFunction:
        return self.contract.functions.ship(cert_number(cert_no), seal_ref)

    def confirm_receipt(self, cert_no: str, confirmation: Confirmation) -> ContractFunction:
        return self.contract.functions.confirmReceipt(
            cert_number(cert_no),
            (
                confirmation.parcels,
                confirmation.carats,
                confirmation.received_at,
                confirmation.confirmation_hash,
            ),
        )

    def reject(self, cert_no: str, reason: RejectionReason) -> ContractFunction:
        return self.contract.functions.reject(cert_number(cert_no), int(reason))

    def cancel(self, cert_no: str) -> ContractFunction:
        return self.contract.functions.cancel(cert_number(cert_no))

    def withdraw_shipment(self, cert_no: str, reason: WithdrawalReason) -> ContractFunction:
        return self.contract.functions.withdrawShipment(cert_number(cert_no), int(reason))

    def multicall(self, calls: Sequence[ContractFunction]) -> ContractFunction:
        """One `multicall(bytes[])` of the registry that makes `calls`, in order, in one
        transaction: they share its 21,000 gas and its receipt.

        On chain each call keeps the transaction's sender, is authorised as if it were sent
        alone, and emits its own event. The batch is all or nothing: one reverting call reverts
        it, with that call's custom error (which the sender's estimate raises as a
        `ContractRevertError` before signing). So simulate each call on its own before batching
        it, and batch only the calls of one sender.

        Each call is ABI-encoded once, by eth_abi, behind the selector web3 hashed when it built
        the call: web3's own encoding path checks and normalises every argument again first, at
        about 20 times the CPU.

        Args:
            calls: Unsent write calls of this registry (from the methods of this class).

        Returns:
            The batch, unsent, for a `TransactionSender`.

        Raises:
            ValueError: `calls` is empty, or holds a call of another contract (the registry
                would run its data as a call of its own).
        """
        if not calls:
            raise ValueError("a multicall needs at least one call")
        data: list[bytes] = []
        for call in calls:
            if call.address != self.address:
                raise ValueError(
                    f"{call.fn_name} is a call of {call.address}, not of the registry"
                    f" {self.address}: multicall runs calls of the registry only"
                )
            data.append(bytes.fromhex(calldata(call)[2:]))
        return self.contract.functions.multicall(data)

    def set_max_validity(self, seconds: int) -> ContractFunction:
        """Governance: the longest validity (`expiresAt - issuedAt`) of later certificates."""
        return self.contract.functions.setMaxValidity(seconds)

    def max_validity(self) -> int:
        """The longest validity, in seconds, the registry accepts now."""
        return int(call_node(lambda: self.contract.functions.maxValidity().call()))

    def receipt_grace_period(self) -> int:
        """How long, in seconds after its expiry, a shipment received by then may still be
        confirmed (registry 1.3.0's `receiptGracePeriod`)."""
        return int(call_node(lambda: self.contract.functions.receiptGracePeriod().call()))

    def certificate_status(self, cert_no: str) -> CertificateStatus:
        """The status the chain reports now (Expired derived by the contract)."""
        status = call_node(
            lambda: self.contract.functions.certificateStatus(cert_number(cert_no)).call()
        )
        return CertificateStatus(status)

    # --- participants ----------------------------------------------------------------------

    def admit_participant(self, code: str, admin: str) -> ContractFunction:
        return self.contract.functions.admitParticipant(participant_code(code), admin)

    def set_participant_status(self, code: str, status: ParticipantStatus) -> ContractFunction:
        return self.contract.functions.setParticipantStatus(participant_code(code), int(status))

    def set_origin_restriction(self, code: str, restricted: bool) -> ContractFunction:
        return self.contract.functions.setOriginRestriction(participant_code(code), restricted)

    def set_origin_zone(self, code: str, zone: bytes, allowed: bool) -> ContractFunction:
        return self.contract.functions.setOriginZone(participant_code(code), zone, allowed)

    def add_authority(self, code: str, account: str) -> ContractFunction:
        return self.contract.functions.addAuthority(participant_code(code), account)

    def revoke_authority(self, code: str, account: str) -> ContractFunction:
        return self.contract.functions.revokeAuthority(participant_code(code), account)

    def set_service_endpoint(self, code: str, url: str, encryption_key: bytes) -> ContractFunction:
        """Participant admin: where `code`'s service takes documents, and the key to encrypt
        them to."""
        return self.contract.functions.setServiceEndpoint(
            participant_code(code), url, encryption_key
        )

    def service_endpoint(self, code: str) -> ServiceEndpoint:
        url, key = call_node(
            lambda: self.contract.functions.serviceEndpoint(participant_code(code)).call()
        )
        return ServiceEndpoint(str(url), bytes(key))

    def participant_status(self, code: str) -> ParticipantStatus:
        status = call_node(
            lambda: self.contract.functions.participantStatus(participant_code(code)).call()
        )
        return ParticipantStatus(status)

    def is_authority(self, code: str, account: str) -> bool:
        return bool(
            call_node(
                lambda: self.contract.functions.isAuthority(participant_code(code), account).call()
            )
        )
