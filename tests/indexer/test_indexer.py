"""How the indexer follows the chain: checkpoints, idempotence, crashes, rebuilds, reorgs,
confirmations, concurrent callers and an unreachable node. Each result is compared with a
clean index of the same chain (`reference`)."""

from __future__ import annotations

import gc
import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from helpers.polling import wait_until
from kpchain.contracts.enums import ParticipantStatus
from kpchain.devnet.anvil import free_port
from kpchain.errors import ChainError, ChainUnavailableError
from kpchain.indexer import Indexer, queries
from kpchain.indexer import indexer as indexer_module
from kpchain.indexer.bulk import COPY_ROWS
from kpchain.indexer.tables import Block, Certificate, Checkpoint, Event
from support_chain import Devnet
from support_db import Dump, dump_index

pytestmark = pytest.mark.anvil

Reference = Callable[[], Dump]
MakeIndexer = Callable[..., Indexer]


def _cert_nos(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(Certificate.cert_no)))


def _some_activity(devnet: Devnet) -> None:
    """A few blocks of certificate and participant events."""
    devnet.issue(devnet.certificate("BW-2026-000001"))
    devnet.ship("BW-2026-000001", seal="seal")
    devnet.issue(devnet.certificate("BW-2026-000002"))
    devnet.cancel("BW-2026-000002")
    devnet.add_authority("AE", Account.create().address)
    devnet.issue(devnet.certificate("CF-2026-000001", exporting="CF", zone="CF:Berberati"))


class _Warnings(logging.Handler):
    """Sets `seen` when a matching warning is logged, so a test can wait for it."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.WARNING)
        self.needle = needle
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()


# --- passes and checkpoints ----------------------------------------------------------------------


def test_sync_returns_head_and_checkpoints_block_hash_when_chain_indexed(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    assert indexer.head is None

    assert indexer.sync() == devnet.head

    assert indexer.head == devnet.head
    with sessions() as session:
        checkpoint = session.get(Checkpoint, 1)
    assert checkpoint is not None
    assert (checkpoint.block_number, checkpoint.block_hash) == (
        devnet.head,
        devnet.block(devnet.head)["hash"].to_0x_hex(),
    )
    assert make_indexer().head == devnet.head  # a new Indexer reads it from the store


def test_sync_equals_one_pass_when_run_after_every_block_in_small_ranges(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session], reference: Reference
) -> None:
    indexer = make_indexer(batch_blocks=3)
    indexer.sync()
    devnet.issue(devnet.certificate("BW-2026-000001"))
    indexer.sync()
    devnet.ship("BW-2026-000001")
    indexer.sync()
    devnet.receive("BW-2026-000001")
    devnet.mine(7)
    indexer.sync()

    assert dump_index(sessions) == reference()


def test_sync_changes_nothing_when_range_indexed_again(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    _some_activity(devnet)
    indexer = make_indexer()
    indexer.sync()
    before = dump_index(sessions)
    # Move the checkpoint 8 blocks back, as restoring an older backup of it would: those
    # blocks' events are in the store already and must not be applied twice.
    back = devnet.head - 8
    with sessions.begin() as session:
        checkpoint = session.get(Checkpoint, 1)
        assert checkpoint is not None
        checkpoint.block_number = back
        checkpoint.block_hash = devnet.block(back)["hash"].to_0x_hex()

    assert indexer.sync() == devnet.head
    assert indexer.sync() == devnet.head

    assert dump_index(sessions) == before


def test_sync_resumes_from_last_whole_range_when_crashing_before_commit(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _some_activity(devnet)
    written = 0
    original = Indexer._write_checkpoint

    def crash_on_third_range(self: Indexer, session: Session, block: Any) -> None:
        nonlocal written
        original(self, session, block)
        written += 1
        if written == 3:  # events and projections of the range are in the transaction now
            raise RuntimeError("simulated crash before commit")

    monkeypatch.setattr(Indexer, "_write_checkpoint", crash_on_third_range)
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_indexer(batch_blocks=10).sync()
    monkeypatch.undo()

    with sessions() as session:
        checkpoint = session.get(Checkpoint, 1)
        newest_event = session.scalar(select(func.max(Event.block_number)))
    assert checkpoint is not None
    assert checkpoint.block_number == 19  # ranges 0-9 and 10-19 committed, 20-29 rolled back
    assert newest_event is not None
    assert newest_event <= 19

    assert make_indexer(batch_blocks=10).sync() == devnet.head
    assert dump_index(sessions) == reference()


def test_sync_reads_block_times_from_headers_when_logs_lack_them(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # anvil puts blockTimestamp in logs, Besu does not: strip it to take the other path.
    _some_activity(devnet)
    original = Indexer._request

    def without_block_times(self: Indexer, method: str, params: list[Any]) -> Any:
        result = original(self, method, params)
        if method == "eth_getLogs":
            for log in result:
                log.pop("blockTimestamp", None)
        return result

    monkeypatch.setattr(Indexer, "_request", without_block_times)
    indexer = make_indexer(batch_blocks=7)
    indexer.sync()
    devnet.issue(devnet.certificate("BW-2026-000003"))
    indexer.sync()

    assert dump_index(sessions) == reference()


def test_sync_halves_range_when_node_refuses_wide_log_queries(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nodes cap eth_getLogs (Besu: a block range, geth providers: a result count); anvil does
    # not, so the refusal is simulated here.
    _some_activity(devnet)
    original = Indexer._request

    def capped(self: Indexer, method: str, params: list[Any]) -> Any:
        query = params[0] if params else {}
        wide = "fromBlock" in query and int(query["toBlock"], 16) - int(query["fromBlock"], 16) >= 4
        if method == "eth_getLogs" and wide:
            raise ChainError("the node refused eth_getLogs: block range too wide")
        return original(self, method, params)

    monkeypatch.setattr(Indexer, "_request", capped)
    make_indexer(batch_blocks=50).sync()

    assert dump_index(sessions) == reference()


def test_sync_equals_clean_index_when_range_holds_hundreds_of_rows(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session], reference: Reference
) -> None:
    # Enough rows in one range for PostgreSQL's COPY, with text that COPY must escape; the
    # reference is written row by row on SQLite.
    certs = [
        replace(devnet.certificate(f"BW-2026-{n:06}"), issuingAuthority=f"Office\t{n}\\N\n\u00e9")
        for n in range(2 * COPY_ROWS)
    ]
    devnet.issue_batch(certs[:COPY_ROWS])
    devnet.issue_batch(certs[COPY_ROWS:])
    devnet.ship("BW-2026-000007")

    make_indexer().sync()

    assert dump_index(sessions) == reference()
    with sessions() as session:
        cert = queries.certificate(session, "BW-2026-000007")
    assert cert is not None
    assert (cert.issuing_authority, cert.status) == ("Office\t7\\N\n\u00e9", "shipped")


def test_sync_asks_each_refused_width_once_when_node_caps_log_ranges(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Besu refuses ranges wider than --rpc-max-logs-range: halving must not start over from
    # the full width in every range, nor in every half of the first.
    _some_activity(devnet)
    devnet.mine(64)
    original = Indexer._request
    refused: list[int] = []

    def capped(self: Indexer, method: str, params: list[Any]) -> Any:
        query = params[0] if params else {}
        if method == "eth_getLogs" and "fromBlock" in query:
            width = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            if width > 8:
                refused.append(width)
                raise ChainError("the node refused eth_getLogs: exceeds max range")
        return original(self, method, params)

    monkeypatch.setattr(Indexer, "_request", capped)
    assert make_indexer(batch_blocks=64).sync() == devnet.head

    assert refused == [64, 32, 16]
    assert dump_index(sessions) == reference()


def test_sync_narrows_ranges_where_events_dense_and_widens_them_where_sparse(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _some_activity(devnet)
    devnet.mine(40)
    monkeypatch.setattr(indexer_module, "RANGE_LOGS", 4)
    ranges: list[tuple[int, int]] = []
    original = Indexer._index_range

    def recorded(self: Indexer, checkpoint: Any, start: int, end: int, *rest: Any) -> Any:
        ranges.append((start, end))
        return original(self, checkpoint, start, end, *rest)

    monkeypatch.setattr(Indexer, "_index_range", recorded)
    make_indexer(batch_blocks=16).sync()
    monkeypatch.undo()  # the reference indexes in one range, unrecorded

    assert dump_index(sessions) == reference()
    with sessions() as session:
        blocks = list(session.scalars(select(Event.block_number)))
    logs = [sum(start <= block <= end for block in blocks) for start, end in ranges]
    spans = [end - start + 1 for start, end in ranges]
    for i in range(len(ranges) - 2):  # the last range ends at the head, whatever its plan
        if logs[i] > 4:
            assert spans[i + 1] == max(1, spans[i] // 2)
        elif logs[i] == 0:
            assert spans[i + 1] == min(2 * spans[i], 16)
        else:
            assert spans[i + 1] == spans[i]
    assert min(spans[:-1]) < 16  # the seeded blocks are dense
    assert any(b > a for a, b in itertools.pairwise(spans[:-1]))  # the mined ones empty


def test_sync_sends_batches_within_node_limit_when_reading_many_headers(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Besu answers at most 1024 calls a batch (--rpc-http-max-batch-size); without block
    # times in the logs, a wide range needs a header for each block with events.
    _some_activity(devnet)
    original = Indexer._request

    def without_block_times(self: Indexer, method: str, params: list[Any]) -> Any:
        result = original(self, method, params)
        if method == "eth_getLogs":
            for log in result:
                log.pop("blockTimestamp", None)
        return result

    sizes: list[int] = []
    batch = devnet.w3.provider.make_batch_request

    def counted(calls: list[Any]) -> Any:
        sizes.append(len(calls))
        return batch(calls)

    monkeypatch.setattr(Indexer, "_request", without_block_times)
    monkeypatch.setattr(indexer_module, "_MAX_BATCH", 3)
    monkeypatch.setattr(devnet.w3.provider, "make_batch_request", counted)
    make_indexer().sync()

    assert sizes
    assert max(sizes) <= 3
    assert dump_index(sessions) == reference()


def test_sync_pauses_cyclic_gc_only_while_wide_range_written(
    devnet: Devnet, make_indexer: MakeIndexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _some_activity(devnet)
    seen: list[bool] = []
    original = Indexer._write_checkpoint

    def crash_on_second_range(self: Indexer, session: Session, block: Any) -> None:
        original(self, session, block)
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise RuntimeError("simulated crash before commit")

    assert gc.isenabled()
    monkeypatch.setattr(Indexer, "_write_checkpoint", crash_on_second_range)
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_indexer(batch_blocks=10).sync()

    assert seen == [False, False]
    assert gc.isenabled()


def test_sync_forgets_old_blocks_without_events_when_past_kept_depth(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    indexer.keep_blocks = 5
    indexer.sync()
    # Pruning runs as the checkpoint enters each new run of 32 blocks: stop right there.
    while devnet.head < 40 or devnet.head % 32:
        devnet.mine()
        indexer.sync()

    with sessions() as session:
        kept = set(session.scalars(select(Block.number)))
        with_events = set(session.scalars(select(Event.block_number)))
    head = devnet.head
    assert kept == with_events | set(range(head - 5, head + 1))


# --- rebuild -----------------------------------------------------------------------------------


def test_rebuild_equals_live_index_and_reports_progress_when_index_exists(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer(batch_blocks=10)
    indexer.sync()
    devnet.issue(devnet.certificate("BW-2026-000001"))
    indexer.sync()
    devnet.ship("BW-2026-000001")
    devnet.add_authority("BW", Account.create().address)
    indexer.sync()
    devnet.set_status("VE", ParticipantStatus.ACTIVE)
    indexer.sync()
    live = dump_index(sessions)
    seen: list[tuple[int, int]] = []

    head = indexer.rebuild(progress=lambda done, target: seen.append((done, target)))

    assert head == devnet.head
    assert dump_index(sessions) == live
    assert seen == [(min(n + 9, head), head) for n in range(0, head + 1, 10)]


def test_rebuild_gives_events_new_ids_when_feed_must_restart(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    indexer.sync()
    with sessions() as session:
        last_id = session.scalar(select(func.max(Event.id)))

    indexer.rebuild()

    with sessions() as session:
        first_id = session.scalar(select(func.min(Event.id)))
    assert first_id is not None
    assert last_id is not None
    assert first_id > last_id  # ids never go back, so an event feed cursor never skips


# --- reorgs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_blocks", [1, 2, 3], ids=["shorter", "as-long", "longer"])
def test_sync_repairs_reorg_when_indexed_blocks_replaced(
    devnet: Devnet,
    make_indexer: MakeIndexer,
    sessions: sessionmaker[Session],
    reference: Reference,
    new_blocks: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    indexer = make_indexer()
    indexer.sync()
    fork = devnet.snapshot()
    devnet.issue(devnet.certificate("BW-2026-000001"))
    devnet.ship("BW-2026-000001")
    indexer.sync()
    assert _cert_nos(sessions) == ["BW-2026-000001"]
    with sessions() as session:
        last_id = session.scalar(select(func.max(Event.id)))
    devnet.revert(fork)
    replacements = [f"BW-2026-R{n:05}" for n in range(new_blocks)]
    for number in replacements:
        devnet.issue(devnet.certificate(number))

    with caplog.at_level(logging.WARNING, logger="kpchain.indexer"):
        assert indexer.sync() == devnet.head

    assert _cert_nos(sessions) == replacements
    assert dump_index(sessions) == reference()
    assert any("reorg" in record.getMessage() for record in caplog.records)
    with sessions() as session:
        new_ids = session.scalars(select(Event.id).where(Event.cert_no.is_not(None))).all()
    assert last_id is not None
    assert min(new_ids) > last_id


def test_sync_rewinds_index_when_node_head_drops_below_checkpoint(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session], reference: Reference
) -> None:
    indexer = make_indexer()
    indexer.sync()
    fork = devnet.snapshot()
    base = devnet.head
    devnet.issue(devnet.certificate("BW-2026-000001"))
    indexer.sync()
    devnet.revert(fork)

    assert indexer.sync() == base

    assert _cert_nos(sessions) == []
    assert dump_index(sessions) == reference()


def test_sync_rederives_participants_when_reorg_drops_their_changes(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session], reference: Reference
) -> None:
    indexer = make_indexer()
    indexer.sync()
    fork = devnet.snapshot()
    dropped = Account.create().address
    devnet.add_authority("BW", dropped)
    devnet.revoke_authority("BW", dropped)
    devnet.add_authority("BW", dropped)
    devnet.set_status("VE", ParticipantStatus.ACTIVE)
    devnet.set_zone("CF", "CF:Carnot", allowed=False)
    devnet.issue(devnet.certificate("BW-2026-000001"))
    indexer.sync()
    devnet.revert(fork)
    kept = Account.create().address
    devnet.add_authority("BW", kept)
    devnet.set_status("BW", ParticipantStatus.SUSPENDED)
    devnet.mine(5)

    indexer.sync()

    with sessions() as session:
        bw = queries.participant(session, "BW")
        ve = queries.participant(session, "VE")
        cf = queries.participant(session, "CF")
        assert queries.authority_history(session, dropped) == []
    assert bw is not None
    assert ve is not None
    assert cf is not None
    assert [t.address for t in bw.authorities][-1] == kept
    assert (bw.status, ve.status, len(cf.zones)) == ("suspended", "suspended", 2)
    assert dump_index(sessions) == reference()


def test_sync_repairs_reorg_when_deeper_than_kept_blocks(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session], reference: Reference
) -> None:
    indexer = make_indexer()
    indexer.keep_blocks = 3
    indexer.sync()
    fork = devnet.snapshot()
    forked_at = devnet.head
    devnet.issue(devnet.certificate("BW-2026-000001"))
    while devnet.head < 40 or devnet.head % 32:  # until a prune ran, see the test above
        devnet.mine()
        indexer.sync()
    with sessions() as session:
        kept = set(session.scalars(select(Block.number).where(Block.number > forked_at)))
    assert kept == {forked_at + 1} | set(range(devnet.head - 3, devnet.head + 1))
    old_head = devnet.head
    devnet.revert(fork)
    devnet.issue(devnet.certificate("BW-2026-000002"))
    devnet.mine(old_head - devnet.head + 2)

    indexer.sync()

    assert _cert_nos(sessions) == ["BW-2026-000002"]
    assert dump_index(sessions) == reference()


# --- confirmations -----------------------------------------------------------------------------


def test_sync_holds_back_recent_blocks_when_confirmations_required(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer(confirmations=2)
    receipt = devnet.issue(devnet.certificate("BW-2026-000001"))

    assert indexer.sync() == devnet.head - 2
    assert _cert_nos(sessions) == []
    assert not indexer.ensure_indexed(receipt["blockNumber"], timeout=0.2)

    devnet.mine(2)

    assert indexer.ensure_indexed(receipt["blockNumber"], timeout=30)
    assert _cert_nos(sessions) == ["BW-2026-000001"]


# --- ensure_indexed, concurrency -----------------------------------------------------------------


def test_ensure_indexed_runs_one_pass_when_many_threads_wait_for_same_block(
    devnet: Devnet, make_indexer: MakeIndexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexer = make_indexer()
    receipt = devnet.issue(devnet.certificate("BW-2026-000001"))
    passes = 0
    original = Indexer._pass

    def counted(self: Indexer, progress: Any) -> int | None:
        nonlocal passes
        passes += 1
        return original(self, progress)

    monkeypatch.setattr(Indexer, "_pass", counted)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(
                lambda _: indexer.ensure_indexed(receipt["blockNumber"], timeout=30), range(32)
            )
        )

    assert results == [True] * 32
    assert passes == 1


def test_ensure_indexed_asks_nothing_of_node_when_block_already_indexed(
    devnet: Devnet, make_indexer: MakeIndexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexer = make_indexer()
    indexer.sync()

    def unreachable(self: Indexer, method: str, params: list[Any]) -> Any:
        raise AssertionError(f"unexpected {method}")

    monkeypatch.setattr(Indexer, "_request", unreachable)

    assert indexer.ensure_indexed(devnet.head, timeout=1)


def test_ensure_indexed_returns_false_when_block_never_mined(
    devnet: Devnet, make_indexer: MakeIndexer
) -> None:
    indexer = make_indexer()

    assert not indexer.ensure_indexed(devnet.head + 1000, timeout=0.2)
    assert indexer.head == devnet.head


def test_sync_equals_clean_index_when_two_indexers_race_on_one_store(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session], reference: Reference
) -> None:
    # Two processes (service replicas) indexing one database: each range's transaction takes
    # the checkpoint's lock and starts over when the other moved it.
    _some_activity(devnet)
    indexers = [make_indexer(batch_blocks=2), make_indexer(batch_blocks=3)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        heads = list(pool.map(lambda indexer: indexer.sync(), indexers))

    assert heads == [devnet.head, devnet.head]
    assert dump_index(sessions) == reference()


# --- unreachable node, run loop -------------------------------------------------------------------


def test_sync_raises_chain_unavailable_when_node_unreachable(
    devnet: Devnet, sessions: sessionmaker[Session]
) -> None:
    dead = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}"))
    indexer = Indexer(dead, sessions, registry=devnet.address)

    with pytest.raises(ChainUnavailableError, match="cannot reach"):
        indexer.sync()


def test_run_keeps_retrying_when_node_unreachable(
    devnet: Devnet, sessions: sessionmaker[Session]
) -> None:
    dead = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}"))
    indexer = Indexer(dead, sessions, registry=devnet.address)
    watcher = _Warnings("cannot reach")
    logging.getLogger("kpchain.indexer").addHandler(watcher)
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), kwargs={"poll_interval": 0.01})
    try:
        thread.start()
        assert watcher.seen.wait(timeout=30)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
        logging.getLogger("kpchain.indexer").removeHandler(watcher)
    assert not thread.is_alive()


def test_run_indexes_new_blocks_when_running(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        receipt = devnet.issue(devnet.certificate("BW-2026-000001"))
        wait_until(
            lambda: (indexer.head or -1) >= receipt["blockNumber"],
            timeout=30,
            what="the running indexer to reach the certificate's block",
        )
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert _cert_nos(sessions) == ["BW-2026-000001"]
