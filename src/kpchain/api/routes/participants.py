"""The participant registry, as the index has it: reads for any key, and a participant's own
authority keys for its admin.

The registry's standing is governance: admissions, suspensions, zones and admins are decisions
proposed and voted under /v1/governance (kpchain.api.routes.governance). A participant's
authority keys (the keys that sign its certificates) are its admin's: `POST .../authorities`
adds one and `DELETE .../authorities/{account}` revokes one (key rotation without governance),
each signed with the admin key this service hosts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from kpchain.api.deps import AdminDep, AuthorityDep, IdempotencyKey, ReaderDep
from kpchain.api.schemas import CHAIN, READ, WRITE, error_responses
from kpchain.certificates.fields import Address
from kpchain.certificates.requests import AuthorityRequest
from kpchain.certificates.views import ParticipantView
from kpchain.vocabulary import PARTICIPANT_CODE_PATTERN

router = APIRouter(prefix="/v1/participants", tags=["participants"])

Code = Annotated[
    str, Path(pattern=PARTICIPANT_CODE_PATTERN, description="ISO 3166-1 alpha-2, or EU")
]
Account = Annotated[
    Address, Path(description="The authority account (EIP-55 checksummed, or all one case).")
]


@router.get("", response_model=list[ParticipantView], responses=error_responses(401, 403))
def list_participants(_: ReaderDep, authority: AuthorityDep) -> list[ParticipantView]:
    """Every participant, with status, zones and authority keys."""
    return authority.participants()


@router.get("/{code}", response_model=ParticipantView, responses=error_responses(*READ, *CHAIN))
def get_participant(code: Code, _: ReaderDep, authority: AuthorityDep) -> ParticipantView:
    """One participant."""
    return authority.participant(code)


@router.post(
    "/{code}/authorities",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantView,
    responses=error_responses(*WRITE),
)
def add_authority(
    code: Code,
    request: AuthorityRequest,
    principal: AdminDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> ParticipantView:
    """Make `account` an authority of the participant (a key that signs its certificates), with
    the participant's admin key. 409 `authority_already_registered` when it is an authority
    already, of this participant or another. Answers once mined and indexed."""
    return authority.add_authority(
        principal, code, request.account, idempotency_key=idempotency_key
    )


@router.delete(
    "/{code}/authorities/{account}",
    response_model=ParticipantView,
    responses=error_responses(*WRITE),
)
def revoke_authority(
    code: Code,
    account: Account,
    principal: AdminDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> ParticipantView:
    """Revoke `account` as an authority of the participant (a leaked or retired key), with the
    participant's admin key: certificates it signed before stay valid, it signs no new one.
    409 `authority_not_registered` when it is not a current authority of the participant.
    Answers once mined and indexed."""
    return authority.revoke_authority(principal, code, account, idempotency_key=idempotency_key)
