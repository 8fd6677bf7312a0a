"""The handle of a service under test (see tests/api/conftest.py), its settings and API keys, and
the handle of a participant's own service process (`Party`, as the exchange and network tests run
them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.config import Settings
from kpchain.devnet import service as devnet_service
from kpchain.devnet.anvil import free_port
from kpchain.devnet.seed import DEMO_PARTICIPANTS
from kpchain.exchange.envelope import Envelope
from kpchain.service.keys import create_key
from kpchain.store import create_engine, migrate, session_factory
from support_chain import Devnet
from support_service import ServiceProcess


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
    tmp_path: Path,
    rpc_url: str,
    chain: Devnet,
    database_url: str,
    *,
    hosted: Sequence[str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings of a service hosting every demo participant (or only those `hosted` names) and
    its admin with devnet keys (as tests/api/conftest.py builds them), following the chain's
    governance."""
    files = devnet_service.ServiceFiles(tmp_path)
    codes = [p.code for p in DEMO_PARTICIPANTS] if hosted is None else list(hosted)
    devnet_service.write_signers(files, codes)
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


def create_keys(
    database_url: str, participants: Sequence[str] | None = None
) -> tuple[str, dict[str, dict[str, str]]]:
    """An API key for every demo participant (or each of `participants`) and role (admin
    included), and a governor key (a read-only key)."""
    codes = [p.code for p in DEMO_PARTICIPANTS] if participants is None else participants
    engine = create_engine(database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        keys = {
            code: {role: create_key(session, participant=code, role=role).token for role in ROLES}
            for code in codes
        }
        governor = create_key(session, participant=None, role="governor").token
        session.commit()
    engine.dispose()
    return governor, keys


WAIT = 90.0  # seconds a test waits for a delivery (two services and their indexers on 2 cores)


@dataclass
class Party:
    """One participant's own service (a real ``kpchain serve`` process), with its API keys by
    role."""

    code: str
    service: ServiceProcess
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.service.url

    def client(self, role: str = "officer") -> httpx.Client:
        return self.service.client(self.keys[role])

    def get(self, path: str, role: str = "officer") -> httpx.Response:
        with self.client(role) as client:
            return client.get(path)

    def post(self, path: str, body: Any = None, role: str = "officer") -> httpx.Response:
        with self.client(role) as client:
            return client.post(path, json=body)

    def issue(self, cert_no: str, importing: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/certificates", document(cert_no, self.code, importing, **fields))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def register_endpoint(self, *, rotate_key: bool = False) -> dict[str, Any]:
        with self.client("admin") as client:
            response = client.put(
                f"/v1/participants/{self.code}/endpoint",
                json={"url": self.url, "rotate_key": rotate_key},
            )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def endpoint(self, code: str) -> dict[str, Any]:
        """`code`'s endpoint and encryption key, as this service's index has them."""
        response = self.get(f"/v1/participants/{code}/endpoint")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_endpoint(self, code: str, key: str) -> None:
        """Waits until this service's index has `key` in force as `code`'s encryption key."""
        wait_until(
            lambda: self.endpoint(code)["encryption_key"] == key,
            timeout=WAIT,
            what=f"{self.code}'s index to see {code}'s key {key}",
        )

    def delivery(self, cert_no: str) -> dict[str, Any]:
        response = self.get(f"/v1/certificates/{cert_no}/delivery")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_delivery(self, cert_no: str, state: str, code: str | None = None) -> dict[str, Any]:
        """Waits until this (exporting) service's delivery of `cert_no` is in `state` (with
        error `code`, when given)."""

        def reached() -> dict[str, Any] | None:
            view = self.delivery(cert_no)
            if view["state"] != state:
                return None
            if code is not None and (view["error"] or {}).get("code") != code:
                return None
            return view

        return wait_until(reached, timeout=WAIT, what=f"{cert_no} {state} ({code}) at {self.code}")

    def envelope(self, envelope: Envelope | dict[str, Any]) -> httpx.Response:
        """POSTs an envelope to this service, as another service would (no API key)."""
        body = envelope.model_dump(mode="json") if isinstance(envelope, Envelope) else envelope
        return httpx.post(f"{self.url}/v1/exchange/envelopes", json=body, timeout=60)


def start_sovereign_service(
    directory: Path, settings: Settings, code: str, *, timeout: float = 90
) -> Party:
    """`code`'s own service with `settings` (hosting only `code`), with a key of each role for
    `code`, started on a port it keeps across restarts (the endpoint it registers stays its
    address)."""
    _, keys = create_keys(settings.database_url, [code])
    service = ServiceProcess(settings, directory, port=free_port()).start(timeout=timeout)
    return Party(code, service, keys[code])
