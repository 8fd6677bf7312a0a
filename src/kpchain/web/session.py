"""The dashboard's log-in: a random session token in a cookie, a session row on the server,
and the anti-forgery tokens of its forms.

Logging in with an API key opens a session: the cookie holds a random 256-bit token, and the
service keeps only its SHA-256 with the key's id and the session's times
(`kpchain.service.tables.DashboardSession`). The API key itself never leaves the log-in form.
Every request checks the session again: it ends at log-out, when its key is revoked, after
`KPCHAIN_DASHBOARD_IDLE_MINUTES` without a request and `KPCHAIN_DASHBOARD_SESSION_HOURS` after
log-in. The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
it), and Secure everywhere but in development (where the devnet serves plain http on loopback).

Every form that changes something carries a token derived from the session's token
(HMAC-SHA-256 with a purpose string). Only a page the service rendered for this session can know
it, so a form posted from elsewhere is refused even by a browser that ignores SameSite. The
log-in form, which has no session yet, is protected the same way by a random token that its
page also sets as a SameSite=Strict cookie (a cross-site page can neither read nor send it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import delete
from sqlalchemy.orm import Session

from kpchain.api.deps import RuntimeDep
from kpchain.audit.trail import note_key
from kpchain.errors import AuthenticationError, ErrorCode, PermissionDeniedError
from kpchain.i18n import mark
from kpchain.runtime import Runtime
from kpchain.service.keys import Principal, authenticate
from kpchain.service.tables import ApiKey, DashboardSession
from kpchain.store import WRITE, begin_write
from kpchain.vocabulary import Role

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
                mark(
                    "this form did not come from your dashboard page (or your session changed); "
                    "open the dashboard again and resubmit"
                ),
                code=ErrorCode.CSRF_INVALID,
            )


# A session's last request is written back at most this often: reading a page is not a write.
_TOUCH_SECONDS = 60


def form_token(session_token: str) -> str:
    """The anti-forgery token of the forms of the session of `session_token`."""
    return hmac.new(session_token.encode(), _FORM_PURPOSE, hashlib.sha256).hexdigest()


def log_in(runtime: Runtime, api_key: str) -> tuple[str, Principal]:
    """Opens a dashboard session for `api_key`; returns the session's token (for the cookie)
    and the principal.

    Raises:
        AuthenticationError: the key is unknown, malformed or revoked.
        PermissionDeniedError: a governor key, which acts for no participant.
    """
    now = int(time.time())
    token = secrets.token_urlsafe(32)
    with runtime.sessions() as session:
        principal = authenticate(session, api_key.strip())
        if principal.participant is None:
            raise PermissionDeniedError(
                mark(
                    "a governor key acts for no participant and has no dashboard; log in with a "
                    "participant's key"
                ),
                code=ErrorCode.PARTICIPANT_KEY_REQUIRED,
            )
        begin_write(session)
        # Housekeeping: sessions past their absolute lifetime can never be used again.
        session.execute(
            delete(DashboardSession).where(DashboardSession.created_at < now - _lifetime(runtime))
        )
        session.add(
            DashboardSession(
                token_hash=_digest(token),
                key_id=principal.key_id,
                created_at=now,
                last_seen_at=now,
            )
        )
        session.commit()
    return token, principal


def log_out(runtime: Runtime, request: Request) -> None:
    """Ends the session of `request`'s cookie, if it has one."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return
    with runtime.sessions() as session:
        session.connection(execution_options=WRITE)
        session.execute(
            delete(DashboardSession).where(DashboardSession.token_hash == _digest(token))
        )
        session.commit()


def page_session(request: Request, runtime: RuntimeDep) -> PageSession:
    """The logged-in session of `request`.

    Raises:
        AuthenticationError: no session cookie, or its session ended (logged out, idle or old
            too long, its key revoked); the pages answer this with a redirect to the log-in
            page.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AuthenticationError(
            mark("log in to see the dashboard"), code=ErrorCode.SESSION_MISSING
        )
    now = int(time.time())
    settings = runtime.settings
    with runtime.sessions() as session:
        row = session.get(DashboardSession, _digest(token))
        key = session.get(ApiKey, row.key_id) if row is not None else None
        if row is None or key is None:
            raise _ended()
        idle = now - row.last_seen_at > settings.dashboard_idle_minutes * 60
        if idle or now - row.created_at > _lifetime(runtime) or key.revoked_at is not None:
            _forget(session, row)
            raise _ended()
        if now - row.last_seen_at >= _TOUCH_SECONDS:
            begin_write(session)
            row.last_seen_at = now
            session.commit()
        principal = Principal(
            key_id=key.id, participant=key.participant, role=Role(key.role), label=key.label
        )
    note_key(key.id, participant=key.participant, role=key.role, label=key.label)
    return PageSession(principal, form_token(token))


def _lifetime(runtime: Runtime) -> int:
    return runtime.settings.dashboard_session_hours * 3600


def _forget(session: Session, row: DashboardSession) -> None:
    begin_write(session)
    session.delete(row)
    session.commit()


def _ended() -> AuthenticationError:
    return AuthenticationError(
        mark("your dashboard session has ended; log in again"), code=ErrorCode.SESSION_EXPIRED
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


SessionDep = Annotated[PageSession, Depends(page_session)]


async def checked_session(request: Request, session: SessionDep) -> PageSession:
    """The logged-in session of a form post whose anti-forgery token is right."""
    form = await request.form()
    session.check_form(form.get(CSRF_FIELD))
    return session


CheckedSessionDep = Annotated[PageSession, Depends(checked_session)]


def start(response: Response, request: Request, token: str) -> None:
    """Sets the cookie of the session `token` on `response` and drops the log-in token."""
    _set_cookie(response, request, SESSION_COOKIE, token)
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
            mark(
                "this log-in form did not come from the log-in page, or cookies are blocked; "
                "open the log-in page again (and allow cookies for this site)"
            ),
            code=ErrorCode.CSRF_INVALID,
        )


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    development = bool(request.app.state.settings.development)
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or not development,
    )
