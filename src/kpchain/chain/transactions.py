"""Send transactions: gas estimation that surfaces reverts before gas is spent, a nonce manager,
zero-gas-price chains, receipts, and revert decoding of failed transactions."""

from __future__ import annotations

import logging
import threading
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TimeExhausted,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt

from kpchain.chain.reverts import decode_revert
from kpchain.errors import ChainError, ChainUnavailableError, TransactionFailedError
from kpchain.signing.base import Signer

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


class NonceManager:
    """Hands out consecutive nonces for one account, safe under concurrent callers.

    The first nonce comes from the node (`pending`); after that nonces are counted locally, so
    concurrent sends never collide. `resync` re-reads the node after "nonce too low" or a
    dropped transaction.
    """

    def __init__(self, w3: Web3, address: ChecksumAddress) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next: int | None = None

    def take(self) -> int:
        with self._lock:
            if self._next is None:
                self._next = self._w3.eth.get_transaction_count(self._address, "pending")
            nonce = self._next
            self._next += 1
            return nonce

    def resync(self) -> None:
        with self._lock:
            self._next = None


class TransactionSender:
    """Signs with `signer` and sends to the node behind `w3`.

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
        self.nonces = NonceManager(w3, Web3.to_checksum_address(signer.address))

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
        sender = Web3.to_checksum_address(self.signer.address)
        params: TxParams = {"from": sender, "chainId": self.chain_id}
        data = call._encode_transaction_data() if isinstance(call, ContractFunction) else None
        tx: dict[str, Any] = dict(
            self._call_node(lambda: call.build_transaction({**params, "gas": 1}))
        )
        if data is not None:
            tx["data"] = data
        tx.pop("maxFeePerGas", None)
        tx.pop("maxPriorityFeePerGas", None)
        # Legacy pricing at the node's gas price: zero on a consortium chain, and accepted by
        # Besu, anvil and geth alike.
        tx["gasPrice"] = self._call_node(lambda: self.w3.eth.gas_price)
        tx["gas"] = gas or self._estimate(tx)
        return self._send_with_nonce(tx)

    def _estimate(self, tx: dict[str, Any]) -> int:
        probe = {key: tx[key] for key in ("from", "to", "data", "value") if key in tx}
        estimate = self._call_node(lambda: self.w3.eth.estimate_gas(probe))  # type: ignore[arg-type]
        return max(int(estimate), min(int(estimate * GAS_MARGIN) + GAS_HEADROOM, TX_GAS_CAP))

    def _send_with_nonce(self, tx: dict[str, Any]) -> TxReceipt:
        for attempt in range(3):
            tx["nonce"] = self._call_node(self.nonces.take)
            try:
                raw = self.signer.sign_transaction(tx)
                tx_hash = self._call_node(lambda raw=raw: self.w3.eth.send_raw_transaction(raw))
            except Exception as exc:
                # The nonce was taken but not used (or we cannot tell): re-read it from the node,
                # or every later transaction would wait forever behind the gap.
                self.nonces.resync()
                too_low = isinstance(exc, ChainError) and "nonce too low" in exc.message.lower()
                if too_low and attempt < 2:
                    logger.warning("nonce %s too low for %s, resyncing", tx["nonce"], tx["from"])
                    continue
                raise
            return self.wait(HexBytes(tx_hash), tx)
        raise TransactionFailedError("could not find a usable nonce after three attempts")

    def wait(self, tx_hash: HexBytes, tx: dict[str, Any] | None = None) -> TxReceipt:
        """Waits for `tx_hash`; on failure replays the call to decode why it reverted."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout
            )
        except TimeExhausted as exc:
            raise TransactionFailedError(
                f"transaction {tx_hash.to_0x_hex()} not mined within {self.receipt_timeout:.0f}s",
                detail={"tx_hash": tx_hash.to_0x_hex()},
            ) from exc
        except (RequestException, OSError) as exc:
            raise ChainUnavailableError(f"lost the node while waiting: {exc}") from exc
        if receipt["status"] != 1:
            raise self._failure(receipt, tx)
        return receipt

    def _failure(self, receipt: TxReceipt, tx: dict[str, Any] | None) -> ChainError:
        if tx is not None:
            replay = {key: tx[key] for key in ("from", "to", "data", "value") if key in tx}
            try:
                self.w3.eth.call(replay, receipt["blockNumber"] - 1)  # type: ignore[arg-type]
            except ChainError as exc:
                return exc
            except Exception as exc:  # any web3 error the decoder does not know falls through
                decoded = _from_web3_error(exc)
                if decoded is not None:
                    return decoded
        return TransactionFailedError(
            f"transaction {receipt['transactionHash'].to_0x_hex()} failed",
            detail={"tx_hash": receipt["transactionHash"].to_0x_hex()},
        )

    def _call_node(self, request: Any) -> Any:
        try:
            return request()
        except (RequestException, OSError) as exc:
            raise ChainUnavailableError(f"the node does not answer: {type(exc).__name__}") from exc
        except Exception as exc:
            decoded = _from_web3_error(exc)
            if decoded is None:
                raise
            raise decoded from exc


def _from_web3_error(exc: Exception) -> ChainError | None:
    """The kpchain error for a web3 exception, or None when it is not a chain error."""
    if isinstance(exc, ContractCustomError | ContractPanicError | ContractLogicError):
        data = exc.data
        raw = bytes(HexBytes(data)) if isinstance(data, str) and data.startswith("0x") else b""
        return decode_revert(raw)
    if isinstance(exc, Web3RPCError):
        message = str(exc.rpc_response["error"]["message"]) if exc.rpc_response else str(exc)
        return TransactionFailedError(f"the node refused the transaction: {message}")
    return None
