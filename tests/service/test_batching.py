"""Coalesced writes (kpchain.service.batching) in-process against anvil and SQLite: operations
that one account has ready while its previous transaction is being signed go as one multicall,
each keeps its own row, answer and error, and a batch left in flight by a stopped process is
finished once by the next.

The first write's signature is held until the others have queued behind it, so the batch they
form is certain, not a matter of timing."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_typing import HexStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import ShipRequest
from kpchain.chain.signer import Signer
from kpchain.devnet.seed import participant_account
from kpchain.errors import ContractRevertError, KpchainError, TransactionPendingError
from kpchain.runtime import Runtime, build_runtime
from kpchain.service.batching import MULTICALL_SELECTOR
from kpchain.service.keys import Principal
from kpchain.service.tables import Operation
from support_api import service_settings
from support_chain import Devnet
from support_service import issued_events, sent_count

pytestmark = pytest.mark.anvil

BW_OFFICER = Principal(key_id="test", participant="BW", role="officer")
BW_AUTHORITY = participant_account("BW", "authority").address
QUEUED = 5


class HeldSigner:
    """Wraps a signer; once `armed`, its next transaction signature waits until `release`."""

    def __init__(self, inner: Signer) -> None:
        self._inner = inner
        self.holding = threading.Event()
        self.release = threading.Event()
        self.armed = False

    @property
    def address(self) -> str:
        return self._inner.address

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        if self.armed:
            self.armed = False
            self.holding.set()
            assert self.release.wait(timeout=30)
        return self._inner.sign_transaction(transaction)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return self._inner.sign_typed_data(typed_data)


@pytest.fixture
def held(runtime: Runtime) -> HeldSigner:
    """BW's authority signer in `runtime`, ready to hold a transaction signature."""
    sender = runtime.hosting.participants["BW"]
    signer = HeldSigner(sender.signer)
    sender.signer = signer  # type: ignore[assignment]
    return signer


def _issue(runtime: Runtime, cert_no: str) -> Any:
    body = CertificateDocument.model_validate(document(cert_no))
    issued = runtime.authority.issue(BW_OFFICER, body, idempotency_key=f"issue:{cert_no}")
    return issued.model_dump(mode="json")


def _ship(runtime: Runtime, cert_no: str, *, key: str) -> Any:
    request = ShipRequest(seal_ref=f"SEAL-{cert_no}")
    return runtime.authority.ship(BW_OFFICER, cert_no, request, idempotency_key=key).model_dump(
        mode="json"
    )


def _outcome(action: Any) -> Any:
    try:
        return action()
    except KpchainError as exc:
        return exc


def _behind_a_held_first(
    runtime: Runtime, held: HeldSigner, first: Any, queued: list[Any]
) -> tuple[Any, list[Any]]:
    """Runs `first`, holds its signature until every one of `queued` waits for the next batch,
    then lets them all go; returns their outcomes (results or errors)."""
    coalescer = runtime.writer.coalescer
    assert coalescer is not None
    held.armed = True
    with ThreadPoolExecutor(max_workers=len(queued) + 1) as pool:
        leader: Future[Any] = pool.submit(_outcome, first)
        assert held.holding.wait(timeout=30)
        followers = [pool.submit(_outcome, action) for action in queued]
        wait_until(
            lambda: coalescer.waiting(BW_AUTHORITY) == len(queued),
            timeout=30,
            what="the other writes queued behind the first",
        )
        held.release.set()
        return leader.result(timeout=60), [f.result(timeout=60) for f in followers]


def _operations(store: sessionmaker[Session], prefix: str) -> list[Operation]:
    with store() as session:
        query = select(Operation).where(Operation.idempotency_key.startswith(prefix))
        return list(session.scalars(query.order_by(Operation.id)))


def test_writes_queued_behind_a_transaction_being_signed_go_as_one_multicall(
    runtime: Runtime, held: HeldSigner, chain: Devnet, store: sessionmaker[Session]
) -> None:
    numbers = [f"BW-2026-{900 + n:06d}" for n in range(QUEUED + 1)]
    before = sent_count(chain, BW_AUTHORITY)

    first, queued = _behind_a_held_first(
        runtime,
        held,
        lambda: _issue(runtime, numbers[0]),
        [(lambda n=n: _issue(runtime, n)) for n in numbers[1:]],
    )

    results = [first, *queued]
    assert not [r for r in results if isinstance(r, KpchainError)], results
    assert [r["cert_no"] for r in results] == numbers
    assert {r["status"] for r in results} == {"issued"}
    assert sent_count(chain, BW_AUTHORITY) == before + 2  # the first alone, then one batch
    rows = _operations(store, "issue:")
    assert {row.status for row in rows} == {"done"}
    alone, batch = rows[0], rows[1:]
    assert len({row.tx_hash for row in batch}) == 1
    assert alone.tx_hash != batch[0].tx_hash
    assert [row.nonce for row in (alone, batch[0])] == [before, before + 1]
    assert batch[0].unsigned_tx is not None
    assert str(batch[0].unsigned_tx["data"]).startswith(MULTICALL_SELECTOR)
    receipt = chain.w3.eth.get_transaction_receipt(HexStr(str(batch[0].tx_hash)))
    assert receipt["status"] == 1
    assert all(issued_events(chain, number) == 1 for number in numbers)


def test_one_reverting_write_in_a_batch_fails_alone_and_the_others_succeed(
    runtime: Runtime, held: HeldSigner, chain: Devnet, store: sessionmaker[Session]
) -> None:
    shipped = "BW-2026-000910"
    _issue(runtime, shipped)
    numbers = [f"BW-2026-{911 + n:06d}" for n in range(QUEUED - 1)]
    before = sent_count(chain, BW_AUTHORITY)

    # Two requests ship the same certificate: each passes the service's checks, and a batch
    # holding both would revert on the second.
    first, queued = _behind_a_held_first(
        runtime,
        held,
        lambda: _issue(runtime, numbers[0]),
        [
            lambda: _ship(runtime, shipped, key="ship:a"),
            lambda: _ship(runtime, shipped, key="ship:b"),
            *((lambda n=n: _issue(runtime, n)) for n in numbers[1:]),
        ],
    )

    ships, issued = queued[:2], [first, *queued[2:]]
    refused = [r for r in ships if isinstance(r, KpchainError)]
    assert len(refused) == 1, ships
    assert isinstance(refused[0], ContractRevertError)
    assert refused[0].code == "certificate_status_invalid"
    assert [r["status"] for r in ships if not isinstance(r, KpchainError)] == ["shipped"]
    assert [r["cert_no"] for r in issued] == numbers
    # The batch's estimate reverted, so it was not sent: each of its writes went alone (the
    # losing ship mined reverted, or refused by its own estimate).
    sent = sent_count(chain, BW_AUTHORITY) - before
    assert len(numbers) + 1 <= sent <= len(numbers) + 2
    rows = {row.idempotency_key: row for row in _operations(store, "ship:")}
    loser = "ship:a" if ships[0] is refused[0] else "ship:b"
    assert rows[loser].status == "failed"
    assert {row.status for row in _operations(store, "issue:")} == {"done"}
    for row in _operations(store, ""):  # no transaction of a batch was stored
        assert row.unsigned_tx is None or not str(row.unsigned_tx["data"]).startswith(
            MULTICALL_SELECTOR
        )


@pytest.mark.parametrize("reached_node", [True, False], ids=["in-the-pool", "never-sent"])
def test_next_process_finishes_each_write_of_a_batch_left_in_flight_once(
    tmp_path: Path,
    anvil: Any,
    chain: Devnet,
    sqlite_url: str,
    store: sessionmaker[Session],
    reached_node: bool,
) -> None:
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url, receipt_timeout=1)
    numbers = [f"BW-2026-{920 + n:06d}" for n in range(QUEUED + 1)]
    before = sent_count(chain, BW_AUTHORITY)
    chain.rpc("evm_setAutomine", False)
    try:
        stopped = build_runtime(settings)
        try:
            signer = HeldSigner(stopped.hosting.participants["BW"].signer)
            stopped.hosting.participants["BW"].signer = signer  # type: ignore[assignment]
            first, queued = _behind_a_held_first(
                stopped,
                signer,
                lambda: _issue(stopped, numbers[0]),
                [(lambda n=n: _issue(stopped, n)) for n in numbers[1:]],
            )
        finally:
            stopped.stop()
        # Nothing was mined: every write answered "pending", its transaction stored.
        assert all(isinstance(r, TransactionPendingError) for r in [first, *queued])
        rows = _operations(store, "issue:")
        assert {row.status for row in rows} == {"signed"}
        hashes = {str(row.tx_hash) for row in rows}
        assert len(hashes) == 2
        if not reached_node:  # as if the process died between storing the batch and sending it
            for tx_hash in hashes:
                chain.rpc("anvil_dropTransaction", tx_hash)

        restarted = build_runtime(settings)
        try:
            restarted.writer.reconcile()  # sends again what the node lost; not mined yet
            chain.rpc("evm_mine")
            restarted.writer.reconcile()
        finally:
            restarted.stop()
    finally:
        chain.rpc("evm_setAutomine", True)

    rows = _operations(store, "issue:")
    assert {row.status for row in rows} == {"done"}
    assert {str(row.tx_hash) for row in rows} == hashes  # the same bytes, not new signatures
    assert sent_count(chain, BW_AUTHORITY) == before + 2
    assert all(issued_events(chain, number) == 1 for number in numbers)
