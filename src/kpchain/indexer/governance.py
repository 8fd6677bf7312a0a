"""Governance events -> the proposals, votes and validator tables.

`project` applies one event; the indexer calls it (through kpchain.indexer.projection) for each
new event of the governor, the seats and the validator set. `rederive` rebuilds every governance
projection from the events left after a reorg: governance is a few hundred rows at most, so
replaying all of it is simpler, and as cheap, as finding what the reorg touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kpchain.contracts.enums import Support
from kpchain.indexer.decoding import code_of
from kpchain.indexer.tables import Event, Proposal, ProposalVote, Validator

logger = logging.getLogger(__name__)


def project(session: Session, event: Event) -> bool:
    """Applies `event` if it is a governance event; returns whether it was one."""
    handler = HANDLERS.get(event.name)
    if handler is None:
        return False
    handler(session, event)
    return True


def rederive(session: Session) -> None:
    """Rebuilds the governance projections from the governance events in the table."""
    for table in (ProposalVote, Proposal, Validator):
        session.execute(delete(table))
    session.expunge_all()  # bulk deletes bypass the identity map
    events = session.scalars(
        select(Event).where(Event.name.in_(HANDLERS)).order_by(Event.block_number, Event.log_index)
    )
    for event in events:
        HANDLERS[event.name](session, event)


# --- proposals -----------------------------------------------------------------------------------


def _created(session: Session, event: Event) -> None:
    args = event.args
    actions = [
        {"target": target, "value": int(value), "calldata": calldata}
        for target, value, calldata in zip(
            args["targets"], args["values"], args["calldatas"], strict=True
        )
    ]
    session.add(
        Proposal(
            id=str(int(args["proposalId"])),
            proposer=args["proposer"],
            actions=actions,
            description=str(args["description"]),
            vote_start=int(args["voteStart"]),
            vote_end=int(args["voteEnd"]),
            emergency=False,
            approvals=0,
            objections=0,
            abstentions=0,
            created_block=event.block_number,
            created_tx=event.tx_hash,
            created_time=event.block_time,
        )
    )


def _terms_set(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        proposal.subject = code_of(event.args["subject"])
        proposal.quorum = int(event.args["quorum"])
        proposal.emergency = bool(event.args["emergency"])


def _seat_voted(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is None:
        return
    support = Support(int(event.args["support"]))
    session.add(
        ProposalVote(
            proposal_id=proposal.id,
            voter=event.args["voter"],
            seat=code_of(event.args["seat"]) or "",
            support=support.label,
            block_number=event.block_number,
            tx_hash=event.tx_hash,
            block_time=event.block_time,
        )
    )
    if support is Support.APPROVE:
        proposal.approvals += 1
    elif support is Support.OBJECT:
        proposal.objections += 1
    else:
        proposal.abstentions += 1


def _queued(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        proposal.eta = int(event.args["etaSeconds"])
        _step(proposal, "queued", event)


def _executed(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        _step(proposal, "executed", event)


def _canceled(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        _step(proposal, "canceled", event)


def _emergency_applied(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        proposal.emergency_threshold = int(event.args["threshold"])
        _step(proposal, "applied", event)


def _emergency_settled(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        _step(proposal, "settled", event)


def _emergency_lifted(session: Session, event: Event) -> None:
    proposal = _proposal(session, event)
    if proposal is not None:
        _step(proposal, "lifted", event)


def _step(proposal: Proposal, step: str, event: Event) -> None:
    setattr(proposal, f"{step}_block", event.block_number)
    setattr(proposal, f"{step}_tx", event.tx_hash)
    setattr(proposal, f"{step}_time", event.block_time)


def _proposal(session: Session, event: Event) -> Proposal | None:
    proposal = session.get(Proposal, str(int(event.args["proposalId"])))
    if proposal is None:
        # Only when indexing started after the proposal was made (start_block too high).
        logger.warning("%s for unknown proposal %s: skipped", event.name, event.args["proposalId"])
    return proposal


# --- validators ----------------------------------------------------------------------------------


def _validator_added(session: Session, event: Event) -> None:
    session.add(
        Validator(
            address=event.args["validator"],
            added_block=event.block_number,
            added_tx=event.tx_hash,
            added_time=event.block_time,
        )
    )


def _validator_removed(session: Session, event: Event) -> None:
    term = session.scalars(
        select(Validator)
        .where(Validator.address == event.args["validator"], Validator.removed_block.is_(None))
        .order_by(Validator.id.desc())
        .limit(1)
    ).first()
    if term is None:
        logger.warning("validator %s removed but never added: skipped", event.args["validator"])
        return
    term.removed_block = event.block_number
    term.removed_tx = event.tx_hash
    term.removed_time = event.block_time


HANDLERS: dict[str, Callable[[Session, Event], None]] = {
    "ProposalCreated": _created,
    "ProposalTermsSet": _terms_set,
    "SeatVoted": _seat_voted,
    "ProposalQueued": _queued,
    "ProposalExecuted": _executed,
    "ProposalCanceled": _canceled,
    "EmergencySuspensionApplied": _emergency_applied,
    "EmergencySuspensionSettled": _emergency_settled,
    "EmergencySuspensionLifted": _emergency_lifted,
    "ValidatorAdded": _validator_added,
    "ValidatorRemoved": _validator_removed,
}
"""The governance events the index projects, by name (none shares a registry event's name)."""
