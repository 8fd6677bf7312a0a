"""Typed bindings of the governance contracts: the KPGovernor (OpenZeppelin Governor), the seats
it votes with (KPSeats, the hand that changes the registry) and the ValidatorSet.

A proposal is a list of actions (target, value, calldata) and a description; `Proposal` holds
them and computes the proposal's id exactly as the governor does, so the service knows the id of
a proposal before its transaction is mined. Each write method returns the web3 call, unsent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from kpchain.artifacts import load_artifact
from kpchain.chain.transactions import call_node
from kpchain.contracts.encoding import participant_code, zone_id
from kpchain.contracts.enums import ParticipantStatus, Support

GOVERNOR_ARTIFACT = "KPGovernor"
SEATS_ARTIFACT = "KPSeats"
VALIDATOR_SET_ARTIFACT = "ValidatorSet"


class ProposalState(IntEnum):
    """Mirrors OpenZeppelin's IGovernor.ProposalState."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7

    @property
    def label(self) -> str:
        """The API's name ("pending", "active" …)."""
        return self.name.lower()


@dataclass(frozen=True)
class Action:
    """One call a proposal makes when executed: `calldata` to `target`, with `value` wei."""

    target: str
    value: int
    calldata: bytes

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "value": self.value, "calldata": "0x" + self.calldata.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        return cls(
            target=Web3.to_checksum_address(data["target"]),
            value=int(data["value"]),
            calldata=bytes.fromhex(str(data["calldata"]).removeprefix("0x")),
        )


@dataclass(frozen=True)
class Proposal:
    """A proposal's actions and description, as `propose`, `queue` and `execute` take them."""

    actions: tuple[Action, ...]
    description: str

    @property
    def targets(self) -> list[str]:
        return [action.target for action in self.actions]

    @property
    def values(self) -> list[int]:
        return [action.value for action in self.actions]

    @property
    def calldatas(self) -> list[bytes]:
        return [action.calldata for action in self.actions]

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    @cached_property
    def id(self) -> int:
        """The governor's id of this proposal (Governor.hashProposal)."""
        return proposal_id(self.targets, self.values, self.calldatas, self.description_hash)

    def to_json(self) -> dict[str, Any]:
        return {
            "actions": [action.to_json() for action in self.actions],
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proposal:
        actions = tuple(Action.from_json(item) for item in data["actions"])
        return cls(actions=actions, description=str(data["description"]))


def proposal_id(
    targets: Sequence[str],
    values: Sequence[int],
    calldatas: Sequence[bytes],
    description_hash: bytes,
) -> int:
    """keccak256(abi.encode(targets, values, calldatas, descriptionHash)), as a uint256."""
    encoded = abi_encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [list(targets), list(values), list(calldatas), description_hash],
    )
    return int.from_bytes(keccak(encoded), "big")


class Governance:
    """The governance of the registry, found from its governor at `governor_address`.

    The seats', validator set's and timelock's addresses are read from the governor once.
    """

    def __init__(self, w3: Web3, governor_address: str) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(governor_address)
        self.governor: Contract = _contract(w3, self.address, GOVERNOR_ARTIFACT)
        functions = self.governor.functions
        self.seats_address = Web3.to_checksum_address(call_node(functions.seats().call))
        self.validator_set_address = Web3.to_checksum_address(
            call_node(functions.validatorSet().call)
        )
        self.timelock_address = Web3.to_checksum_address(call_node(functions.timelock().call))
        self.registry_address = Web3.to_checksum_address(call_node(functions.registry().call))
        self.seats: Contract = _contract(w3, self.seats_address, SEATS_ARTIFACT)
        self.validator_set: Contract = _contract(
            w3, self.validator_set_address, VALIDATOR_SET_ARTIFACT
        )

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every governance contract whose events the index follows."""
        return (self.address, self.seats_address, self.validator_set_address)

    # --- actions ---------------------------------------------------------------------------

    def admit(self, code: str, admin: str) -> Action:
        return self._seats_action("admitParticipant", participant_code(code), admin)

    def set_status(self, code: str, status: ParticipantStatus) -> Action:
        return self._seats_action("setParticipantStatus", participant_code(code), int(status))

    def suspend_in_emergency(self, code: str) -> Action:
        return self._seats_action("suspendInEmergency", participant_code(code))

    def set_admin(self, code: str, admin: str) -> Action:
        return self._seats_action("setParticipantAdmin", participant_code(code), admin)

    def set_origin_restriction(self, code: str, restricted: bool) -> Action:
        return self._seats_action("setOriginRestriction", participant_code(code), restricted)

    def set_origin_zone(self, code: str, zone: str, allowed: bool) -> Action:
        return self._seats_action("setOriginZone", participant_code(code), zone_id(zone), allowed)

    def add_validator(self, validator: str) -> Action:
        return _action(self.validator_set.functions.addValidator(validator))

    def remove_validator(self, validator: str) -> Action:
        return _action(self.validator_set.functions.removeValidator(validator))

    def decode(self, action: Action) -> tuple[str, dict[str, Any]] | None:
        """The function an action calls on the seats or the validator set, and its arguments
        by name (bytes as 0x-hex); None for any other call."""
        contracts = {self.seats_address: self.seats, self.validator_set_address: self.validator_set}
        contract = contracts.get(Web3.to_checksum_address(action.target))
        if contract is None or action.value != 0:
            return None
        try:
            function, arguments = contract.decode_function_input(action.calldata)
        except ValueError:
            return None
        return str(function.fn_name), {
            name: "0x" + bytes(value).hex() if isinstance(value, bytes) else value
            for name, value in arguments.items()
        }

    # --- calls -----------------------------------------------------------------------------

    def propose(self, proposal: Proposal) -> ContractFunction:
        return self.governor.functions.propose(
            proposal.targets, proposal.values, proposal.calldatas, proposal.description
        )

    def cast_vote(self, proposal: int, support: Support) -> ContractFunction:
        return self.governor.functions.castVote(proposal, int(support))

    def queue(self, proposal: Proposal) -> ContractFunction:
        return self.governor.functions.queue(*self._execution(proposal))

    def execute(self, proposal: Proposal) -> ContractFunction:
        return self.governor.functions.execute(*self._execution(proposal))

    def lift_emergency_suspension(self, proposal: int) -> ContractFunction:
        return self.governor.functions.liftEmergencySuspension(proposal)

    # --- views -----------------------------------------------------------------------------

    def state(self, proposal: int) -> ProposalState:
        return ProposalState(call_node(self.governor.functions.state(proposal).call))

    def validators(self) -> list[str]:
        """The ValidatorSet's validators now."""
        found = call_node(self.validator_set.functions.validators().call)
        return [Web3.to_checksum_address(address) for address in found]

    def _seats_action(self, function: str, *args: Any) -> Action:
        return _action(getattr(self.seats.functions, function)(*args))

    @staticmethod
    def _execution(proposal: Proposal) -> tuple[list[str], list[int], list[bytes], bytes]:
        return proposal.targets, proposal.values, proposal.calldatas, proposal.description_hash


def _contract(w3: Web3, address: str, artifact: str) -> Contract:
    return w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact(artifact).abi
    )


def _action(call: ContractFunction) -> Action:
    data = call._encode_transaction_data()
    return Action(
        target=Web3.to_checksum_address(call.address),
        value=0,
        calldata=bytes.fromhex(data.removeprefix("0x")),
    )
