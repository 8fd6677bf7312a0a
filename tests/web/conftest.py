"""The pages against real parts: one anvil (deployed and seeded as the devnet is), a real SQLite
store and the full service, shared by the tests of a module (each test uses certificate numbers
of its own and a browser of its own, so they do not see each other's sessions)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import PHONE, Live
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright

from kpchain.app import create_app
from kpchain.chain.connection import connect
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from support_api import Service, create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilNode]:
    """An anvil of the module's own."""
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as anvil:
        yield anvil


@pytest.fixture(scope="module")
def devnet(node: AnvilNode) -> Devnet:
    """The registry deployed and seeded on `node`."""
    return Devnet.deploy_and_seed(connect(node.rpc_url, expected_chain_id=node.chain_id))


@pytest.fixture(scope="module")
def web(
    tmp_path_factory: pytest.TempPathFactory, node: AnvilNode, devnet: Devnet
) -> Iterator[Service]:
    """The service in-process (FastAPI's TestClient, its indexer and reconciler running), with
    API keys for every demo participant and role."""
    tmp_path = tmp_path_factory.mktemp("web")
    database_url = f"sqlite:///{tmp_path / 'kpchain.db'}"
    settings = service_settings(tmp_path, node.rpc_url, devnet, database_url)
    governor, keys = create_keys(database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, devnet, settings, keys, governor)


@pytest.fixture
def visitor(web: Service) -> TestClient:
    """A browser of its own (its own cookies) on the running service: the app's lifespan is the
    module's, so this client does not start another runtime."""
    return TestClient(web.client.app, raise_server_exceptions=False, follow_redirects=False)


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium (or $CHROMIUM): Playwright's own browser cannot be downloaded here.
    Without one the browser tests are skipped (scripts/ensure-chromium.sh installs it), except
    under CI=true, where they fail."""
    override = os.environ.get("CHROMIUM")
    found = override or shutil.which("chromium") or shutil.which("chromium-browser")
    if found and Path(found).is_file():
        return Path(found)
    message = (
        f"CHROMIUM={override} is not a file"
        if override
        else "no chromium on PATH: run scripts/ensure-chromium.sh (or set CHROMIUM)"
    )
    if _ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    """Headless chromium, one for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) the size of a small phone."""
    context = browser.new_context(viewport=PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, node: AnvilNode, devnet: Devnet
) -> Iterator[Live]:
    """The service as `python -m kpchain serve` (uvicorn) on the module's anvil, with API keys
    for every demo participant and role."""
    tmp_path = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{tmp_path / 'kpchain.db'}"
    settings = service_settings(tmp_path, node.rpc_url, devnet, database_url)
    _, keys = create_keys(database_url)
    service = ServiceProcess(settings, tmp_path).start()
    try:
        yield Live(service, keys)
    finally:
        service.stop()
