"""FastAPI dependencies, as `Annotated` aliases: the service core, and who is calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kpchain.api.caching import HeadCache
from kpchain.errors import AuthenticationError, ErrorCode, NotFoundError, PermissionDeniedError
from kpchain.exchange.service import ExchangeService
from kpchain.governance.service import GovernanceService
from kpchain.runtime import Runtime
from kpchain.service.authority import AuthorityService
from kpchain.service.drafts import DraftService
from kpchain.service.keys import Principal, authenticate
from kpchain.verification.chain import ContractSignatures
from kpchain.vocabulary import Role

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kp_…`")

# A dependency that only reads what the app holds is `async def`: FastAPI runs a plain `def`
# in a worker thread, and each such hand-off, back and forth, costs more CPU than most of
# these functions. One that blocks (get_principal reads the database) stays a `def`.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_contract_signatures(request: Request) -> ContractSignatures:
    signatures: ContractSignatures = request.app.state.contract_signatures
    return signatures


ContractSignaturesDep = Annotated[ContractSignatures, Depends(get_contract_signatures)]


async def get_answers(request: Request) -> HeadCache:
    answers: HeadCache = request.app.state.answers
    return answers


AnswersDep = Annotated[HeadCache, Depends(get_answers)]
"""The public reads' answers kept at the index head (`kpchain.api.caching`)."""


async def get_authority(runtime: RuntimeDep) -> AuthorityService:
    return runtime.authority


AuthorityDep = Annotated[AuthorityService, Depends(get_authority)]


async def get_drafts(runtime: RuntimeDep) -> DraftService:
    return runtime.drafts


DraftsDep = Annotated[DraftService, Depends(get_drafts)]


async def get_governance(runtime: RuntimeDep) -> GovernanceService:
    if runtime.governance is None:
        raise NotFoundError(
            "this service knows no governance contracts: its deployments file names no "
            "KPGovernor (deploy with this kpchain version) and KPCHAIN_GOVERNOR_ADDRESS is unset",
            code=ErrorCode.GOVERNANCE_NOT_DEPLOYED,
        )
    return runtime.governance


GovernanceDep = Annotated[GovernanceService, Depends(get_governance)]


async def get_exchange(runtime: RuntimeDep) -> ExchangeService:
    return runtime.exchange


ExchangeDep = Annotated[ExchangeService, Depends(get_exchange)]


def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError(
            "send an API key as `Authorization: Bearer <key>`", code=ErrorCode.API_KEY_MISSING
        )
    with runtime.sessions() as session:
        return authenticate(session, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only keys with one of `roles`."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise PermissionDeniedError(
                f"a {principal.role} key cannot do this; it needs a {' or '.join(roles)} key",
                code=ErrorCode.ROLE_INSUFFICIENT,
                detail={"role": principal.role, "required": list(roles)},
            )
        return principal

    return check


OfficerDep = Annotated[Principal, Depends(require(Role.OFFICER))]
MakerDep = Annotated[Principal, Depends(require(Role.CLERK, Role.OFFICER))]
"""A key that prepares certificate drafts: a clerk's or an officer's (maker-checker)."""
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
"""A participant admin's key: the participant's vote in governance, its authority keys and its
exchange endpoint."""
ReaderDep = Annotated[Principal, Depends(require(*Role))]

MAX_IDEMPOTENCY_KEY = 128
"""Characters of an Idempotency-Key. The store's column holds 200: a request of several steps
keys each step ``<key>#<n>``."""

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Makes a retry return the first result instead of acting twice: the same "
        "key with the same request (kind, subject and body) answers with the first result; "
        "with another request, 409 `idempotency_key_reused`.",
    ),
]
