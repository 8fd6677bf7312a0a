"""Concurrent writes: through a real service process, with or without coalescing, every write
succeeds once and each signer's nonces run on without gaps; and a transaction the node refuses
in the middle of a burst does not strand the transactions signed after it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from eth_account import Account
from eth_typing import HexStr
from sqlalchemy import select
from web3 import Web3
from web3.contract import Contract

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.artifacts import load_artifact
from kpchain.chain.transactions import TransactionSender
from kpchain.devnet.anvil import AnvilNode
from kpchain.devnet.seed import participant_account
from kpchain.errors import TransactionFailedError
from kpchain.service.tables import Operation
from kpchain.signing import LocalSigner
from kpchain.store import create_engine, session_factory
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess, issued_events, sent_count

pytestmark = pytest.mark.anvil

EXPORTERS = {"BW": "AE", "ZA": "US", "RU": "IN"}
PER_EXPORTER = 10
REFUSED_GAS = 20_000  # below the 21,000 intrinsic gas of any transaction: the node refuses it


@pytest.fixture(params=[False, True], ids=["one-tx-per-write", "coalesced"])
def service(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    anvil: AnvilNode,
    chain: Devnet,
    database_url: str,
) -> Iterator[tuple[ServiceProcess, dict[str, dict[str, str]]]]:
    """The service process, once on SQLite and once on PostgreSQL; with every write a
    transaction of its own, and with concurrent writes coalesced into batches."""
    settings = service_settings(
        tmp_path, anvil.rpc_url, chain, database_url, coalesce_writes=request.param
    )
    _, keys = create_keys(database_url)
    process = ServiceProcess(settings, tmp_path).start()
    try:
        yield process, keys
    finally:
        process.stop()


def test_concurrent_issues_all_succeed_with_consecutive_nonces_when_three_exporters_burst(
    service: tuple[ServiceProcess, dict[str, dict[str, str]]], chain: Devnet, database_url: str
) -> None:
    process, keys = service
    authorities = {code: participant_account(code, "authority").address for code in EXPORTERS}
    before = {code: sent_count(chain, address) for code, address in authorities.items()}
    requests = [
        (code, f"{code}-2026-{n:06d}") for n in range(1, PER_EXPORTER + 1) for code in EXPORTERS
    ]

    def issue(code: str, cert_no: str) -> httpx.Response:
        with process.client(keys[code]["officer"]) as client:
            return client.post(
                "/v1/certificates",
                json=document(cert_no, code, EXPORTERS[code]),
                headers={"Idempotency-Key": f"burst:{cert_no}"},
            )

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        responses = list(pool.map(lambda r: issue(*r), requests))

    assert [r.status_code for r in responses] == [201] * len(requests), [
        r.text for r in responses if r.status_code != 201
    ]
    assert sorted(r.json()["cert_no"] for r in responses) == sorted(n for _, n in requests)
    assert all(issued_events(chain, cert_no) == 1 for _, cert_no in requests)
    engine = create_engine(database_url)
    try:
        with session_factory(engine)() as session:
            operations = list(session.scalars(select(Operation)))
    finally:
        engine.dispose()
    assert {op.status for op in operations} == {"done"}
    for code, address in authorities.items():
        # One transaction per write, or per batch of writes when coalesced: either way the
        # signer's nonces run on without a gap, and each transaction is mined at its nonce.
        signed = {(op.nonce, op.tx_hash) for op in operations if op.sender == address}
        nonces = sorted(int(nonce or 0) for nonce, _ in signed)
        transactions = PER_EXPORTER if not coalesced(process) else len(signed)
        assert 1 <= transactions <= PER_EXPORTER
        assert nonces == list(range(before[code], before[code] + transactions))
        assert sent_count(chain, address) == before[code] + transactions
        mined = sorted(
            chain.w3.eth.get_transaction(HexStr(str(tx_hash)))["nonce"] for _, tx_hash in signed
        )
        assert mined == nonces


def coalesced(process: ServiceProcess) -> bool:
    return process.settings.coalesce_writes


# --- the nonce manager under a refusal ------------------------------------------------------------


class GatedSigner:
    """A LocalSigner that holds the refused transaction (the one with REFUSED_GAS) between taking
    its nonce and signing it until `release` is set: the test decides what else is sent first."""

    def __init__(self) -> None:
        self._inner = LocalSigner(Account.create())
        self.holding = threading.Event()
        self.release = threading.Event()

    @property
    def address(self) -> str:
        return self._inner.address

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        if transaction["gas"] == REFUSED_GAS:
            self.holding.set()
            assert self.release.wait(30)
        return self._inner.sign_transaction(transaction)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return self._inner.sign_typed_data(typed_data)


def _registry(w3: Web3, governor: TransactionSender) -> Contract:
    artifact = load_artifact("CertificateRegistry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = governor.transact(factory.constructor(governor.signer.address))
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi)


def _codes(count: int) -> list[bytes]:
    return [bytes([ord("A") + i // 26, ord("A") + i % 26]) for i in range(count)]


@pytest.mark.parametrize("more_after", [0, 3], ids=["nothing-after", "more-after"])
def test_sender_mines_every_later_transaction_when_one_in_the_middle_is_refused(
    w3: Web3, more_after: int
) -> None:
    signer = GatedSigner()
    sender = TransactionSender(w3, signer, chain_id=2021, receipt_timeout=10)
    registry = _registry(w3, sender)  # nonce 0
    codes = _codes(4 + more_after)
    admin = Account.create().address

    def admit(code: bytes, gas: int | None = None) -> Any:
        return sender.transact(registry.functions.admitParticipant(code, admin), gas=gas)

    def rpc(method: str, *params: Any) -> Any:
        return w3.provider.make_request(method, list(params))  # type: ignore[arg-type]

    rpc("evm_setAutomine", False)
    with ThreadPoolExecutor(max_workers=len(codes) + 1) as pool:
        # The refused transaction takes nonce 1 and waits; four more take 2..5 and are sent:
        # they wait in the pool behind nonce 1.
        refused: Future[Any] = pool.submit(admit, b"ZZ", REFUSED_GAS)
        assert signer.holding.wait(10)
        before: list[Future[Any]] = [pool.submit(admit, code) for code in codes[:4]]
        wait_until(
            lambda: (
                w3.eth.get_transaction_count(sender.address, "pending") == 1
                and sum(len(v) for v in rpc("txpool_content")["result"]["queued"].values()) == 4
            ),
            timeout=10,
            what="four transactions queued behind nonce 1",
        )
        signer.release.set()
        with pytest.raises(TransactionFailedError, match="intrinsic gas too low"):
            refused.result(timeout=10)
        after = [pool.submit(admit, code) for code in codes[4:]]
        expected = len(before) + len(after)
        wait_until(
            lambda: w3.eth.get_transaction_count(sender.address, "pending") >= 1 + expected,
            timeout=10,
            what="every transaction executable in the pool",
        )
        rpc("evm_setAutomine", True)
        rpc("evm_mine")
        receipts = [future.result(timeout=15) for future in before + after]

    assert all(receipt["status"] == 1 for receipt in receipts)
    nonces = sorted(w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert len(set(nonces)) == len(nonces)
    latest = w3.eth.get_transaction_count(sender.address, "latest")
    assert latest == w3.eth.get_transaction_count(sender.address, "pending")  # nothing stuck
    assert set(nonces) <= set(range(1, latest))
    assert sorted(registry.functions.participantCodes().call()) == sorted(codes)
    # The refused call was never mined; at most a no-op filled its nonce.
    mined = {r["transactionHash"] for r in receipts}
    others: list[Any] = [
        tx
        for number in range(w3.eth.block_number + 1)
        for tx in cast(list[Any], w3.eth.get_block(number, full_transactions=True)["transactions"])
        if tx["from"] == sender.address and tx["nonce"] > 0 and tx["hash"] not in mined
    ]
    assert len(others) <= 1
    assert all((tx["to"], tx["value"], tx["input"]) == (sender.address, 0, b"") for tx in others)


def test_sender_signs_again_with_a_fresh_nonce_when_another_client_holds_its_nonce_in_the_pool(
    w3: Web3,
) -> None:
    key = Account.create()
    sender = TransactionSender(w3, LocalSigner(key), chain_id=2021, receipt_timeout=10)
    registry = _registry(w3, sender)  # the sender now counts nonce 1 as next
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    outside = LocalSigner(key).sign_transaction(
        {"to": key.address, "value": 0, "gas": 21_000, "gasPrice": 0, "nonce": 1, "chainId": 2021}
    )
    w3.eth.send_raw_transaction(outside)  # waits in the pool, holding nonce 1

    with ThreadPoolExecutor(max_workers=1) as pool:
        admitted = pool.submit(
            sender.transact, registry.functions.admitParticipant(b"BW", key.address)
        )
        wait_until(
            lambda: w3.eth.get_transaction_count(key.address, "pending") == 3 or admitted.done(),
            timeout=10,
            what="the call sent with the next free nonce",
        )
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        receipt = admitted.result(timeout=15)

    assert receipt["status"] == 1
    assert w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 2
    assert w3.eth.get_transaction_count(key.address, "latest") == 3
