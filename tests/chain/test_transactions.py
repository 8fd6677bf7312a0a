"""TransactionSender and connect against a real anvil with the consortium profile (gas price 0).

Every signer here is a fresh key with no ether: on a zero-gas-price chain that is enough.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from kpchain.artifacts import load_artifact
from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.devnet.anvil import AnvilNode, free_port
from kpchain.errors import (
    ChainIdMismatchError,
    ChainUnavailableError,
    ContractRevertError,
    TransactionFailedError,
)
from kpchain.signing import LocalSigner

pytestmark = pytest.mark.anvil

GOVERNOR_ROLE = keccak(text="GOVERNOR_ROLE")


def _sender(w3: Web3, **kwargs: Any) -> TransactionSender:
    return TransactionSender(w3, LocalSigner(Account.create()), chain_id=2021, **kwargs)


def _registry(w3: Web3, governor: TransactionSender) -> Contract:
    artifact = load_artifact("CertificateRegistry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = governor.transact(factory.constructor(governor.signer.address))
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi)


def _nonce(w3: Web3, sender: TransactionSender) -> int:
    return w3.eth.get_transaction_count(Web3.to_checksum_address(sender.signer.address))


def test_transact_returns_successful_receipts_when_calls_succeed(w3: Web3) -> None:
    governor = _sender(w3)
    registry = _registry(w3, governor)
    admin = Account.create().address

    receipt = governor.transact(registry.functions.admitParticipant(b"BW", admin))

    assert receipt["status"] == 1
    assert receipt["from"] == governor.signer.address
    assert receipt["to"] == registry.address
    assert registry.functions.participantStatus(b"BW").call() == 1  # Active
    assert _nonce(w3, governor) == 2  # the deployment and the admission


def test_transact_raises_custom_error_before_sending_when_estimate_reverts(w3: Web3) -> None:
    governor = _sender(w3)
    registry = _registry(w3, governor)
    stranger = _sender(w3)
    block = w3.eth.block_number

    with pytest.raises(ContractRevertError) as caught:
        stranger.transact(registry.functions.admitParticipant(b"BW", stranger.signer.address))

    assert caught.value.error_name == "AccessControlUnauthorizedAccount"
    assert caught.value.args_by_name == {
        "account": stranger.signer.address,
        "neededRole": GOVERNOR_ROLE,
    }
    assert caught.value.code == "access_control_unauthorized_account"
    assert _nonce(w3, stranger) == 0  # nothing was sent, no gas spent
    assert w3.eth.block_number == block


def test_transact_raises_registry_error_with_arguments_when_code_invalid(w3: Web3) -> None:
    governor = _sender(w3)
    registry = _registry(w3, governor)

    with pytest.raises(ContractRevertError) as caught:
        governor.transact(registry.functions.admitParticipant(b"bw", governor.signer.address))

    assert caught.value.error_name == "ParticipantCodeInvalid"
    assert caught.value.args_by_name == {"code": b"bw"}
    assert caught.value.detail == {"error": "ParticipantCodeInvalid", "code": "0x6277"}
    assert _nonce(w3, governor) == 1  # only the deployment


def test_transact_decodes_revert_when_mined_transaction_failed(w3: Web3) -> None:
    governor = _sender(w3)
    registry = _registry(w3, governor)
    stranger = _sender(w3)

    with pytest.raises(ContractRevertError) as caught:
        # An explicit gas limit skips the estimate: the transaction is mined and fails.
        stranger.transact(
            registry.functions.admitParticipant(b"BW", stranger.signer.address), gas=200_000
        )

    assert caught.value.error_name == "AccessControlUnauthorizedAccount"
    assert caught.value.args_by_name["account"] == stranger.signer.address
    assert _nonce(w3, stranger) == 1  # it was mined
    (failed,) = w3.eth.get_block("latest")["transactions"]
    assert isinstance(failed, bytes)
    assert w3.eth.get_transaction_receipt(failed)["status"] == 0


def test_transact_decodes_revert_when_mined_deployment_failed(w3: Web3) -> None:
    deployer = _sender(w3)
    artifact = load_artifact("CertificateRegistry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)

    with pytest.raises(ContractRevertError) as caught:
        deployer.transact(factory.constructor("0x" + "00" * 20), gas=5_000_000)

    assert caught.value.error_name == "AccountZero"
    assert _nonce(w3, deployer) == 1


def test_transact_gives_distinct_nonces_when_eight_threads_share_a_sender(w3: Web3) -> None:
    governor = _sender(w3)
    registry = _registry(w3, governor)
    codes = [bytes([ord("A") + i, ord("A") + j]) for i in range(4) for j in range(6)]  # 24

    def admit(code: bytes) -> Any:
        return governor.transact(
            registry.functions.admitParticipant(code, Account.create().address)
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(admit, codes))

    assert all(receipt["status"] == 1 for receipt in receipts)
    nonces = sorted(w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(1, len(codes) + 1))  # nonce 0 deployed the registry
    assert sorted(registry.functions.participantCodes().call()) == sorted(codes)


def test_transact_recovers_when_nonce_was_used_outside_the_sender(w3: Web3) -> None:
    key = Account.create()
    sender = TransactionSender(w3, LocalSigner(key), chain_id=2021)
    registry = _registry(w3, sender)  # the sender now counts nonce 1 as next
    outside = LocalSigner(key).sign_transaction(
        {"to": key.address, "value": 0, "gas": 21_000, "gasPrice": 0, "nonce": 1, "chainId": 2021}
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(outside))

    receipt = sender.transact(registry.functions.admitParticipant(b"BW", key.address))

    assert receipt["status"] == 1
    assert w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 2


def test_transact_leaves_no_nonce_gap_when_node_refuses_a_transaction(w3: Web3) -> None:
    # A short receipt timeout: without the resync the next transaction would wait behind a
    # never-sent nonce and time out instead of failing the assertion slowly.
    sender = _sender(w3, receipt_timeout=10)
    artifact = load_artifact("CertificateRegistry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with pytest.raises(TransactionFailedError, match="intrinsic gas too low"):
        sender.transact(factory.constructor(sender.signer.address), gas=20_000)

    receipt = sender.transact(factory.constructor(sender.signer.address))

    assert receipt["status"] == 1
    assert w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 0


def test_connect_raises_chain_id_mismatch_when_node_serves_another_chain(
    anvil: AnvilNode,
) -> None:
    with pytest.raises(ChainIdMismatchError) as caught:
        connect(anvil.rpc_url, expected_chain_id=7102)

    assert (caught.value.expected, caught.value.actual) == (7102, 2021)
    assert caught.value.code == "chain_id_mismatch"
    assert anvil.rpc_url in caught.value.message


def test_connect_raises_chain_unavailable_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ChainUnavailableError, match="cannot reach") as caught:
        connect(url, expected_chain_id=2021, timeout=2)

    assert caught.value.detail == {"rpc_url": url}


def test_transact_raises_chain_unavailable_when_node_went_away(anvil: AnvilNode, w3: Web3) -> None:
    sender = _sender(w3)
    registry = _registry(w3, sender)
    anvil.stop()

    with pytest.raises(ChainUnavailableError):
        sender.transact(registry.functions.admitParticipant(b"BW", sender.signer.address))
