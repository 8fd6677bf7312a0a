"""The middleware that writes the audit trail (`kpchain.audit`): every request that may change
something (POST, PUT, PATCH, DELETE) under /v1 and /dashboard, whatever route serves it (or
none), refused ones included.

Once a request was answered (its status known, and what it taught on the way: the key, the
subject, the error code; `kpchain.audit.trail`), its record is handed to the trail's writing
thread, which writes the records that arrive together in one short transaction: no statement
on the request's own path. A write that reaches the Writer has opened its record already, in
the transaction that records the write (so that a write whose process dies still leaves it);
a write whose record cannot be opened is not carried out (500 `audit_unavailable`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kpchain.api.asgi import StatusRecorder
from kpchain.api.errors import error_response
from kpchain.audit.trail import AuditTrail, Entry, done, serving
from kpchain.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""The methods that may change something (the others are safe, and not recorded)."""
AUDITED_PREFIXES = ("/v1/", "/dashboard")


def audited(method: str, path: str) -> bool:
    """Whether a request of `method` on `path` is recorded."""
    return method in AUDITED_METHODS and (path.startswith(AUDITED_PREFIXES) or path == "/v1")


class AuditMiddleware:
    """Records each audited request (see the module). Plain ASGI, in the request's own task,
    so the entry it makes current is the one the dependencies and error handlers note on.

    Args:
        app: the application behind it.
        state: the application's state, whose `audit` (an `AuditTrail`) the lifespan sets.
        session_cookie: the name of the dashboard's session cookie, whose session names the
            key of a form post.
    """

    def __init__(self, app: ASGIApp, *, state: Any, session_cookie: str) -> None:
        self.app = app
        self.state = state
        self.session_cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not audited(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        trail: AuditTrail | None = getattr(self.state, "audit", None)
        if trail is None:  # the lifespan has not run: nothing is carried out unrecorded
            refusal = ServiceError(
                "the audit trail is not open, so this request was not carried out",
                code=ErrorCode.AUDIT_UNAVAILABLE,
            )
            await error_response(Request(scope), refusal)(scope, receive, send)
            return
        entry = _entry(scope, self.session_cookie)
        observe = StatusRecorder(send)

        token = serving(entry)
        try:
            await self.app(scope, receive, observe)
        except BaseException:
            # Answered (500) by the server's error middleware, outside this one.
            entry.error_code = entry.error_code or ErrorCode.INTERNAL_ERROR
            raise
        finally:
            done(token)
            # Handed to the trail's writing thread: the connection is free for its next
            # request at once, and what arrives together is written together.
            trail.submit(entry, status=observe.status, path_params=_params(scope))


def _entry(scope: Scope, session_cookie: str) -> Entry:
    key_id = idempotency_key = request_id = session_hash = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            key_id = _claimed_key_id(value)
        elif name == b"cookie":
            session_hash = _session_hash(value, session_cookie) or session_hash
        elif name == b"idempotency-key":
            idempotency_key = value.decode("latin-1")
        elif name == b"x-request-id":
            request_id = value.decode("latin-1")
    client = scope.get("client")
    return Entry(
        at=datetime.now(UTC),
        method=scope["method"],
        path=scope["path"],
        client=str(client[0]) if client else None,
        idempotency_key=idempotency_key,
        request_id=request_id,
        key_id=key_id,
        session_hash=session_hash,
    )


def _claimed_key_id(header: bytes) -> str | None:
    """The key id a bearer token `kp_<id>_<secret>` claims (its public part), if it has one."""
    scheme, _, token = header.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    prefix, _, rest = token.strip().partition("_")
    key_id, _, _ = rest.partition("_")
    return key_id[:16] or None if prefix == "kp" else None


def _session_hash(header: bytes, cookie: str) -> str | None:
    """The SHA-256 of the dashboard session token a Cookie header carries (the service keeps
    its sessions by that hash), if it carries one."""
    for pair in header.decode("latin-1").split(";"):
        name, _, value = pair.strip().partition("=")
        if name == cookie and value:
            return hashlib.sha256(value.strip('"').encode()).hexdigest()
    return None


def _params(scope: Scope) -> dict[str, Any] | None:
    params = scope.get("path_params")
    return dict(params) if params else None
