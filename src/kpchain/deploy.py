"""The one deploy function, used by `kpchain deploy`, `ape run deploy` and the devnet.

CertificateRegistry extends ParticipantRegistry, so one contract is deployed and serves both
interfaces; the deployments file names it under both names so clients address each interface
by its own name.

On a chain that can reorg (Clique, anvil's reorg tests) the block a receipt names may be
replaced, and with it the block and hash the deployments file records, which the services index
from. `confirmations` makes the deploy wait until its block is that many blocks below the head,
then record the block that is canonical then: QBFT, with instant finality, needs 0.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract.contract import ContractConstructor
from web3.types import TxReceipt

from kpchain.artifacts import load_artifact
from kpchain.chain.connection import endpoint, node_chain_id
from kpchain.chain.transactions import SignedTransaction, TransactionSender, call_node
from kpchain.errors import (
    ChainError,
    ChainIdMismatchError,
    ChainUnavailableError,
    DeploymentError,
    NonceTooLowError,
    TransactionPendingError,
)

logger = logging.getLogger(__name__)

DEPLOYED_CONTRACT = "CertificateRegistry"
INTERFACES = ("ParticipantRegistry", "CertificateRegistry")
CONFIRMATION_POLL = 0.1  # seconds between looks at the head while waiting for confirmations
_SEND_ATTEMPTS = 3  # signings of the deploy when another client of the key takes its nonce


@dataclass(frozen=True)
class Deployment:
    """What `deployments/<network>.json` records of a deployment."""

    network: str
    chain_id: int
    contracts: dict[str, str]  # interface name -> address
    block: int  # the deploy transaction's block
    block_hash: str
    tx_hash: str
    deployer: str
    governor: str
    code_hashes: dict[str, str]  # interface name -> keccak256 of the runtime code on chain
    compiler: dict[str, Any]  # solc version and standard-JSON settings
    deployed_at: str  # ISO 8601, UTC

    def write(self, directory: Path) -> Path:
        """Writes `directory/<network>.json` and returns its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.network}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> Deployment:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise DeploymentError(f"cannot read deployments file {path}: {exc}") from exc

    @property
    def address(self) -> str:
        """The address of the deployed contract (both interfaces)."""
        return self.contracts[DEPLOYED_CONTRACT]


def deploy(
    sender: TransactionSender,
    *,
    governor: str,
    network: str,
    expected_chain_id: int,
    confirmations: int = 0,
) -> Deployment:
    """Deploys the registry with `governor` holding the governance roles.

    With `confirmations` > 0 it waits until the head is that many blocks above the deploy's
    block, then reads the receipt again (a reorg may have moved the transaction to another
    block) and records the block only once the node's block at that height is the receipt's.

    Args:
        sender: signs and sends as the deployer; its `receipt_timeout` also bounds how long the
            head may stand still, and how long a transaction a reorg dropped may take to be
            mined again.
        governor: the KP Chair/Secretariat account (or multisig) that gets DEFAULT_ADMIN_ROLE
            and GOVERNOR_ROLE.
        network: the network's name, used for the deployments file name.
        expected_chain_id: the chain id the operator means to deploy to.
        confirmations: blocks the deploy's block must be below the head before it is recorded:
            0 on chains with instant finality (QBFT, anvil), the indexer's depth on chains that
            can reorg.

    Raises:
        ChainIdMismatchError: the node serves another chain; nothing was sent.
        DeploymentError: a reorg dropped the deploy transaction and it was not mined again
            (another transaction took its nonce, or none did in time), or the chain stopped
            before the confirmations came.
    """
    if confirmations < 0:
        raise ValueError("confirmations must be >= 0")
    w3 = sender.w3
    actual = node_chain_id(w3)
    if actual != expected_chain_id:
        raise ChainIdMismatchError(expected=expected_chain_id, actual=actual, rpc_url=endpoint(w3))
    artifact = load_artifact(DEPLOYED_CONTRACT)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    signed = _send(sender, factory.constructor(Web3.to_checksum_address(governor)))
    receipt = sender.wait(signed.tx_hash, signed.call)
    if confirmations > 0:
        receipt = _confirmed(sender, signed, receipt, confirmations)
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError("the deploy transaction created no contract")
    code_hash = "0x" + keccak(bytes(call_node(lambda: w3.eth.get_code(address)))).hex()
    logger.info("deployed %s at %s in block %s", DEPLOYED_CONTRACT, address, receipt["blockNumber"])
    return Deployment(
        network=network,
        chain_id=actual,
        contracts={name: address for name in INTERFACES},
        block=receipt["blockNumber"],
        block_hash=receipt["blockHash"].to_0x_hex(),
        tx_hash=receipt["transactionHash"].to_0x_hex(),
        deployer=sender.signer.address,
        governor=Web3.to_checksum_address(governor),
        code_hashes={name: code_hash for name in INTERFACES},
        compiler=artifact.compiler,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _send(sender: TransactionSender, call: ContractConstructor) -> SignedTransaction:
    """Signs and sends `call`, as `TransactionSender.transact` does, but keeps the signed
    transaction: after a reorg the deploy needs its nonce, and may send it again."""
    tx = sender.prepare(call)
    for attempt in range(1, _SEND_ATTEMPTS + 1):
        signed = sender.sign(tx)
        try:
            sender.broadcast(signed)
        except NonceTooLowError:
            if attempt == _SEND_ATTEMPTS:
                raise
            continue  # another client of the key took the nonce; the sender re-read it
        return signed
    raise AssertionError("unreachable")  # pragma: no cover


def _confirmed(
    sender: TransactionSender, signed: SignedTransaction, receipt: TxReceipt, confirmations: int
) -> TxReceipt:
    """The receipt of the deploy transaction `signed` once its block is `confirmations` blocks
    below the head and is the node's block at its height. `receipt` is its first receipt."""
    w3 = sender.w3
    logger.info(
        "deploy transaction %s mined in block %s; waiting for %s confirmations",
        signed.tx_hash,
        receipt["blockNumber"],
        confirmations,
    )
    head = _wait_for_head(sender, receipt["blockNumber"] + confirmations)
    while True:
        current = sender.receipt(signed.tx_hash) or _mined_again(sender, signed)
        if current["blockHash"] != receipt["blockHash"]:
            logger.warning(
                "a reorg moved the deploy transaction %s from block %s to block %s",
                signed.tx_hash,
                receipt["blockNumber"],
                current["blockNumber"],
            )
        if current["status"] != 1:
            raise sender.failure(current, signed.call)  # mined again, on a state where it fails
        number = current["blockNumber"]
        if head >= number + confirmations:
            block = call_node(partial(w3.eth.get_block, number))
            if block["hash"] == current["blockHash"]:
                return current
            # The node's chain moved between the two reads: look again at the next block.
        receipt = current
        head = _wait_for_head(sender, number + confirmations, after=head)


def _wait_for_head(sender: TransactionSender, height: int, *, after: int = -1) -> int:
    """Waits until the head is at `height` or above, and above `after` (a head read before);
    returns the head.

    Raises:
        DeploymentError: the head did not move for `sender.receipt_timeout` seconds.
    """
    w3 = sender.w3
    seen, since = -1, time.monotonic()
    while True:
        head = int(call_node(lambda: w3.eth.block_number))
        if head >= height and head > after:
            return head
        now = time.monotonic()
        if head != seen:
            seen, since = head, now
        elif now - since > sender.receipt_timeout:
            raise DeploymentError(
                f"the chain stayed at block {head} for {sender.receipt_timeout:.0f}s while the "
                f"deploy waited for block {height}; on a chain that seals blocks only for "
                "transactions (anvil) or has instant finality (QBFT), deploy with 0 confirmations",
                detail={"head": head, "awaited": height},
            )
        time.sleep(CONFIRMATION_POLL)


def _mined_again(sender: TransactionSender, signed: SignedTransaction) -> TxReceipt:
    """The receipt of the deploy transaction `signed`, which a reorg took out of the chain, once
    it is mined again.

    geth and Besu put what a reorg drops back into their pools; anvil forgets it, and ethereumjs
    keeps it only on nodes that never counted it mined. So the node is sent it again. It is the
    same signed transaction, so it can be mined once at most, and only while its nonce is free:
    once another transaction of the deployer has the nonce, nothing was deployed, and waiting
    cannot change that.

    Raises:
        DeploymentError: another transaction took its nonce, or it was not mined again within
            `sender.receipt_timeout`.
    """
    head = int(call_node(lambda: sender.w3.eth.block_number))
    if _nonce_used(sender, signed.nonce):
        # A node may count the nonce used a moment before it answers the receipt of the block
        # that used it (ethereumjs saves receipts after it runs a block): look again one block
        # later before calling the transaction replaced.
        _wait_for_head(sender, head + 1)
        again = sender.receipt(signed.tx_hash)
        if again is not None:
            return again
        raise _replaced(sender, signed)
    logger.warning("a reorg dropped deploy transaction %s; sending it again", signed.tx_hash)
    try:
        # Straight to the node, not through `sender.broadcast`: a refusal here must not give
        # the nonce back to the sender's nonce manager.
        call_node(lambda: sender.w3.eth.send_raw_transaction(signed.raw))
    except ChainUnavailableError:
        raise
    except ChainError as exc:
        # Most often the node has it already ("already known", ethereumjs's "already in the
        # TxPool"); if it refused it for good, the wait below says so.
        logger.info("the node did not take %s again: %s", signed.tx_hash, exc.message)
    try:
        return sender.wait(signed.tx_hash, signed.call)
    except TransactionPendingError as exc:
        if _nonce_used(sender, signed.nonce):
            raise _replaced(sender, signed) from exc
        raise DeploymentError(
            f"a reorg dropped the deploy transaction {signed.tx_hash} and it was not mined "
            f"again within {sender.receipt_timeout:.0f}s; its nonce {signed.nonce} is still "
            "free, so deploying again is safe: the contract gets the same address, whichever "
            "of the two transactions is mined",
            detail={"tx_hash": signed.tx_hash, "nonce": signed.nonce},
        ) from exc


def _nonce_used(sender: TransactionSender, nonce: int) -> bool:
    count = call_node(lambda: sender.w3.eth.get_transaction_count(sender.address, "latest"))
    return int(count) > nonce


def _replaced(sender: TransactionSender, signed: SignedTransaction) -> DeploymentError:
    return DeploymentError(
        f"a reorg dropped the deploy transaction {signed.tx_hash} and another transaction of "
        f"{sender.address} took its nonce {signed.nonce}: nothing was deployed; deploy again",
        detail={"tx_hash": signed.tx_hash, "nonce": signed.nonce},
    )
