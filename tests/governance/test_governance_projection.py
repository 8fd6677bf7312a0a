"""The index of governance: proposals, votes and the validator set, from the governor's, the
seats' and the validator set's events, on SQLite and PostgreSQL; repaired after a reorg and
rebuilt alike; and the proposal states derived as the governor derives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.contracts.encoding import participant_code, zone_id
from kpchain.contracts.enums import Support
from kpchain.contracts.governance import Governance, ProposalState
from kpchain.governance.views import proposal_state, proposal_view
from kpchain.indexer import Indexer
from kpchain.indexer.tables import Proposal, ProposalVote, Validator
from support_chain import Devnet
from support_db import dump_index


def _propose(devnet: Devnet, call: Any, description: str) -> tuple[int, list[Any]]:
    """BW's admin proposes `call`; returns the proposal id and (targets, values, calldatas,
    description hash) for queue and execute."""
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    plan = [[call.address], [0], [data], keccak(text=description)]
    governor = devnet.governor.functions
    devnet.sender("BW", "admin").transact(governor.propose(plan[0], plan[1], plan[2], description))
    return governor.hashProposal(*plan).call(), plan


def _vote(devnet: Devnet, proposal: int, code: str, support: Support) -> None:
    devnet.sender(code, "admin").transact(
        devnet.governor.functions.castVote(proposal, int(support))
    )


def _rows(sessions: sessionmaker[Session]) -> tuple[list[Proposal], list[ProposalVote]]:
    with sessions() as session:
        proposals = list(session.scalars(select(Proposal).order_by(Proposal.created_block)))
        votes = list(session.scalars(select(ProposalVote).order_by(ProposalVote.block_number)))
    return proposals, votes


def test_index_follows_a_proposal_from_its_creation_to_its_execution(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    seats = devnet.seats.functions
    call = seats.setOriginZone(participant_code("CF"), zone_id("CF:Bozoum"), True)
    proposal, plan = _propose(devnet, call, "Allow Bozoum")
    devnet.later(1)
    _vote(devnet, proposal, "BW", Support.APPROVE)
    _vote(devnet, proposal, "AE", Support.APPROVE)
    _vote(devnet, proposal, "IN", Support.ABSTAIN)
    devnet.later(30)
    devnet.deployer.transact(devnet.governor.functions.queue(*plan))
    devnet.later(5)
    executed = devnet.deployer.transact(devnet.governor.functions.execute(*plan))

    make_indexer().sync()

    (row,), votes = _rows(sessions)
    assert row.id == str(proposal)
    assert (row.subject, row.quorum, row.emergency) == ("CF", 2, False)
    assert (row.approvals, row.objections, row.abstentions) == (2, 0, 1)
    assert row.description == "Allow Bozoum"
    assert row.actions == [
        {"target": call.address, "value": 0, "calldata": "0x" + plan[2][0].hex()}
    ]
    assert row.eta is not None
    assert row.queued_block is not None
    assert row.executed_block == executed["blockNumber"]
    assert [(v.seat, v.support) for v in votes] == [
        ("BW", "approve"),
        ("AE", "approve"),
        ("IN", "abstain"),
    ]
    governance = Governance(devnet.w3, devnet.deployment.governor)
    with sessions() as session:
        view = proposal_view(session, row, governance=governance, now=devnet.now()).model_dump(
            mode="json"
        )
    assert (view["state"], view["action"], view["participant"]) == ("executed", "allow_zone", "CF")
    assert view["details"]["zone"] == "0x" + zone_id("CF:Bozoum").hex()


def test_index_keeps_each_validator_term(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    validator = Account.create().address
    validators = devnet.governance("ValidatorSet").functions
    added = devnet.govern(validators.addValidator(validator))
    removed = devnet.govern(validators.removeValidator(validator))
    again = devnet.govern(validators.addValidator(validator))

    make_indexer().sync()

    with sessions() as session:
        terms = list(session.scalars(select(Validator).order_by(Validator.id)))
    assert [(t.address, t.added_block, t.removed_block) for t in terms] == [
        (validator, added["blockNumber"], removed["blockNumber"]),
        (validator, again["blockNumber"], None),
    ]


def test_reorg_rederives_the_votes_and_counts_the_chain_no_longer_has(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    proposal, _ = _propose(
        devnet, devnet.seats.functions.setOriginRestriction(participant_code("AO"), True), "AO"
    )
    devnet.later(1)
    _vote(devnet, proposal, "BW", Support.APPROVE)
    fork = devnet.snapshot()
    _vote(devnet, proposal, "AE", Support.OBJECT)
    indexer.sync()
    assert _rows(sessions)[0][0].objections == 1

    devnet.revert(fork)  # AE's objection is gone; RU approves on the new branch
    devnet.mine(3)
    _vote(devnet, proposal, "RU", Support.APPROVE)
    indexer.sync()

    (row,), votes = _rows(sessions)
    assert (row.approvals, row.objections) == (2, 0)
    assert [(v.seat, v.support) for v in votes] == [("BW", "approve"), ("RU", "approve")]
    repaired = dump_index(sessions)
    indexer.rebuild()
    assert dump_index(sessions) == repaired  # the repair left what a fresh index has


def test_rebuild_equals_the_live_governance_index(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    devnet.govern(
        devnet.governance("ValidatorSet").functions.addValidator(Account.create().address)
    )
    _propose(devnet, devnet.seats.functions.suspendInEmergency(participant_code("NA")), "NA now")
    indexer.sync()
    live = dump_index(sessions)

    indexer.rebuild()

    assert dump_index(sessions) == live
    assert len(live["proposals"]) == 2
    assert len(live["proposal_votes"]) == 2  # the validator decision's approvals
    assert len(live["validators"]) == 1


def _row(**fields: Any) -> Proposal:
    defaults: dict[str, Any] = {
        "id": "1",
        "vote_start": 100,
        "vote_end": 200,
        "quorum": 2,
        "approvals": 2,
        "objections": 0,
        "abstentions": 0,
        "emergency": False,
    }
    return Proposal(**{**defaults, **fields})


def test_proposal_state_follows_the_governor_at_each_time_and_step() -> None:
    assert proposal_state(_row(), now=100) is ProposalState.PENDING  # the snapshot itself
    assert proposal_state(_row(), now=101) is ProposalState.ACTIVE
    assert proposal_state(_row(), now=200) is ProposalState.ACTIVE  # the deadline itself
    assert proposal_state(_row(), now=201) is ProposalState.SUCCEEDED
    assert proposal_state(_row(objections=1), now=201) is ProposalState.DEFEATED
    assert proposal_state(_row(approvals=1), now=201) is ProposalState.DEFEATED
    assert proposal_state(_row(eta=250), now=201) is ProposalState.QUEUED
    assert proposal_state(_row(eta=250, executed_block=9), now=300) is ProposalState.EXECUTED
    assert proposal_state(_row(canceled_block=3), now=50) is ProposalState.CANCELED
