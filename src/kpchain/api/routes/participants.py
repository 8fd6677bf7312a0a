"""The participant registry, as the index has it: reads for any key.

No key changes the registry: admissions, suspensions, zones and admins are governance decisions,
proposed and voted under /v1/governance (kpchain.api.routes.governance).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from kpchain.api.deps import AuthorityDep, ReaderDep
from kpchain.api.schemas import CHAIN, READ, error_responses
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
