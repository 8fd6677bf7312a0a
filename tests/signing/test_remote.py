"""RemoteSigner: keys held by a Web3Signer-style service, every answer checked.

Web3Signer is a Java service that cannot run here: these tests run against FakeWeb3Signer
(tests/signing/fake_web3signer.py), a small stdlib HTTP server on 127.0.0.1 that answers
Web3Signer's eth1 JSON-RPC the way Web3Signer's source does, signing with eth-account.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from fake_web3signer import FakeWeb3Signer, new_account
from web3 import Web3

from kpchain.certificates.typed_data import (
    ZERO32,
    ZERO_CODE,
    Certificate,
    Line,
    document_hash,
    typed_data,
)
from kpchain.chain.signer import Signer
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.encoding import cert_number
from kpchain.contracts.founding import Founder
from kpchain.deploy import deploy
from kpchain.devnet.seed import participant_account, registry
from kpchain.errors import SigningError
from kpchain.signing import RemoteSigner
from kpchain.signing.devkeys import development_addresses

CHAIN_ID = 2021
NOTE = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}],
        "Note": [{"name": "text", "type": "string"}, {"name": "tag", "type": "bytes2"}],
    },
    "primaryType": "Note",
    "domain": {"name": "kpchain test"},
    "message": {"text": "hello", "tag": b"BW"},
}


@pytest.fixture
def key() -> LocalAccount:
    return new_account()


@pytest.fixture
def web3signer(key: LocalAccount) -> Iterator[FakeWeb3Signer]:
    server = FakeWeb3Signer([key]).start()
    yield server
    server.stop()


@pytest.fixture
def signer(web3signer: FakeWeb3Signer, key: LocalAccount) -> Iterator[RemoteSigner]:
    with RemoteSigner(web3signer.url, key.address) as remote:
        yield remote


def _transfer(signer: Signer, **overrides: Any) -> dict[str, Any]:
    tx = {
        "from": signer.address,
        "to": "0x000000000000000000000000000000000000dEaD",
        "value": 1,
        "gas": 21_000,
        "gasPrice": 0,
        "nonce": 7,
        "chainId": CHAIN_ID,
        "data": b"",
    }
    return {**tx, **overrides}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the happy paths, against a real chain -----------------------------------------------------


@pytest.mark.anvil
def test_remote_signer_deploys_admits_and_issues_on_anvil_when_keys_held_remotely(
    w3: Web3,
) -> None:
    governor_key, admin_key, authority_key = new_account(), new_account(), new_account()
    server = FakeWeb3Signer([governor_key, admin_key, authority_key]).start()
    try:
        governor, admin, authority = (
            RemoteSigner(server.url, account.address)
            for account in (governor_key, admin_key, authority_key)
        )
        as_governor = TransactionSender(w3, governor, chain_id=CHAIN_ID)

        founders = [Founder("BW", admin.address), Founder("AE", new_account().address)]
        deployment = deploy(
            as_governor, founders=founders, network="remote", expected_chain_id=CHAIN_ID
        )
        contract = registry(w3, deployment.address)
        as_admin = TransactionSender(w3, admin, chain_id=CHAIN_ID)
        as_admin.transact(contract.functions.addAuthority(b"BW", authority.address))
        now = int(w3.eth.get_block("latest")["timestamp"])
        cert = _certificate(issued_at=now)
        signature = authority.sign_typed_data(
            typed_data(cert, chain_id=CHAIN_ID, verifying_contract=deployment.address)
        )
        as_authority = TransactionSender(w3, authority, chain_id=CHAIN_ID)
        receipt = as_authority.transact(
            contract.functions.issue(cert.to_abi(), authority.address, signature)
        )
    finally:
        server.stop()

    assert deployment.deployer == governor.address
    assert receipt["status"] == 1
    assert receipt["from"] == authority.address
    status = contract.functions.certificateStatus(cert.certNo).call()
    assert status != 0  # issued: the contract accepted the remotely made EIP-712 signature
    # The deploy's 14 steps (registry, 2 founders, timelock, validator set, governor, 5 grants,
    # 3 renouncements), the authority's addition and the issue.
    assert len(server.calls("eth_signTransaction")) == 16


def _certificate(*, issued_at: int) -> Certificate:
    return Certificate(
        certNo=cert_number("BW-2026-000001"),
        exportingParticipant=b"BW",
        importingParticipant=b"AE",
        origin=b"BW",
        provenance=ZERO_CODE,
        originZone=ZERO32,
        exporterHash=keccak(text="exporter"),
        importerHash=keccak(text="importer"),
        lines=(Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3),),
        issuedAt=issued_at,
        expiresAt=issued_at + 60 * 86_400,
        issuingAuthority="Government Diamond Office",
    )


@pytest.mark.anvil
def test_remote_signer_signs_eip1559_transaction_that_anvil_mines(
    w3: Web3, signer: RemoteSigner
) -> None:
    tx = _transfer(signer, value=0, gasPrice=None, maxFeePerGas=0, maxPriorityFeePerGas=0)
    del tx["gasPrice"]

    raw = signer.sign_transaction({**tx, "nonce": 0})

    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    assert receipt["status"] == 1
    assert receipt["from"] == signer.address
    assert raw[0] == 2  # an EIP-1559 envelope


def test_sign_typed_data_returns_signature_that_recovers_to_address_when_certificate(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    cert = _certificate(issued_at=1_760_000_000)

    signature = signer.sign_typed_data(
        typed_data(cert, chain_id=CHAIN_ID, verifying_contract=contract)
    )

    digest = document_hash(cert, chain_id=CHAIN_ID, verifying_contract=contract)
    assert len(signature) == 65
    assert signature[64] in (27, 28)
    assert Account._recover_hash(digest, signature=signature) == signer.address
    # Web3Signer reads the typed data as a JSON string: an object there is a server error.
    (call,) = web3signer.calls("eth_signTypedData")
    assert call.params[0] == signer.address
    assert isinstance(call.params[1], str)
    assert json.loads(call.params[1])["message"]["exportingParticipant"] == "0x4257"  # "BW"


def test_sign_transaction_sends_web3signer_shaped_request_when_contract_creation(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    tx = _transfer(signer, to=b"", data="0x6001", value=0)

    raw = signer.sign_transaction(tx)

    (call,) = web3signer.calls("eth_signTransaction")
    assert call.params == [
        {
            "from": signer.address,
            "data": "0x6001",
            "value": "0x0",
            "nonce": "0x7",
            "gas": "0x5208",
            "gasPrice": "0x0",
            "chainId": "0x7e5",
        }
    ]
    assert Account.recover_transaction(raw) == signer.address


def test_remote_signer_satisfies_signer_protocol_and_checks_accounts_once(
    signer: RemoteSigner, web3signer: FakeWeb3Signer, key: LocalAccount
) -> None:
    assert isinstance(signer, Signer)
    assert signer.address == key.address
    assert len(web3signer.calls("eth_accounts")) == 1


# --- a signer that lies ------------------------------------------------------------------------


def test_sign_typed_data_raises_when_signer_signs_with_another_key(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    impostor = new_account()
    web3signer.impostor = impostor

    with pytest.raises(SigningError, match="recovers to") as caught:
        signer.sign_typed_data(NOTE)

    assert impostor.address in caught.value.message
    assert caught.value.detail["reason"] == "misbehaving"


def test_sign_transaction_raises_when_signer_signs_with_another_key(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    web3signer.impostor = new_account()

    with pytest.raises(SigningError, match="signed the transaction as") as caught:
        signer.sign_transaction(_transfer(signer))

    assert caught.value.detail["reason"] == "misbehaving"


def test_sign_transaction_raises_with_hint_when_signer_uses_another_chain_id(
    key: LocalAccount,
) -> None:
    server = FakeWeb3Signer([key], chain_id=1).start()  # Web3Signer's default --chain-id
    try:
        with (
            RemoteSigner(server.url, key.address) as signer,
            pytest.raises(SigningError, match="chainId 1 instead of 2021") as caught,
        ):
            signer.sign_transaction(_transfer(signer))
    finally:
        server.stop()

    assert "--chain-id" in caught.value.message


@pytest.mark.parametrize(
    ("tamper", "what"),
    [
        (lambda tx: {**tx, "nonce": tx["nonce"] + 1}, "nonce 8 instead of 7"),
        (lambda tx: {**tx, "to": "0x" + "11" * 20}, "to 0x1111"),
        (lambda tx: {**tx, "value": 10**18}, "value 1000000000000000000 instead of 1"),
        (lambda tx: {**tx, "gas": 90_000}, "gas 90000 instead of 21000"),
        (lambda tx: {**tx, "data": "0xdeadbeef"}, "data 0xdeadbeef instead of 0x"),
        (lambda tx: {**tx, "gasPrice": 10**9}, "gasPrice 1000000000 instead of 0"),
    ],
)
def test_sign_transaction_raises_when_signer_changes_the_transaction(
    signer: RemoteSigner,
    web3signer: FakeWeb3Signer,
    tamper: Callable[[dict[str, Any]], dict[str, Any]],
    what: str,
) -> None:
    web3signer.tamper = tamper

    with pytest.raises(SigningError, match="another transaction than asked for") as caught:
        signer.sign_transaction(_transfer(signer))

    assert what in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0", "id": 2, "result": "not hex"},
        {"jsonrpc": "2.0", "id": 2, "result": "0x" + "ab" * 40},
        {"jsonrpc": "2.0", "id": 2, "result": None},
        {"jsonrpc": "2.0", "id": 99, "result": "0x"},
        {"unexpected": True},
    ],
)
def test_sign_transaction_raises_when_signer_answers_garbage(
    signer: RemoteSigner, web3signer: FakeWeb3Signer, body: dict[str, Any]
) -> None:
    web3signer.answer = (200, json.dumps(body).encode())

    with pytest.raises(SigningError, match="refusing its answer") as caught:
        signer.sign_transaction(_transfer(signer))

    assert caught.value.detail["reason"] == "misbehaving"


def test_sign_typed_data_raises_when_signature_is_not_65_bytes(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    web3signer.answer = (200, json.dumps({"jsonrpc": "2.0", "id": 2, "result": "0x00"}).encode())

    with pytest.raises(SigningError, match="not a 65-byte signature"):
        signer.sign_typed_data(NOTE)


# --- refusals and failures ---------------------------------------------------------------------


def test_remote_signer_raises_not_held_when_signer_lacks_address(
    web3signer: FakeWeb3Signer,
) -> None:
    stranger = new_account()

    with pytest.raises(SigningError, match="does not hold") as caught:
        RemoteSigner(web3signer.url, stranger.address)

    assert caught.value.detail["reason"] == "not_held"
    assert stranger.address in caught.value.message


def test_sign_transaction_maps_json_rpc_error_when_signer_no_longer_holds_key(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    web3signer.keys.clear()  # the key was removed from the vault after start-up

    with pytest.raises(SigningError, match="No unlocked account matches the Sender") as caught:
        signer.sign_transaction(_transfer(signer))

    assert caught.value.detail["rpc_code"] == -32000
    assert caught.value.detail["reason"] == "rpc_error"
    assert caught.value.detail["method"] == "eth_signTransaction"
    assert "no longer holds" in caught.value.message


@pytest.mark.parametrize("status", [200, 500])
def test_sign_typed_data_maps_json_rpc_error_whatever_the_http_status(
    signer: RemoteSigner, web3signer: FakeWeb3Signer, status: int
) -> None:
    error = {"jsonrpc": "2.0", "id": 2, "error": {"code": -32603, "message": "Internal error"}}
    web3signer.answer = (status, json.dumps(error).encode())

    with pytest.raises(SigningError, match=r"refused eth_signTypedData: Internal error"):
        signer.sign_typed_data(NOTE)


def test_remote_signer_raises_unavailable_when_nothing_listens(key: LocalAccount) -> None:
    url = f"http://127.0.0.1:{_free_port()}"

    with pytest.raises(SigningError, match="cannot reach remote signer") as caught:
        RemoteSigner(url, key.address)

    assert caught.value.detail["reason"] == "unavailable"
    assert url in caught.value.message


def test_sign_transaction_raises_unavailable_when_signer_went_down(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    web3signer.stop()

    with pytest.raises(SigningError, match="cannot reach remote signer") as caught:
        signer.sign_transaction(_transfer(signer))

    assert caught.value.detail["reason"] == "unavailable"
    assert caught.value.__cause__ is None


def test_sign_transaction_raises_unavailable_when_signer_does_not_answer_in_time(
    key: LocalAccount,
) -> None:
    server = FakeWeb3Signer([key]).start()
    try:
        with RemoteSigner(server.url, key.address, timeout=0.2) as signer:
            server.hang = threading.Event()
            with pytest.raises(SigningError, match="did not answer eth_signTransaction") as caught:
                signer.sign_transaction(_transfer(signer))
    finally:
        server.stop()

    assert caught.value.detail["reason"] == "unavailable"


@pytest.mark.parametrize(("status", "reason"), [(401, "http_error"), (503, "unavailable")])
def test_remote_signer_raises_http_error_when_status_without_json_rpc_body(
    web3signer: FakeWeb3Signer, key: LocalAccount, status: int, reason: str
) -> None:
    web3signer.answer = (status, b"<html>nope</html>")

    with pytest.raises(SigningError, match=f"answered eth_accounts with HTTP {status}") as caught:
        RemoteSigner(web3signer.url, key.address)

    assert caught.value.detail["reason"] == reason
    assert ("headers" in caught.value.message) == (status == 401)


def test_sign_transaction_refuses_before_sending_when_transaction_incomplete(
    signer: RemoteSigner, web3signer: FakeWeb3Signer
) -> None:
    incomplete = _transfer(signer)
    del incomplete["nonce"]
    other_sender = _transfer(signer, **{"from": new_account().address})
    both_prices = _transfer(signer, maxFeePerGas=1, maxPriorityFeePerGas=1)

    for tx, message in [
        (incomplete, "no nonce"),
        (other_sender, "but this signer is"),
        (both_prices, "either gasPrice or maxFeePerGas"),
        (_transfer(signer, accessList=[{"address": "0x" + "00" * 20}]), "access list"),
        (_transfer(signer, to="nowhere"), "'to' is not an address"),
    ]:
        with pytest.raises(SigningError, match=message) as caught:
            signer.sign_transaction(tx)
        assert caught.value.detail["reason"] == "invalid_request"
    assert web3signer.calls("eth_signTransaction") == []


# --- development keys --------------------------------------------------------------------------


@pytest.mark.parametrize("dev_key", ["anvil", "participant"])
def test_remote_signer_refuses_development_address_unless_development(dev_key: str) -> None:
    Account.enable_unaudited_hdwallet_features()  # for from_mnemonic, whatever ran before
    account: LocalAccount = (
        Account.from_mnemonic(
            "test test test test test test test test test test test junk",
            account_path="m/44'/60'/0'/0/3",
        )
        if dev_key == "anvil"
        else participant_account("EU", "authority")
    )
    server = FakeWeb3Signer([account]).start()
    try:
        with pytest.raises(SigningError, match="well-known development account") as caught:
            RemoteSigner(server.url, account.address)
        asked_before_refusing = list(server.received)
        with RemoteSigner(server.url, account.address, development=True) as signer:
            signature = signer.sign_typed_data(NOTE)
    finally:
        server.stop()

    assert asked_before_refusing == []
    assert caught.value.detail["address"] == account.address
    recovered = Account.recover_message(encode_typed_data(full_message=NOTE), signature=signature)
    assert recovered == account.address


# --- secrets -----------------------------------------------------------------------------------


def test_errors_and_repr_hold_no_credentials_or_key_material(key: LocalAccount) -> None:
    password, token = "s3cret-pass", "Bearer tok-123456"
    server = FakeWeb3Signer([key], basic_auth=("kp", password)).start()
    url = server.url.replace("http://", f"http://kp:{password}@") + "/"
    texts: list[str] = []
    try:
        signer = RemoteSigner(url, key.address, headers={"X-Api-Token": token})
        texts += [repr(signer), str(signer), signer.url]
        assert server.received[0].headers["X-Api-Token"] == token
        server.keys.clear()
        for attempt in (
            lambda: signer.sign_transaction(_transfer(signer)),
            lambda: signer.sign_typed_data(NOTE),
            lambda: RemoteSigner(url, new_account().address, headers={"X-Api-Token": token}),
        ):
            with pytest.raises(SigningError) as caught:
                attempt()
            texts += [str(caught.value), repr(caught.value), json.dumps(caught.value.detail)]
        server.stop()
        with pytest.raises(SigningError) as caught:
            signer.sign_transaction(_transfer(signer))
        texts += [str(caught.value), json.dumps(caught.value.detail)]
    finally:
        server.stop()

    rendered = "\n".join(texts)
    assert signer.url in rendered  # the URL, without its credentials
    for secret in (password, token, "tok-123456", key.key.hex(), "0x" + key.key.hex()):
        assert secret not in rendered
    assert "hello" not in rendered  # nor what was being signed


def test_remote_signer_raises_when_url_or_address_malformed(key: LocalAccount) -> None:
    with pytest.raises(SigningError, match="not an http"):
        RemoteSigner("ftp://signer.example", key.address)
    with pytest.raises(SigningError, match="not an Ethereum address"):
        RemoteSigner("http://127.0.0.1:1", "0x1234")
    with pytest.raises(SigningError, match="wrong EIP-55 checksum"):  # 0x5FbDB… with one f
        RemoteSigner("http://127.0.0.1:1", "0x5fbDB2315678afecb367f032d93F642f64180aa3")


def test_development_addresses_are_checked_before_contacting_signer() -> None:
    # Port 1 is never served: a network attempt would fail with "cannot reach" instead.
    with pytest.raises(SigningError, match="well-known development account"):
        RemoteSigner("http://127.0.0.1:1", development_addresses()[0])
