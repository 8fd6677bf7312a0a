"""The participant registry: reads for any key, admission and changes for governors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from kpchain.api.deps import AuthorityDep, GovernorDep, IdempotencyKey, ReaderDep
from kpchain.api.schemas import CHAIN, READ, WRITE, error_responses
from kpchain.certificates.models import ParticipantCreate, ParticipantUpdate
from kpchain.certificates.views import ParticipantView

router = APIRouter(prefix="/v1/participants", tags=["participants"])

Code = Annotated[str, Path(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2, or EU")]


@router.get("", response_model=list[ParticipantView], responses=error_responses(401, 403))
def list_participants(_: ReaderDep, authority: AuthorityDep) -> list[dict[str, Any]]:
    """Every participant, with status, zones and authority keys."""
    return authority.participants()


@router.get("/{code}", response_model=ParticipantView, responses=error_responses(*READ, *CHAIN))
def get_participant(code: Code, _: ReaderDep, authority: AuthorityDep) -> dict[str, Any]:
    """One participant."""
    return authority.participant(code)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantView,
    responses=error_responses(*WRITE),
)
def admit(
    request: ParticipantCreate,
    principal: GovernorDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Admit a participant and name its admin."""
    return authority.admit(principal, request, idempotency_key=idempotency_key)


@router.patch("/{code}", response_model=ParticipantView, responses=error_responses(*WRITE))
def update(
    code: Code,
    request: ParticipantUpdate,
    principal: GovernorDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Suspend, reinstate or withdraw a participant; restrict its origin; allow zones."""
    return authority.update_participant(principal, code, request, idempotency_key=idempotency_key)
