"""The anvil kpchain starts (devnet, tests, benchmarks) leaves nothing behind on disk."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode


def _mine(rpc_url: str, blocks: int) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": [hex(blocks)]})
    request = urllib.request.Request(
        rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert "error" not in json.loads(response.read())


@pytest.mark.parametrize("extra_args", [(), ("--prune-history",)], ids=["default", "pruned"])
def test_anvil_writes_no_block_states_to_disk_when_far_more_blocks_than_it_keeps_are_mined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra_args: tuple[str, ...]
) -> None:
    # Without --max-persisted-states 0, anvil writes every block state past its in-memory window
    # (a few hundred) to ~/.foundry/anvil/tmp and keeps it after exit: about a thousand files
    # for these blocks, tens of gigabytes after a KP-year benchmark. The KP-year benchmark runs
    # anvil with --prune-history, which anvil refuses beside that flag.
    monkeypatch.setenv("HOME", str(tmp_path))
    with AnvilNode(chain_id=DEVNET_CHAIN_ID, extra_args=extra_args) as node:
        _mine(node.rpc_url, 1024)
    assert [path for path in (tmp_path / ".foundry").rglob("*") if path.is_file()] == []
