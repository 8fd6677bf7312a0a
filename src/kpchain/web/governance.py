"""The governance pages, for a participant's admin (its seat): the proposals with their state and
votes, a proposal's page with the seat's vote (approve, object, abstain) and Execute once there is
something to carry out, and the form to propose what the REST API lets an admin propose.

Each write calls `GovernanceService.propose` / `vote` / `execute` as the routes of
/v1/governance do, signed with the admin key this service hosts for the participant; the pages
are for admin keys only (the API's role refusal otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from kpchain.api.deps import GovernanceDep
from kpchain.errors import KpchainError
from kpchain.governance.models import ProposalRequest, VoteRequest
from kpchain.governance.service import GovernanceService
from kpchain.vocabulary import ProposalStateLabel, Role
from kpchain.web.pages import (
    FormDep,
    Refusal,
    entered,
    form_key,
    refusal,
    require_role,
    validated,
)
from kpchain.web.rendering import render
from kpchain.web.session import CheckedSessionDep, PageSession, SessionDep

router = APIRouter(prefix="/dashboard/governance", include_in_schema=False)

ProposalId = Annotated[str, Path(pattern="^[0-9]{1,78}$")]
Done = Literal["proposed", "voted", "executed"]
LISTED = 100
"""Proposals the list shows, newest first."""

PROPOSALS = TypeAdapter(ProposalRequest)

ACTIONS: tuple[str, ...] = (
    "admit",
    "suspend",
    "reinstate",
    "withdraw",
    "restrict_origin",
    "allow_zone",
    "disallow_zone",
    "set_admin",
    "add_validator",
    "remove_validator",
)
"""What the form proposes: every action of `ProposalRequest`, in its order."""

_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "admit": ("admin",),
    "set_admin": ("admin",),
    "allow_zone": ("zone",),
    "disallow_zone": ("zone",),
}
_VALIDATOR_ACTIONS = ("add_validator", "remove_validator")


@router.get("", response_class=HTMLResponse)
def proposals_page(request: Request, session: SessionDep, governance: GovernanceDep) -> Response:
    """The proposals, newest first, and the form to propose."""
    require_role(session, Role.ADMIN)
    return _list(request, session, governance)


@router.post("/proposals", response_class=HTMLResponse)
def propose(
    request: Request, session: CheckedSessionDep, governance: GovernanceDep, form: FormDep
) -> Response:
    """Proposes a decision, as the seat of the key's participant."""
    require_role(session, Role.ADMIN)
    typed = entered(
        form,
        "action",
        "participant",
        "description",
        "admin",
        "zone",
        "validator",
        "restricted",
        "emergency",
        "idempotency_key",
    )
    try:
        proposal = validated(PROPOSALS, proposal_values(typed))
        view = governance.propose(
            session.principal, proposal, idempotency_key=typed.get("idempotency_key")
        )
    except KpchainError as error:
        refused = refusal(error, form="propose")
        return _list(request, session, governance, refused=refused, typed=typed)
    return _done(view.id, "proposed")


def proposal_values(typed: dict[str, str]) -> dict[str, Any]:
    """The proposal request the form's fields make: only the chosen action's fields (the form
    holds every action's)."""
    action = typed.get("action", "")
    values: dict[str, Any] = {"action": action, "description": typed.get("description")}
    if action in _VALIDATOR_ACTIONS:
        values["validator"] = typed.get("validator")
        return values
    values["participant"] = typed.get("participant", "").upper() or None
    for name in _EXTRA_FIELDS.get(action, ()):
        values[name] = typed.get(name)
    if action == "suspend":
        values["emergency"] = typed.get("emergency") == "yes"
    if action == "restrict_origin":
        values["restricted"] = typed.get("restricted", "yes") == "yes"
    return values


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(
    request: Request,
    proposal_id: ProposalId,
    session: SessionDep,
    governance: GovernanceDep,
    done: Done | None = None,
) -> Response:
    """A proposal: its state, votes and steps, with the seat's vote and Execute."""
    require_role(session, Role.ADMIN)
    return _proposal(request, session, governance, proposal_id, done=done)


@router.post("/proposals/{proposal_id}/vote", response_class=HTMLResponse)
def vote(
    request: Request,
    proposal_id: ProposalId,
    session: CheckedSessionDep,
    governance: GovernanceDep,
    form: FormDep,
) -> Response:
    """Casts the seat's vote: approve, object (one objection defeats it) or abstain."""
    require_role(session, Role.ADMIN)
    typed = entered(form, "support", "idempotency_key")
    try:
        voting = validated(VoteRequest, {"support": typed.get("support")})
        governance.vote(
            session.principal, proposal_id, voting, idempotency_key=typed.get("idempotency_key")
        )
    except KpchainError as error:
        refused = refusal(error, form="vote")
        return _proposal(request, session, governance, proposal_id, refused=refused)
    return _done(proposal_id, "voted")


@router.post("/proposals/{proposal_id}/execute", response_class=HTMLResponse)
def execute(
    request: Request,
    proposal_id: ProposalId,
    session: CheckedSessionDep,
    governance: GovernanceDep,
    form: FormDep,
) -> Response:
    """Carries the proposal out: queues it once it succeeded, executes it once the timelock's
    delay passed, lifts a defeated emergency suspension."""
    require_role(session, Role.ADMIN)
    key = entered(form, "idempotency_key").get("idempotency_key")
    try:
        governance.execute(session.principal, proposal_id, idempotency_key=key)
    except KpchainError as error:
        refused = refusal(error, form="execute")
        return _proposal(request, session, governance, proposal_id, refused=refused)
    return _done(proposal_id, "executed")


def _list(
    request: Request,
    session: PageSession,
    governance: GovernanceService,
    *,
    refused: Refusal | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    items = governance.proposals(state=None, limit=LISTED).items
    context = {
        "session": session,
        "proposals": [view.model_dump(mode="json") for view in items],
        "actions": ACTIONS,
        "refused": refused,
        "typed": typed or {},
        "key": form_key(),
    }
    status = refused.status if refused else 200
    return render(request, "proposals.html", context, status_code=status, private=True)


def _proposal(
    request: Request,
    session: PageSession,
    governance: GovernanceService,
    proposal_id: str,
    *,
    done: Done | None = None,
    refused: Refusal | None = None,
) -> Response:
    view = governance.proposal(proposal_id).model_dump(mode="json")
    context = {
        "session": session,
        "proposal": view,
        "can_vote": can_vote(session, view),
        "can_execute": can_execute(view),
        "done": done,
        "refused": refused,
        "keys": {"vote": form_key(), "execute": form_key()},
    }
    status = refused.status if refused else 200
    return render(request, "proposal.html", context, status_code=status, private=True)


def can_vote(session: PageSession, view: dict[str, Any]) -> bool:
    """Whether the key's seat may vote on the proposal `view` now: its vote is open, the
    proposal is not about the participant, and the seat has not voted."""
    participant = session.participant
    voted = {vote["participant"] for vote in view["votes"]["by"]}
    return (
        view["state"] == ProposalStateLabel.ACTIVE
        and view["participant"] != participant
        and participant not in voted
    )


def can_execute(view: dict[str, Any]) -> bool:
    """Whether there is something to carry out: queue a succeeded proposal, execute a queued
    one (from its eta; before, the service says when), lift a defeated emergency suspension."""
    state = view["state"]
    if state in (ProposalStateLabel.SUCCEEDED, ProposalStateLabel.QUEUED):
        return True
    emergency = view["emergency"]
    return state == ProposalStateLabel.DEFEATED and bool(emergency and emergency["in_effect"])


def _done(proposal_id: str, done: Done) -> Response:
    return RedirectResponse(
        f"/dashboard/governance/proposals/{proposal_id}?done={done}#done", status_code=303
    )
