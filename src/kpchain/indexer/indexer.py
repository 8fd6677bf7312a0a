"""Follow the registry's events (and its governance's) into the SQL store: checkpointed,
idempotent, reorg-aware.

One pass (`Indexer.sync`) reads the logs of the registry from the block after the checkpoint up
to the node's head (minus `confirmations`), in ranges; each range is written in one transaction
together with the new checkpoint (number and hash), so a crash at any point leaves the store at
the end of a whole range and the next pass resumes from there.

Reorgs: the first block of each range must name the checkpoint's hash as its parent (and a pass
with nothing new checks the checkpoint's hash itself). When it does not, the indexer walks back
through `blocks` to the newest block the node still has, deletes the events above it, and
re-derives the certificates and participants those events touched from the events that remain.

In the steady state (no new block, or one: a chain that mines a block per transaction) a pass
costs one JSON-RPC batch request (the head, the checkpoint's and the next block's headers, the
next block's logs) and, when there is a new block, one write transaction of a few Core
statements (the ORM only for the rare participant and governance events). The checkpoint is kept
in memory between passes; every write checks it under the store's lock, and an idle pass reads
it again, so a rebuild or restore by another process is noticed.

Catching up (a rebuild, a service back after a while): ranges as wide as the node allows (see
`Indexer.batch_blocks`), each range's events decoded by compiled readers (decoding.py), written
in bulk (bulk.py) and projected in bulk (projection.py); no request to the node nor statement
to the database is made per event. About 10,000 events/s on SQLite and 7,000-9,000 on
PostgreSQL on a 2-core machine (`python -m benchmarks.phases.index`).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_utils.crypto import keccak
from sqlalchemy import Table, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.types import RPCEndpoint, RPCResponse

from kpchain.artifacts import load_artifact
from kpchain.chain.connection import endpoint
from kpchain.chain.errors import UNREACHABLE, rpc_result, unreachable
from kpchain.deploy import DEPLOYED_CONTRACT
from kpchain.errors import ChainError, ChainUnavailableError
from kpchain.indexer.bulk import insert_rows
from kpchain.indexer.decoding import DecodedEvent, EventDecoder
from kpchain.indexer.projection import project_all, rederive
from kpchain.indexer.tables import INDEX_TABLES, Block, Checkpoint, Event
from kpchain.store import WRITE, Base

logger = logging.getLogger(__name__)

T = TypeVar("T")

Progress = Callable[[int, int], None]
"""Called with (last block indexed, block the pass aims for) after each range."""

KEEP_BLOCKS = 256
"""Blocks without events are forgotten once this far below the checkpoint: deeper reorgs than
this are still repaired, only from the newest block with events below them."""

RANGE_LOGS = 10_000
"""About how many logs a range (one `eth_getLogs`, one transaction) holds at most where events
are dense: ranges are resized after each one to stay near it (see `Indexer.batch_blocks`)."""

_MAX_RESTARTS = 8  # passes started again in a row (reorg repaired, chain moved) before giving up
_ANCESTOR_BATCH = 64  # stored blocks compared with the node per batch request, walking back
_WAIT_SLICE = 0.05  # ensure_indexed: how long to wait before asking the node again
_MAX_BACKOFF = 30.0  # run: longest pause between attempts while the chain is unreachable
_INDEX_LOCK = 0x6B70636861696E + 1  # PostgreSQL advisory lock of index writers (next to migrate's)
_MAX_BATCH = 1000  # calls per JSON-RPC batch request: Besu refuses more than 1024 by default


@dataclass(frozen=True)
class BlockRef:
    """A block by number and hash."""

    number: int
    hash: str


@dataclass(frozen=True)
class _Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    logs_bloom: str


@dataclass(frozen=True)
class _Probe:
    head: int  # the node's latest block number
    next: _Header | None  # the block after the checkpoint, if mined
    next_logs: list[dict[str, Any]] | None  # the registry's logs of that block, read by number
    checkpoint: _Header | None  # the node's block at the checkpoint's height


class _RestartError(Exception):
    """The pass must start again: a reorg was repaired, or the chain moved while a range was
    read."""


class _OvertakenError(_RestartError):
    """Another indexer (process) moved the checkpoint first: go on from where it got."""


class Indexer:
    """Indexes the events of the registry at `registry` into the store behind `sessions`.

    Thread-safe: passes run one at a time under a lock. Several processes may index the same
    database: each range's transaction takes the store's write lock first and goes on from the
    other's checkpoint if another process moved it meanwhile.

    Args:
        w3: a Web3 for the node (see kpchain.chain.connection.connect).
        sessions: sessions on a migrated store (see kpchain.store).
        registry: address of the deployed CertificateRegistry.
        start_block: first block to index (the deployment's block saves reading empty ones).
        contracts: further contracts whose events to index, address -> artifact name (the
            governance: the governor, its seats, the validator set).
        confirmations: blocks below the head to stay: 0 for chains with instant finality
            (QBFT), more where reorgs happen.
        batch_blocks: most blocks per `eth_getLogs` range (and per transaction). The default
            is Besu's default cap (`--rpc-max-logs-range`, 5000 since 23.x; 1000 before): a
            range the node refuses is halved, and later ones are no wider than the half (a
            refused width costs one request, once). Ranges also shrink where events are
            dense (to about `RANGE_LOGS` logs each) and grow back where they are sparse.
    """

    def __init__(
        self,
        w3: Web3,
        sessions: sessionmaker[Session],
        *,
        registry: str,
        start_block: int = 0,
        contracts: Mapping[str, str] | None = None,
        confirmations: int = 0,
        batch_blocks: int = 5000,
    ) -> None:
        if start_block < 0 or confirmations < 0 or batch_blocks < 1:
            raise ValueError("start_block and confirmations must be >= 0, batch_blocks >= 1")
        self.registry = Web3.to_checksum_address(registry)
        sources = {self.registry: DEPLOYED_CONTRACT}
        sources.update(
            (Web3.to_checksum_address(address), name) for address, name in (contracts or {}).items()
        )
        # One eth_getLogs asks for every followed contract: a single address while it is only
        # the registry, as before, a list otherwise.
        followed: list[str] = list(sources)
        self._log_address: str | list[str] = followed[0] if len(followed) == 1 else followed
        self._address_bytes = [bytes.fromhex(address[2:]) for address in followed]
        self._decoders = {
            address.lower(): EventDecoder(load_artifact(name).abi)
            for address, name in sources.items()
        }
        self.start_block = start_block
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self._span = batch_blocks  # blocks the next range covers (see _adapt)
        self._log_cap: int | None = None  # most blocks per eth_getLogs, once the node refused
        self.keep_blocks = KEEP_BLOCKS
        self._w3 = w3
        self._sessions = sessions
        self._lock = threading.Lock()  # one pass at a time
        self._changed = threading.Condition()  # notified after every pass
        self._syncing = False  # an ensure_indexed caller is running a pass for the others
        # The checkpoint as this indexer last wrote or read it. Every write checks it under the
        # store's lock, so a stale one (another process indexed meanwhile) costs one retry.
        self._known: BlockRef | None = None
        self._known_loaded = False
        self._head_time: int | None = None  # block time of the last block indexed, once seen

    # --- public ----------------------------------------------------------------------------------

    @property
    def head(self) -> int | None:
        """The last block indexed, or None before the first."""
        checkpoint = self._checkpoint()
        return checkpoint.number if checkpoint else None

    @property
    def head_time(self) -> int | None:
        """The block time (Unix seconds) of the last block this indexer indexed or checked,
        None before it has seen one: the chain's clock, which judges expiry."""
        return self._head_time

    def sync(self) -> int | None:
        """Indexes up to the node's head minus `confirmations`, repairing reorgs on the way.

        Concurrent callers wait for the pass in progress, then make their own (usually one
        cheap look at the node).

        Returns:
            The last block indexed, or None when there is nothing to index yet.

        Raises:
            ChainUnavailableError: the node cannot be reached.
            ChainError: the node refused a request.
        """
        with self._lock:
            try:
                return self._sync(None)
            finally:
                self._notify()

    def find(self, session: Session, lookup: Callable[[Session], T | None]) -> T | None:
        """`lookup(session)`, or when it finds nothing, the same after one catch-up: the chain
        may be a block ahead of the index (another service wrote a moment ago).

        The second look runs in a new read transaction of `session` (which must hold nothing
        unsaved): SQLite keeps the snapshot of a transaction's first statement, which predates
        the catch-up.
        """
        found = lookup(session)
        if found is None:
            self.sync()
            session.rollback()
            found = lookup(session)
        return found

    def ensure_indexed(self, block_number: int, *, timeout: float) -> bool:
        """Waits until the index has reached `block_number`, running passes as needed.

        Cheap when many threads call it: one of them runs the pass, the others wait for it and
        look again; a block already indexed costs no I/O at all. With `confirmations` > 0 a
        block is indexed only once that many blocks follow it.

        Returns:
            True once the index has reached the block; False when `timeout` seconds passed.

        Raises:
            ChainUnavailableError: the node cannot be reached.
        """
        if self._reached(block_number):
            return True
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                while self._syncing and not self._reached(block_number):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                if self._reached(block_number):
                    return True
                self._syncing = True
            try:
                self.sync()
            finally:
                with self._changed:
                    self._syncing = False
                    self._changed.notify_all()
            if self._reached(block_number):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # The node is not there yet (or confirmations hold the block back): wait for another
            # pass to finish, or a moment, before asking again.
            with self._changed:
                self._changed.wait(min(_WAIT_SLICE, remaining))

    def run(self, stop: threading.Event, *, poll_interval: float = 0.5) -> None:
        """Runs passes until `stop` is set. Never raises: an unreachable chain or a failing
        database is logged and retried with a growing pause (up to 30 s)."""
        backoff = 0.0
        while not stop.is_set():
            try:
                self.sync()
            except ChainUnavailableError as exc:
                backoff = min(max(backoff * 2, poll_interval, 1.0), _MAX_BACKOFF)
                logger.warning("indexer: %s; retrying in %.1f s", exc.message, backoff)
                stop.wait(backoff)
                continue
            except Exception:
                backoff = min(max(backoff * 2, poll_interval, 1.0), _MAX_BACKOFF)
                logger.exception("indexer pass failed; retrying in %.1f s", backoff)
                stop.wait(backoff)
                continue
            if backoff:
                logger.info("indexer: back on track at block %s", self.head)
                backoff = 0.0
            stop.wait(poll_interval)

    def rebuild(self, *, progress: Progress | None = None) -> int | None:
        """Deletes every index row (never the service's tables) and indexes again from
        `start_block`, reporting progress after each range.

        Returns:
            The last block indexed.
        """
        with self._lock:
            try:
                with self._sessions() as session, session.begin():
                    session.connection(execution_options=WRITE)
                    for name in INDEX_TABLES:
                        session.execute(Base.metadata.tables[name].delete())
                self._remember(None)
                logger.info("index emptied; rebuilding from block %s", self.start_block)
                return self._sync(progress)
            finally:
                self._notify()

    # --- passes ----------------------------------------------------------------------------------

    def _sync(self, progress: Progress | None) -> int | None:
        restarts = 0
        while True:
            try:
                return self._pass(progress)
            except _OvertakenError:
                # Not counted: every time, the other indexer made progress for us.
                logger.debug("another indexer moved the checkpoint; going on from there")
                self._known_loaded = False
            except _RestartError as why:
                restarts += 1
                if restarts == _MAX_RESTARTS:
                    logger.warning("the chain kept moving during %s passes: %s", restarts, why)
                    return self.head
                logger.info("indexer pass starts again: %s", why)

    def _pass(self, progress: Progress | None) -> int | None:
        checkpoint = self._checkpoint()
        start = checkpoint.number + 1 if checkpoint else self.start_block
        probe = self._probe(checkpoint, start)
        target = probe.head - self.confirmations
        if start > target:
            # Idle: worth one read to notice a checkpoint changed behind this indexer's back
            # (a rebuild or a restore by another process); writes check it under lock anyway.
            if self._load_checkpoint() != checkpoint:
                raise _OvertakenError
            # Nothing new, but the block we stopped at may have been replaced (or dropped).
            if checkpoint is not None and (
                probe.checkpoint is None or probe.checkpoint.hash != checkpoint.hash
            ):
                self._repair(checkpoint)
                raise _RestartError(f"reorg below block {checkpoint.number} repaired")
            if probe.checkpoint is not None:
                self._head_time = probe.checkpoint.timestamp
            return self.head
        first, first_logs = probe.next, probe.next_logs
        while start <= target:
            end = min(start + min(self._span, self.batch_blocks) - 1, target)
            with _without_cyclic_gc() if end > start else nullcontext():
                checkpoint = self._index_range(checkpoint, start, end, first, first_logs)
            first, first_logs = None, None
            if progress is not None:
                progress(end, target)
            start = end + 1
        return self.head

    def _probe(self, checkpoint: BlockRef | None, start: int) -> _Probe:
        """The node's head, the checkpoint's block, the next block and its logs: all a pass
        needs in the steady state (no new block, or one), in one batch request."""
        calls: list[tuple[str, list[Any]]] = [
            ("eth_blockNumber", []),
            ("eth_getBlockByNumber", [hex(start), False]),
            (
                "eth_getLogs",
                [{"address": self._log_address, "fromBlock": hex(start), "toBlock": hex(start)}],
            ),
        ]
        if checkpoint is not None:
            calls.append(("eth_getBlockByNumber", [hex(checkpoint.number), False]))
        responses = self._batch_raw(calls)
        logs = responses[2].get("result") if not responses[2].get("error") else None
        return _Probe(
            head=_int(self._result(calls[0][0], responses[0])),
            next=_header(self._result(calls[1][0], responses[1])),
            # A node may refuse logs of a block it has not mined yet: then there are none.
            next_logs=logs if isinstance(logs, list) else None,
            checkpoint=_header(self._result(calls[3][0], responses[3])) if checkpoint else None,
        )

    def _index_range(
        self,
        checkpoint: BlockRef | None,
        start: int,
        end: int,
        first: _Header | None = None,
        first_logs: list[dict[str, Any]] | None = None,
    ) -> BlockRef:
        """Indexes blocks `start`..`end` in one transaction. `first` and `first_logs` are what
        the probe already read of block `start`, when it did."""
        wanted = [n for n in {start, end} if not (first is not None and n == start)]
        headers = self._headers(sorted(wanted)) if wanted else {}
        if first is not None:
            headers[start] = first
        first, last = headers.get(start), headers.get(end)
        if first is None or last is None:
            raise _RestartError(f"the node no longer has block {start if first is None else end}")
        if checkpoint is not None and first.parent_hash != checkpoint.hash:
            self._repair(checkpoint)
            raise _RestartError(f"block {start} does not follow the checkpoint: reorg repaired")
        if start == end:
            logs = first_logs if self._logs_belong(first_logs, first) else None
            if logs is None:
                # By hash: these logs belong to exactly the header just read.
                query = {"address": self._log_address, "blockHash": first.hash}
                logs = self._request("eth_getLogs", [query])
        else:
            logs = self._logs(start, end)
            again = self._header(end)
            if again is None or again.hash != last.hash:
                raise _RestartError(f"block {end} changed while its range was read")
        for log in logs:
            header = headers.get(int(log["blockNumber"], 16))
            if header is not None and str(log["blockHash"]).lower() != header.hash:
                raise _RestartError(f"block {header.number} changed while its logs were read")
        self._adapt(end - start + 1, len(logs))
        events = self._decode(logs, headers)
        log_blocks = {int(log["blockNumber"], 16): str(log["blockHash"]).lower() for log in logs}
        blocks = {h.number: (h.hash, h.number in log_blocks) for h in (first, last)}
        blocks.update((number, (block_hash, True)) for number, block_hash in log_blocks.items())
        new = BlockRef(end, last.hash)
        self._commit(checkpoint, new, events, blocks, start)
        self._head_time = last.timestamp
        if logs:
            logger.debug("indexed %s events of blocks %s..%s", len(events), start, end)
        return new

    def _adapt(self, blocks: int, logs: int) -> None:
        """Sizes the next range after one of `blocks` blocks returned `logs` logs: halved above
        `RANGE_LOGS` (a transaction's and a response's size stay bounded), doubled below a
        quarter of it, never past what the node accepts."""
        if logs > RANGE_LOGS:
            self._span = max(1, min(self._span, blocks) // 2)
        elif logs < RANGE_LOGS // 4:
            grown = min(self._span * 2, self.batch_blocks, self._log_cap or self.batch_blocks)
            self._span = max(self._span, grown)

    def _logs_belong(self, logs: list[dict[str, Any]] | None, header: _Header) -> bool:
        """Whether `logs`, read by number beside `header`, are that very block's logs: each
        names its hash, and none at all only where its bloom filter rules the registry out
        (else the block may have changed between the two reads)."""
        if logs is None:
            return False
        if logs:
            return all(str(log["blockHash"]).lower() == header.hash for log in logs)
        return not any(
            _bloom_may_contain(header.logs_bloom, address) for address in self._address_bytes
        )

    def _decode(
        self, logs: list[dict[str, Any]], headers: dict[int, _Header]
    ) -> list[DecodedEvent]:
        times = {number: header.timestamp for number, header in headers.items()}
        # Nodes that put `blockTimestamp` in logs (anvil, recent geth) spare a header each.
        missing = sorted(
            {int(log["blockNumber"], 16) for log in logs if log.get("blockTimestamp") is None}
            - times.keys()
        )
        if missing:
            fetched = self._headers(missing)
            if len(fetched) != len(missing):
                raise _RestartError("a block with logs disappeared while its time was read")
            times.update((number, header.timestamp) for number, header in fetched.items())
        events = []
        for log in logs:
            if log.get("removed"):
                continue
            stamp = log.get("blockTimestamp")
            block_time = _int(stamp) if stamp is not None else times[int(log["blockNumber"], 16)]
            decoder = self._decoders.get(str(log["address"]).lower())
            event = decoder.record(log, block_time=block_time) if decoder is not None else None
            if event is not None:
                events.append(event)
        events.sort(key=lambda e: (e.block_number, e.log_index))
        return events

    def _commit(
        self,
        expected: BlockRef | None,
        new: BlockRef,
        events: list[DecodedEvent],
        blocks: dict[int, tuple[str, bool]],
        start: int,
    ) -> None:
        """Writes a range's events, their projections, its blocks and the new checkpoint in one
        transaction. Events already stored (same block hash and log index) are skipped, so
        writing a range twice changes nothing."""
        with self._sessions() as session, session.begin():
            session.connection(execution_options=WRITE)
            if self._locked_checkpoint(session) != expected:
                raise _OvertakenError
            if events:
                bounds = {"start": start, "end": new.number}
                stored = {
                    (block_hash, index)
                    for block_hash, index in session.execute(_STORED_EVENTS, bounds)
                }
                fresh = [e for e in events if (e.block_hash, e.log_index) not in stored]
                if fresh:
                    # In bulk, none of the ORM's per-object work.
                    insert_rows(session, _EVENTS, [event.row() for event in fresh])
                    project_all(session, fresh)
            _upsert_blocks(session, blocks)
            self._write_checkpoint(session, new)
            # Pruning is idempotent and may lag: once per 32 blocks spares a statement a pass.
            if expected is None or new.number // 32 != expected.number // 32:
                session.execute(_PRUNE_BLOCKS, {"below": new.number - self.keep_blocks})
        self._remember(new)

    def _write_checkpoint(self, session: Session, block: BlockRef | None) -> None:
        """Moves the checkpoint to `block` (None: nothing indexed) inside `session`'s
        transaction."""
        if block is None:
            session.execute(delete(_CHECKPOINT))
            return
        values = {"number": block.number, "hash": block.hash}
        if session.execute(_MOVE_CHECKPOINT, values).rowcount == 0:  # type: ignore[attr-defined]
            session.execute(_ADD_CHECKPOINT, values)

    # --- reorgs ----------------------------------------------------------------------------------

    def _repair(self, checkpoint: BlockRef) -> None:
        """Rewinds the index to the newest stored block the node still has."""
        ancestor = self._common_ancestor(checkpoint)
        floor = ancestor.number if ancestor else self.start_block - 1
        logger.warning(
            "reorg: block %s %s is no longer on the node's chain; rewinding %s blocks to %s",
            checkpoint.number,
            checkpoint.hash,
            checkpoint.number - floor,
            f"block {ancestor.number}" if ancestor else "the start",
        )
        with self._sessions() as session, session.begin():
            session.connection(execution_options=WRITE)
            if self._locked_checkpoint(session) != checkpoint:
                raise _OvertakenError
            touched = Event.block_number > floor
            cert_nos = session.scalars(
                select(Event.cert_no).where(touched, Event.cert_no.is_not(None)).distinct()
            ).all()
            codes = session.scalars(
                select(Event.participant).where(touched, Event.participant.is_not(None)).distinct()
            ).all()
            session.execute(delete(Event).where(touched))
            session.execute(delete(Block).where(Block.number > floor))
            rederive(
                session,
                cert_nos=[c for c in cert_nos if c is not None],
                codes=[c for c in codes if c is not None],
            )
            self._write_checkpoint(session, ancestor)
        self._remember(ancestor)

    def _common_ancestor(self, checkpoint: BlockRef) -> BlockRef | None:
        """The newest block in `blocks`, at or below the checkpoint, whose hash the node still
        has at that height; None when there is none."""
        below = checkpoint.number + 1
        while True:
            with self._sessions() as session:
                query = (
                    select(Block.number, Block.hash)
                    .where(Block.number < below)
                    .order_by(Block.number.desc())
                    .limit(_ANCESTOR_BATCH)
                )
                stored = [
                    BlockRef(number, block_hash) for number, block_hash in session.execute(query)
                ]
            if not stored:
                return None
            on_node = self._headers([block.number for block in stored])
            for block in stored:
                header = on_node.get(block.number)
                if header is not None and header.hash == block.hash:
                    return block
            below = stored[-1].number

    # --- store -----------------------------------------------------------------------------------

    def _load_checkpoint(self) -> BlockRef | None:
        with self._sessions() as session:
            row = session.execute(_READ_CHECKPOINT).first()
            return BlockRef(row.block_number, row.block_hash) if row else None

    def _locked_checkpoint(self, session: Session) -> BlockRef | None:
        """The checkpoint, read under a lock held until the transaction ends, so that indexers
        in several processes write one after the other: on SQLite the database's write lock
        (BEGIN IMMEDIATE, the WRITE option), on PostgreSQL an advisory lock (a row lock would
        not cover the first checkpoint, which does not exist yet)."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INDEX_LOCK})
        row = session.execute(_READ_CHECKPOINT).first()
        return BlockRef(row.block_number, row.block_hash) if row else None

    def _checkpoint(self) -> BlockRef | None:
        if not self._known_loaded:
            self._remember(self._load_checkpoint())
        return self._known

    def _remember(self, checkpoint: BlockRef | None) -> None:
        self._known = checkpoint
        self._known_loaded = True

    def _reached(self, block_number: int) -> bool:
        known = self._known  # read once: another thread may replace it meanwhile
        return self._known_loaded and known is not None and known.number >= block_number

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- node ------------------------------------------------------------------------------------

    def _header(self, number: int) -> _Header | None:
        return _header(self._request("eth_getBlockByNumber", [hex(number), False]))

    def _headers(self, numbers: Sequence[int]) -> dict[int, _Header]:
        """Headers by number, in one batch request; blocks the node lacks are left out."""
        results = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        headers = (_header(result) for result in results)
        return {header.number: header for header in headers if header is not None}

    def _logs(self, start: int, end: int) -> list[dict[str, Any]]:
        """The registry's logs of blocks `start`..`end`, halving the range when the node
        refuses it (too many results, range too wide). A refusal is remembered: wider ranges
        are split without asking again, and the next ranges are planned no wider."""
        size = end - start + 1
        if start == end or self._log_cap is None or size <= self._log_cap:
            query = {"address": self._log_address, "fromBlock": hex(start), "toBlock": hex(end)}
            try:
                logs: list[dict[str, Any]] = self._request("eth_getLogs", [query])
                return logs
            except ChainUnavailableError:
                raise
            except ChainError as exc:
                if start == end:
                    raise
                self._log_cap = (size + 1) // 2
                self._span = min(self._span, self._log_cap)
                logger.info(
                    "node refused logs of %s..%s (%s); ranges of %s blocks from now on",
                    start,
                    end,
                    exc.message,
                    self._log_cap,
                )
        middle = (start + end) // 2
        return self._logs(start, middle) + self._logs(middle + 1, end)

    def _request(self, method: str, params: list[Any]) -> Any:
        # The provider directly: the indexer parses raw results itself, and skipping web3's
        # result formatters keeps each call cheap.
        try:
            response = self._w3.provider.make_request(RPCEndpoint(method), params)
        except UNREACHABLE as exc:
            raise self._unavailable(method, exc) from exc
        return self._result(method, response)

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """The results of `calls`, sent as one batch request."""
        responses = self._batch_raw(calls)
        return [
            self._result(method, response)
            for (method, _), response in zip(calls, responses, strict=True)
        ]

    def _batch_raw(self, calls: list[tuple[str, list[Any]]]) -> list[RPCResponse]:
        """The JSON-RPC responses (errors included) to `calls`, in their order, in batch
        requests of at most `_MAX_BATCH` calls."""
        if len(calls) > _MAX_BATCH:
            return [
                response
                for offset in range(0, len(calls), _MAX_BATCH)
                for response in self._batch_raw(calls[offset : offset + _MAX_BATCH])
            ]
        make_batch = getattr(self._w3.provider, "make_batch_request", None)
        if len(calls) > 1 and make_batch is not None:
            try:
                responses = make_batch([(RPCEndpoint(method), params) for method, params in calls])
            except UNREACHABLE as exc:
                raise self._unavailable(calls[0][0], exc) from exc
            if isinstance(responses, list) and len(responses) == len(calls):
                # JSON-RPC lets a batch's answers come in any order; ids follow the requests'.
                return sorted(responses, key=lambda response: int(response["id"]))
            # A node that refuses batches answers with one error: ask one by one instead.
        raw = []
        for method, params in calls:
            try:
                raw.append(self._w3.provider.make_request(RPCEndpoint(method), params))
            except UNREACHABLE as exc:
                raise self._unavailable(method, exc) from exc
        return raw

    def _result(self, method: str, response: RPCResponse) -> Any:
        return rpc_result(method, response)

    def _unavailable(self, method: str, exc: Exception) -> ChainUnavailableError:
        return unreachable(exc, rpc_url=endpoint(self._w3), method=method)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pauses the cyclic garbage collector: a wide range makes tens of thousands of objects
    that live until its commit (parsed logs, decoded events, rows), and each few hundred of them
    would start a collection that walks them all again (~15% of a rebuild). They hold no
    cycles, so reference counting frees them; the collector resumes after the range."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _upsert_blocks(session: Session, blocks: dict[int, tuple[str, bool]]) -> None:
    """Writes `blocks` (number -> hash, has events), replacing rows of the same numbers."""
    rows = [
        {"number": number, "hash": block_hash, "has_events": has_events}
        for number, (block_hash, has_events) in blocks.items()
    ]
    dialect = session.get_bind().dialect.name
    upsert = _BLOCK_UPSERTS.get(dialect)
    if upsert is not None:
        session.execute(upsert, rows)  # one statement, compiled once, for every range
        return
    session.execute(delete(_BLOCKS).where(_BLOCKS.c.number.in_(list(blocks))))
    session.execute(insert(_BLOCKS), rows)


def _block_upsert(dialect: Any) -> Any:
    upsert = dialect.insert(_BLOCKS)
    return upsert.on_conflict_do_update(
        index_elements=[_BLOCKS.c.number],
        set_={"hash": upsert.excluded.hash, "has_events": upsert.excluded.has_events},
    )


# Core statements built once: the ORM's per-call work (identity map, flush, compiling a new
# statement object) was most of what a one-block pass cost.
_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_BLOCKS: Table = Block.__table__  # type: ignore[assignment]
_CHECKPOINT: Table = Checkpoint.__table__  # type: ignore[assignment]
_READ_CHECKPOINT = select(_CHECKPOINT.c.block_number, _CHECKPOINT.c.block_hash).where(
    _CHECKPOINT.c.id == 1
)
_MOVE_CHECKPOINT = (
    update(_CHECKPOINT)
    .where(_CHECKPOINT.c.id == 1)
    .values(block_number=bindparam("number"), block_hash=bindparam("hash"))
)
_ADD_CHECKPOINT = insert(_CHECKPOINT).values(
    id=1, block_number=bindparam("number"), block_hash=bindparam("hash")
)
_STORED_EVENTS = select(_EVENTS.c.block_hash, _EVENTS.c.log_index).where(
    _EVENTS.c.block_number.between(bindparam("start"), bindparam("end"))
)
_PRUNE_BLOCKS = delete(_BLOCKS).where(
    _BLOCKS.c.number < bindparam("below"), _BLOCKS.c.has_events.is_(False)
)
_BLOCK_UPSERTS = {
    "sqlite": _block_upsert(sqlite),
    "postgresql": _block_upsert(postgresql),
}


def _int(value: Any) -> int:
    """A JSON-RPC quantity: 0x-hex string (or, from lenient nodes, a number)."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _header(raw: dict[str, Any] | None) -> _Header | None:
    if raw is None:
        return None
    return _Header(
        number=_int(raw["number"]),
        hash=str(raw["hash"]).lower(),
        parent_hash=str(raw["parentHash"]).lower(),
        timestamp=_int(raw["timestamp"]),
        logs_bloom=str(raw.get("logsBloom") or ""),
    )


def _bloom_may_contain(bloom_hex: str, item: bytes) -> bool:
    """Whether a block's 2048-bit logs bloom may contain `item` (an address or topic): False
    means certainly not. An unreadable bloom may contain anything."""
    try:
        bloom = int(bloom_hex, 16)
    except ValueError:
        return True
    digest = keccak(item)
    for i in (0, 2, 4):
        bit = ((digest[i] << 8) | digest[i + 1]) & 2047
        if not bloom >> bit & 1:
            return False
    return True
