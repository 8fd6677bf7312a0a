"""The index of participants' service endpoints and encryption keys: every `ServiceEndpointSet`
kept as a row (the newest in force, the older ones the key history), re-derived after a reorg and
rebuilt from the chain like every other projection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils.crypto import keccak
from sqlalchemy.orm import Session, sessionmaker
from web3.types import TxReceipt

from kpchain.contracts.encoding import participant_code
from kpchain.indexer import Indexer, queries
from support_chain import Devnet
from support_db import Dump, dump_index

pytestmark = pytest.mark.anvil

KEY_1 = "0x" + keccak(text="AE encryption key 1").hex()
KEY_2 = "0x" + keccak(text="AE encryption key 2").hex()


def _set_endpoint(devnet: Devnet, code: str, url: str, key: str) -> TxReceipt:
    call = devnet.contract.functions.setServiceEndpoint(
        participant_code(code), url, bytes.fromhex(key[2:])
    )
    return devnet.sender(code, "admin").transact(call)


def _history(sessions: sessionmaker[Session], code: str) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            (row.url, row.encryption_key, row.block_number)
            for row in queries.service_endpoints(session, code)
        ]


def test_sync_keeps_every_key_from_its_block_when_participant_rotates_key(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    first = _set_endpoint(devnet, "AE", "https://kp.ae.example", KEY_1)
    second = _set_endpoint(devnet, "AE", "https://kp2.ae.example", KEY_2)

    make_indexer().sync()

    assert _history(sessions, "AE") == [
        ("https://kp.ae.example", KEY_1, first["blockNumber"]),
        ("https://kp2.ae.example", KEY_2, second["blockNumber"]),
    ]
    with sessions() as session:
        current = queries.service_endpoint(session, "AE")
        assert current is not None
        assert (current.url, current.encryption_key) == ("https://kp2.ae.example", KEY_2)
        assert current.tx_hash == second["transactionHash"].to_0x_hex()
        assert current.block_time == int(devnet.block(second["blockNumber"])["timestamp"])
        assert queries.service_endpoint(session, "BW") is None
        assert queries.service_endpoints(session, "BW") == []


def test_sync_rederives_endpoint_history_when_reorg_drops_rotation(
    devnet: Devnet,
    make_indexer: Callable[..., Indexer],
    sessions: sessionmaker[Session],
    reference: Callable[[], Dump],
) -> None:
    indexer = make_indexer()
    kept = _set_endpoint(devnet, "AE", "https://kp.ae.example", KEY_1)
    indexer.sync()
    fork = devnet.snapshot()
    _set_endpoint(devnet, "AE", "https://dropped.ae.example", KEY_2)
    indexer.sync()
    devnet.revert(fork)
    devnet.mine(3)

    indexer.sync()

    assert _history(sessions, "AE") == [("https://kp.ae.example", KEY_1, kept["blockNumber"])]
    assert dump_index(sessions) == reference()


def test_rebuild_restores_endpoint_history_when_index_dropped(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    _set_endpoint(devnet, "AE", "https://kp.ae.example", KEY_1)
    _set_endpoint(devnet, "AE", "https://kp2.ae.example", KEY_2)
    indexer = make_indexer()
    indexer.sync()
    before = _history(sessions, "AE")

    indexer.rebuild()

    assert _history(sessions, "AE") == before
    assert len(before) == 2
