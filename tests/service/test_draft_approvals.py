"""A draft's approval issues its certificate once: when the service is SIGKILLed with the issue's
transaction waiting in the node's pool (with or without an Idempotency-Key), and when two
officers approve at the same moment. The service runs as a real ``python -m kpchain serve``
process (see tests/service/test_crash_recovery.py); anvil's automine is off while the approval
is in flight."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.devnet.anvil import AnvilNode
from kpchain.service.keys import create_key
from kpchain.service.tables import Draft, Operation
from kpchain.store import create_engine, migrate, session_factory
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess, in_pool, issued_events

pytestmark = pytest.mark.anvil


@dataclass
class Desk:
    """A service process, its store, and BW's clerk and two officers (keys of their own)."""

    chain: Devnet
    service: ServiceProcess
    sessions: sessionmaker[Session]
    clerk: str
    officers: tuple[str, str]

    def draft(self, cert_no: str) -> int:
        with self.service.client(self.clerk) as client:
            response = client.post("/v1/drafts", json=document(cert_no))
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def approve(
        self, draft_id: int, idempotency_key: str | None = None, *, officer: int = 0
    ) -> httpx.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        with self.service.client(self.officers[officer]) as client:
            return client.post(f"/v1/drafts/{draft_id}/approve", headers=headers)

    def read(self, draft_id: int) -> dict[str, Any]:
        with self.service.client(self.clerk) as client:
            response = client.get(f"/v1/drafts/{draft_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def operation(self, draft_id: int) -> Operation | None:
        """The issue the draft's approval recorded, as stored right now."""
        with self.sessions() as session:
            row = session.get(Draft, draft_id)
            if row is None or row.operation_id is None:
                return None
            return session.get(Operation, row.operation_id)

    def signed(self, draft_id: int) -> Operation:
        """Waits until the approval's issue is signed, stored and in the node's pool."""

        def check() -> Operation | None:
            found = self.operation(draft_id)
            if found is None or found.status != "signed" or found.tx_hash is None:
                return None
            return found if in_pool(self.chain, found.tx_hash) else None

        return wait_until(check, timeout=20, what="the approval's transaction in the pool")

    def kill_while_signed(self, draft_id: int, idempotency_key: str | None) -> Operation:
        """Approves in the background, kills the service once the issue's transaction waits in
        the pool, and returns the operation as the dead process left it."""
        self.chain.rpc("evm_setAutomine", False)
        with ThreadPoolExecutor(max_workers=1) as pool:
            request = pool.submit(self.approve, draft_id, idempotency_key)
            signed = self.signed(draft_id)
            self.service.kill()
            with pytest.raises(httpx.TransportError):
                request.result(timeout=30)
        return signed


@pytest.fixture
def desk(tmp_path: Path, anvil: AnvilNode, chain: Devnet, database_url: str) -> Iterator[Desk]:
    """The desk once on SQLite and once on PostgreSQL."""
    settings = service_settings(tmp_path, anvil.rpc_url, chain, database_url)
    create_keys(database_url, ["BW"])
    engine = create_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        tokens = [
            create_key(session, participant="BW", role=role, label=label).token
            for role, label in (("clerk", "Maker"), ("officer", "Checker"), ("officer", "Other"))
        ]
        session.commit()
    service = ServiceProcess(settings, tmp_path).start()
    try:
        yield Desk(chain, service, sessions, tokens[0], (tokens[1], tokens[2]))
    finally:
        service.stop()
        engine.dispose()


@pytest.mark.parametrize("idempotency_key", ["approve-kill", None], ids=["keyed", "unkeyed"])
def test_approval_killed_with_its_issue_in_the_pool_ends_with_one_certificate(
    desk: Desk, idempotency_key: str | None
) -> None:
    cert_no = f"BW-2026-KILL-{'K' if idempotency_key else 'U'}"
    draft_id = desk.draft(cert_no)
    signed = desk.kill_while_signed(draft_id, idempotency_key)
    with desk.sessions() as session:
        assert session.get_one(Draft, draft_id).status == "issuing"

    desk.service.start()
    desk.chain.rpc("evm_mine")
    desk.chain.rpc("evm_setAutomine", True)

    def done() -> Operation | None:
        found = desk.operation(draft_id)
        assert found is not None
        assert found.status != "failed", found.error
        return found if found.status == "done" else None

    # The restarted service's log in the message: this wait timed out once in about 40 runs
    # (SQLite, keyed), not reproduced since; the log shows where the reconciler stood.
    finished = wait_until(
        done,
        timeout=30,
        what="the reconciler to finish the approval's issue",
        log=desk.service.log_tail,
    )
    assert finished.tx_hash == signed.tx_hash
    assert desk.read(draft_id)["status"] == "issued"
    if idempotency_key is not None:
        retries = [desk.approve(draft_id, idempotency_key) for _ in range(2)]
        assert [r.status_code for r in retries] == [201, 201], retries[0].text
        assert finished.response is not None
        assert [retries[0].json()] == finished.response["certificates"]
        assert retries[1].json() == retries[0].json()
    again = desk.approve(draft_id, officer=1)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "draft_status_invalid"
    assert issued_events(desk.chain, cert_no) == 1


def test_two_officers_approving_at_once_issue_one_certificate(desk: Desk) -> None:
    cert_no = "BW-2026-RACE"
    draft_id = desk.draft(cert_no)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda n: desk.approve(draft_id, f"race-{n}", officer=n), range(2)))

    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    refused = next(r for r in answers if r.status_code == 409)
    assert refused.json()["error"]["code"] in ("draft_status_invalid", "certificate_already_exists")
    assert issued_events(desk.chain, cert_no) == 1
    assert desk.read(draft_id)["status"] == "issued"
