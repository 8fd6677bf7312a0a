"""The runtime of a service process: one process owns a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess

pytestmark = pytest.mark.anvil


def test_second_service_on_the_same_database_refuses_to_start_and_the_first_keeps_serving(
    tmp_path: Path, anvil: Any, seeded: Devnet, database_url: str
) -> None:
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, database_url)
    _, keys = create_keys(database_url)
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = ServiceProcess(settings, tmp_path / "first").start()
    second = ServiceProcess(settings, tmp_path / "second")
    try:
        with pytest.raises(AssertionError, match="the service exited"):
            second.start(timeout=60)
        refused = second.log_tail()
        with first.client(keys["BW"]["auditor"]) as client:
            still = client.get("/v1/participants/BW")
    finally:
        second.stop()
        first.stop()
    restarted = ServiceProcess(settings, tmp_path / "second").start(timeout=60)
    restarted.stop()

    assert "database_in_use" in refused or "another kpchain process" in refused, refused
    assert still.status_code == 200, still.text
