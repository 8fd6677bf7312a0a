"""The dashboard's log-in: an API key kept in a cookie, checked again on every request, and the
anti-forgery tokens of its forms.

The cookie holds the API key itself (HttpOnly, so no script reads it; SameSite=Strict, so no
other site's page sends it; Secure over https; no expiry, so it ends with the browser). Every
request authenticates it again with `kpchain.service.keys.authenticate`: revoking the key ends
the session at once, and the service keeps no session state of its own.

Every form that changes something carries a token derived from the key (HMAC-SHA-256 with a
purpose string). Only a page the service rendered for this session can know it, so a form
posted from elsewhere is refused even by a browser that ignores SameSite. The log-in form, which
has no session yet, is protected the same way by a random token that its page also sets as a
SameSite=Strict cookie (a cross-site page can neither read nor send it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from kpchain.api.deps import RuntimeDep
from kpchain.errors import AuthenticationError, PermissionDeniedError
from kpchain.service.keys import Principal, authenticate
from kpchain.service.runtime import Runtime

SESSION_COOKIE = "kpchain_session"
LOGIN_COOKIE = "kpchain_login"
COOKIE_PATH = "/dashboard"
CSRF_FIELD = "csrf_token"

_FORM_PURPOSE = b"kpchain dashboard form token v1"


@dataclass(frozen=True)
class PageSession:
    """Who is logged in to the dashboard, and the token their forms must carry."""

    principal: Principal
    csrf_token: str

    @property
    def participant(self) -> str:
        # Log-in refuses keys without a participant (governor keys), so there always is one.
        assert self.principal.participant is not None
        return self.principal.participant

    @property
    def can_act(self) -> bool:
        """Whether the key may confirm or reject shipments (officers only)."""
        return self.principal.role == "officer"

    def check_form(self, token: object) -> None:
        """Refuses a form that does not carry this session's token.

        Raises:
            PermissionDeniedError: the token is missing or wrong (`csrf_invalid`).
        """
        if not isinstance(token, str) or not hmac.compare_digest(token, self.csrf_token):
            raise PermissionDeniedError(
                "this form did not come from your dashboard page (or your session changed); "
                "open the dashboard again and resubmit",
                code="csrf_invalid",
            )


def form_token(api_key: str) -> str:
    """The anti-forgery token of the forms of the session of `api_key`."""
    return hmac.new(api_key.encode(), _FORM_PURPOSE, hashlib.sha256).hexdigest()


def log_in(runtime: Runtime, api_key: str) -> Principal:
    """The principal of `api_key`, if it may use the dashboard.

    Raises:
        AuthenticationError: the key is unknown, malformed or revoked.
        PermissionDeniedError: a governor key, which acts for no participant.
    """
    with runtime.sessions() as session:
        principal = authenticate(session, api_key.strip())
    if principal.participant is None:
        raise PermissionDeniedError(
            "a governor key acts for no participant and has no dashboard; log in with a "
            "participant's key",
            code="participant_key_required",
        )
    return principal


def page_session(request: Request, runtime: RuntimeDep) -> PageSession:
    """The logged-in session of `request`.

    Raises:
        AuthenticationError: no session cookie, or its key is no longer valid (the pages answer
            this with a redirect to the log-in page).
    """
    api_key = request.cookies.get(SESSION_COOKIE)
    if not api_key:
        raise AuthenticationError("log in to see the dashboard", code="session_missing")
    return PageSession(log_in(runtime, api_key), form_token(api_key))


SessionDep = Annotated[PageSession, Depends(page_session)]


async def checked_session(request: Request, session: SessionDep) -> PageSession:
    """The logged-in session of a form post whose anti-forgery token is right."""
    form = await request.form()
    session.check_form(form.get(CSRF_FIELD))
    return session


CheckedSessionDep = Annotated[PageSession, Depends(checked_session)]


def start(response: Response, request: Request, api_key: str) -> None:
    """Sets the session cookie of `api_key` on `response` and drops the log-in token."""
    _set_cookie(response, request, SESSION_COOKIE, api_key.strip())
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)


def end(response: Response) -> None:
    """Removes the session cookie (log out, or a key that stopped working)."""
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def new_login_token() -> str:
    """A fresh token for a log-in form (see `remember_login_token`)."""
    return secrets.token_urlsafe(24)


def remember_login_token(response: Response, request: Request, token: str) -> None:
    """Sets `token`, which the log-in form on `response` carries, as the log-in cookie."""
    _set_cookie(response, request, LOGIN_COOKIE, token)


def check_login_token(request: Request, token: str) -> None:
    """Refuses a log-in form whose token is not the one its page set in the cookie.

    Raises:
        PermissionDeniedError: no cookie (the page was not ours, or cookies are off) or a
            different token (`csrf_invalid`).
    """
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not hmac.compare_digest(expected, token):
        raise PermissionDeniedError(
            "this log-in form did not come from the log-in page, or cookies are blocked; "
            "open the log-in page again (and allow cookies for this site)",
            code="csrf_invalid",
        )


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
