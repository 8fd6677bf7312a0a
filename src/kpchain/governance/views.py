"""Proposal views from the index: the state derived as the governor derives it, the action
described from its calls, the votes.

The state depends on the time: `now` is the chain's clock as the service reads it (the time of
the node's latest block), the time the governor judges a vote or an execution by when the
service estimates it; a proposal whose vote opens reads pending until a block is past its start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpchain.contracts.enums import ParticipantStatus
from kpchain.contracts.governance import Action, Governance, ProposalState
from kpchain.governance import models
from kpchain.indexer.tables import Proposal, ProposalVote

_STATUS_ACTIONS = {
    ParticipantStatus.SUSPENDED: "suspend",
    ParticipantStatus.ACTIVE: "reinstate",
    ParticipantStatus.WITHDRAWN: "withdraw",
}


def proposal_state(row: Proposal, *, now: int) -> ProposalState:
    """The governor's `state(id)` at time `now` (GovernorTimelockControl: queued until the
    timelock executes it; a proposal it canceled reads canceled)."""
    if row.executed_block is not None:
        return ProposalState.EXECUTED
    if row.canceled_block is not None:
        return ProposalState.CANCELED
    if row.vote_start >= now:
        return ProposalState.PENDING
    if row.vote_end >= now:
        return ProposalState.ACTIVE
    if row.quorum is None or row.approvals < row.quorum or row.objections > 0:
        return ProposalState.DEFEATED
    if row.eta is None:
        return ProposalState.SUCCEEDED
    return ProposalState.QUEUED


def emergency_in_effect(row: Proposal) -> bool:
    """Whether the proposal's emergency suspension is in effect (applied, neither settled by a
    decision nor lifted)."""
    return row.applied_block is not None and row.settled_block is None and row.lifted_block is None


def describe(governance: Governance, row: Proposal) -> tuple[str, dict[str, Any]]:
    """The API's action label of a proposal and its details, from its calls."""
    actions = [Action.from_json(item) for item in row.actions]
    decoded = governance.decode(actions[0]) if len(actions) == 1 else None
    if decoded is None:
        return "custom", {}
    function, args = decoded
    if function == "admitParticipant":
        return "admit", {"admin": args["admin"]}
    if function == "setParticipantStatus":
        label = _STATUS_ACTIONS.get(ParticipantStatus(int(args["status"])))
        return (label or "custom"), {}
    if function == "suspendInEmergency":
        return "suspend", {}
    if function == "setParticipantAdmin":
        return "set_admin", {"admin": args["admin"]}
    if function == "setOriginRestriction":
        return "restrict_origin", {"restricted": bool(args["restricted"])}
    if function == "setOriginZone":
        return ("allow_zone" if args["allowed"] else "disallow_zone"), {"zone": args["zone"]}
    if function == "setMaxValidity":
        return "set_max_validity", {"max_validity": int(args["maxValidity"])}
    if function in ("addValidator", "removeValidator"):
        label = "add_validator" if function == "addValidator" else "remove_validator"
        return label, {"validator": args["validator"]}
    return "custom", {}


def proposal_view(
    session: Session, row: Proposal, *, governance: Governance, now: int
) -> models.ProposalView:
    """A proposal as the API returns it."""
    votes = session.scalars(
        select(ProposalVote)
        .where(ProposalVote.proposal_id == row.id)
        .order_by(ProposalVote.block_number, ProposalVote.voter)
    ).all()
    action, details = describe(governance, row)
    view = {
        "id": row.id,
        "state": proposal_state(row, now=now).label,
        "action": action,
        "participant": row.subject,
        "details": details,
        "emergency": _emergency(row),
        "description": row.description,
        "proposer": row.proposer,
        "votes": {
            "approve": row.approvals,
            "object": row.objections,
            "abstain": row.abstentions,
            "quorum": row.quorum,
            "by": [
                {
                    "participant": vote.seat,
                    "voter": vote.voter,
                    "support": vote.support,
                    "at": iso_time(vote.block_time),
                    "block_number": vote.block_number,
                    "tx_hash": vote.tx_hash,
                }
                for vote in votes
            ],
        },
        "vote_start": iso_time(row.vote_start),
        "vote_end": iso_time(row.vote_end),
        "eta": None if row.eta is None else iso_time(row.eta),
        "actions": row.actions,
        "created": _step(row, "created"),
        "queued": _step(row, "queued"),
        "executed": _step(row, "executed"),
        "canceled": _step(row, "canceled"),
    }
    return models.ProposalView.model_validate(view)


def _emergency(row: Proposal) -> dict[str, Any] | None:
    if not row.emergency:
        return None
    return {
        "in_effect": emergency_in_effect(row),
        "threshold": row.emergency_threshold,
        "applied": _step(row, "applied"),
        "settled": _step(row, "settled"),
        "lifted": _step(row, "lifted"),
    }


def _step(row: Proposal, step: str) -> dict[str, Any] | None:
    block = getattr(row, f"{step}_block")
    if block is None:
        return None
    return {
        "at": iso_time(getattr(row, f"{step}_time")),
        "block_number": block,
        "tx_hash": getattr(row, f"{step}_tx"),
    }


def iso_time(seconds: int) -> str:
    """Unix seconds as UTC ISO 8601 ("2026-11-27T10:00:00Z"), as the views write times."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
