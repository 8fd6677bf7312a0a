"""The audit trail (`kpchain.audit`), for the participant's auditors: every request that changed,
or tried to change, anything, as JSON pages and as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from kpchain.api.deps import RuntimeDep, require
from kpchain.api.schemas import error_responses
from kpchain.audit.queries import MAX_PAGE, page, records_csv, time_range
from kpchain.audit.trail import AuditTrail
from kpchain.audit.views import AuditPage
from kpchain.service.keys import Principal
from kpchain.vocabulary import Role

router = APIRouter(prefix="/v1", tags=["audit"])

AuditorDep = Annotated[Principal, Depends(require(Role.AUDITOR))]

From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="From this ISO date (`2026-01-01`, from its start) or datetime "
        "(`2026-01-01T08:00:00Z`; UTC without a zone), included. Default: the oldest record.",
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="Up to this ISO date (`2026-01-31`: that whole day included) or datetime "
        "(excluded). Default: now. Before `from`: 422 `audit_range_invalid`.",
    ),
]


@router.get("/audit", response_model=AuditPage, responses=error_responses(401, 403, 422))
def get_audit(
    request: Request,
    principal: AuditorDep,
    runtime: RuntimeDep,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    """The participant's audit trail, oldest first: each request that changed or tried to
    change anything (refused ones included), with who (key id, role, label), when, from which
    address, what (method, path, subject, Idempotency-Key) and how it ended."""
    bounds = time_range(start, end)
    _flushed(request)
    with runtime.sessions() as session:
        return page(
            session, participant=principal.participant, bounds=bounds, limit=limit, cursor=cursor
        )


@router.get(
    "/audit.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "A header row, then one row per record, oldest first.",
        },
        **error_responses(401, 403, 422),
    },
)
def get_audit_csv(
    request: Request,
    principal: AuditorDep,
    runtime: RuntimeDep,
    start: From = None,
    end: To = None,
) -> Response:
    """The records `GET /v1/audit` lists, as CSV."""
    bounds = time_range(start, end)
    _flushed(request)
    with runtime.sessions() as session:
        content = records_csv(session, participant=principal.participant, bounds=bounds)
    name = "-".join(part for part in ("kp-audit", principal.participant, start, end) if part)
    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in name)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


def _flushed(request: Request) -> None:
    """Waits for this process's trail to write what it was handed: a reader sees every
    request answered before its own."""
    trail: AuditTrail | None = getattr(request.app.state, "audit", None)
    if trail is not None:
        trail.flush()
