"""API keys: ``kp_<id>_<secret>``, stored as the id and the SHA-256 of the secret.

Each key belongs to one participant and one role. Roles (DESIGN.md section 4): ``clerk`` and
``auditor`` read; ``officer`` signs and submits the participant's operations; ``admin`` acts as
the participant's admin (its seat in governance: proposals and votes, its authority keys, its
exchange endpoint); ``governor`` belongs to no participant and only reads (every certificate's
view, the registry, the proposals), as the KP Chair and Secretariat do: no key governs the
registry, which changes only by proposals the participants' admins pass (/v1/governance).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from kpchain.audit.trail import note_key
from kpchain.errors import (
    AuthenticationError,
    ErrorCode,
    InvalidRequestError,
    PermissionDeniedError,
)
from kpchain.service.tables import ApiKey, DashboardSession
from kpchain.store import WRITE
from kpchain.vocabulary import PARTICIPANT_CODE_PATTERN, Role

ROLES: tuple[Role, ...] = tuple(Role)
_CODE = re.compile(PARTICIPANT_CODE_PATTERN)
_PREFIX = "kp"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the key's id, its participant (None for governors) and role, and
    the key's label (who holds it, for the audit trail)."""

    key_id: str
    participant: str | None
    role: Role
    label: str | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: `token` is shown once and never stored."""

    token: str
    principal: Principal


def create_key(
    session: Session, *, participant: str | None, role: str, label: str | None = None
) -> IssuedKey:
    """Creates and stores a new API key; the caller commits.

    Raises:
        InvalidRequestError: unknown role, or a participant given for a governor (or missing
            for any other role).
    """
    if role not in ROLES:
        raise InvalidRequestError(
            f"unknown role {role!r}; choose one of {', '.join(ROLES)}", code=ErrorCode.ROLE_INVALID
        )
    if role == "governor" and participant is not None:
        raise InvalidRequestError(
            "a governor key belongs to no participant; leave --participant out",
            code=ErrorCode.PARTICIPANT_NOT_ALLOWED,
        )
    if role != "governor" and (participant is None or not _is_code(participant)):
        raise InvalidRequestError(
            f"a {role} key needs a participant code of two capital letters (e.g. BW)",
            code=ErrorCode.PARTICIPANT_REQUIRED,
        )
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            id=key_id,
            secret_hash=_digest(secret),
            participant=participant,
            role=role,
            label=label,
            created_at=datetime.now(UTC),
        )
    )
    principal = Principal(key_id=key_id, participant=participant, role=Role(role), label=label)
    return IssuedKey(token=f"{_PREFIX}_{key_id}_{secret}", principal=principal)


def authenticate(session: Session, token: str) -> Principal:
    """The principal of `token`.

    Raises:
        AuthenticationError: malformed, unknown or revoked key (one message for all: a caller
            guessing keys learns nothing).
    """
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    row = (
        session.execute(_KEY, {"key_id": key_id}).first()
        if prefix == _PREFIX and key_id and secret
        else None
    )
    if row is not None:
        # Before the checks: a revoked key, or a wrong secret for a real key, is an attempt in
        # that key's participant's audit trail.
        note_key(row.id, participant=row.participant, role=row.role, label=row.label)
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("the API key is not valid", code=ErrorCode.API_KEY_INVALID)
    if not hmac.compare_digest(row.secret_hash, _digest(secret)):
        raise AuthenticationError("the API key is not valid", code=ErrorCode.API_KEY_INVALID)
    return Principal(
        key_id=row.id, participant=row.participant, role=Role(row.role), label=row.label
    )


_KEY = select(
    ApiKey.id, ApiKey.secret_hash, ApiKey.participant, ApiKey.role, ApiKey.label, ApiKey.revoked_at
).where(ApiKey.id == bindparam("key_id"))
"""What `authenticate` reads of a key: every request runs it, and a Core read of the row costs
about a third of the ORM's load of it."""


def require_live(session: Session, principal: Principal) -> None:
    """Checks again that `principal`'s key exists and is not revoked (a long-lived request,
    such as an event stream, checks at every step rather than only when it began).

    Raises:
        AuthenticationError: the key was revoked (or deleted) since.
    """
    row = session.get(ApiKey, principal.key_id)
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("the API key is not valid", code=ErrorCode.API_KEY_INVALID)


def require_participant(principal: Principal, code: str, *, doing: str) -> None:
    """Refuses a key that is not participant `code`'s (a route that checked its role already:
    an admin key of `code` manages what is `code`'s only).

    Args:
        doing: what the key's role does for `code`, for the message ("registers BW's endpoint").

    Raises:
        PermissionDeniedError: the key is another participant's, or a governor's
            (participant_mismatch).
    """
    if principal.participant != code:
        raise PermissionDeniedError(
            f"only {code}'s {principal.role} key {doing}; this key is "
            f"{principal.participant or 'a governor'}'s",
            code=ErrorCode.PARTICIPANT_MISMATCH,
            detail={"participant": principal.participant, "required": code},
        )


def revoke_key(session: Session, key_id: str) -> bool:
    """Revokes a key by id, and ends its dashboard sessions; False when there is no such live
    key. The caller commits.

    It reads the key, then writes it: on SQLite the session's transaction must begin as a
    write (`WRITE`), or a commit of the running service in between (its audit trail's thread
    writes after every request) fails it at once with "database is locked". So `session` must
    not have begun a transaction yet.
    """
    session.connection(execution_options=WRITE)
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    session.execute(delete(DashboardSession).where(DashboardSession.key_id == key_id))
    return True


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (ids and scopes only: secrets are not stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _is_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None
