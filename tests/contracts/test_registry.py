"""kpchain.contracts.registry: Registry.multicall encodes each call as it would be sent alone,
and on a real anvil its batch of one authority's calls is mined as one transaction with each
call's event, or refused before signing with the custom error of the call that reverts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3

from kpchain.certificates.typed_data import Certificate, document_hash
from kpchain.contracts.encoding import cert_number
from kpchain.contracts.enums import CertificateStatus, RejectionReason, WithdrawalReason
from kpchain.contracts.registry import Confirmation, Registry
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.errors import ContractRevertError
from support_chain import DAY, Devnet

ADDRESS = "0x" + "11" * 20
SIGNER = Web3.to_checksum_address("0x" + "22" * 20)
SEAL = keccak(text="seal GDO-0001234, container MSKU 1234567")


@pytest.fixture
def offline() -> Registry:
    """A registry binding with no node behind it: encoding needs none."""
    return Registry(Web3(), ADDRESS)


@pytest.fixture
def deployed(seeded: Devnet) -> Registry:
    """The binding of the registry deployed and seeded on a fresh anvil."""
    return Registry(seeded.w3, seeded.address)


def _confirmation(devnet: Devnet) -> Confirmation:
    today = devnet.now() - devnet.now() % DAY
    return Confirmation(
        parcels=3, carats=123_450, received_at=today, confirmation_hash=keccak(text="received")
    )


def _decoded(registry: Registry, receipt: Any, names: list[str]) -> list[dict[str, Any]]:
    """The receipt's logs decoded as the registry events `names`, in that order."""
    assert len(receipt["logs"]) == len(names)
    return [
        dict(getattr(registry.contract.events, name)().process_log(log)["args"])
        for name, log in zip(names, receipt["logs"], strict=True)
    ]


# ----------------------------------------------------------------------------------------------
# Encoding (no chain)
# ----------------------------------------------------------------------------------------------


def test_multicall_encodes_each_call_as_it_would_be_sent_alone(
    offline: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    first, second = make_certificate("BW-2026-000001"), make_certificate("BW-2026-000002")
    calls = [
        offline.issue(first, SIGNER, b"\x01" * 65),
        offline.issue_batch([first, second], SIGNER, [b"\x02" * 65, b"\x03" * 65]),
        offline.ship("BW-2026-000001", SEAL),
        offline.confirm_receipt(
            "ZA-2026-000001", Confirmation(3, 123_450, 1_795_737_600, keccak(text="received"))
        ),
        offline.reject("ZA-2026-000002", RejectionReason.SEAL_BROKEN),
        offline.cancel("BW-2026-000002"),
        offline.withdraw_shipment("BW-2026-000003", WithdrawalReason.SEIZED),
        offline.ship("BW-2026-000004", SEAL),  # a selector met before, from the cache
    ]

    batch = offline.multicall(calls)

    function, arguments = offline.contract.decode_function_input(batch._encode_transaction_data())
    assert function.abi_element_identifier == "multicall(bytes[])"
    assert arguments == {"data": [HexBytes(call._encode_transaction_data()) for call in calls]}
    assert batch.address == offline.address


def test_multicall_raises_value_error_when_no_calls(offline: Registry) -> None:
    with pytest.raises(ValueError, match="at least one call"):
        offline.multicall([])


def test_multicall_raises_value_error_when_call_of_another_contract(offline: Registry) -> None:
    other = Registry(Web3(), "0x" + "33" * 20)

    with pytest.raises(ValueError, match="not of the registry"):
        offline.multicall([offline.ship("BW-2026-000001", SEAL), other.cancel("BW-2026-000002")])


# ----------------------------------------------------------------------------------------------
# On anvil
# ----------------------------------------------------------------------------------------------


@pytest.mark.anvil
def test_multicall_ships_receives_and_issues_in_one_transaction_when_one_authority_sends_them(
    seeded: Devnet, deployed: Registry
) -> None:
    bw = seeded.sender("BW")
    to_ship = seeded.certificate("BW-2026-000101")
    seeded.issue(to_ship)
    to_receive = seeded.certificate("ZA-2026-000101", exporting="ZA", importing="BW")
    seeded.issue(to_receive)
    seeded.ship("ZA-2026-000101", exporting="ZA")
    to_issue = seeded.certificate("BW-2026-000102")
    confirmation = _confirmation(seeded)
    batch = deployed.multicall(
        [
            deployed.ship("BW-2026-000101", SEAL),
            deployed.confirm_receipt("ZA-2026-000101", confirmation),
            deployed.issue(to_issue, bw.signer.address, seeded.sign(to_issue, "BW")),
        ]
    )
    doc_hash = document_hash(to_issue, chain_id=DEVNET_CHAIN_ID, verifying_contract=seeded.address)

    simulated = batch.call({"from": bw.signer.address})
    receipt = bw.transact(batch)

    # Each call's return data, in order: ship and confirmReceipt return nothing, issue its hash.
    assert simulated == [b"", b"", doc_hash]
    assert receipt["status"] == 1
    assert receipt["to"] == deployed.address
    shipped, received, issued = _decoded(
        deployed, receipt, ["CertificateShipped", "CertificateReceived", "CertificateIssued"]
    )
    assert shipped == {
        "certNo": to_ship.certNo,
        "exportingParticipant": b"BW",
        "importingParticipant": b"AE",
        "authority": bw.signer.address,
        "sealRef": SEAL,
    }
    assert received == {
        "certNo": to_receive.certNo,
        "exportingParticipant": b"ZA",
        "importingParticipant": b"BW",
        "authority": bw.signer.address,
        "confirmation": {
            "parcels": confirmation.parcels,
            "carats": confirmation.carats,
            "receivedAt": confirmation.received_at,
            "confirmationHash": confirmation.confirmation_hash,
        },
    }
    assert issued == {
        "certNo": to_issue.certNo,
        "exportingParticipant": b"BW",
        "importingParticipant": b"AE",
        "docHash": doc_hash,
        "signer": bw.signer.address,
        "origin": to_issue.origin,
        "provenance": to_issue.provenance,
        "originZone": to_issue.originZone,
        "exporterHash": to_issue.exporterHash,
        "importerHash": to_issue.importerHash,
        "lines": [line.to_message() for line in to_issue.lines],
        "issuedAt": to_issue.issuedAt,
        "expiresAt": to_issue.expiresAt,
        "issuingAuthority": to_issue.issuingAuthority,
        "replaces": to_issue.replaces,
    }
    assert deployed.certificate_status("BW-2026-000101") == CertificateStatus.SHIPPED
    assert deployed.certificate_status("ZA-2026-000101") == CertificateStatus.RECEIVED
    assert deployed.certificate_status("BW-2026-000102") == CertificateStatus.ISSUED


@pytest.mark.anvil
def test_multicall_raises_custom_error_of_reverting_call_before_signing(
    seeded: Devnet, deployed: Registry
) -> None:
    bw = seeded.sender("BW")
    seeded.issue(seeded.certificate("BW-2026-000201"))
    nonce = seeded.w3.eth.get_transaction_count(bw.signer.address)
    batch = deployed.multicall(
        [deployed.ship("BW-2026-000201", SEAL), deployed.ship("BW-2026-000404", SEAL)]
    )

    with pytest.raises(ContractRevertError) as caught:
        bw.transact(batch)

    assert caught.value.error_name == "CertificateNotFound"
    assert caught.value.args_by_name == {"certNo": cert_number("BW-2026-000404")}
    # Nothing was sent, and the call before the reverting one changed nothing.
    assert seeded.w3.eth.get_transaction_count(bw.signer.address) == nonce
    assert deployed.certificate_status("BW-2026-000201") == CertificateStatus.ISSUED


@pytest.mark.anvil
def test_multicall_raises_unauthorized_authority_when_sender_is_not_the_calls_authority(
    seeded: Devnet, deployed: Registry
) -> None:
    ae = seeded.sender("AE")
    seeded.issue(seeded.certificate("BW-2026-000301"))

    # AE's authority batching BW's shipment: the call runs as AE's, and is refused as AE's.
    with pytest.raises(ContractRevertError) as caught:
        ae.transact(deployed.multicall([deployed.ship("BW-2026-000301", SEAL)]))

    assert caught.value.error_name == "UnauthorizedAuthority"
    assert caught.value.args_by_name == {"account": ae.signer.address, "participant": b"BW"}
    assert deployed.certificate_status("BW-2026-000301") == CertificateStatus.ISSUED
