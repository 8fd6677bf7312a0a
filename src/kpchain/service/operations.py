"""The crash-safe write path: every operation is recorded before anything is signed, its signed
transaction is stored before it is sent, and it is finished (mined and indexed) by the request,
by a retry with the same Idempotency-Key, or by the reconciler after a restart.

Why each step is safe to repeat:

- ``pending``: nothing left the process. Resuming estimates, signs and stores the transaction.
- ``signed``: the transaction may or may not have reached the node. Resuming asks the node for
  its receipt; when the node has never seen it and its nonce is still unused, the same bytes are
  sent again (a transaction cannot be mined twice); when its nonce went to another transaction,
  it was never mined, so the call is signed again with a fresh nonce.
- ``done`` / ``failed``: the first result (or error) is returned again, never recomputed.

One service process owns a database: two processes writing for the same participant would each
count nonces on their own. Within the process, an operation is driven by one thread at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import JSON, Table, bindparam, func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from kpchain.audit.trail import note_subject, open_in
from kpchain.chain.transactions import SignedTransaction, TransactionSender, call_node
from kpchain.contracts.registry import Registry
from kpchain.errors import (
    ConflictError,
    ErrorCode,
    KpchainError,
    NonceTooLowError,
    PermissionDeniedError,
    TransactionPendingError,
    error_record,
    restore_error,
)
from kpchain.indexer.indexer import Indexer
from kpchain.service.batching import Coalescer, Expected, SendAlone, is_batch
from kpchain.service.tables import Operation
from kpchain.store import WRITE, begin_write

logger = logging.getLogger(__name__)

UNFINISHED = ("pending", "signed")

CallBuilder = Callable[[Registry, dict[str, Any]], ContractFunction]
Response = BaseModel | dict[str, Any]
"""What a write answers: the view model its renderer built when this request finished it, or
the JSON stored then when an earlier request did (a retry); see `response_as`."""
Renderer = Callable[[Session, Operation], Response]
RowHook = Callable[[Session, Operation], None]


@dataclass(frozen=True, kw_only=True)
class Intent:
    """What an operation will do, complete enough to be finished after a crash.

    Args:
        actor: the participant code the operation acts for (its authority signs), or
            `admin_actor(code)` (its admin signs).
        kind: the operation's name; `calls` must know it.
        subject: the certificate number or participant code it is about.
        request: everything needed to build the contract call again (JSON-friendly).
        body: the client's request as received; a retry with the same Idempotency-Key must send
            the same body.
        idempotency_key: the client's Idempotency-Key header, if any.
    """

    actor: str
    kind: str
    subject: str
    request: dict[str, Any]
    body: Any
    idempotency_key: str | None = None

    @property
    def request_hash(self) -> str:
        """What a retry under the same Idempotency-Key must repeat: the operation's kind, its
        subject and the body. A key reused to ship another certificate, with the same body,
        is a different request."""
        return request_hash(self.kind, self.subject, self.body)


def request_hash(kind: str, subject: str, body: Any) -> str:
    """The SHA-256 of a request's kind, subject and body, in a canonical JSON form."""
    canonical = json.dumps(
        {"kind": kind, "subject": subject, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def admin_actor(code: str) -> str:
    """The actor name of operations signed with participant `code`'s admin key ("BW/admin")."""
    return f"{code}{_ADMIN_SUFFIX}"


_ADMIN_SUFFIX = "/admin"

ModelT = TypeVar("ModelT", bound=BaseModel)


def response_as(model: type[ModelT], response: Response) -> ModelT:
    """`response` as `model`: the view the renderer built, as it is, or the stored JSON of
    a write finished earlier validated into it (a retry answers as the first request did)."""
    return response if isinstance(response, model) else model.model_validate(response)


def response_json(response: Response) -> dict[str, Any]:
    """`response` as JSON, for the kinds whose renderer builds JSON (or a model, dumped)."""
    return response.model_dump(mode="json") if isinstance(response, BaseModel) else response


class Hosting:
    """The senders of the accounts this service signs for: each hosted participant's authority
    (actor "BW") and admin (actor "BW/admin", see `admin_actor`)."""

    def __init__(
        self,
        participants: dict[str, TransactionSender],
        admins: dict[str, TransactionSender] | None = None,
    ) -> None:
        self.participants = participants
        self.admins = dict(admins or {})

    def sender(self, actor: str) -> TransactionSender:
        """The sender acting for `actor`.

        Raises:
            PermissionDeniedError: this service holds no key for `actor`.
        """
        if actor.endswith(_ADMIN_SUFFIX):
            code = actor.removesuffix(_ADMIN_SUFFIX)
            sender, who = self.admins.get(code), f"the admin of participant {code}"
        else:
            sender, who = self.participants.get(actor), f"participant {actor}"
        if sender is None:
            raise PermissionDeniedError(
                f"this service holds no signing key for {who}; its own service must submit",
                code=ErrorCode.PARTICIPANT_NOT_HOSTED,
                detail={"actor": actor},
            )
        return sender

    def all(self) -> list[TransactionSender]:
        return [*self.participants.values(), *self.admins.values()]


class Writer:
    """Runs operations through their states; see the module docstring.

    Args:
        sessions: the service database.
        registry: the registry the calls go to.
        hosting: who signs for which actor.
        indexer: the index a write waits for, so its response shows the mined state.
        calls: how each operation kind becomes a contract call.
        render: the response of a finished operation, read from the index.
        receipt_timeout: seconds a request waits for its transaction to be mined.
        coalesce: send the registry calls one account has ready at the same moment as one
            transaction (`kpchain.service.batching`).
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        registry: Registry,
        hosting: Hosting,
        indexer: Indexer,
        calls: dict[str, CallBuilder],
        render: Renderer,
        receipt_timeout: float = 60.0,
        coalesce: bool = True,
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._hosting = hosting
        self._indexer = indexer
        self._calls = calls
        self._render = render
        self._receipt_timeout = receipt_timeout
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._primed: set[str] = set()
        self._primed_guard = threading.Lock()
        self._announced: dict[int, Expected] = {}  # by operation id, until it is sent
        self._coalescer = (
            Coalescer(
                registry=registry,
                store_signed=self._store_signed_batch,
                receipt_timeout=receipt_timeout,
            )
            if coalesce
            else None
        )

    @property
    def coalescer(self) -> Coalescer | None:
        """What batches the registry calls of each account; None when writes go one by one."""
        return self._coalescer

    # --- entry points ----------------------------------------------------------------------

    def submit(self, intent: Intent, *, on_record: RowHook | None = None) -> Response:
        """Records `intent` (or finds the operation of its Idempotency-Key) and finishes it.

        Args:
            intent: the operation.
            on_record: writes rows that must exist exactly when the operation does (the
                certificate document), in the same database transaction.

        Returns:
            The response of the finished operation (the first one, for a retry: its stored
            JSON; see `response_as`).

        Raises:
            ConflictError: the Idempotency-Key was used for a different request.
            KpchainError: the operation failed (the same error on every retry), or could not be
                finished now (chain unavailable, not mined yet): it stays recorded and a retry
                or the reconciler finishes it.
        """
        note_subject(intent.subject)  # the audit trail's, for routes whose path names none
        sender = self._hosting.sender(intent.actor)  # refuse unhosted actors before recording
        if self._coalescer is None:
            return self._drive_recorded(*self._record(intent, on_record))
        # Announced to the batching, so that a batch being formed for this sender waits for it.
        expected = self._coalescer.expect(sender.address)
        operation_id: int | None = None
        try:
            operation_id, recorded = self._record(intent, on_record)
            self._announced[operation_id] = expected
            return self._drive_recorded(operation_id, recorded)
        finally:
            if operation_id is not None:
                self._announced.pop(operation_id, None)
            expected.close()

    def recorded(self, actor: str, idempotency_key: str | None) -> bool:
        """Whether an operation of `actor` was recorded under `idempotency_key` (a retry)."""
        if idempotency_key is None:
            return False
        with self._sessions() as session:
            found = session.scalar(
                select(Operation.id).where(
                    Operation.actor == actor, Operation.idempotency_key == idempotency_key
                )
            )
        return found is not None

    def drive(self, operation_id: int, *, wait: bool = True) -> Response:
        """Moves one operation as far as it can go and returns its response.

        With `wait` false, returns at once (raising ConflictError) when another thread is
        driving it: the reconciler skips busy operations instead of queueing behind them.
        """
        lock = self._lock(operation_id)
        if not lock.acquire(blocking=wait):
            raise ConflictError("operation in progress", code=ErrorCode.OPERATION_IN_PROGRESS)
        try:
            return self._advance(operation_id)
        finally:
            lock.release()

    def _drive_recorded(self, operation_id: int, recorded: Operation | None) -> Response:
        """`drive` for the operation this request just recorded (`recorded`: its row as
        inserted, whose lock `_record` took) or found (None: a retry, read again)."""
        if recorded is None:
            return self.drive(operation_id)
        try:
            return self._advance(operation_id, recorded)
        finally:
            self._lock(operation_id).release()

    def reconcile(self) -> int:
        """Drives every unfinished operation once (after a restart, and periodically); returns
        how many finished. Failures are logged and left for the next pass."""
        with self._sessions() as session:
            ids = list(
                session.scalars(
                    select(Operation.id)
                    .where(Operation.status.in_(UNFINISHED))
                    .order_by(Operation.nonce.is_(None), Operation.nonce, Operation.id)
                )
            )
        finished = 0
        for operation_id in ids:
            try:
                self.drive(operation_id, wait=False)
                finished += 1
            except ConflictError as exc:
                if exc.code != ErrorCode.OPERATION_IN_PROGRESS:
                    finished += 1
            except KpchainError as exc:
                if exc.retryable:
                    logger.info("operation %s not finished yet: %s", operation_id, exc.message)
                    continue
                finished += 1  # it failed for good, and its error is stored
                logger.info("operation %s failed: %s", operation_id, exc.message)
        return finished

    def run_reconciler(self, stop: threading.Event, *, interval: float) -> None:
        """Calls `reconcile` every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                self.reconcile()
            except Exception:  # the loop must outlive any single failure
                logger.exception("reconciliation pass failed")
            stop.wait(interval)

    # --- the state machine -----------------------------------------------------------------

    def _advance(self, operation_id: int, recorded: Operation | None = None) -> Response:
        with self._sessions() as session:
            # A row this request inserted a moment ago is taken as it was inserted (no other
            # thread drives it before this one releases its lock), not read again.
            operation = (
                session.get_one(Operation, operation_id)
                if recorded is None
                else session.merge(recorded, load=False)
            )
            if operation.status == "done":
                assert operation.response is not None
                return operation.response
            if operation.status == "failed":
                assert operation.error is not None
                raise restore_error(operation.error)
            session.commit()  # no transaction stays open across calls to the node
            sender = self._hosting.sender(operation.actor)
            self._prime(sender)
            try:
                if operation.status == "pending":
                    receipt = self._send_new(session, operation, sender)
                else:
                    receipt = self._resume_signed(session, operation, sender)
            except KpchainError as exc:
                if not exc.retryable:  # the request's final answer: a revert, a refusal
                    self._fail(session, operation, exc)
                raise  # retryable: not finished, the operation stays as it is
            return self._finish(session, operation, receipt)

    def _send_new(
        self, session: Session, operation: Operation, sender: TransactionSender
    ) -> TxReceipt:
        call = self._calls[operation.kind](self._registry, operation.request)
        if self._coalescer is not None and self._coalescer.batches(call):
            expected = self._announced.pop(operation.id, None)
            try:
                receipt = self._coalescer.send(sender, operation.id, call, expected=expected)
            except SendAlone:
                pass  # its batch would revert, or did: it goes alone, estimated on its own
            else:
                # The batch's leader stored its transaction on this row: those columns are
                # read again if needed, the rest of the row stays as loaded.
                session.expire(operation, _SIGNED_COLUMNS)
                return receipt
        # The estimate runs the call first: a revert (wrong status, not an authority …)
        # surfaces here, before anything is signed or gas spent.
        unsigned = sender.prepare(call)
        return self._sign_store_send(session, operation, sender, unsigned)

    def _sign_store_send(
        self,
        session: Session,
        operation: Operation,
        sender: TransactionSender,
        unsigned: dict[str, Any],
    ) -> TxReceipt:
        signed = sender.sign_store_send(
            unsigned, lambda signed: self._store_signed(session, operation, signed, unsigned)
        )
        return sender.wait(signed.tx_hash, signed.call, timeout=self._receipt_timeout)

    def _resume_signed(
        self, session: Session, operation: Operation, sender: TransactionSender
    ) -> TxReceipt:
        assert operation.tx_hash is not None
        assert operation.raw_tx is not None
        call = self._replay_call(operation)
        if sender.receipt(operation.tx_hash) is None and not sender.known(operation.tx_hash):
            # Counting the pool too: a nonce another transaction holds there is as taken as a
            # mined one (sending ours again would be refused as an underpriced replacement).
            used_nonce = call_node(
                lambda: sender.w3.eth.get_transaction_count(sender.address, "pending")
            )
            assert operation.nonce is not None
            if operation.nonce >= used_nonce:
                logger.info("operation %s: sending its transaction again", operation.id)
                stored = SignedTransaction(
                    sender=sender.address,
                    nonce=operation.nonce,
                    tx_hash=operation.tx_hash,
                    raw=bytes.fromhex(operation.raw_tx.removeprefix("0x")),
                    call=call,
                )
                try:
                    sender.broadcast(stored)
                except NonceTooLowError:
                    return self._resign(session, operation, sender)
            else:
                return self._resign(session, operation, sender)
        if not is_batch(call):
            return sender.wait(operation.tx_hash, call, timeout=self._receipt_timeout)
        try:
            return sender.wait(operation.tx_hash, None, timeout=self._receipt_timeout)
        except KpchainError as exc:
            if exc.retryable:
                raise
            # A batch mined reverted: one of its calls met a state its estimate did not see.
            # Each of its operations goes alone again, so only that one fails.
            return self._resign(session, operation, sender)

    def _resign(
        self, session: Session, operation: Operation, sender: TransactionSender
    ) -> TxReceipt:
        # Its nonce went to another transaction, so this one was never mined: build the call
        # again (state may have moved, so estimate again) and sign with a fresh nonce.
        logger.warning(
            "operation %s: nonce %s was taken, signing again", operation.id, operation.nonce
        )
        return self._send_new(session, operation, sender)

    def _finish(self, session: Session, operation: Operation, receipt: TxReceipt) -> Response:
        # Nothing is stored between the receipt and the result: a crash here leaves the
        # operation `signed`, and resuming finds the receipt again.
        block = int(receipt["blockNumber"])
        if not self._indexer.ensure_indexed(block, timeout=self._receipt_timeout):
            raise TransactionPendingError(
                f"mined in block {block}, not yet indexed; retry with the same Idempotency-Key",
                detail={"tx_hash": operation.tx_hash, "block_number": block},
            )
        response = self._render(session, operation)
        # Stored as JSON, answered as built: this request does not validate its view again.
        self._store_outcome(
            session, operation, status="done", response=response_json(response), block=block
        )
        return response

    # --- persistence -----------------------------------------------------------------------

    def _record(self, intent: Intent, on_record: RowHook | None) -> tuple[int, Operation | None]:
        """Inserts `intent`'s operation; returns its id and its row as inserted, or the id of
        the operation its Idempotency-Key recorded before (a retry) and None.

        A new operation's lock is taken before its row is committed, and left held for the
        caller (`_drive_recorded` releases it): the reconciler, which drives whatever it finds
        pending, cannot drive it in between, so the row as inserted is still the row when the
        request drives it.
        """
        with self._sessions() as session:
            # Inserted without looking for the Idempotency-Key first: a retry is rare, and the
            # key's unique constraint finds it (below) in the same write transaction that a
            # look-up would have held the database's write lock for one statement longer.
            session.connection(execution_options=WRITE)
            now = datetime.now(UTC)
            operation = Operation(
                actor=intent.actor,
                idempotency_key=intent.idempotency_key,
                kind=intent.kind,
                subject=intent.subject,
                request=intent.request,
                request_hash=intent.request_hash,
                status="pending",
                created_at=now,
                updated_at=now,
            )
            session.add(operation)
            lock: threading.Lock | None = None
            try:
                session.flush()
                if on_record is not None:
                    on_record(session, operation)
                # The request's audit record, committed with the write (kpchain.audit.trail).
                open_in(session.connection())
                # The columns the INSERT left out are NULL (none has a server default): known
                # as such, the row is complete, and the request drives it without reading it.
                for name in inspect(operation).unloaded & _NULL_WHEN_NEW:
                    set_committed_value(operation, name, None)
                lock = self._lock(operation.id)
                lock.acquire()
                session.commit()
            except BaseException as exc:
                if lock is not None:
                    lock.release()
                if not isinstance(exc, IntegrityError):
                    raise
                # A concurrent request with the same Idempotency-Key recorded it first.
                session.rollback()
                session.connection(execution_options=WRITE)
                existing = self._existing(session, intent)
                if existing is None:
                    raise
                return existing, None
            return operation.id, operation

    def _existing(self, session: Session, intent: Intent) -> int | None:
        if intent.idempotency_key is None:
            return None
        return _existing(session, intent.actor, intent.idempotency_key, intent.request_hash)

    def _store_signed(
        self,
        session: Session,
        operation: Operation,
        signed: SignedTransaction,
        unsigned: dict[str, Any],
    ) -> None:
        begin_write(session)
        operation.unsigned_tx = _jsonable(unsigned)
        operation.status = "signed"
        operation.sender = signed.sender
        operation.nonce = signed.nonce
        operation.tx_hash = signed.tx_hash
        operation.raw_tx = "0x" + signed.raw.hex()
        operation.updated_at = datetime.now(UTC)
        # Committed before the transaction leaves the process: after a crash from here on,
        # the reconciler finds it and finishes it instead of sending the call a second time.
        session.commit()

    def _store_signed_batch(
        self, operation_ids: list[int], signed: SignedTransaction, unsigned: dict[str, Any]
    ) -> None:
        """`_store_signed` for every operation a batch carries, in one database transaction,
        committed before the batch leaves the process."""
        with self._sessions() as session:
            begin_write(session)
            session.execute(
                _STORE_SIGNED,
                {
                    "operation_ids": operation_ids,
                    "new_unsigned_tx": _jsonable(unsigned),
                    "new_status": "signed",
                    "new_sender": signed.sender,
                    "new_nonce": signed.nonce,
                    "new_tx_hash": signed.tx_hash,
                    "new_raw_tx": "0x" + signed.raw.hex(),
                    "new_updated_at": datetime.now(UTC),
                },
            )
            session.commit()

    def _fail(self, session: Session, operation: Operation, error: KpchainError) -> None:
        session.rollback()
        self._store_outcome(session, operation, status="failed", error=error_record(error))

    def _store_outcome(
        self,
        session: Session,
        operation: Operation,
        *,
        status: str,
        response: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        block: int | None = None,
    ) -> None:
        """Marks `operation` finished (done with `response`, or failed with `error`), in a write
        transaction of its own: one prepared UPDATE, without the ORM's unit of work, whose flush
        cost more than the statement; the row in the session shows the stored values.

        Every outcome column is written: an operation finishes once, so those it does not set
        (a failed one's response and block) were empty and stay so.
        """
        # Its key as the session knows it: the row may be expired (rolled back, or stored by a
        # batch's leader), and reading `operation.id` would load it again.
        (operation_id,) = inspect(operation).identity or (operation.id,)
        values: dict[str, Any] = {
            "status": status,
            "updated_at": datetime.now(UTC),
            "response": response,
            "error": error,
            "block_number": block,
        }
        begin_write(session)
        session.execute(_STORE_OUTCOME, {"operation_id": operation_id, **_outcome_params(values)})
        session.commit()
        for name, value in values.items():
            set_committed_value(operation, name, value)

    def _replay_call(self, operation: Operation) -> dict[str, Any]:
        unsigned = operation.unsigned_tx or {}
        return {key: unsigned[key] for key in ("from", "to", "data", "value") if key in unsigned}

    def _prime(self, sender: TransactionSender) -> None:
        """Before a sender's first nonce in this process: nonces of stored, unfinished
        transactions are taken, whether or not the node has seen them."""
        with self._primed_guard:
            if sender.address in self._primed:
                return
            with self._sessions() as session:
                highest = session.scalar(
                    select(func.max(Operation.nonce)).where(
                        Operation.sender == sender.address, Operation.status == "signed"
                    )
                )
            if highest is not None:
                call_node(lambda: sender.nonces.at_least(int(highest)))
            self._primed.add(sender.address)

    def _lock(self, operation_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(operation_id, threading.Lock())


def _existing(session: Session, actor: str, idempotency_key: str, digest: str) -> int | None:
    """The id of the operation `actor` recorded under `idempotency_key`, if any.

    Raises:
        ConflictError: it was recorded for a request of another hash (kind, subject or body).
    """
    operation = session.scalar(
        select(Operation).where(
            Operation.actor == actor, Operation.idempotency_key == idempotency_key
        )
    )
    if operation is None:
        return None
    if operation.request_hash != digest:
        raise ConflictError(
            "this Idempotency-Key was used for a different request; use a new key",
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            detail={"idempotency_key": idempotency_key},
        )
    return operation.id


_SIGNED_COLUMNS = ("unsigned_tx", "status", "sender", "nonce", "tx_hash", "raw_tx", "updated_at")
"""What `_store_signed` and `_store_signed_batch` write on an operation's row."""

_NULL_WHEN_NEW = frozenset(
    column.key
    for column in cast(Table, Operation.__table__).columns
    if column.nullable and column.server_default is None and column.default is None
)
"""The columns of a new operation's row that are NULL unless its INSERT sets them."""

_OUTCOME = ("status", "updated_at", "response", "error", "block_number")
_operations = cast(Table, Operation.__table__)  # the table: a Core UPDATE, not an ORM one

_STORE_SIGNED = (
    update(_operations)
    .where(_operations.c.id.in_(bindparam("operation_ids", expanding=True)))
    .values({name: bindparam(f"new_{name}") for name in _SIGNED_COLUMNS})
)
"""`Writer._store_signed_batch`'s statement, built once."""
_STORE_OUTCOME = (
    update(_operations)
    .where(_operations.c.id == bindparam("operation_id"))
    .values(
        {
            # An outcome without a response (or error) leaves SQL NULL, not JSON null, as the ORM
            # did for a column it never set.
            name: bindparam(f"new_{name}", type_=JSON(none_as_null=True))
            if name in ("response", "error")
            else bindparam(f"new_{name}")
            for name in _OUTCOME
        }
    )
)
"""`Writer._store_outcome`'s statement, built once (its cache key is computed once too)."""


def _outcome_params(values: dict[str, Any]) -> dict[str, Any]:
    return {f"new_{name}": values[name] for name in _OUTCOME}


def _jsonable(tx: dict[str, Any]) -> dict[str, Any]:
    """The unsigned transaction as JSON (bytes and HexBytes as 0x-hex)."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        out[key] = "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else value
    return out
