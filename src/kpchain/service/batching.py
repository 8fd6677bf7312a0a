"""Coalesced writes: the operations one account has ready to sign at the same moment go to the
chain as one transaction, a `multicall` of the registry, so they share its 21,000 base gas, one
signature, one send and one receipt.

The first operation of an idle account leads: it takes every operation queued for that account
(up to MAX_CALLS), estimates the batch, signs it, stores it on every operation's row and sends
it, then hands the lead to the next operation that queued meanwhile and waits for its receipt.
One account signs one batch at a time, and the operations that arrive while it is being
estimated, signed, stored and sent form the next one; batches already sent are mined side by
side on consecutive nonces, as separate writes would be. So a write waits for at most one
batch's signing, never for another batch's block: on a chain with a block period, holding the
next batch until the previous one was mined would put up to two block periods on every write.
A leader waits (LINGER at most) only for operations of its account already on their way
(recorded, their call being built, see `Coalescer.expect`), never for a batch to fill: a write
alone is sent at once, as a plain call.

What stays per operation:

- its own record, Idempotency-Key and response (the write path's rows; see
  `kpchain.service.operations`);
- its own error. A batch is all or nothing on chain, so its estimate runs before it is signed;
  when the estimate reverts, no batch is sent and each of its operations goes alone, with an
  estimate of its own, so only the one that reverts fails, with its own custom error. A batch
  mined reverted (the state moved between its estimate and its block) sends each of its
  operations alone again, on a fresh nonce;
- its crash safety: the batch's signed transaction is stored on every member's row before it
  leaves the process, so a restart resumes each member from its row (sending the same bytes
  again is harmless: a transaction cannot be mined twice).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_utils.crypto import keccak
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from kpchain.chain.transactions import SignedTransaction, TransactionSender
from kpchain.contracts.registry import Registry
from kpchain.errors import (
    ContractRevertError,
    KpchainError,
    TransactionPendingError,
)

logger = logging.getLogger(__name__)

MAX_CALLS = 50
"""Calls in one batch at most: 50 issues use about 4M gas, well inside one transaction's cap
(2**24 on the newest hardforks) and a QBFT block's 50M."""

MULTICALL_SELECTOR = "0x" + keccak(text="multicall(bytes[])")[:4].hex()

LINGER = 0.025
"""Seconds a batch's leader waits at most for operations of its account that are on their way
(recorded, their call being built); a write alone never waits."""

StoreSigned = Callable[[list[int], SignedTransaction, dict[str, Any]], None]
"""Stores one signed transaction on the rows of the operations it carries, in one database
transaction, before it is sent."""


def is_batch(call: dict[str, Any]) -> bool:
    """Whether the stored transaction `call` (from, to, data) is a batch of the registry."""
    return str(call.get("data", "")).lower().startswith(MULTICALL_SELECTOR)


class SendAlone(Exception):  # noqa: N818 - an instruction to the operation, not a failure
    """The operation's batch was not sent, or was mined reverted: it goes alone, with an
    estimate of its own (see the module docstring)."""


@dataclass(eq=False)
class _Entry:
    """One operation's call, queued for its account's next batch. It is woken (`wake`) once:
    with the lead while it still waits, or with its outcome once its batch is settled."""

    operation_id: int
    call: ContractFunction
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    done: bool = False
    receipt: TxReceipt | None = None
    error: BaseException | None = None

    def settle(self, receipt: TxReceipt | None = None, error: BaseException | None = None) -> None:
        self.receipt, self.error, self.done = receipt, error, True
        self.wake.set()


@dataclass(eq=False)
class _Queue:
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[_Entry] = field(default_factory=list)
    leading: bool = False
    expected: int = 0  # operations on their way here (see `Coalescer.expect`)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)


class Expected:
    """An operation on its way to its account's queue (see `Coalescer.expect`); `close` it
    when it will not arrive (refused, failed, or done without sending)."""

    def __init__(self, queue: _Queue) -> None:
        self._queue = queue
        self._open = True

    def arrive(self) -> None:
        """Called with the queue's lock held, as the operation joins the queue."""
        if self._open:
            self._open = False
            self._queue.expected -= 1

    def close(self) -> None:
        with self._queue.lock:
            if self._open:
                self._open = False
                self._queue.expected -= 1
                self._queue.arrived.notify_all()


class Coalescer:
    """Sends the registry calls of each account in batches (see the module docstring).

    Args:
        registry: the registry whose calls are batched (`Registry.multicall`).
        store_signed: stores a signed transaction on its operations' rows.
        receipt_timeout: seconds a batch's receipt is awaited.
        max_calls: calls in one batch at most.
        linger: seconds a leader waits at most for operations announced by `expect`.
    """

    def __init__(
        self,
        *,
        registry: Registry,
        store_signed: StoreSigned,
        receipt_timeout: float,
        max_calls: int = MAX_CALLS,
        linger: float = LINGER,
    ) -> None:
        self._registry = registry
        self._store_signed = store_signed
        self._receipt_timeout = receipt_timeout
        self._max_calls = max_calls
        self._linger = linger
        self._queues: dict[str, _Queue] = {}
        self._queues_guard = threading.Lock()

    def waiting(self, address: str) -> int:
        """How many calls of account `address` wait for its next batch."""
        queue = self._queue(address)
        with queue.lock:
            return len(queue.waiting)

    def batches(self, call: ContractFunction) -> bool:
        """Whether `call` can go in a batch: a call of the registry."""
        return call.address == self._registry.address

    def expect(self, address: str) -> Expected:
        """Announces an operation of account `address` that is being prepared (recorded, its
        call built): a leader waits up to `linger` seconds for the operations announced, so
        that a burst goes in one batch instead of trickling into many."""
        queue = self._queue(address)
        with queue.lock:
            queue.expected += 1
        return Expected(queue)

    def send(
        self,
        sender: TransactionSender,
        operation_id: int,
        call: ContractFunction,
        *,
        expected: Expected | None = None,
    ) -> TxReceipt:
        """Sends `call` of operation `operation_id`, in a batch with whatever else `sender` has
        ready, and returns its successful receipt. `expected` is its announcement, if any.

        Raises:
            SendAlone: the batch was not sent, or reverted: send the call alone.
            KpchainError: the call (sent alone, as its batch of one) reverted, or the chain
                failed; retryable errors leave the stored transaction to be resumed.
        """
        entry = _Entry(operation_id, call)
        queue = self._queue(sender.address)
        with queue.lock:
            if expected is not None:
                expected.arrive()
            queue.waiting.append(entry)
            queue.arrived.notify_all()
            if not queue.leading:  # idle: nothing queued, nothing being sent
                queue.leading = entry.lead = True
        while not entry.done:
            if entry.lead:
                self._lead(sender, queue)  # its batch holds this entry, and settles it
            else:
                entry.wake.wait()
        if entry.error is not None:
            raise entry.error
        assert entry.receipt is not None
        return entry.receipt

    # --- the leader ------------------------------------------------------------------------

    def _lead(self, sender: TransactionSender, queue: _Queue) -> None:
        with queue.lock:
            # Operations announced and on their way join this batch rather than the next: on
            # a chain that mines at once, the next would start as soon as this one is sent.
            deadline = time.monotonic() + self._linger
            while queue.expected > 0 and len(queue.waiting) < self._max_calls:
                left = deadline - time.monotonic()
                if left <= 0 or not queue.arrived.wait(left):
                    break
            # The leader is the first waiting: its own call is in the batch it sends.
            batch = queue.waiting[: self._max_calls]
            del queue.waiting[: len(batch)]
        handed_over = False
        try:
            signed = self._sign_store_send(sender, batch)
            # Sent, on its nonce: the next batch may be signed on the next one while this one
            # is mined (see the module docstring).
            self._hand_over(queue)
            handed_over = True
            if signed is not None:
                self._await(sender, batch, signed)
        except BaseException as exc:
            for entry in batch:
                if not entry.done:
                    entry.settle(error=exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            if not handed_over:
                self._hand_over(queue)

    def _sign_store_send(
        self, sender: TransactionSender, batch: list[_Entry]
    ) -> SignedTransaction | None:
        """Estimates, signs, stores and sends the batch; None when its operations go alone."""
        call = (
            batch[0].call
            if len(batch) == 1
            else self._registry.multicall([entry.call for entry in batch])
        )
        try:
            unsigned = sender.prepare(call)
        except KpchainError as exc:
            if len(batch) == 1 or exc.retryable:
                raise  # the call's own answer, or the chain is away: every member's
            logger.info("a batch of %d would revert; its calls go alone", len(batch))
            for entry in batch:
                entry.settle(error=SendAlone())
            return None
        ids = [entry.operation_id for entry in batch]
        return sender.sign_store_send(
            unsigned, lambda signed: self._store_signed(ids, signed, unsigned)
        )

    def _await(
        self, sender: TransactionSender, batch: list[_Entry], signed: SignedTransaction
    ) -> None:
        """Waits for the batch's receipt and settles every member with it."""
        try:
            receipt = sender.wait(
                signed.tx_hash,
                signed.call if len(batch) == 1 else None,
                timeout=self._receipt_timeout,
            )
        except TransactionPendingError as exc:
            for entry in batch:
                entry.settle(error=exc)
            return
        except (ContractRevertError, KpchainError) as exc:
            if len(batch) == 1 or exc.retryable:
                for entry in batch:
                    entry.settle(error=exc)
                return
            # Mined reverted: one of its calls met a state its estimate did not see.
            logger.warning(
                "batch %s of %d reverted; its calls go alone", signed.tx_hash, len(batch)
            )
            for entry in batch:
                entry.settle(error=SendAlone())
            return
        except BaseException as exc:
            for entry in batch:
                entry.settle(error=exc)
            raise
        for entry in batch:
            entry.settle(receipt=receipt)

    def _hand_over(self, queue: _Queue) -> None:
        """Gives the lead to the first operation that queued while this batch was signed and
        sent, or leaves the account idle."""
        with queue.lock:
            if not queue.waiting:
                queue.leading = False
                return
            successor = queue.waiting[0]
            successor.lead = True
            successor.wake.set()

    def _queue(self, address: str) -> _Queue:
        with self._queues_guard:
            return self._queues.setdefault(address, _Queue())
