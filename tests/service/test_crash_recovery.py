"""Nothing is lost or done twice when the service is killed mid-write, or the node goes away.

The service runs as a real ``python -m kpchain serve`` process. Anvil's automine is off while a
write is in flight, so its signed transaction stays in the node's pool until the test mines:
the service can be SIGKILLed at the point where a naive writer loses or repeats the write.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.devnet.anvil import AnvilNode
from kpchain.devnet.seed import participant_account
from kpchain.service.tables import Operation
from kpchain.signing import LocalSigner
from kpchain.store import create_engine, session_factory
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import NodeProxy, ServiceProcess, in_pool, issued_events, operation, sent_count

pytestmark = pytest.mark.anvil

BW_AUTHORITY = participant_account("BW", "authority")


@dataclass
class Stage:
    """A service process, the chain it writes to, its store, and BW's officer and admin keys."""

    chain: Devnet
    service: ServiceProcess
    sessions: sessionmaker[Session]
    officer: str
    admin: str

    def post_issue(self, cert_no: str, idempotency_key: str) -> httpx.Response:
        with self.service.client(self.officer) as client:
            return client.post(
                "/v1/certificates",
                json=document(cert_no),
                headers={"Idempotency-Key": idempotency_key},
            )

    def issue_in_background(
        self, pool: ThreadPoolExecutor, cert_no: str, idempotency_key: str
    ) -> Future[httpx.Response]:
        return pool.submit(self.post_issue, cert_no, idempotency_key)

    def signed(self, idempotency_key: str) -> Operation:
        """Waits until the operation's signed transaction is stored and in the node's pool."""

        def check() -> Operation | None:
            found = operation(self.sessions, idempotency_key)
            if found is None or found.status != "signed" or found.tx_hash is None:
                return None
            return found if in_pool(self.chain, found.tx_hash) else None

        return wait_until(check, timeout=10, what="the signed transaction in the pool")

    def done(self, idempotency_key: str) -> Operation:
        def check() -> Operation | None:
            found = operation(self.sessions, idempotency_key)
            assert found is None or found.status != "failed", found.error
            return found if found is not None and found.status == "done" else None

        return wait_until(check, timeout=15, what="the operation to be done")

    def mine(self) -> None:
        self.chain.rpc("evm_mine")

    def propose(self, body: dict[str, object], idempotency_key: str) -> httpx.Response:
        with self.service.client(self.admin) as client:
            return client.post(
                "/v1/governance/proposals",
                json=body,
                headers={"Idempotency-Key": idempotency_key},
            )


def _stage(tmp_path: Path, chain: Devnet, rpc_url: str, database_url: str) -> Iterator[Stage]:
    settings = service_settings(tmp_path, rpc_url, chain, database_url)
    _, keys = create_keys(database_url)
    service = ServiceProcess(settings, tmp_path).start()
    engine = create_engine(database_url)
    try:
        admin = keys["BW"]["admin"]
        yield Stage(chain, service, session_factory(engine), keys["BW"]["officer"], admin)
    finally:
        service.stop()
        engine.dispose()


@pytest.fixture
def stage(tmp_path: Path, anvil: AnvilNode, chain: Devnet, sqlite_url: str) -> Iterator[Stage]:
    yield from _stage(tmp_path, chain, anvil.rpc_url, sqlite_url)


@pytest.fixture
def stage_on(tmp_path: Path, anvil: AnvilNode, chain: Devnet, database_url: str) -> Iterator[Stage]:
    """The stage once on SQLite and once on PostgreSQL."""
    yield from _stage(tmp_path, chain, anvil.rpc_url, database_url)


@pytest.fixture
def proxy(anvil: AnvilNode) -> Iterator[NodeProxy]:
    forwarder = NodeProxy(anvil.port)
    try:
        yield forwarder
    finally:
        forwarder.close()


@pytest.fixture
def proxied_stage(
    tmp_path: Path, proxy: NodeProxy, chain: Devnet, sqlite_url: str
) -> Iterator[Stage]:
    """The stage with the service talking to the node through `proxy`."""
    yield from _stage(tmp_path, chain, proxy.url, sqlite_url)


def _assert_issued_once(stage: Stage, cert_no: str, key: str, first: Operation) -> None:
    """The retry answers 201 with the operation's stored view, again and again, and the
    certificate exists once on chain and in the index."""
    retries = [stage.post_issue(cert_no, key) for _ in range(2)]
    assert [r.status_code for r in retries] == [201, 201], retries[0].text
    assert retries[0].json() == retries[1].json()
    assert first.response is not None
    assert [retries[0].json()] == first.response["certificates"]
    assert retries[0].json()["cert_no"] == cert_no
    assert retries[0].json()["status"] == "issued"
    assert issued_events(stage.chain, cert_no) == 1
    with stage.service.client(stage.officer) as client:
        listed = client.get("/v1/certificates", params={"direction": "outbound"}).json()
    assert [item["cert_no"] for item in listed["items"]].count(cert_no) == 1


def _kill_while_signed(stage: Stage, cert_no: str, key: str) -> Operation:
    """Sends the issue, kills the service once its transaction waits in the pool, and returns
    the operation as the dead process left it."""
    stage.chain.rpc("evm_setAutomine", False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        request = stage.issue_in_background(pool, cert_no, key)
        signed = stage.signed(key)
        stage.service.kill()
        with pytest.raises(httpx.TransportError):
            request.result(timeout=30)
    return signed


def test_restart_finishes_the_write_once_when_killed_with_its_transaction_in_the_pool(
    stage_on: Stage,
) -> None:
    stage = stage_on
    before = sent_count(stage.chain, BW_AUTHORITY.address)
    signed = _kill_while_signed(stage, "BW-2026-000101", "kill-in-pool")

    stage.service.start()
    stage.mine()
    done = stage.done("kill-in-pool")

    assert done.tx_hash == signed.tx_hash
    assert done.sender == BW_AUTHORITY.address
    assert sent_count(stage.chain, BW_AUTHORITY.address) == before + 1
    _assert_issued_once(stage, "BW-2026-000101", "kill-in-pool", done)


def test_restart_sends_the_stored_transaction_again_when_it_never_reached_the_node(
    stage: Stage,
) -> None:
    before = sent_count(stage.chain, BW_AUTHORITY.address)
    signed = _kill_while_signed(stage, "BW-2026-000102", "kill-unsent")
    assert signed.tx_hash is not None
    # As if the process died between storing the transaction and sending it.
    stage.chain.rpc("anvil_dropTransaction", signed.tx_hash)
    assert not in_pool(stage.chain, signed.tx_hash)

    stage.service.start()
    wait_until(
        lambda: in_pool(stage.chain, signed.tx_hash or ""),
        timeout=10,
        what="the stored transaction sent again",
    )
    stage.mine()
    done = stage.done("kill-unsent")

    assert done.tx_hash == signed.tx_hash  # the same bytes, not a new signature
    assert done.nonce == signed.nonce
    assert sent_count(stage.chain, BW_AUTHORITY.address) == before + 1
    _assert_issued_once(stage, "BW-2026-000102", "kill-unsent", done)


@pytest.mark.parametrize("other_mined", [True, False], ids=["other-mined", "other-pending"])
def test_restart_signs_again_with_a_fresh_nonce_when_another_transaction_took_the_nonce(
    stage: Stage, other_mined: bool
) -> None:
    before = sent_count(stage.chain, BW_AUTHORITY.address)
    signed = _kill_while_signed(stage, "BW-2026-000103", "kill-nonce-taken")
    assert signed.tx_hash is not None
    assert signed.nonce is not None
    stage.chain.rpc("anvil_dropTransaction", signed.tx_hash)
    # Another client of the same key sends a transaction at the stored one's nonce.
    other = LocalSigner(BW_AUTHORITY).sign_transaction(
        {
            "to": BW_AUTHORITY.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": 0,
            "nonce": signed.nonce,
            "chainId": 2021,
        }
    )
    other_hash = Web3.to_hex(stage.chain.w3.eth.send_raw_transaction(other))
    if other_mined:
        stage.mine()

    stage.service.start()

    def resigned() -> Operation | None:
        found = operation(stage.sessions, "kill-nonce-taken")
        assert found is not None
        moved = found.tx_hash != signed.tx_hash and found.tx_hash is not None
        return found if moved and in_pool(stage.chain, found.tx_hash or "") else None

    again = wait_until(resigned, timeout=10, what="the write signed again")
    assert again.nonce == signed.nonce + 1
    stage.mine()
    done = stage.done("kill-nonce-taken")

    assert done.tx_hash == again.tx_hash
    assert stage.chain.w3.eth.get_transaction_receipt(other_hash)["status"] == 1
    assert sent_count(stage.chain, BW_AUTHORITY.address) == before + 2  # the other, and ours
    _assert_issued_once(stage, "BW-2026-000103", "kill-nonce-taken", done)


def test_retry_completes_the_write_once_when_the_node_went_away_while_it_waited_for_mining(
    proxied_stage: Stage, proxy: NodeProxy
) -> None:
    stage = proxied_stage
    before = sent_count(stage.chain, BW_AUTHORITY.address)
    stage.chain.rpc("evm_setAutomine", False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        request = stage.issue_in_background(pool, "BW-2026-000104", "node-gone-signed")
        signed = stage.signed("node-gone-signed")
        proxy.cut()
        response = request.result(timeout=30)

    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "chain_unavailable"
    stored = operation(stage.sessions, "node-gone-signed")
    assert stored is not None
    assert stored.status == "signed"

    proxy.restore()
    stage.mine()
    retry = stage.post_issue("BW-2026-000104", "node-gone-signed")

    assert retry.status_code == 201, retry.text
    done = stage.done("node-gone-signed")
    assert done.tx_hash == signed.tx_hash
    assert sent_count(stage.chain, BW_AUTHORITY.address) == before + 1
    _assert_issued_once(stage, "BW-2026-000104", "node-gone-signed", done)


def test_retry_completes_the_write_once_when_the_node_was_unreachable_before_it_was_sent(
    proxied_stage: Stage, proxy: NodeProxy
) -> None:
    stage = proxied_stage
    before = sent_count(stage.chain, BW_AUTHORITY.address)
    proxy.cut()

    response = stage.post_issue("BW-2026-000105", "node-gone-pending")

    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "chain_unavailable"
    stored = operation(stage.sessions, "node-gone-pending")
    assert stored is not None
    assert stored.status == "pending"
    assert sent_count(stage.chain, BW_AUTHORITY.address) == before

    proxy.restore()
    retry = stage.post_issue("BW-2026-000105", "node-gone-pending")

    assert retry.status_code == 201, retry.text
    done = stage.done("node-gone-pending")
    assert sent_count(stage.chain, BW_AUTHORITY.address) == before + 1
    _assert_issued_once(stage, "BW-2026-000105", "node-gone-pending", done)


def test_retried_proposal_is_made_once_when_the_node_went_away_while_it_waited_for_mining(
    proxied_stage: Stage, proxy: NodeProxy
) -> None:
    stage = proxied_stage
    body = {"action": "suspend", "participant": "NA", "description": "Suspend NA"}
    stage.chain.rpc("evm_setAutomine", False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        request = pool.submit(stage.propose, body, "na-suspension")
        sent = stage.signed("na-suspension")
        proxy.cut()
        response = request.result(timeout=30)
    assert response.status_code == 503, response.text
    proxy.restore()
    stage.mine()  # the proposal is on chain; the service has not seen it mined
    stage.chain.rpc("evm_setAutomine", True)

    retry = stage.propose(body, "na-suspension")
    again = stage.propose(body, "na-suspension")
    reused = stage.propose({**body, "description": "Suspend NA at once"}, "na-suspension")

    assert retry.status_code == 201, retry.text
    view = retry.json()
    assert (view["action"], view["participant"]) == ("suspend", "NA")
    assert again.status_code == 201, again.text
    assert again.json() == view
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    done = operation(stage.sessions, "na-suspension")
    assert done is not None
    assert (done.status, done.kind, done.tx_hash) == ("done", "governance_propose", sent.tx_hash)
    created = stage.chain.governor.events.ProposalCreated().get_logs(from_block=0)
    assert [log["args"]["proposalId"] for log in created] == [int(view["id"])]


def test_restart_finishes_a_vote_once_when_killed_with_its_transaction_in_the_pool(
    stage: Stage,
) -> None:
    body = {"action": "suspend", "participant": "NA", "description": "Suspend NA"}
    proposed = stage.propose(body, "na-proposal")
    assert proposed.status_code == 201, proposed.text
    stage.chain.later(1)
    path = f"/v1/governance/proposals/{proposed.json()['id']}/votes"
    stage.chain.rpc("evm_setAutomine", False)

    def vote() -> httpx.Response:
        with stage.service.client(stage.admin) as client:
            return client.post(path, json={"support": "approve"}, headers={"Idempotency-Key": "v"})

    with ThreadPoolExecutor(max_workers=1) as pool:
        request = pool.submit(vote)
        signed = stage.signed("v")
        stage.service.kill()
        with pytest.raises(httpx.TransportError):
            request.result(timeout=30)
    stage.mine()
    stage.chain.rpc("evm_setAutomine", True)
    stage.service.start()

    done = stage.done("v")  # the reconciler's first pass finished it
    retried = vote()

    assert done.tx_hash == signed.tx_hash
    assert retried.status_code == 201, retried.text
    assert retried.json()["votes"]["approve"] == 1
    votes = stage.chain.governor.events.SeatVoted().get_logs(from_block=0)
    assert len(votes) == 1
