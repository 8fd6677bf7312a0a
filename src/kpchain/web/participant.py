"""The participant admin's page: the participant's authority keys (add a new one, revoke an old
one: key rotation without governance) and its exchange endpoint (the URL other services deliver
its documents to, and the document encryption key, made anew on request).

For the participant's admin key only, as the REST API's `POST/DELETE
/v1/participants/{code}/authorities` and `PUT /v1/participants/{code}/endpoint`: each write calls
the same service function (`AuthorityService.add_authority` / `revoke_authority`,
`ExchangeService.register_endpoint`), signed with the admin key this service hosts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kpchain.api.deps import AuthorityDep, ExchangeDep
from kpchain.certificates.requests import AuthorityRequest
from kpchain.errors import KpchainError
from kpchain.exchange.service import EndpointRequest, ExchangeService
from kpchain.service.authority import AuthorityService
from kpchain.service.keys import require_participant
from kpchain.vocabulary import PARTICIPANT_CODE_PATTERN, Role
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

router = APIRouter(prefix="/dashboard/participants", include_in_schema=False)

Code = Annotated[str, Path(pattern=PARTICIPANT_CODE_PATTERN)]
Done = Literal["authority_added", "authority_revoked", "endpoint_registered"]


def _check(session: PageSession, code: str) -> None:
    """Admits `code`'s admin key only (the API's refusals: role, then participant)."""
    require_role(session, Role.ADMIN)
    require_participant(session.principal, code, doing=f"manages {code}'s authority keys")


@router.get("/{code}", response_class=HTMLResponse)
def participant_page(
    request: Request,
    code: Code,
    session: SessionDep,
    authority: AuthorityDep,
    exchange: ExchangeDep,
    done: Done | None = None,
) -> Response:
    """The participant's authority keys and exchange endpoint, with the forms that change them."""
    _check(session, code)
    return _page(request, session, authority, exchange, code, done=done)


@router.post("/{code}/authorities", response_class=HTMLResponse)
def add_authority(
    request: Request,
    code: Code,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    exchange: ExchangeDep,
    form: FormDep,
) -> Response:
    """Makes an account an authority of the participant (a key that signs its certificates)."""
    typed = entered(form, "account", "idempotency_key")
    _check(session, code)  # refused keys get the error page: the forms are not theirs
    try:
        adding = validated(AuthorityRequest, {"account": typed.get("account")})
        authority.add_authority(
            session.principal, code, adding.account, idempotency_key=_key(typed)
        )
    except KpchainError as error:
        refused = refusal(error, form="add")
        return _page(request, session, authority, exchange, code, refused=refused, typed=typed)
    return _done(code, "authority_added")


@router.post("/{code}/authorities/revoke", response_class=HTMLResponse)
def revoke_authority(
    request: Request,
    code: Code,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    exchange: ExchangeDep,
    form: FormDep,
) -> Response:
    """Revokes an authority of the participant (a leaked or retired key): what it signed before
    stays valid, it signs nothing new."""
    typed = entered(form, "account", "idempotency_key")
    _check(session, code)  # refused keys get the error page: the forms are not theirs
    try:
        revoking = validated(AuthorityRequest, {"account": typed.get("account")})
        authority.revoke_authority(
            session.principal, code, revoking.account, idempotency_key=_key(typed)
        )
    except KpchainError as error:
        refused = refusal(error, form="revoke")
        return _page(request, session, authority, exchange, code, refused=refused, typed=typed)
    return _done(code, "authority_revoked")


@router.post("/{code}/endpoint", response_class=HTMLResponse)
def register_endpoint(
    request: Request,
    code: Code,
    session: CheckedSessionDep,
    authority: AuthorityDep,
    exchange: ExchangeDep,
    form: FormDep,
) -> Response:
    """Registers where other services deliver the participant's documents, and (when asked) a
    new document encryption key (the old ones are kept to read what was encrypted to them)."""
    typed = entered(form, "url", "rotate_key", "idempotency_key")
    _check(session, code)  # refused keys get the error page: the forms are not theirs
    try:
        values: dict[str, object] = {"rotate_key": typed.get("rotate_key") == "yes"}
        if "url" in typed:
            values["url"] = typed["url"]
        registering = validated(EndpointRequest, values)
        exchange.register_endpoint(
            session.principal, code, registering, idempotency_key=_key(typed)
        )
    except KpchainError as error:
        refused = refusal(error, form="endpoint")
        return _page(request, session, authority, exchange, code, refused=refused, typed=typed)
    return _done(code, "endpoint_registered")


def _key(typed: dict[str, str]) -> str | None:
    """The form's Idempotency-Key (a form without one acts unkeyed, as an API call without)."""
    key = typed.get("idempotency_key")
    return key if key and len(key) <= 100 else None


def _page(
    request: Request,
    session: PageSession,
    authority: AuthorityService,
    exchange: ExchangeService,
    code: str,
    *,
    done: Done | None = None,
    refused: Refusal | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    view = authority.participant(code).model_dump(mode="json")
    endpoint = exchange.endpoint(code).model_dump(mode="json")
    context = {
        "session": session,
        "participant": view,
        "current": [a for a in view["authorities"] if a["revoked_block"] is None],
        "revoked": [a for a in view["authorities"] if a["revoked_block"] is not None],
        "endpoint": endpoint,
        "done": done,
        "refused": refused,
        "typed": typed or {},
        "keys": {"add": form_key(), "endpoint": form_key()},
        "revoke_key": form_key,
    }
    status = refused.status if refused else 200
    return render(request, "participant.html", context, status_code=status, private=True)


def _done(code: str, done: Done) -> Response:
    return RedirectResponse(f"/dashboard/participants/{code}?done={done}#done", status_code=303)
