"""The chain layer's one mapping: every custom error of the contracts' ABIs classified, and the
node's error answers turned into kpchain errors."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from kpchain.artifacts import artifact_names, load_artifact
from kpchain.chain.errors import (
    REVERTS,
    Refusal,
    decode_revert,
    refusal_of,
    refused,
    rpc_result,
    unreachable,
)
from kpchain.errors import ChainError, ContractRevertError, TransactionFailedError


def _abi_errors() -> dict[str, list[str]]:
    """Every custom error of the committed artifacts, with the contracts that declare it."""
    found: dict[str, list[str]] = {}
    for contract in artifact_names():
        for item in load_artifact(contract).abi:
            if item["type"] == "error":
                found.setdefault(item["name"], []).append(contract)
    return found


def test_reverts_classifies_every_custom_error_of_every_contract_abi() -> None:
    abi = _abi_errors()

    unclassified = {name: abi[name] for name in sorted(abi.keys() - REVERTS.keys())}
    stale = sorted(REVERTS.keys() - abi.keys())

    assert not unclassified, f"classify these in kpchain.chain.errors.REVERTS: {unclassified}"
    assert not stale, f"no contract ABI has these any more; drop them from REVERTS: {stale}"
    assert len(abi) > 50  # the artifacts were found: the registries and the governance


def test_refusal_is_a_conflict_when_no_abi_has_the_error() -> None:
    stored = ContractRevertError("ErrorOfAnOlderRelease", {})

    assert refusal_of(stored) is Refusal.CONFLICT
    assert refusal_of(ContractRevertError("CertificateNotFound", {"certNo": b""})) is (
        Refusal.NOT_FOUND
    )


def test_decode_revert_names_the_custom_error_with_its_arguments() -> None:
    cert_no = b"BW-2026-000001".ljust(32, b"\0")
    data = keccak(text="CertificateNotFound(bytes32)")[:4] + abi_encode(["bytes32"], [cert_no])

    error = decode_revert(data)

    assert isinstance(error, ContractRevertError)
    assert (error.error_name, error.code) == ("CertificateNotFound", "certificate_not_found")
    assert error.detail == {"error": "CertificateNotFound", "certNo": "0x" + cert_no.hex()}


def test_decode_revert_fails_the_transaction_when_the_data_is_no_custom_error() -> None:
    reason = bytes.fromhex("08c379a0") + abi_encode(["string"], ["plain require"])

    assert decode_revert(reason).detail == {"reason": "plain require"}
    assert type(decode_revert(b"")) is TransactionFailedError
    assert decode_revert(b"\x01\x02\x03\x04").detail == {"data": "0x01020304"}


def test_rpc_result_returns_the_result_or_raises_the_nodes_refusal() -> None:
    assert rpc_result("eth_blockNumber", {"jsonrpc": "2.0", "id": 1, "result": "0x10"}) == "0x10"

    with pytest.raises(ChainError) as caught:
        rpc_result("eth_getLogs", {"error": {"code": -32005, "message": "range too wide"}})

    assert type(caught.value) is ChainError
    assert caught.value.message == "the node refused eth_getLogs: range too wide"
    assert caught.value.detail == {"method": "eth_getLogs"}


def test_refused_is_retryable_and_quotes_the_nodes_message() -> None:
    error = refused({"code": -32000, "message": "txpool is full"})

    assert error.retryable
    assert error.message == "the node refused the request: txpool is full"
    assert refused("nonce too low").message == "the node refused the request: nonce too low"


def test_unreachable_names_the_node_and_the_method_when_known() -> None:
    failure = ConnectionError("the node does not answer: timeout")

    bare = unreachable(failure)
    named = unreachable(failure, rpc_url="http://node:8545", method="eth_getLogs")
    advised = unreachable(failure, rpc_url="http://node:8545", hint="is it running?")

    assert (bare.message, bare.detail, bare.retryable) == (
        "the node does not answer: ConnectionError",
        {},
        True,
    )
    assert named.message == (
        "cannot reach the JSON-RPC node at http://node:8545 (eth_getLogs): ConnectionError"
    )
    assert named.detail == {"rpc_url": "http://node:8545"}
    assert advised.message == (
        "cannot reach the JSON-RPC node at http://node:8545: ConnectionError; is it running?"
    )
