"""KPGovernor, KPSeats, KPTimelock and ValidatorSet: governance of the registry by consensus of
its participants, deployed as kpchain deploys it (founders admitted, then every role handed over).

The founders: BW, AE, EU and CF Active (four seats), VE suspended (no seat). The settings: no
voting delay, a vote of 100 s, a quorum of 2, an emergency threshold of two thirds of the seats
that may vote; the timelock waits 50 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ape
import pytest
from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from kpchain.contracts.encoding import zone_id
from kpchain.contracts.enums import ParticipantStatus, Support

from support import emitted, event, raw_revert, reverts

BW, AE, EU, CF, VE, ZZ = b"BW", b"AE", b"EU", b"CF", b"VE", b"ZZ"
OBJECT, APPROVE, ABSTAIN = Support.OBJECT, Support.APPROVE, Support.ABSTAIN
VOTING_PERIOD = 100
TIMELOCK_DELAY = 50
QUORUM = 2
EMERGENCY_BPS = 6666
DEFAULT_ADMIN_ROLE = bytes(32)
GOVERNOR_ROLE = keccak(text="GOVERNOR_ROLE")
PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")
# IGovernor.ProposalState
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
BERBERATI = zone_id("CF:Berberati")


@dataclass
class Governance:
    """The deployed governance and the accounts around it."""

    registry: Any
    timelock: Any
    governor: Any
    seats: Any
    validators: Any
    deployer: Any
    admins: dict[bytes, Any]

    def actions(
        self, *calls: tuple[Any, str, Sequence[Any]]
    ) -> tuple[list[str], list[int], list[bytes]]:
        """(contract, function, args) -> the targets, values and calldatas of a proposal."""
        targets = [contract.address for contract, _, _ in calls]
        calldatas = [
            bytes(getattr(contract, name).encode_input(*args)) for contract, name, args in calls
        ]
        return targets, [0] * len(calls), calldatas

    def propose(
        self, *calls: tuple[Any, str, Sequence[Any]], description: str, by: bytes = BW
    ) -> Proposal:
        targets, values, calldatas = self.actions(*calls)
        receipt = self.governor.propose(
            targets, values, calldatas, description, sender=self.admins[by]
        )
        proposal_id = self.governor.getProposalId(
            targets, values, calldatas, keccak(text=description)
        )
        return Proposal(
            self, proposal_id, targets, values, calldatas, keccak(text=description), receipt
        )


@dataclass
class Proposal:
    gov: Governance
    id: int
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description_hash: bytes
    receipt: Any

    @property
    def state(self) -> int:
        return int(self.gov.governor.state(self.id))

    def vote(self, code: bytes, support: int) -> Any:
        return self.gov.governor.castVote(self.id, support, sender=self.gov.admins[code])

    def queue(self, sender: Any) -> Any:
        args = (self.targets, self.values, self.calldatas, self.description_hash)
        return self.gov.governor.queue(*args, sender=sender)

    def execute(self, sender: Any) -> Any:
        args = (self.targets, self.values, self.calldatas, self.description_hash)
        return self.gov.governor.execute(*args, sender=sender)


@contextmanager
def deploy_reverts(signature: str, **inputs: Any) -> Iterator[None]:
    """A deployment reverts with custom error `signature` ("Name(type name,...)") and `inputs`.

    py-evm decodes the error; on anvil ape has no address to find the ABI of a failed deployment
    by and leaves the revert data undecoded, so it is decoded here.
    """
    name, _, params = signature.rstrip(")").partition("(")
    pairs = [param.split() for param in params.split(",")]
    with ape.reverts() as info:
        yield
    error = info.value
    if type(error).__name__ == name:
        assert dict(error.inputs) == inputs
        return
    raw = raw_revert(error)
    assert raw is not None, error
    types = [kind for kind, _ in pairs]
    assert raw[:4] == keccak(text=f"{name}({','.join(types)})")[:4], error.revert_message
    values = [
        to_checksum_address(value) if kind == "address" else value
        for kind, value in zip(types, decode(types, raw[4:]), strict=True)
    ]
    assert dict(zip([param for _, param in pairs], values, strict=True)) == inputs


def later(chain: Any, seconds: int) -> None:
    """Mines a block `seconds` after the next block's time."""
    chain.mine(timestamp=int(chain.pending_timestamp) + seconds)


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admins(accounts: Any) -> dict[bytes, Any]:
    return {BW: accounts[1], AE: accounts[3], EU: accounts[5], CF: accounts[8], VE: accounts[9]}


@pytest.fixture(scope="module")
def zz_admin(accounts: Any) -> Any:
    return accounts[10]


@pytest.fixture(scope="module")
def new_admin(accounts: Any) -> Any:
    return accounts[11]


def _deploy(
    project: Any, chain: Any, deployer: Any, admins: dict[bytes, Any], **settings: int
) -> Governance:
    """What kpchain.deploy.deploy does: registry, founders, governance, hand-over."""
    registry = deployer.deploy(project.CertificateRegistry, deployer)
    for code, admin in admins.items():
        registry.admitParticipant(code, admin, sender=deployer)
    registry.setParticipantStatus(VE, ParticipantStatus.SUSPENDED, sender=deployer)
    timelock = deployer.deploy(project.KPTimelock, TIMELOCK_DELAY, [], [], deployer)
    validators = deployer.deploy(project.ValidatorSet, timelock, [])
    terms = {
        "delay": 0,
        "period": VOTING_PERIOD,
        "quorum": QUORUM,
        "bps": EMERGENCY_BPS,
        **settings,
    }
    governor = deployer.deploy(
        project.KPGovernor,
        registry,
        timelock,
        validators,
        (terms["delay"], terms["period"], terms["quorum"], terms["bps"]),
    )
    seats = project.KPSeats.at(governor.seats())
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        timelock.grantRole(role, governor, sender=deployer)
    registry.grantRole(GOVERNOR_ROLE, seats, sender=deployer)
    registry.grantRole(DEFAULT_ADMIN_ROLE, timelock, sender=deployer)
    registry.renounceRole(GOVERNOR_ROLE, deployer, sender=deployer)
    registry.renounceRole(DEFAULT_ADMIN_ROLE, deployer, sender=deployer)
    timelock.renounceRole(DEFAULT_ADMIN_ROLE, deployer, sender=deployer)
    # A proposer needs its seat a second before it proposes (Governor: votes at clock() - 1).
    later(chain, 1)
    return Governance(registry, timelock, governor, seats, validators, deployer, admins)


@pytest.fixture(scope="module")
def gov(project: Any, chain: Any, governor: Any, admins: dict[bytes, Any]) -> Governance:
    # `governor` of conftest is the deployer's account here.
    return _deploy(project, chain, governor, admins)


@pytest.fixture
def active(gov: Governance, chain: Any) -> Callable[..., Proposal]:
    """Proposes `calls` and lets its vote begin."""

    def run(
        *calls: tuple[Any, str, Sequence[Any]], description: str = "a decision", by: bytes = BW
    ) -> Proposal:
        proposal = gov.propose(*calls, description=description, by=by)
        later(chain, 1)
        assert proposal.state == ACTIVE
        return proposal

    return run


def _pass(
    proposal: Proposal, chain: Any, sender: Any, voters: Sequence[bytes] = (BW, AE, EU)
) -> Any:
    """Approves by `voters`, ends the vote, queues, waits out the timelock and executes."""
    for code in voters:
        proposal.vote(code, APPROVE)
    later(chain, VOTING_PERIOD)
    proposal.queue(sender)
    later(chain, TIMELOCK_DELAY)
    return proposal.execute(sender)


# ----------------------------------------------------------------------------------------------
# The hand-over
# ----------------------------------------------------------------------------------------------


def test_after_hand_over_no_account_holds_a_role_but_the_contracts_as_designed(
    gov: Governance, stranger: Any
) -> None:
    registry, timelock = gov.registry, gov.timelock
    for role in (DEFAULT_ADMIN_ROLE, GOVERNOR_ROLE):
        assert not registry.hasRole(role, gov.deployer)
    assert registry.hasRole(GOVERNOR_ROLE, gov.seats)
    assert not registry.hasRole(GOVERNOR_ROLE, gov.timelock)
    assert not registry.hasRole(GOVERNOR_ROLE, gov.governor)
    assert registry.hasRole(DEFAULT_ADMIN_ROLE, gov.timelock)
    for role in (DEFAULT_ADMIN_ROLE, PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        assert not timelock.hasRole(role, gov.deployer)
        assert not timelock.hasRole(role, stranger)
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        assert timelock.hasRole(role, gov.governor)
    assert timelock.hasRole(DEFAULT_ADMIN_ROLE, timelock)
    assert gov.seats.owner() == gov.validators.owner() == timelock.address
    assert gov.seats.governor() == gov.governor.address
    assert gov.governor.timelock() == timelock.address
    assert (gov.governor.registry(), gov.governor.validatorSet()) == (
        registry.address,
        gov.validators.address,
    )


def test_former_governor_can_no_longer_admit_anyone(gov: Governance, zz_admin: Any) -> None:
    with reverts(
        gov.registry.AccessControlUnauthorizedAccount,
        account=gov.deployer.address,
        neededRole=GOVERNOR_ROLE,
    ):
        gov.registry.admitParticipant(ZZ, zz_admin, sender=gov.deployer)


def test_seats_take_the_founders_with_one_seat_per_active_founder(
    gov: Governance, chain: Any
) -> None:
    now = int(chain.blocks.head.timestamp)
    assert gov.seats.seatCount(now) == 4
    for code in (BW, AE, EU, CF):
        assert gov.seats.seatOf(gov.admins[code], now) == code
        assert gov.seats.isSeated(code, now)
    assert gov.seats.seatOf(gov.admins[VE], now) == b"\x00\x00"
    assert not gov.seats.isSeated(VE, now)
    assert gov.governor.CLOCK_MODE() == "mode=timestamp"
    assert gov.governor.consensusSettings() == (0, VOTING_PERIOD, QUORUM, EMERGENCY_BPS)


def test_constructor_reverts_when_quorum_below_two(
    project: Any, governor: Any, admins: dict[bytes, Any]
) -> None:
    registry = governor.deploy(project.CertificateRegistry, governor)
    timelock = governor.deploy(project.KPTimelock, 0, [], [], governor)
    with deploy_reverts("QuorumTooLow(uint256 quorum,uint256 minimum)", quorum=1, minimum=2):
        governor.deploy(project.KPGovernor, registry, timelock, timelock, (0, 10, 1, EMERGENCY_BPS))


@pytest.mark.parametrize("bps", [5000, 10001])
def test_constructor_reverts_when_emergency_threshold_not_above_half(
    project: Any, governor: Any, bps: int
) -> None:
    registry = governor.deploy(project.CertificateRegistry, governor)
    timelock = governor.deploy(project.KPTimelock, 0, [], [], governor)
    with deploy_reverts("EmergencyThresholdInvalid(uint256 bps)", bps=bps):
        governor.deploy(project.KPGovernor, registry, timelock, timelock, (0, 10, 2, bps))


def test_constructor_reverts_when_two_founders_share_an_admin(
    project: Any, governor: Any, accounts: Any
) -> None:
    registry = governor.deploy(project.CertificateRegistry, governor)
    registry.admitParticipant(BW, accounts[1], sender=governor)
    registry.admitParticipant(AE, accounts[1], sender=governor)
    timelock = governor.deploy(project.KPTimelock, 0, [], [], governor)
    with deploy_reverts(
        "AdminOfAnotherParticipant(address admin,bytes2 participant)",
        admin=accounts[1].address,
        participant=BW,
    ):
        governor.deploy(project.KPGovernor, registry, timelock, timelock, (0, 10, 2, EMERGENCY_BPS))


# ----------------------------------------------------------------------------------------------
# Consensus
# ----------------------------------------------------------------------------------------------


def test_proposal_passes_with_approvals_and_no_objection(
    gov: Governance, active: Callable[..., Proposal], chain: Any, zz_admin: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)), description="admit ZZ")
    proposal.vote(BW, APPROVE)
    proposal.vote(AE, APPROVE)
    receipt = proposal.vote(EU, ABSTAIN)

    assert emitted(receipt) == [
        event(
            gov.governor.SeatVoted,
            proposalId=proposal.id,
            seat=EU,
            voter=gov.admins[EU].address,
            support=ABSTAIN,
        ),
        event(
            gov.governor.VoteCast,
            voter=gov.admins[EU].address,
            proposalId=proposal.id,
            support=ABSTAIN,
            weight=1,
            reason="",
        ),
    ]
    assert gov.governor.proposalTally(proposal.id) == (2, 0, 1, QUORUM, ZZ, False)
    later(chain, VOTING_PERIOD)
    assert proposal.state == SUCCEEDED
    proposal.queue(stranger)
    assert proposal.state == QUEUED
    later(chain, TIMELOCK_DELAY)
    receipt = proposal.execute(stranger)

    assert proposal.state == EXECUTED
    assert gov.registry.participant(ZZ).status == ParticipantStatus.ACTIVE
    assert gov.registry.participant(ZZ).admin == zz_admin.address
    assert gov.seats.seatOf(zz_admin, int(chain.blocks.head.timestamp)) == ZZ
    assert event(gov.registry.ParticipantAdmitted, code=ZZ, admin=zz_admin.address) in emitted(
        receipt
    )


def test_one_objection_defeats_a_proposal(
    gov: Governance, active: Callable[..., Proposal], chain: Any, zz_admin: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))
    for code in (BW, AE, CF):
        proposal.vote(code, APPROVE)
    proposal.vote(EU, OBJECT)
    later(chain, VOTING_PERIOD)

    assert proposal.state == DEFEATED
    with reverts(
        gov.governor.GovernorUnexpectedProposalState,
        proposalId=proposal.id,
        current=DEFEATED,
        expectedStates=(1 << SUCCEEDED).to_bytes(32, "big"),
    ):
        proposal.queue(stranger)


def test_proposal_is_defeated_when_approvals_stay_below_quorum(
    gov: Governance, active: Callable[..., Proposal], chain: Any, zz_admin: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))
    proposal.vote(BW, APPROVE)
    proposal.vote(AE, ABSTAIN)
    later(chain, VOTING_PERIOD)

    assert proposal.state == DEFEATED


def test_execution_before_the_timelock_delay_is_refused(
    gov: Governance, active: Callable[..., Proposal], chain: Any, zz_admin: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))
    proposal.vote(BW, APPROVE)
    proposal.vote(AE, APPROVE)
    later(chain, VOTING_PERIOD)
    proposal.queue(stranger)
    operation = gov.timelock.hashOperationBatch(
        proposal.targets,
        proposal.values,
        proposal.calldatas,
        bytes(32),
        _salt(gov, proposal),
    )

    with reverts(
        gov.timelock.TimelockUnexpectedOperationState,
        operationId=operation,
        expectedStates=(1 << 2).to_bytes(32, "big"),  # Ready
    ):
        proposal.execute(stranger)
    assert gov.registry.participantStatus(ZZ) == ParticipantStatus.NONE


def _salt(gov: Governance, proposal: Proposal) -> bytes:
    """GovernorTimelockControl's salt: the governor's address XOR the description hash."""
    address = int(gov.governor.address, 16) << 96
    return (address ^ int.from_bytes(proposal.description_hash, "big")).to_bytes(32, "big")


def test_vote_before_the_vote_begins_is_refused(
    project: Any, chain: Any, accounts: Any, admins: dict[bytes, Any], zz_admin: Any
) -> None:
    gov = _deploy(project, chain, accounts[0], admins, delay=60)
    proposal = gov.propose((gov.seats, "admitParticipant", (ZZ, zz_admin)), description="early")

    with reverts(
        gov.governor.GovernorUnexpectedProposalState,
        proposalId=proposal.id,
        current=PENDING,
        expectedStates=(1 << ACTIVE).to_bytes(32, "big"),
    ):
        proposal.vote(AE, APPROVE)


def test_suspended_participant_cannot_vote(
    gov: Governance, active: Callable[..., Proposal], zz_admin: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))

    with reverts(
        gov.governor.VoterWithoutSeat, voter=gov.admins[VE].address, proposalId=proposal.id
    ):
        proposal.vote(VE, APPROVE)


def test_account_without_a_seat_can_neither_vote_nor_propose(
    gov: Governance, active: Callable[..., Proposal], zz_admin: Any, stranger: Any, chain: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))
    with reverts(gov.governor.VoterWithoutSeat, voter=stranger.address, proposalId=proposal.id):
        gov.governor.castVote(proposal.id, APPROVE, sender=stranger)

    targets, values, calldatas = gov.actions((gov.seats, "admitParticipant", (ZZ, zz_admin)))
    with reverts(
        gov.governor.GovernorInsufficientProposerVotes,
        proposer=stranger.address,
        votes=0,
        threshold=1,
    ):
        gov.governor.propose(targets, values, calldatas, "mine", sender=stranger)


def test_subject_of_a_proposal_has_no_vote_on_it(
    gov: Governance, active: Callable[..., Proposal]
) -> None:
    proposal = active((gov.seats, "setParticipantStatus", (CF, ParticipantStatus.SUSPENDED)))

    with reverts(
        gov.governor.VoterIsSubject,
        voter=gov.admins[CF].address,
        participant=CF,
        proposalId=proposal.id,
    ):
        proposal.vote(CF, OBJECT)


def test_seat_votes_once(gov: Governance, active: Callable[..., Proposal], zz_admin: Any) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))
    proposal.vote(AE, APPROVE)

    with reverts(gov.governor.GovernorAlreadyCastVote, voter=gov.admins[AE].address):
        proposal.vote(AE, OBJECT)
    assert gov.governor.hasVoted(proposal.id, gov.admins[AE])


def test_vote_other_than_object_approve_abstain_is_refused(
    gov: Governance, active: Callable[..., Proposal], zz_admin: Any
) -> None:
    proposal = active((gov.seats, "admitParticipant", (ZZ, zz_admin)))

    with reverts(gov.governor.GovernorInvalidVoteType):
        proposal.vote(AE, 3)


def test_proposal_naming_two_participants_is_refused(gov: Governance) -> None:
    with reverts(gov.governor.ProposalSubjectsMixed, first=CF, second=AE):
        gov.propose(
            (gov.seats, "setOriginRestriction", (CF, True)),
            (gov.seats, "setOriginRestriction", (AE, True)),
            description="two at once",
        )


def test_seats_are_judged_at_the_snapshot_whatever_happens_during_the_vote(
    gov: Governance, active: Callable[..., Proposal], chain: Any, new_admin: Any, stranger: Any
) -> None:
    # A proposal open while AE's admin changes: AE's former admin still votes on it, the new one
    # does not; on proposals made after the change, the other way round.
    change = active((gov.seats, "setParticipantAdmin", (AE, new_admin)), description="new AE admin")
    change.vote(BW, APPROVE)
    change.vote(EU, APPROVE)
    later(chain, VOTING_PERIOD)
    open_vote = active((gov.validators, "addValidator", (stranger,)), description="open during")
    change.queue(stranger)
    later(chain, TIMELOCK_DELAY)
    change.execute(stranger)

    with reverts(gov.governor.VoterWithoutSeat, voter=new_admin.address, proposalId=open_vote.id):
        gov.governor.castVote(open_vote.id, APPROVE, sender=new_admin)
    open_vote.vote(AE, OBJECT)  # the admin AE had at the snapshot
    after = active((gov.validators, "addValidator", (stranger,)), description="after")
    with reverts(gov.governor.VoterWithoutSeat, voter=gov.admins[AE].address, proposalId=after.id):
        after.vote(AE, APPROVE)
    gov.governor.castVote(after.id, APPROVE, sender=new_admin)
    assert gov.registry.participant(AE).admin == new_admin.address


def test_admin_of_another_participant_cannot_be_given_a_second_one(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "setParticipantAdmin", (AE, gov.admins[BW])))
    for code in (BW, EU):
        proposal.vote(code, APPROVE)
    later(chain, VOTING_PERIOD)
    proposal.queue(stranger)
    later(chain, TIMELOCK_DELAY)

    with reverts(gov.seats.AdminOfAnotherParticipant, admin=gov.admins[BW].address, participant=BW):
        proposal.execute(stranger)


def test_decisions_reach_the_registry_only_through_the_timelock(
    gov: Governance, stranger: Any, zz_admin: Any
) -> None:
    with reverts(gov.seats.OwnableUnauthorizedAccount, account=stranger.address):
        gov.seats.admitParticipant(ZZ, zz_admin, sender=stranger)
    with reverts(gov.seats.CallerNotGovernor, account=stranger.address):
        gov.seats.applyEmergencySuspension(1, CF, 3, 2, sender=stranger)
    with reverts(gov.governor.GovernorOnlyExecutor, account=stranger.address):
        gov.governor.setConsensusSettings(0, 10, 2, EMERGENCY_BPS, sender=stranger)
    with reverts(gov.validators.OwnableUnauthorizedAccount, account=stranger.address):
        gov.validators.addValidator(stranger, sender=stranger)


def test_governance_cannot_relay_a_call_to_the_registry(
    gov: Governance, active: Callable[..., Proposal], chain: Any, zz_admin: Any, stranger: Any
) -> None:
    admit = bytes(gov.registry.admitParticipant.encode_input(ZZ, zz_admin))
    proposal = active((gov.governor, "relay", (gov.registry.address, 0, admit)))
    for code in (BW, AE):
        proposal.vote(code, APPROVE)
    later(chain, VOTING_PERIOD)
    proposal.queue(stranger)
    later(chain, TIMELOCK_DELAY)

    with reverts(gov.governor.RelayTargetForbidden, target=gov.registry.address):
        proposal.execute(stranger)


def test_decisions_on_zones_restriction_and_validity_take_effect(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    proposal = active(
        (gov.seats, "setOriginRestriction", (CF, True)),
        (gov.seats, "setOriginZone", (CF, BERBERATI, True)),
        description="CF: compliant zones",
    )
    _pass(proposal, chain, stranger)
    validity = active((gov.seats, "setMaxValidity", (90 * 86_400,)), description="90 days")
    _pass(validity, chain, stranger)

    assert gov.registry.participant(CF).originRestricted
    assert gov.registry.isOriginZone(CF, BERBERATI)
    assert gov.registry.maxValidity() == 90 * 86_400


def test_receipt_grace_period_changes_by_decision(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "setReceiptGracePeriod", (7 * 86_400,)), description="7 days")
    receipt = _pass(proposal, chain, stranger)

    assert event(gov.registry.ReceiptGracePeriodSet, receiptGracePeriod=7 * 86_400) in emitted(
        receipt
    )
    assert gov.registry.receiptGracePeriod() == 7 * 86_400


def test_seats_refuse_a_grace_period_from_anyone_but_the_timelock(
    gov: Governance, stranger: Any
) -> None:
    with reverts(gov.seats.OwnableUnauthorizedAccount, account=stranger.address):
        gov.seats.setReceiptGracePeriod(0, sender=stranger)


def test_validator_set_changes_by_decision_with_an_event_each(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    add = active((gov.validators, "addValidator", (stranger,)), description="add a validator")
    receipt = _pass(add, chain, stranger)
    assert event(gov.validators.ValidatorAdded, validator=stranger.address) in emitted(receipt)
    assert gov.validators.validators() == [stranger.address]

    remove = active((gov.validators, "removeValidator", (stranger,)), description="remove it")
    receipt = _pass(remove, chain, stranger)
    assert event(gov.validators.ValidatorRemoved, validator=stranger.address) in emitted(receipt)
    assert not gov.validators.isValidator(stranger)


def test_consensus_settings_change_by_decision_and_apply_to_later_proposals(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    proposal = active((gov.governor, "setConsensusSettings", (0, VOTING_PERIOD, 3, 7500)))
    receipt = _pass(proposal, chain, stranger)

    assert event(
        gov.governor.ConsensusSettingsSet,
        votingDelay=0,
        votingPeriod=VOTING_PERIOD,
        quorum=3,
        emergencyThresholdBps=7500,
    ) in emitted(receipt)
    later_one = gov.propose((gov.validators, "addValidator", (stranger,)), description="quorum 3")
    assert gov.governor.proposalTally(later_one.id).quorum == 3


# ----------------------------------------------------------------------------------------------
# Emergency suspension
# ----------------------------------------------------------------------------------------------


def test_emergency_suspension_takes_effect_once_a_supermajority_approved(
    gov: Governance, active: Callable[..., Proposal], chain: Any
) -> None:
    proposal = active((gov.seats, "suspendInEmergency", (CF,)), description="suspend CF now")
    assert gov.governor.emergencyThreshold(proposal.id) == 2  # two thirds of BW, AE and EU
    proposal.vote(BW, APPROVE)
    assert gov.registry.participantStatus(CF) == ParticipantStatus.ACTIVE

    receipt = proposal.vote(AE, APPROVE)

    assert gov.registry.participantStatus(CF) == ParticipantStatus.SUSPENDED
    assert gov.seats.emergencySuspension(CF) == proposal.id
    assert event(
        gov.seats.EmergencySuspensionApplied,
        proposalId=proposal.id,
        subject=CF,
        approvals=2,
        threshold=2,
    ) in emitted(receipt)
    assert proposal.state == ACTIVE  # and it still goes to its vote


def test_emergency_suspension_is_lifted_when_its_vote_fails(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "suspendInEmergency", (CF,)), description="suspend CF now")
    proposal.vote(BW, APPROVE)
    proposal.vote(AE, APPROVE)
    proposal.vote(EU, OBJECT)
    with reverts(
        gov.governor.GovernorUnexpectedProposalState,
        proposalId=proposal.id,
        current=ACTIVE,
        expectedStates=((1 << DEFEATED) | (1 << CANCELED) | (1 << EXPIRED)).to_bytes(32, "big"),
    ):
        gov.governor.liftEmergencySuspension(proposal.id, sender=stranger)
    later(chain, VOTING_PERIOD)
    assert proposal.state == DEFEATED

    receipt = gov.governor.liftEmergencySuspension(proposal.id, sender=stranger)

    assert gov.registry.participantStatus(CF) == ParticipantStatus.ACTIVE
    assert gov.seats.emergencySuspension(CF) == 0
    assert gov.seats.isSeated(CF, int(chain.blocks.head.timestamp))
    assert emitted(receipt)[-1] == event(
        gov.seats.EmergencySuspensionLifted, proposalId=proposal.id, subject=CF
    )
    with reverts(gov.governor.EmergencySuspensionNotInEffect, proposalId=proposal.id):
        gov.governor.liftEmergencySuspension(proposal.id, sender=stranger)


def test_emergency_suspension_that_passes_is_confirmed_by_its_execution(
    gov: Governance, active: Callable[..., Proposal], chain: Any, stranger: Any
) -> None:
    proposal = active((gov.seats, "suspendInEmergency", (CF,)), description="suspend CF now")
    receipt = _pass(proposal, chain, stranger)

    assert gov.registry.participantStatus(CF) == ParticipantStatus.SUSPENDED
    assert gov.seats.emergencySuspension(CF) == 0
    logs = emitted(receipt)
    assert event(gov.seats.EmergencySuspensionSettled, proposalId=proposal.id, subject=CF) in logs
    assert not any(name == "ParticipantStatusChanged" for _, name, _ in logs)


def test_emergency_suspension_needs_more_than_one_approval(
    project: Any, accounts: Any, chain: Any
) -> None:
    # Two founders: the one that may vote on the other's suspension is a single seat, and the
    # threshold never falls below two approvals.
    gov = _deploy(project, chain, accounts[0], {BW: accounts[1], AE: accounts[3], VE: accounts[9]})
    proposal = gov.propose((gov.seats, "suspendInEmergency", (AE,)), description="suspend AE")
    later(chain, 1)

    assert gov.governor.emergencyThreshold(proposal.id) == 2
    proposal.vote(BW, APPROVE)
    assert gov.registry.participantStatus(AE) == ParticipantStatus.ACTIVE


def test_suspending_an_objector_in_emergency_does_not_silence_its_objection(
    gov: Governance, active: Callable[..., Proposal], chain: Any, zz_admin: Any
) -> None:
    admit = active((gov.seats, "admitParticipant", (ZZ, zz_admin)), description="admit ZZ")
    emergency = gov.propose((gov.seats, "suspendInEmergency", (CF,)), description="silence CF")
    later(chain, 1)
    emergency.vote(BW, APPROVE)
    emergency.vote(AE, APPROVE)
    assert gov.registry.participantStatus(CF) == ParticipantStatus.SUSPENDED

    admit.vote(CF, OBJECT)  # CF had its seat at the admission's snapshot
    admit.vote(BW, APPROVE)
    admit.vote(AE, APPROVE)
    later(chain, VOTING_PERIOD)
    assert admit.state == DEFEATED
