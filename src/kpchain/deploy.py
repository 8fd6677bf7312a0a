"""The one deploy function, used by `kpchain deploy`, `ape run deploy` and the devnet.

CertificateRegistry extends ParticipantRegistry, so one registry contract is deployed and serves
both interfaces; the deployments file names it under both names so clients address each
interface by its own name.

Beside it, the governance (DESIGN.md section 8): the KPTimelock (OpenZeppelin's
TimelockController), the ValidatorSet, and the KPGovernor, which creates KPSeats. In order:

1. the registry, with the deployer holding its roles for the set-up;
2. the founding members (code, admin, and their founding state: status and allowed zones),
   admitted by the deployer: governance starts with them, since nobody else could vote;
3. the timelock (the deployer its temporary admin), the validator set (owned by the timelock),
   the governor (which creates the seats, taking the founders from the registry);
4. the hand-over: the timelock's proposer, canceller and executor roles to the governor, the
   registry's GOVERNOR_ROLE to the seats and its DEFAULT_ADMIN_ROLE to the timelock; then the
   deployer renounces every role it held, and the deploy checks that it holds none.

Afterwards no account can change the registry: only a proposal the founders pass, executed by
the timelock. The founders may propose from the second after the governor's block.

On a chain that can reorg (Clique, anvil's reorg tests) the block a receipt names may be
replaced, and with it the block and hash the deployments file records, which the services index
from. `confirmations` makes each step wait until its block is that many blocks below the head
(the next step depends on it), then go on from the block that is canonical then: QBFT, with
instant finality, needs 0. The deployments file records the registry's block.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxReceipt

from kpchain.artifacts import load_artifact
from kpchain.chain.connection import endpoint, node_chain_id
from kpchain.chain.transactions import SignedTransaction, TransactionSender, call_node
from kpchain.configfile import ConfigFile
from kpchain.contracts.encoding import participant_code, zone_id
from kpchain.contracts.enums import ParticipantStatus
from kpchain.contracts.founding import MIN_QUORUM, Founder, GovernanceSettings
from kpchain.errors import (
    ChainError,
    ChainIdMismatchError,
    ChainUnavailableError,
    ConfigError,
    DeploymentError,
    NonceTooLowError,
    TransactionPendingError,
)
from kpchain.vocabulary import ADDRESS_PATTERN, ParticipantStatusLabel

logger = logging.getLogger(__name__)

DEPLOYED_CONTRACT = "CertificateRegistry"
INTERFACES = ("ParticipantRegistry", "CertificateRegistry")
GOVERNOR_CONTRACT = "KPGovernor"
SEATS_CONTRACT = "KPSeats"
TIMELOCK_CONTRACT = "KPTimelock"
VALIDATOR_SET_CONTRACT = "ValidatorSet"
GOVERNANCE_CONTRACTS = (
    GOVERNOR_CONTRACT,
    SEATS_CONTRACT,
    TIMELOCK_CONTRACT,
    VALIDATOR_SET_CONTRACT,
)
"""The names the deployments file gives the governance contracts under `contracts`."""
CONFIRMATION_POLL = 0.1  # seconds between looks at the head while waiting for confirmations
_SEND_ATTEMPTS = 3  # signings of a step when another client of the key takes its nonce

DEFAULT_ADMIN_ROLE = bytes(32)
GOVERNOR_ROLE = keccak(text="GOVERNOR_ROLE")
PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")


@dataclass(frozen=True)
class Deployment:
    """What `deployments/<network>.json` records of a deployment."""

    network: str
    chain_id: int
    contracts: dict[str, str]  # interface or contract name -> address
    block: int  # the registry's deploy transaction's block
    block_hash: str
    tx_hash: str
    deployer: str
    governor: str  # the KPGovernor (no account governs)
    code_hashes: dict[str, str]  # name -> keccak256 of the runtime code on chain
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
        """The address of the deployed registry (both interfaces)."""
        return self.contracts[DEPLOYED_CONTRACT]

    @property
    def governor_address(self) -> str | None:
        """The KPGovernor's address; None for a deployment made before governance existed."""
        return self.contracts.get(GOVERNOR_CONTRACT)


def deploy(
    sender: TransactionSender,
    *,
    founders: Sequence[Founder],
    network: str,
    expected_chain_id: int,
    governance: GovernanceSettings | None = None,
    validators: Sequence[str] = (),
    confirmations: int = 0,
) -> Deployment:
    """Deploys the registry and its governance, admits `founders`, and hands every role over.

    Args:
        sender: signs and sends as the deployer; its `receipt_timeout` also bounds how long the
            head may stand still, and how long a transaction a reorg dropped may take to be
            mined again.
        founders: the founding members; at least as many Active ones as the quorum.
        network: the network's name, used for the deployments file name.
        expected_chain_id: the chain id the operator means to deploy to.
        governance: the consensus rules; default `GovernanceSettings()`.
        validators: the chain's genesis validators, recorded in the ValidatorSet.
        confirmations: blocks each step's block must be below the head before the next step:
            0 on chains with instant finality (QBFT, anvil), the indexer's depth on chains that
            can reorg.

    Raises:
        ConfigError: the founders or settings cannot make a working governance; nothing was
            sent.
        ChainIdMismatchError: the node serves another chain; nothing was sent.
        DeploymentError: a reorg dropped a transaction and it was not mined again (another
            transaction took its nonce, or none did in time), the chain stopped before the
            confirmations came, or the deployer still holds a role at the end.
    """
    if confirmations < 0:
        raise ValueError("confirmations must be >= 0")
    settings = governance or GovernanceSettings()
    quorum = _check_founders(founders, settings)
    w3 = sender.w3
    actual = node_chain_id(w3)
    if actual != expected_chain_id:
        raise ChainIdMismatchError(expected=expected_chain_id, actual=actual, rpc_url=endpoint(w3))
    steps = _Steps(sender, confirmations)
    deployer = sender.address

    registry_receipt = steps.deploy(DEPLOYED_CONTRACT, deployer)
    registry = _contract(w3, DEPLOYED_CONTRACT, registry_receipt)
    for founder in founders:
        _found(steps, registry, founder)
    timelock_receipt = steps.deploy(TIMELOCK_CONTRACT, settings.timelock_delay, [], [], deployer)
    timelock = _contract(w3, TIMELOCK_CONTRACT, timelock_receipt)
    validators_receipt = steps.deploy(
        VALIDATOR_SET_CONTRACT,
        timelock.address,
        [Web3.to_checksum_address(v) for v in validators],
    )
    consensus = (
        settings.voting_delay,
        settings.voting_period,
        quorum,
        settings.emergency_threshold_bps,
    )
    governor_receipt = steps.deploy(
        GOVERNOR_CONTRACT,
        registry.address,
        timelock.address,
        validators_receipt["contractAddress"],
        consensus,
    )
    governor = _contract(w3, GOVERNOR_CONTRACT, governor_receipt)
    seats = Web3.to_checksum_address(call_node(lambda: governor.functions.seats().call()))
    _hand_over(steps, registry=registry, timelock=timelock, governor=governor.address, seats=seats)

    contracts: dict[str, str] = {name: str(registry.address) for name in INTERFACES}
    contracts.update(
        {
            GOVERNOR_CONTRACT: str(governor.address),
            SEATS_CONTRACT: seats,
            TIMELOCK_CONTRACT: str(timelock.address),
            VALIDATOR_SET_CONTRACT: str(validators_receipt["contractAddress"]),
        }
    )
    code_hashes = {name: _code_hash(w3, address) for name, address in contracts.items()}
    logger.info(
        "deployed %s at %s in block %s; governance %s (%s founders, quorum %s)",
        DEPLOYED_CONTRACT,
        registry.address,
        registry_receipt["blockNumber"],
        governor.address,
        len(founders),
        quorum,
    )
    return Deployment(
        network=network,
        chain_id=actual,
        contracts=contracts,
        block=registry_receipt["blockNumber"],
        block_hash=registry_receipt["blockHash"].to_0x_hex(),
        tx_hash=registry_receipt["transactionHash"].to_0x_hex(),
        deployer=deployer,
        governor=governor.address,
        code_hashes=code_hashes,
        compiler=load_artifact(DEPLOYED_CONTRACT).compiler,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def read_founders(path: Path) -> list[Founder]:
    """The founding members in `path` (`.json` is JSON, anything else YAML): a mapping of code to
    ``{admin, status?, zones?}``, or the ``network.json`` of `kpchain consortium init`, whose
    members (each with its admin) are the founders, all Active; keys other than those are
    ignored.

    Quote addresses in YAML (unquoted, ``0x…`` reads as a number); the file is read with PyYAML's
    base loader, which keeps every value a string (Norway's ``NO`` stays "NO").

    Raises:
        ConfigFileError: the file cannot be read, or an entry lacks an admin or is malformed
            (the message gives the line).
    """
    file = ConfigFile.read(path, what="founders file", strings=True)
    at = ("members",) if _is_network_file(file.data) else ()
    entries = file.validate(_FOUNDERS, at=at)
    return [
        Founder(
            code=code,
            admin=Web3.to_checksum_address(entry.admin),
            status=ParticipantStatus[entry.status.upper()],
            zones=tuple(entry.zones),
        )
        for code, entry in entries.items()
    ]


def read_validators(path: Path) -> tuple[str, ...]:
    """The genesis validators `path` names: those of its nodes when it is the ``network.json``
    of `kpchain consortium init`, none for a plain founders file.

    Raises:
        ConfigFileError: the file cannot be read, or a validator is not an address.
    """
    file = ConfigFile.read(path, what="founders file", strings=True)
    if not _is_network_file(file.data):
        return ()
    nodes = file.validate(_NODES, at=("nodes",))
    return tuple(Web3.to_checksum_address(node.validator) for node in nodes.values())


def _is_network_file(raw: Any) -> bool:
    """Whether `raw` is `kpchain consortium init`'s network.json (nodes and members)."""
    return isinstance(raw, dict) and isinstance(raw.get("members"), dict) and "nodes" in raw


class _FounderEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    admin: str = Field(pattern=ADDRESS_PATTERN)
    status: str = Field(
        default=ParticipantStatusLabel.ACTIVE.value,
        pattern=f"^({'|'.join(ParticipantStatusLabel)})$",
    )
    zones: list[str] = Field(default_factory=list)


_FOUNDERS = TypeAdapter(dict[str, _FounderEntry])


class _NodeEntry(BaseModel):
    """A node of network.json: only its validator matters here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    validator: str = Field(pattern=ADDRESS_PATTERN)


_NODES = TypeAdapter(dict[str, _NodeEntry])


def _check_founders(founders: Sequence[Founder], settings: GovernanceSettings) -> int:
    """The quorum, once the founders and settings are known to make a working governance."""
    codes = [founder.code for founder in founders]
    admins = [Web3.to_checksum_address(founder.admin) for founder in founders]
    for code in codes:
        participant_code(code)  # raises ValueError on a malformed code
    if len(set(codes)) != len(codes) or len(set(admins)) != len(admins):
        raise ConfigError(
            "each founder needs its own code and its own admin account (one account holds one "
            "seat at most)",
            detail={"founders": codes},
        )
    quorum = settings.quorum_for(founders)
    seats = sum(1 for founder in founders if founder.status == ParticipantStatus.ACTIVE)
    if quorum < MIN_QUORUM or quorum > seats:
        raise ConfigError(
            f"a quorum of {quorum} approvals with {seats} Active founders cannot work: it must "
            f"be at least {MIN_QUORUM} (one key never decides alone) and at most the number of "
            "Active founders (or nothing could ever pass)",
            detail={"quorum": quorum, "seats": seats},
        )
    if settings.voting_period <= 0 or settings.voting_delay < 0 or settings.timelock_delay < 0:
        raise ConfigError(
            "the voting period must be positive, the voting and timelock delays not negative"
        )
    if not 5000 < settings.emergency_threshold_bps <= 10_000:
        raise ConfigError(
            "the emergency threshold must be more than half of the seats (5000 basis points) and "
            "at most all of them (10000)",
            detail={"emergency_threshold_bps": settings.emergency_threshold_bps},
        )
    return quorum


def _found(steps: _Steps, registry: Contract, founder: Founder) -> None:
    """Admits `founder` and gives it its founding state."""
    code = participant_code(founder.code)
    functions = registry.functions
    steps.run(functions.admitParticipant(code, Web3.to_checksum_address(founder.admin)))
    if founder.zones:
        steps.run(functions.setOriginRestriction(code, True))
        for zone in founder.zones:
            steps.run(functions.setOriginZone(code, zone_id(zone), True))
    if founder.status != ParticipantStatus.ACTIVE:
        steps.run(functions.setParticipantStatus(code, int(founder.status)))
    logger.info("founder %s admitted (%s)", founder.code, founder.status.label)


def _hand_over(
    steps: _Steps, *, registry: Contract, timelock: Contract, governor: str, seats: str
) -> None:
    """Gives the roles to the governance contracts, then renounces the deployer's; checks that
    it holds none afterwards."""
    deployer = steps.sender.address
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        steps.run(timelock.functions.grantRole(role, governor))
    steps.run(registry.functions.grantRole(GOVERNOR_ROLE, seats))
    steps.run(registry.functions.grantRole(DEFAULT_ADMIN_ROLE, timelock.address))
    steps.run(registry.functions.renounceRole(GOVERNOR_ROLE, deployer))
    steps.run(registry.functions.renounceRole(DEFAULT_ADMIN_ROLE, deployer))
    steps.run(timelock.functions.renounceRole(DEFAULT_ADMIN_ROLE, deployer))
    held = [
        name
        for contract, name, role in (
            (registry, "the registry's GOVERNOR_ROLE", GOVERNOR_ROLE),
            (registry, "the registry's DEFAULT_ADMIN_ROLE", DEFAULT_ADMIN_ROLE),
            (timelock, "the timelock's DEFAULT_ADMIN_ROLE", DEFAULT_ADMIN_ROLE),
        )
        if call_node(partial(contract.functions.hasRole(role, deployer).call))
    ]
    if held:
        raise DeploymentError(
            f"the deployer {deployer} still holds {', '.join(held)} after renouncing them",
            detail={"deployer": deployer},
        )
    logger.info("handed the registry over to the governance; the deployer holds no role")


def _code_hash(w3: Web3, address: str) -> str:
    """keccak256 of the runtime code at `address`, 0x-hex."""
    code = call_node(partial(w3.eth.get_code, Web3.to_checksum_address(address)))
    return "0x" + keccak(bytes(code)).hex()


def _contract(w3: Web3, name: str, receipt: TxReceipt) -> Contract:
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError(f"the deploy transaction of {name} created no contract")
    return w3.eth.contract(address=address, abi=load_artifact(name).abi)


class _Steps:
    """Sends the deploy's transactions one after another, each confirmed before the next."""

    def __init__(self, sender: TransactionSender, confirmations: int) -> None:
        self.sender = sender
        self._confirmations = confirmations

    def deploy(self, name: str, *args: Any) -> TxReceipt:
        """Deploys contract `name` with constructor `args`; returns the (confirmed) receipt."""
        artifact = load_artifact(name)
        factory = self.sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.run(factory.constructor(*args))
        logger.info("deployed %s at %s", name, receipt["contractAddress"])
        return receipt

    def run(self, call: ContractFunction | ContractConstructor) -> TxReceipt:
        """Sends `call` and returns its receipt, once confirmed."""
        signed = _send(self.sender, call)
        receipt = self.sender.wait(signed.tx_hash, signed.call)
        if self._confirmations > 0:
            receipt = _confirmed(self.sender, signed, receipt, self._confirmations)
        return receipt


def _send(
    sender: TransactionSender, call: ContractFunction | ContractConstructor
) -> SignedTransaction:
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
