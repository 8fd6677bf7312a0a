"""A write that meets a failure that may pass (a signer away) stays open, and the same request
finishes it later; a caller never sees the signer's internal address.

The signer is a stand-in for Web3Signer (tests/signing/fake_web3signer.py: Web3Signer is a Java
service that cannot run here), holding BW's authority key; the chain is anvil.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from helpers.documents import document
from kpchain.app import create_app
from kpchain.devnet.seed import DEMO_PARTICIPANTS, participant_account
from kpchain.store import create_engine, session_factory
from signing.fake_web3signer import FakeWeb3Signer
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import operation

pytestmark = pytest.mark.anvil


@dataclass
class Stage:
    client: TestClient
    signer: FakeWeb3Signer
    officer: dict[str, str]
    database_url: str

    def ship(self, cert_no: str, key: str) -> Any:
        return self.client.post(
            f"/v1/certificates/{cert_no}/ship",
            json={"seal_ref": "SEAL-1"},
            headers={**self.officer, "Idempotency-Key": key},
        )

    def status(self, key: str) -> str | None:
        engine = create_engine(self.database_url)
        try:
            found = operation(session_factory(engine), key)
            return found.status if found else None
        finally:
            engine.dispose()


@pytest.fixture
def stage(tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str) -> Iterator[Stage]:
    signer = FakeWeb3Signer([participant_account("BW", "authority")]).start()
    signers = tmp_path / "remote-signers.yaml"
    participants: dict[str, Any] = {p.code: {"dev": p.code} for p in DEMO_PARTICIPANTS}
    participants["BW"] = {
        "remote": signer.url,
        "address": participant_account("BW", "authority").address,
    }
    signers.write_text(yaml.safe_dump({"participants": participants}))
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, sqlite_url, signers_file=signers)
    _, keys = create_keys(sqlite_url)
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield Stage(
                client, signer, {"Authorization": f"Bearer {keys['BW']['officer']}"}, sqlite_url
            )
    finally:
        signer.stop()


def test_write_stays_open_when_the_signer_is_away_and_the_same_request_finishes_it(
    stage: Stage,
) -> None:
    issued = stage.client.post(
        "/v1/certificates", json=document("BW-2026-000901"), headers=stage.officer
    )
    assert issued.status_code == 201, issued.text
    stage.signer.answer = (503, b"Service Unavailable")

    away = stage.ship("BW-2026-000901", "ship-while-away")
    stored = stage.status("ship-while-away")
    stage.signer.answer = None
    back = stage.ship("BW-2026-000901", "ship-while-away")

    assert away.status_code == 502, away.text
    error = away.json()["error"]
    assert error["code"] == "signing_error"
    assert error["detail"] == {"reason": "unavailable"}
    port = stage.signer.url.rsplit(":", 1)[1]
    assert stage.signer.url not in away.text
    assert port not in away.text
    assert stored == "pending"  # not a final failure
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "shipped"
    assert stage.status("ship-while-away") == "done"
