"""Governance by consensus (DESIGN.md section 8, a contract): proposals, votes and their
execution for participant admins' keys; proposals readable by any key.

The service signs with the admin key it hosts for the caller's participant: the participant's
seat. A proposal passes when its vote ends with no objection and a quorum of approvals; then
`execute` queues it in the timelock and, once the timelock's delay has passed, executes it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from kpchain.api.deps import AdminDep, GovernanceDep, IdempotencyKey, ReaderDep
from kpchain.api.schemas import CHAIN, READ, WRITE, error_responses
from kpchain.governance.models import ProposalList, ProposalRequest, ProposalView, VoteRequest
from kpchain.vocabulary import ProposalStateLabel

router = APIRouter(prefix="/v1/governance", tags=["governance"])

ProposalId = Annotated[
    str,
    Path(pattern="^[0-9]{1,78}$", description="The proposal's id (a uint256, decimal digits)"),
]


@router.post(
    "/proposals",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalView,
    responses=error_responses(*WRITE),
)
def propose(
    request: ProposalRequest,
    principal: AdminDep,
    governance: GovernanceDep,
    idempotency_key: IdempotencyKey = None,
) -> ProposalView:
    """Propose a decision, as the seat of the key's participant. Suspensions with `emergency`
    take effect once the emergency threshold of the seats approved."""
    return governance.propose(principal, request, idempotency_key=idempotency_key)


@router.post(
    "/proposals/{proposal_id}/votes",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalView,
    responses=error_responses(*WRITE),
)
def vote(
    proposal_id: ProposalId,
    request: VoteRequest,
    principal: AdminDep,
    governance: GovernanceDep,
    idempotency_key: IdempotencyKey = None,
) -> ProposalView:
    """Cast the vote of the key's participant's seat: approve, object (one objection defeats
    the proposal) or abstain."""
    return governance.vote(principal, proposal_id, request, idempotency_key=idempotency_key)


@router.post(
    "/proposals/{proposal_id}/execute",
    response_model=ProposalView,
    responses=error_responses(*WRITE),
)
def execute(
    proposal_id: ProposalId,
    principal: AdminDep,
    governance: GovernanceDep,
    idempotency_key: IdempotencyKey = None,
) -> ProposalView:
    """Carry out a proposal: queue it in the timelock once it succeeded, execute it once the
    timelock's delay passed (409 `proposal_not_ready` with its eta before), lift a defeated
    emergency suspension."""
    return governance.execute(principal, proposal_id, idempotency_key=idempotency_key)


@router.get(
    "/proposals", response_model=ProposalList, responses=error_responses(401, 403, 404, 422)
)
def list_proposals(
    _: ReaderDep,
    governance: GovernanceDep,
    state: Annotated[
        ProposalStateLabel | None, Query(description="Only proposals in this state")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ProposalList:
    """Proposals, newest first."""
    return governance.proposals(state=state, limit=limit)


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalView,
    responses=error_responses(*READ, *CHAIN),
)
def get_proposal(proposal_id: ProposalId, _: ReaderDep, governance: GovernanceDep) -> ProposalView:
    """One proposal: its state, votes and steps."""
    return governance.proposal(proposal_id)
