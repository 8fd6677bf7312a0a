"""Send transactions: gas estimation that surfaces reverts before gas is spent, a nonce manager,
zero-gas-price chains, receipts, and revert decoding of failed transactions."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.exceptions import EncodingError
from eth_typing import ChecksumAddress, HexStr
from eth_utils.abi import get_abi_input_types
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.error_formatters_utils import raise_contract_logic_error_on_revert
from web3._utils.method_formatters import receipt_formatter
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.datastructures import AttributeDict
from web3.exceptions import TransactionNotFound
from web3.types import RPCEndpoint, TxParams, TxReceipt, Wei

from kpchain.chain.errors import UNREACHABLE, from_web3_error, refused, unreachable
from kpchain.chain.signer import Signer
from kpchain.errors import (
    ChainError,
    ChainUnavailableError,
    NonceTooLowError,
    TransactionFailedError,
    TransactionPendingError,
    TransactionRefusedError,
)

logger = logging.getLogger(__name__)

# Headroom over eth_estimateGas: the estimate is exact for the state it ran on, and state may
# move (another certificate issued, a participant's set changed) before the block is built.
# A proportional margin alone is not enough for small calls: when a concurrent transaction
# fills a packed slot, ours must open a fresh one (22,100 gas on a ~60,000 call, seen with
# `_codes.push`). Unused gas is never charged, so the fixed part covers two fresh slots.
GAS_MARGIN = 1.2
GAS_HEADROOM = 2 * 22_100
# EIP-7825 caps one transaction's gas at 2**24 on the newest hardforks: headroom never lifts a
# limit past it (an estimate above it fails on its own).
TX_GAS_CAP = 2**24
# The node's gas price is read at most once a second per sender: a busy writer would otherwise
# ask for it before every transaction (zero, and never changing, on a consortium chain).
GAS_PRICE_TTL = 1.0
# Receipts are polled at growing intervals, from POLL_FIRST to POLL_MAX seconds: anvil's automine
# has half its transactions mined within a few milliseconds after the send returns (a fixed 50 ms
# poll made each of them wait 50 ms), and a chain sealing every few seconds (QBFT) is asked about
# 20 times per block instead of 40.
POLL_FIRST = 0.002
POLL_MAX = 0.1


class NonceManager:
    """Hands out nonces for one account, safe under concurrent callers.

    The first nonce comes from the node (`pending`); after that nonces are counted locally, so
    concurrent sends never collide. A nonce the node refused is `release`d and handed out again
    first: later nonces may already be in the node's pool, and a gap would hold them back
    forever (the sender fills such a gap at once: see `reclaim`). `resync` re-reads the node
    after "nonce too low" (another client used the key).
    """

    def __init__(self, w3: Web3, address: ChecksumAddress) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next: int | None = None
        self._released: list[int] = []

    def take(self) -> int:
        with self._lock:
            if self._released:
                return heapq.heappop(self._released)
            if self._next is None:
                self._next = self._w3.eth.get_transaction_count(self._address, "pending")
            nonce = self._next
            self._next += 1
            return nonce

    def release(self, nonce: int) -> None:
        """Gives back a nonce that no transaction in the node's pool carries."""
        with self._lock:
            if self._next is not None and nonce < self._next:
                heapq.heappush(self._released, nonce)

    def resync(self) -> None:
        """Forgets the local count; the next `take` asks the node."""
        with self._lock:
            self._next = None
            self._released.clear()

    def reclaim(self, nonce: int) -> bool:
        """Takes back the released `nonce` when later nonces are out: their transactions wait
        in the node's pool behind it, and no later `take` may come to fill it. False when it
        was handed out again meanwhile, or nothing waits behind it."""
        with self._lock:
            if self._next is None or nonce not in self._released:
                return False
            if set(range(nonce + 1, self._next)) <= set(self._released):
                return False
            self._released.remove(nonce)
            heapq.heapify(self._released)
            return True

    def at_least(self, nonce: int) -> None:
        """Makes sure `nonce` and below are never handed out again (nonces restored from a store
        of signed transactions at restart)."""
        with self._lock:
            if self._next is None:
                self._next = self._w3.eth.get_transaction_count(self._address, "pending")
            self._next = max(self._next, nonce + 1)
            self._released = [n for n in self._released if n > nonce]
            heapq.heapify(self._released)


@dataclass(frozen=True)
class SignedTransaction:
    """A signed transaction, as the write path keeps it before sending: enough to send it again
    after a crash (`raw`) and to replay its call when it fails (`call`)."""

    sender: str
    nonce: int
    tx_hash: str  # 0x-hex
    raw: bytes
    call: dict[str, Any]  # from, to, data, value: what `eth_call` replays to decode a revert


class TransactionSender:
    """Signs with `signer` and sends to the node behind `w3`.

    `transact` does everything in one call. The service's crash-safe write path uses its steps
    (`prepare`, `sign`, `broadcast`, `wait`) so that it can store the signed transaction before
    it leaves the process.

    Args:
        w3: a connected Web3 (see `kpchain.chain.connection.connect`).
        signer: who signs.
        chain_id: the chain id to sign for (EIP-155 replay protection).
        receipt_timeout: seconds to wait for a receipt.
    """

    def __init__(
        self, w3: Web3, signer: Signer, *, chain_id: int, receipt_timeout: float = 120.0
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.chain_id = chain_id
        self.receipt_timeout = receipt_timeout
        self.address = Web3.to_checksum_address(signer.address)
        self.nonces = NonceManager(w3, self.address)
        self._gas_price: tuple[int, float] | None = None  # (price, time.monotonic() it was read)

    def transact(
        self, call: ContractFunction | ContractConstructor, *, gas: int | None = None
    ) -> TxReceipt:
        """Estimates, signs, sends and waits for `call`; returns the successful receipt.

        Raises:
            ContractRevertError: the call reverts with a custom error (before gas is spent when
                the estimate already reverts).
            TransactionFailedError: the transaction failed otherwise, or was not mined in time.
            ChainUnavailableError: the node cannot be reached.
        """
        tx = self.prepare(call, gas=gas)
        for attempt in range(3):
            signed = self.sign(tx)
            try:
                self.broadcast(signed)
            except NonceTooLowError:
                if attempt == 2:
                    raise
                continue
            return self.wait(signed.tx_hash, signed.call)
        raise AssertionError("unreachable")  # pragma: no cover

    def prepare(
        self, call: ContractFunction | ContractConstructor, *, gas: int | None = None
    ) -> dict[str, Any]:
        """The unsigned transaction for `call`, without a nonce; the gas estimate runs the call
        on the node first, so a revert surfaces here, before anything is signed or spent.

        Raises:
            ContractRevertError: the call would revert with a custom error.
            ChainUnavailableError: the node cannot be reached.
        """
        params: TxParams = {
            "from": self.address,
            "chainId": self.chain_id,
            "gas": 1,  # estimated below, once the data is known
            "gasPrice": Wei(0),  # read below; stops web3 asking the node for EIP-1559 fees
        }
        tx: dict[str, Any]
        if isinstance(call, ContractFunction):
            # What build_transaction would return, without web3's transaction validation and
            # its second pass over the arguments on the service's hot path.
            tx = {**params, "value": 0, "to": call.address, "data": calldata(call)}
        else:
            tx = dict(call_node(lambda: call.build_transaction(params)))
        # Legacy pricing at the node's gas price: zero on a consortium chain, and accepted by
        # Besu, anvil and geth alike.
        tx["gasPrice"] = self._node_gas_price()
        tx["gas"] = gas or self._estimate(tx)
        return tx

    def sign_store_send(
        self, tx: dict[str, Any], store: Callable[[SignedTransaction], None]
    ) -> SignedTransaction:
        """Signs `tx` with the next nonce, hands the signed transaction to `store` before it
        leaves the process (a crash-safe write path records it there), and sends it; signs
        again with a fresh nonce when another client took the nonce (three attempts).

        Raises:
            NonceTooLowError: no usable nonce after three attempts.
            Exception: whatever `store` raised (the nonce is released: nothing was sent), or
                what `broadcast` raises otherwise.
        """
        for _ in range(3):
            signed = self.sign(tx)
            try:
                store(signed)
            except Exception:
                self.nonces.release(signed.nonce)  # it never left the process
                raise
            try:
                self.broadcast(signed)
            except NonceTooLowError:
                continue  # another client used the nonce: sign again with a fresh one
            return signed
        raise NonceTooLowError(f"no usable nonce for {self.address} after three attempts")

    def sign(self, tx: dict[str, Any], *, nonce: int | None = None) -> SignedTransaction:
        """Signs `tx` with the next nonce (or `nonce`, when re-signing a stored transaction)."""
        tx = {**tx, "nonce": nonce if nonce is not None else call_node(self.nonces.take)}
        try:
            raw = self.signer.sign_transaction(tx)
        except Exception:
            if nonce is None:
                self.nonces.release(tx["nonce"])
            raise
        call: dict[str, Any] = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        return SignedTransaction(
            sender=self.address,
            nonce=int(tx["nonce"]),
            tx_hash=Web3.to_hex(keccak(raw)),
            raw=raw,
            call=call,
        )

    def broadcast(self, signed: SignedTransaction) -> None:
        """Sends `signed`; sending it again (a retry, a restart) is harmless.

        Raises:
            NonceTooLowError: its nonce was used by another transaction (mined, or waiting in
                the node's pool); the nonce manager has re-read the node, so signing the call
                again picks a fresh nonce.
            TransactionFailedError: the node refused it for another reason; its nonce is
                released for the next transaction.
            ChainUnavailableError: the node cannot be reached: whether it got the transaction
                is unknown, so the caller keeps it and sends it again later.
        """
        try:
            self._request("eth_sendRawTransaction", ["0x" + signed.raw.hex()])
        except ChainUnavailableError:
            raise
        except ChainError as exc:
            message = exc.message.lower()
            # geth and anvil say "already known", Besu "Known transaction".
            if any(
                seen in message
                for seen in ("already known", "already imported", "known transaction")
            ):
                return  # the node has it: a resend after a crash or a timeout
            # Another transaction has the nonce: mined ("nonce too low"), or waiting in the
            # pool, where ours at the same gas price cannot replace it.
            if "nonce too low" in message or "replacement transaction underpriced" in message:
                if self.known(signed.tx_hash):
                    return  # mined already: the nonce is too low because it is ours
                logger.warning("nonce %s of %s is taken, resyncing", signed.nonce, self.address)
                self.nonces.resync()
                raise NonceTooLowError(exc.message, detail=exc.detail) from exc
            self._give_back(signed.nonce)
            raise

    def known(self, tx_hash: str) -> bool:
        """Whether the node knows `tx_hash`, mined or pending."""
        found = call_node(lambda: _get_transaction(self.w3, tx_hash))
        return found is not None

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of `tx_hash` (as web3 shapes it), or None while it is not mined."""
        try:
            found = self._request("eth_getTransactionReceipt", [tx_hash])
        except TransactionRefusedError as exc:
            # Geth answers so while it is still indexing transactions after a start.
            if "index" in exc.message and "progress" in exc.message:
                return None
            raise
        if found is None:
            return None
        return cast(TxReceipt, AttributeDict.recursive(receipt_formatter(found)))

    def wait(
        self, tx_hash: str, call: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> TxReceipt:
        """Waits for `tx_hash`; on failure replays `call` to decode why it reverted.

        Raises:
            ContractRevertError: it was mined and reverted with a custom error.
            TransactionFailedError: it failed otherwise, or was not mined within the timeout.
            ChainUnavailableError: the node went away while waiting.
        """
        limit = self.receipt_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        pause = POLL_FIRST
        while True:
            try:
                receipt = self.receipt(tx_hash)
            except ChainUnavailableError as exc:
                raise ChainUnavailableError(
                    f"lost the node while waiting: {exc.message}", detail=exc.detail
                ) from exc
            if receipt is not None:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransactionPendingError(
                    f"transaction {tx_hash} not mined within {limit:.0f}s",
                    detail={"tx_hash": tx_hash},
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, POLL_MAX)
        if receipt["status"] != 1:
            raise self.failure(receipt, call)
        return receipt

    def failure(self, receipt: TxReceipt, call: dict[str, Any] | None) -> ChainError:
        """Why the mined transaction of `receipt` failed: its call replayed.

        It ran on the block before plus the transactions ahead of it in its own block, a state
        no node call reproduces. The block before comes first; when the call passes there, a
        transaction ahead of it in the block changed what it saw (two authorities shipping the
        same certificate at once), and the block's own state shows why.
        """
        if call is not None:
            block = receipt["blockNumber"]
            for state in (block - 1, block):
                try:
                    self.w3.eth.call(call, state)  # type: ignore[arg-type]
                except Exception as exc:  # any web3 error the decoder does not know falls through
                    decoded = from_web3_error(exc)
                    if decoded is not None:
                        return decoded
        return TransactionFailedError(
            f"transaction {receipt['transactionHash'].to_0x_hex()} failed",
            detail={"tx_hash": receipt["transactionHash"].to_0x_hex()},
        )

    def _give_back(self, nonce: int) -> None:
        """Releases `nonce`, which the node refused. When later nonces are out already, their
        transactions wait in the pool behind it until it is used: unless another transaction
        took it meanwhile, a no-op (a zero transfer to this account) uses it at once, so they
        are mined without waiting for this account's next transaction."""
        self.nonces.release(nonce)
        if not self.nonces.reclaim(nonce):
            return
        try:
            gas_price = call_node(lambda: self.w3.eth.gas_price)
            noop = {"from": self.address, "to": self.address, "value": 0, "gas": 21_000}
            filler = self.sign(
                {**noop, "gasPrice": gas_price, "chainId": self.chain_id}, nonce=nonce
            )
            call_node(lambda: self.w3.eth.send_raw_transaction(filler.raw))
        except Exception as exc:  # the refusal the caller is about to see matters more
            logger.warning("could not fill refused nonce %s of %s: %s", nonce, self.address, exc)
            self.nonces.release(nonce)
            return
        logger.warning(
            "nonce %s of %s was refused; a no-op transaction took it", nonce, self.address
        )

    def _node_gas_price(self) -> int:
        cached = self._gas_price
        now = time.monotonic()
        if cached is not None and now - cached[1] < GAS_PRICE_TTL:
            return cached[0]
        price = int(self._request("eth_gasPrice", []), 16)
        self._gas_price = (price, now)
        return price

    def _estimate(self, tx: dict[str, Any]) -> int:
        probe = {key: _quantity_or_data(tx[key]) for key in _CALL_FIELDS if key in tx}
        if not tx.get("to"):
            probe.pop("to", None)  # a deployment's is empty (b""): the node takes none, not "0x"
        estimate = int(self._request("eth_estimateGas", [probe], reverts=True), 16)
        return max(estimate, min(int(estimate * GAS_MARGIN) + GAS_HEADROOM, TX_GAS_CAP))

    def _request(self, method: str, params: list[Any], *, reverts: bool = False) -> Any:
        """One JSON-RPC request of the write path's hot calls (estimate, send, receipt, gas
        price), straight to the provider: web3's middleware and request and result formatters
        cost several times the request itself (0.8 ms of CPU against 0.2 ms for an estimate,
        measured here), and these calls' parameters and results are simple enough to shape
        here. The node's errors become kpchain errors as web3's would: with `reverts`, a
        revert's custom error (through web3's own revert parser); otherwise the node's refusal.
        """
        response = call_node(lambda: self.w3.provider.make_request(RPCEndpoint(method), params))
        error = response.get("error")
        if error is None:
            return response.get("result")
        if reverts and isinstance(error, dict):
            call_node(lambda: raise_contract_logic_error_on_revert(response))
        raise refused(error)


_CALL_FIELDS = ("from", "to", "data", "value")
"""The fields of a transaction that a call or an estimate runs."""


def _quantity_or_data(value: Any) -> Any:
    """A transaction field as JSON-RPC takes it: integers as quantities, bytes as 0x-hex."""
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def calldata(call: ContractFunction) -> HexStr:
    """`call`'s transaction data, 0x-hex: its selector, then its arguments ABI-encoded.

    web3 matched the arguments to the function's ABI when it built the call; its own encoding
    (`_encode_transaction_data`) checks and normalises every argument again before encoding,
    at several times the CPU of the encoding (0.15 ms of a ship's 0.17 ms, 1 ms of an issue's
    1.1 ms, measured here). Arguments eth_abi does not take as they are (a hex string for
    `bytes`, an ENS name, a struct as a mapping) go through web3's path, which normalises them.
    """
    key = (call.address, call.selector)
    types = _ARGUMENT_TYPES.get(key)
    if types is None:
        types = _ARGUMENT_TYPES[key] = tuple(get_abi_input_types(call.abi))
    try:
        encoded = call.w3.codec.encode(types, call.arguments)
    except EncodingError:
        return HexStr(call._encode_transaction_data())
    return HexStr(call.selector + encoded.hex())


_ARGUMENT_TYPES: dict[tuple[str, str], tuple[str, ...]] = {}
"""The argument types of each contract function called, by address and selector (a contract
has one function per selector: solc refuses a clash)."""


def call_node(request: Callable[[], Any]) -> Any:
    """Runs one request to the node, turning web3/RPC failures into kpchain chain errors (by
    `kpchain.chain.errors`, the one mapping)."""
    try:
        return request()
    except UNREACHABLE as exc:
        raise unreachable(exc) from exc
    except Exception as exc:
        decoded = from_web3_error(exc)
        if decoded is None:
            raise
        raise decoded from exc


def _get_transaction(w3: Web3, tx_hash: str) -> Any:
    try:
        return w3.eth.get_transaction(HexBytes(tx_hash))
    except TransactionNotFound:
        return None
