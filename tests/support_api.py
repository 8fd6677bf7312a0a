"""Certificate documents in DESIGN.md section 4's JSON shape, and the handle of a service under
test (see tests/api/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from kpchain.config import Settings
from kpchain.devnet import service as devnet_service
from kpchain.devnet.seed import DEMO_PARTICIPANTS
from kpchain.service.keys import create_key
from kpchain.store import create_engine, migrate, session_factory
from support_chain import Devnet


def document(
    cert_no: str,
    exporting: str = "BW",
    importing: str = "AE",
    *,
    days: int = 60,
    **fields: Any,
) -> dict[str, Any]:
    """A valid certificate document issued today and valid for `days`; `fields` override."""
    return {**devnet_service.demo_document(cert_no, exporting, importing, days=days), **fields}


@dataclass
class Service:
    """A running service under test, with an API key per participant and role."""

    client: TestClient
    chain: Devnet
    settings: Settings
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    governor_key: str = ""

    def headers(
        self, code: str, role: str = "officer", *, idempotency_key: str | None = None
    ) -> dict[str, str]:
        token = self.governor_key if role == "governor" else self.keys[code][role]
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def issue(
        self, cert_no: str, exporting: str = "BW", importing: str = "AE", **fields: Any
    ) -> Any:
        response = self.client.post(
            "/v1/certificates",
            json=document(cert_no, exporting, importing, **fields),
            headers=self.headers(exporting),
        )
        assert response.status_code == 201, response.text
        return response.json()

    def post(self, path: str, code: str, body: Any = None, **headers: Any) -> Any:
        return self.client.post(path, json=body, headers=self.headers(code, **headers))


ROLES = ("officer", "clerk", "auditor", "admin")
METRICS_KEY = "metrics-key-of-the-tests"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_KEY}"}


def service_settings(
    tmp_path: Path, rpc_url: str, chain: Devnet, database_url: str, **overrides: Any
) -> Settings:
    """Settings of a service hosting every demo participant and its admin with devnet keys
    (as tests/api/conftest.py builds them), following the chain's governance."""
    files = devnet_service.ServiceFiles(tmp_path)
    devnet_service.write_signers(files, [p.code for p in DEMO_PARTICIPANTS])
    # A Devnet knows its deployment; a bare Deployment (the network tests') names its
    # governance in the deployments file they pass.
    deployment = getattr(chain, "deployment", None)
    values: dict[str, Any] = {
        "rpc_url": rpc_url,
        "chain_id": 2021,
        "registry_address": chain.address,
        "governor_address": deployment.governor if deployment is not None else None,
        "deployment_file": tmp_path / "no-deployment.json",
        "database_url": database_url,
        "signers_file": files.signers,
        "development": True,
        "receipt_timeout": 20,
        "reconcile_interval": 0.5,
        "index_poll_interval": 0.2,
        "metrics_key": METRICS_KEY,
    }
    values.update(overrides)
    return Settings(**values)


def create_keys(database_url: str) -> tuple[str, dict[str, dict[str, str]]]:
    """An API key for every demo participant and role (admin included), and a governor key (a
    read-only key)."""
    engine = create_engine(database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        keys = {
            p.code: {
                role: create_key(session, participant=p.code, role=role).token for role in ROLES
            }
            for p in DEMO_PARTICIPANTS
        }
        governor = create_key(session, participant=None, role="governor").token
        session.commit()
    engine.dispose()
    return governor, keys
