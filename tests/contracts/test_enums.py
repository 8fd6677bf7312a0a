"""kpchain.contracts.enums against the contracts: each IntEnum has the members of its Solidity enum
in contracts/interfaces/*.sol, in the same order (the ABI carries an enum as its uint8 index),
and the values the registry reads back and emits are the Python members."""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from kpchain.contracts.enums import (
    CertificateStatus,
    ParticipantStatus,
    RejectionReason,
    Support,
    WithdrawalReason,
)

from support import emitted, event

INTERFACES = Path(__file__).resolve().parents[2] / "contracts" / "interfaces"
ENUM_BLOCK = re.compile(r"\benum\s+(\w+)\s*\{([^}]*)\}")
ZZ = b"ZZ"

# Solidity enum (as `Interface.Enum`, the ABI's internalType) -> its Python mirror.
MIRRORS: dict[str, type[IntEnum]] = {
    "IParticipantRegistry.ParticipantStatus": ParticipantStatus,
    "ICertificateRegistry.CertificateStatus": CertificateStatus,
    "ICertificateRegistry.RejectionReason": RejectionReason,
    "ICertificateRegistry.WithdrawalReason": WithdrawalReason,
    "IKPGovernor.Support": Support,
}


def upper_snake(name: str) -> str:
    """`SuspectedForgery` -> `SUSPECTED_FORGERY`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def solidity_enums() -> dict[str, list[str]]:
    """Every enum declared in contracts/interfaces, as `Interface.Enum` -> member names in order."""
    enums: dict[str, list[str]] = {}
    for source in sorted(INTERFACES.glob("*.sol")):
        text = re.sub(r"//[^\n]*", "", source.read_text())
        for name, body in ENUM_BLOCK.findall(text):
            enums[f"{source.stem}.{name}"] = [m.strip() for m in body.split(",") if m.strip()]
    return enums


def test_every_solidity_enum_has_python_mirror() -> None:
    assert set(solidity_enums()) == set(MIRRORS)


@pytest.mark.parametrize("solidity_name", MIRRORS.keys())
def test_python_enum_lists_solidity_members_in_order(solidity_name: str) -> None:
    python_enum = MIRRORS[solidity_name]
    members = solidity_enums()[solidity_name]

    assert [member.name for member in python_enum] == [upper_snake(m) for m in members]
    assert [member.value for member in python_enum] == list(range(len(members)))


def test_abi_carries_every_mirrored_enum_as_uint8(registry: Any) -> None:
    enum_types: dict[str, set[str]] = {}
    for abi in registry.contract_type.abi:
        for parameter in (*getattr(abi, "inputs", ()), *getattr(abi, "outputs", ())):
            if (internal := parameter.internal_type or "").startswith("enum "):
                enum_types.setdefault(internal.removeprefix("enum "), set()).add(parameter.type)

    # IKPGovernor.Support travels as the uint8 `support` of OpenZeppelin's Governor functions.
    registry_enums = {name for name in MIRRORS if not name.startswith("IKPGovernor.")}
    assert enum_types == {name: {"uint8"} for name in registry_enums}
    assert registry.certificateStatus.abis[0].outputs[0].type == "uint8"
    assert registry.participantStatus.abis[0].outputs[0].type == "uint8"


def test_certificate_status_reads_each_python_member_on_chain(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    chain: Any,
    bw_authority: Any,
    ae_authority: Any,
    now: int,
) -> None:
    received, rejected, cancelled, expired = (
        make_certificate(f"BW-2026-00000{n}") for n in range(1, 5)
    )
    seal = keccak(text="seal")
    assert admitted.certificateStatus(received.certNo) == CertificateStatus.NONE
    for cert in (received, rejected, cancelled, expired):
        issue(cert)
    assert admitted.certificateStatus(received.certNo) == CertificateStatus.ISSUED
    admitted.ship(received.certNo, seal, sender=bw_authority)
    admitted.ship(rejected.certNo, seal, sender=bw_authority)
    assert admitted.certificateStatus(received.certNo) == CertificateStatus.SHIPPED

    admitted.confirmReceipt(received.certNo, (3, 123_450, now, seal), sender=ae_authority)
    admitted.reject(rejected.certNo, RejectionReason.SEAL_BROKEN, sender=ae_authority)
    admitted.cancel(cancelled.certNo, sender=bw_authority)
    chain.mine(timestamp=expired.expiresAt + 1)

    assert [admitted.certificateStatus(c.certNo) for c in (received, rejected, cancelled)] == [
        CertificateStatus.RECEIVED,
        CertificateStatus.REJECTED,
        CertificateStatus.CANCELLED,
    ]
    assert admitted.certificateStatus(expired.certNo) == CertificateStatus.EXPIRED


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_reject_emits_python_rejection_reason(
    admitted: Any, shipped: Any, ae_authority: Any, reason: RejectionReason
) -> None:
    receipt = admitted.reject(shipped.certNo, reason, sender=ae_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateRejected,
            certNo=shipped.certNo,
            exportingParticipant=shipped.exportingParticipant,
            importingParticipant=shipped.importingParticipant,
            authority=ae_authority.address,
            reason=reason,
        )
    ]


@pytest.mark.parametrize("reason", list(WithdrawalReason))
def test_withdraw_shipment_emits_python_withdrawal_reason(
    admitted: Any, shipped: Any, governor: Any, bw_authority: Any, reason: WithdrawalReason
) -> None:
    admitted.setParticipantStatus(b"AE", ParticipantStatus.SUSPENDED, sender=governor)

    receipt = admitted.withdrawShipment(shipped.certNo, reason, sender=bw_authority)

    assert emitted(receipt) == [
        event(
            admitted.ShipmentWithdrawn,
            certNo=shipped.certNo,
            exportingParticipant=shipped.exportingParticipant,
            importingParticipant=shipped.importingParticipant,
            authority=bw_authority.address,
            reason=reason,
        )
    ]


def test_participant_status_reads_each_python_member_on_chain(
    registry: Any, governor: Any, stranger: Any
) -> None:
    assert registry.participantStatus(ZZ) == ParticipantStatus.NONE
    registry.admitParticipant(ZZ, stranger, sender=governor)
    assert registry.participantStatus(ZZ) == ParticipantStatus.ACTIVE

    for status in (ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN):
        registry.setParticipantStatus(ZZ, status, sender=governor)

        assert registry.participantStatus(ZZ) == status
