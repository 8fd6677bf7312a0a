"""What a participant's admin does in governance through the service: propose, vote, carry out.

Every write is signed with the admin key this service hosts for the caller's participant (actor
"BW/admin") and goes through the crash-safe `Writer`, like the certificate writes: recorded
before it is signed, stored before it is sent, finished by a retry with the same Idempotency-Key
or by the reconciler. What the chain would refuse later is refused here first, from the index
(brought up to the chain before judging): a proposal that could never be executed (suspending a
participant already suspended), a vote on a proposal whose vote is not open, an execution before
its time. The contracts check again: a seat is judged by the governor, at the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3.contract.contract import ContractFunction

from kpchain.contracts.encoding import zone_id
from kpchain.contracts.enums import ParticipantStatus, Support
from kpchain.contracts.governance import Action, Governance, Proposal, ProposalState
from kpchain.contracts.registry import Registry
from kpchain.errors import ConflictError, ErrorCode, NotFoundError, PermissionDeniedError
from kpchain.governance import models
from kpchain.governance.views import (
    emergency_in_effect,
    iso_time,
    proposal_state,
    proposal_view,
)
from kpchain.indexer import queries
from kpchain.indexer.indexer import Indexer
from kpchain.indexer.tables import Participant, ProposalVote, Validator
from kpchain.indexer.tables import Proposal as ProposalRow
from kpchain.service.keys import Principal
from kpchain.service.operations import (
    CallBuilder,
    Hosting,
    Intent,
    Renderer,
    Writer,
    admin_actor,
    response_as,
)
from kpchain.service.tables import Operation

PROPOSE = "governance_propose"
VOTE = "governance_vote"
EXECUTE = "governance_execute"
MAX_PAGE = 500


class GovernanceService:
    """Governance for the participant admins this service hosts.

    Args:
        sessions: the service database (the index's governance tables among them).
        indexer: the index reads come from and writes wait for.
        governance: the deployed governance contracts.
        hosting: the admin keys this service signs with.
        writer: the writer its writes go through (the service's one writer, built with
            `governance_calls` and `governance_renderer`).
        now: the time proposals' states are read at: the node's latest block's (see
            `kpchain.runtime`), the clock the governor judges an estimate by.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        indexer: Indexer,
        governance: Governance,
        hosting: Hosting,
        writer: Writer,
        now: Callable[[], int],
    ) -> None:
        self._sessions = sessions
        self._indexer = indexer
        self.governance = governance
        self._hosting = hosting
        self._now = now
        self._write = writer

    # --- writes ----------------------------------------------------------------------------

    def propose(
        self,
        principal: Principal,
        request: models.ProposalRequest,
        *,
        idempotency_key: str | None,
    ) -> models.ProposalView:
        """Proposes `request`'s action, signed by the caller's participant's admin."""
        actor = _actor(principal)
        proposal = Proposal(actions=(self._action(request),), description=request.description)
        subject = str(proposal.id)
        if not self._write.recorded(actor, idempotency_key):
            self._hosting.sender(actor)  # refuse an unhosted admin before judging anything
            self._indexer.sync()
            with self._sessions() as session:
                self._check_proposable(session, request)
                if session.get(ProposalRow, subject) is not None:
                    raise ConflictError(
                        "the same proposal (its actions and description) was made already: "
                        "describe a new one differently",
                        code=ErrorCode.PROPOSAL_ALREADY_EXISTS,
                        detail={"id": subject},
                    )
        response = self._write.submit(
            Intent(
                actor=actor,
                kind=PROPOSE,
                subject=subject,
                request={"proposal": proposal.to_json()},
                body=request.model_dump(mode="json"),
                idempotency_key=idempotency_key,
            )
        )
        return response_as(models.ProposalView, response)

    def vote(
        self,
        principal: Principal,
        proposal_id: str,
        request: models.VoteRequest,
        *,
        idempotency_key: str | None,
    ) -> models.ProposalView:
        """Casts the vote of the caller's participant's seat (by its admin key)."""
        actor = _actor(principal)
        if not self._write.recorded(actor, idempotency_key):
            voter = self._hosting.sender(actor).address
            self._indexer.sync()  # the state is judged at the chain's time, as the index has it
            with self._sessions() as session:
                row = self._proposal_row(session, proposal_id)
                state = proposal_state(row, now=self._now())
                if state is not ProposalState.ACTIVE:
                    raise _not_open(row, state)
                voted = session.get(ProposalVote, (row.id, voter))
                if voted is not None:
                    raise ConflictError(
                        f"{voted.seat} voted on this proposal already ({voted.support})",
                        code=ErrorCode.GOVERNOR_ALREADY_CAST_VOTE,
                        detail={"id": row.id, "voter": voter, "support": voted.support},
                    )
        support = Support[request.support.upper()]
        response = self._write.submit(
            Intent(
                actor=actor,
                kind=VOTE,
                subject=proposal_id,
                request={"proposal_id": proposal_id, "support": int(support)},
                body=request.model_dump(mode="json"),
                idempotency_key=idempotency_key,
            )
        )
        return response_as(models.ProposalView, response)

    def execute(
        self, principal: Principal, proposal_id: str, *, idempotency_key: str | None
    ) -> models.ProposalView:
        """Carries out what the proposal's state calls for: a succeeded proposal is queued in
        the timelock; a queued one past its eta is executed; a defeated emergency suspension
        still in effect is lifted. Each is one transaction, signed by the caller's admin key."""
        actor = _actor(principal)
        step = "recorded"
        if not self._write.recorded(actor, idempotency_key):
            self._hosting.sender(actor)  # refuse an unhosted admin before judging anything
            self._indexer.sync()
            with self._sessions() as session:
                step = self._next_step(self._proposal_row(session, proposal_id))
        with self._sessions() as session:
            row = self._proposal_row(session, proposal_id)
            proposal = Proposal.from_json({"actions": row.actions, "description": row.description})
        response = self._write.submit(
            Intent(
                actor=actor,
                kind=EXECUTE,
                subject=proposal_id,
                request={"step": step, "proposal_id": proposal_id, "proposal": proposal.to_json()},
                body={},
                idempotency_key=idempotency_key,
            )
        )
        return response_as(models.ProposalView, response)

    # --- reads -----------------------------------------------------------------------------

    def proposals(self, *, state: str | None, limit: int) -> models.ProposalList:
        """Proposals, newest first; only those in `state` when given."""
        now = self._now()
        with self._sessions() as session:
            rows = session.scalars(
                select(ProposalRow).order_by(
                    ProposalRow.created_block.desc(), ProposalRow.id.desc()
                )
            ).all()
            chosen = [
                row for row in rows if state is None or proposal_state(row, now=now).label == state
            ]
            items = [
                proposal_view(session, row, governance=self.governance, now=now)
                for row in chosen[: min(max(limit, 1), MAX_PAGE)]
            ]
        return models.ProposalList(items=items)

    def proposal(self, proposal_id: str) -> models.ProposalView:
        with self._sessions() as session:
            row = self._proposal_row(session, proposal_id)
            return proposal_view(session, row, governance=self.governance, now=self._now())

    # --- internals -------------------------------------------------------------------------

    def _action(self, request: models.ProposalRequest) -> Action:
        governance = self.governance
        if isinstance(request, models.AdmitProposal):
            return governance.admit(request.participant, request.admin)
        if isinstance(request, models.SuspendProposal):
            if request.emergency:
                return governance.suspend_in_emergency(request.participant)
            return governance.set_status(request.participant, ParticipantStatus.SUSPENDED)
        if isinstance(request, models.ReinstateProposal):
            return governance.set_status(request.participant, ParticipantStatus.ACTIVE)
        if isinstance(request, models.WithdrawProposal):
            return governance.set_status(request.participant, ParticipantStatus.WITHDRAWN)
        if isinstance(request, models.RestrictOriginProposal):
            return governance.set_origin_restriction(request.participant, request.restricted)
        if isinstance(request, models.AllowZoneProposal | models.DisallowZoneProposal):
            allowed = isinstance(request, models.AllowZoneProposal)
            return governance.set_origin_zone(request.participant, request.zone, allowed)
        if isinstance(request, models.SetAdminProposal):
            return governance.set_admin(request.participant, request.admin)
        if isinstance(request, models.AddValidatorProposal):
            return governance.add_validator(request.validator)
        return governance.remove_validator(request.validator)

    def _check_proposable(self, session: Session, request: models.ProposalRequest) -> None:
        """Refuses a proposal whose execution the chain would refuse now."""
        if isinstance(request, models.AddValidatorProposal | models.RemoveValidatorProposal):
            _check_validator(session, request)
            return
        found = queries.participant(session, request.participant)
        if isinstance(request, models.AdmitProposal):
            if found is not None:
                raise ConflictError(
                    f"participant {request.participant} is already admitted",
                    code=ErrorCode.PARTICIPANT_ALREADY_ADMITTED,
                    detail={"participant": request.participant},
                )
            _check_admin_free(session, request.admin, request.participant)
            return
        if found is None:
            raise NotFoundError(
                f"participant {request.participant} is not admitted",
                code=ErrorCode.PARTICIPANT_NOT_FOUND,
                detail={"participant": request.participant},
            )
        _check_change(session, found, request)

    def _proposal_row(self, session: Session, proposal_id: str) -> ProposalRow:
        # Another service may have proposed it a moment ago: caught up once before saying no.
        row = self._indexer.find(session, lambda s: s.get(ProposalRow, proposal_id))
        if row is None:
            raise NotFoundError(
                f"no proposal {proposal_id}",
                code=ErrorCode.PROPOSAL_NOT_FOUND,
                detail={"id": proposal_id},
            )
        return row

    def _next_step(self, row: ProposalRow) -> str:
        now = self._now()
        state = proposal_state(row, now=now)
        if state is ProposalState.SUCCEEDED:
            return "queue"
        if state is ProposalState.QUEUED:
            assert row.eta is not None
            if row.eta > now:
                raise ConflictError(
                    f"proposal {row.id} is queued; the timelock lets it be executed from its eta",
                    code=ErrorCode.PROPOSAL_NOT_READY,
                    detail={"id": row.id, "state": state.label, "eta": iso_time(row.eta)},
                )
            return "execute"
        if state in (ProposalState.PENDING, ProposalState.ACTIVE):
            raise ConflictError(
                f"proposal {row.id} is {state.label}: it can be carried out once its vote ended",
                code=ErrorCode.PROPOSAL_NOT_READY,
                detail={"id": row.id, "state": state.label, "vote_end": iso_time(row.vote_end)},
            )
        if state is ProposalState.EXECUTED:
            raise ConflictError(
                f"proposal {row.id} is executed already",
                code=ErrorCode.PROPOSAL_ALREADY_EXECUTED,
                detail={"id": row.id},
            )
        if emergency_in_effect(row):
            return "lift"
        raise ConflictError(
            f"proposal {row.id} is {state.label}: there is nothing to carry out",
            code=ErrorCode.PROPOSAL_NOT_EXECUTABLE,
            detail={"id": row.id, "state": state.label},
        )


# --- what the writer needs: each operation kind's call and response ---------------------------


def governance_calls(governance: Governance) -> dict[str, CallBuilder]:
    """How each governance operation kind becomes a call to `governance` (for the writer)."""

    def propose(_registry: Registry, request: dict[str, Any]) -> ContractFunction:
        return governance.propose(Proposal.from_json(request["proposal"]))

    def vote(_registry: Registry, request: dict[str, Any]) -> ContractFunction:
        proposal = int(request["proposal_id"])
        return governance.cast_vote(proposal, Support(int(request["support"])))

    def execute(_registry: Registry, request: dict[str, Any]) -> ContractFunction:
        proposal = Proposal.from_json(request["proposal"])
        step = request["step"]
        if step == "queue":
            return governance.queue(proposal)
        if step == "execute":
            return governance.execute(proposal)
        return governance.lift_emergency_suspension(int(request["proposal_id"]))

    return {PROPOSE: propose, VOTE: vote, EXECUTE: execute}


def governance_renderer(governance: Governance, now: Callable[[], int]) -> Renderer:
    """The response of a finished governance operation: its proposal, as indexed, its state
    read at `now` (the service's clock)."""

    def render(session: Session, operation: Operation) -> models.ProposalView:
        row = session.get(ProposalRow, operation.subject)
        assert row is not None, "a finished governance operation's block is indexed"
        return proposal_view(session, row, governance=governance, now=now())

    return render


def _actor(principal: Principal) -> str:
    if principal.participant is None:  # AdminDep admits only admin keys, which have one
        raise PermissionDeniedError(
            "governance needs a participant admin's key", code=ErrorCode.PARTICIPANT_KEY_REQUIRED
        )
    return admin_actor(principal.participant)


def _not_open(row: ProposalRow, state: ProposalState) -> ConflictError:
    return ConflictError(
        f"the vote on proposal {row.id} is not open: it is {state.label} (the vote runs after "
        f"{iso_time(row.vote_start)} until {iso_time(row.vote_end)})",
        code=ErrorCode.PROPOSAL_NOT_ACTIVE,
        detail={
            "id": row.id,
            "state": state.label,
            "vote_start": iso_time(row.vote_start),
            "vote_end": iso_time(row.vote_end),
        },
    )


def _check_change(session: Session, found: Participant, request: models.ProposalRequest) -> None:
    """Refuses a change that would leave the participant as it is (its execution would revert)."""
    code = found.code
    status = ParticipantStatus[found.status.upper()]
    wanted: ParticipantStatus | None = None
    if isinstance(request, models.SuspendProposal):
        if status is not ParticipantStatus.ACTIVE:
            raise ConflictError(
                f"participant {code} is {status.label}: only an Active participant is suspended",
                code=ErrorCode.PARTICIPANT_NOT_ACTIVE,
                detail={"participant": code, "status": status.label},
            )
        return
    if isinstance(request, models.ReinstateProposal):
        wanted = ParticipantStatus.ACTIVE
    elif isinstance(request, models.WithdrawProposal):
        wanted = ParticipantStatus.WITHDRAWN
    if wanted is not None:
        if status is wanted:
            raise ConflictError(
                f"participant {code} is {status.label} already",
                code=ErrorCode.PARTICIPANT_STATUS_UNCHANGED,
                detail={"participant": code, "status": status.label},
            )
        return
    if isinstance(request, models.RestrictOriginProposal):
        if found.origin_restricted == request.restricted:
            raise ConflictError(
                f"origin {code} is {'' if request.restricted else 'not '}restricted already",
                code=ErrorCode.ORIGIN_RESTRICTION_UNCHANGED,
                detail={"participant": code, "restricted": request.restricted},
            )
        return
    if isinstance(request, models.AllowZoneProposal | models.DisallowZoneProposal):
        zone = "0x" + zone_id(request.zone).hex()
        allowed = zone in {z.zone_id for z in found.zones}
        if allowed == isinstance(request, models.AllowZoneProposal):
            raise ConflictError(
                f"zone {request.zone} of {code} is {'allowed' if allowed else 'not allowed'} "
                "already",
                code=ErrorCode.ORIGIN_ZONE_UNCHANGED,
                detail={"participant": code, "zone": request.zone, "zone_id": zone},
            )
        return
    if isinstance(request, models.SetAdminProposal):
        if request.admin == found.admin:
            raise ConflictError(
                f"{request.admin} is {code}'s admin already",
                code=ErrorCode.PARTICIPANT_ADMIN_UNCHANGED,
                detail={"participant": code, "admin": request.admin},
            )
        _check_admin_free(session, request.admin, code)


def _check_admin_free(session: Session, admin: str, code: str) -> None:
    """One account is the admin of one participant at most (it holds one seat)."""
    other = session.scalar(select(Participant.code).where(Participant.admin == admin))
    if other is not None and other != code:
        raise ConflictError(
            f"{admin} is the admin of {other}: one account is the admin of one participant",
            code=ErrorCode.ADMIN_OF_ANOTHER_PARTICIPANT,
            detail={"admin": admin, "participant": other},
        )


def _check_validator(
    session: Session, request: models.AddValidatorProposal | models.RemoveValidatorProposal
) -> None:
    current = session.scalar(
        select(Validator.id).where(
            Validator.address == request.validator, Validator.removed_block.is_(None)
        )
    )
    if isinstance(request, models.AddValidatorProposal) and current is not None:
        raise ConflictError(
            f"{request.validator} is a validator already",
            code=ErrorCode.VALIDATOR_ALREADY_ADDED,
            detail={"validator": request.validator},
        )
    if isinstance(request, models.RemoveValidatorProposal) and current is None:
        raise NotFoundError(
            f"{request.validator} is not a validator of the consortium's validator set",
            code=ErrorCode.VALIDATOR_NOT_FOUND,
            detail={"validator": request.validator},
        )
