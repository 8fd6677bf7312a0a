"""What the dashboard's action pages share (the certificate's, the participant admin's and the
governance pages): the role check of their writes, their forms' Idempotency-Keys, reading a form
into the request model the service takes, and a refusal shown on the page it came from.

A write answers as the REST API's does (the same service call, the same refusal and status), but
on a page: a form the service refuses is shown again with the refusal's message (and each
field's problem) at the status the API would answer, never as a 500; a write that succeeds is
followed by a redirect (303) to the page, which then says what was done (POST-redirect-GET: a
reload does not post again).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData

from kpchain.api.errors import status_of
from kpchain.errors import ErrorCode, InvalidRequestError, KpchainError, PermissionDeniedError
from kpchain.vocabulary import Role
from kpchain.web.session import PageSession

Model = TypeVar("Model")


@dataclass(frozen=True)
class Refusal:
    """Why a form was refused, for its page: the message, each field's problem, the status."""

    status: int
    message: str
    problems: list[dict[str, str]] = field(default_factory=list)
    form: str = ""
    """Which form of the page was refused (the page shows the refusal at it)."""


def require_role(session: PageSession, *roles: Role) -> None:
    """Refuses a key without one of `roles`, with the REST API's refusal (`require` in
    `kpchain.api.deps`: the same message, code and detail).

    Raises:
        PermissionDeniedError: the key's role is another (`role_insufficient`).
    """
    role = session.principal.role
    if role not in roles:
        raise PermissionDeniedError(
            f"a {role} key cannot do this; it needs a {' or '.join(roles)} key",
            code=ErrorCode.ROLE_INSUFFICIENT,
            detail={"role": role, "required": list(roles)},
        )


def form_key() -> str:
    """A fresh Idempotency-Key for a form: posting it twice (a double click, a reload after a
    slow answer) acts once."""
    return f"web-{secrets.token_urlsafe(18)}"


async def _form(request: Request) -> FormData:
    return await request.form()  # Starlette keeps it: the session's check read it already


FormDep = Annotated[FormData, Depends(_form)]
"""The posted form (its fields as typed)."""


def entered(form: FormData, *names: str) -> dict[str, str]:
    """The text fields `names` of `form` as typed, without surrounding spaces; a blank or
    missing field is left out (the request model's default, or its "required" problem)."""
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


def validated(kind: type[Model] | TypeAdapter[Model], values: Mapping[str, Any]) -> Model:
    """`values` as the request `kind` (a model, or a type adapter of a union of models).

    Raises:
        InvalidRequestError: with each field's problem in its detail's "errors", as the API's
            422 lists them.
    """
    adapter = kind if isinstance(kind, TypeAdapter) else TypeAdapter(kind)
    try:
        return adapter.validate_python(dict(values))
    except ValidationError as invalid:
        raise InvalidRequestError(
            "what was entered is not valid", detail={"errors": problems_of(invalid)}
        ) from None


def problems_of(invalid: ValidationError) -> list[dict[str, str]]:
    """Each problem of `invalid` at its field (the last part of its location: a union's
    member name is not a field)."""
    problems = []
    for item in invalid.errors():
        names = [str(part) for part in item.get("loc", ()) if isinstance(part, str)]
        problems.append({"field": names[-1] if names else "", "message": item.get("msg", "")})
    return problems


def refusal(error: KpchainError, *, form: str) -> Refusal:
    """The refusal of `form` by `error`, for its page.

    Raises:
        KpchainError: `error` itself when it is the service's failure (a 5xx: the chain or
            signer unreachable), which the error page explains without the internals.
    """
    status = status_of(error)
    if status >= 500:
        raise error
    problems = [
        {"field": str(p.get("field", "")).rpartition(".")[2], "message": str(p["message"])}
        for p in error.detail.get("errors", ())
        if isinstance(p, Mapping) and p.get("message")
    ]
    return Refusal(status, error.message, problems, form)
