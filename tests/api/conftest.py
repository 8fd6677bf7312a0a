"""The authority service against real parts: anvil (deployed and seeded as the devnet is), a real
database, the hosted devnet signers, and FastAPI's TestClient running the app's lifespan (so the
indexer and the reconciler threads run as in production)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from kpchain.api import create_app
from kpchain.config import Settings
from kpchain.devnet import service as devnet_service
from kpchain.devnet.seed import DEMO_PARTICIPANTS
from kpchain.service.keys import create_key
from kpchain.store import create_engine, migrate, session_factory
from support_api import Service
from support_chain import Devnet

ROLES = ("officer", "clerk", "auditor")


@pytest.fixture
def chain(w3: Web3) -> Devnet:
    """The registry deployed and seeded with the demo participants, on a fresh anvil."""
    return Devnet.deploy_and_seed(w3)


def service_settings(tmp_path: Path, rpc_url: str, chain: Devnet, database_url: str) -> Settings:
    """Settings of a service hosting every demo participant and governance with devnet keys."""
    files = devnet_service.ServiceFiles(tmp_path)
    devnet_service.write_signers(files, [p.code for p in DEMO_PARTICIPANTS])
    return Settings(
        rpc_url=rpc_url,
        chain_id=2021,
        registry_address=chain.address,
        deployment_file=tmp_path / "no-deployment.json",
        database_url=database_url,
        signers_file=files.signers,
        development=True,
        receipt_timeout=20,
        reconcile_interval=0.5,
        index_poll_interval=0.2,
    )


def create_keys(database_url: str) -> tuple[str, dict[str, dict[str, str]]]:
    """An API key for every demo participant and role, and a governor key."""
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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kpchain.db'}"


@pytest.fixture
def service(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Service]:
    """The service on SQLite (the default store)."""
    yield from _running(tmp_path, anvil.rpc_url, chain, sqlite_url)


@pytest.fixture
def service_on(tmp_path: Path, anvil: Any, chain: Devnet, database_url: str) -> Iterator[Service]:
    """The service once on SQLite and once on PostgreSQL."""
    yield from _running(tmp_path, anvil.rpc_url, chain, database_url)


def _running(tmp_path: Path, rpc_url: str, chain: Devnet, database_url: str) -> Iterator[Service]:
    settings = service_settings(tmp_path, rpc_url, chain, database_url)
    governor, keys = create_keys(database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)
