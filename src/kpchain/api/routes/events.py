"""`GET /v1/events`: a server-sent event stream of what happens to the caller's certificates.

An importing authority hears `certificate.shipped` (the advance notice) the moment the index
sees it; an exporting authority hears `certificate.received` and `certificate.rejected`. Each
event's `id` is the index's feed id: a client that reconnects with `Last-Event-ID` (browsers'
EventSource does it on its own) gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from kpchain.api.deps import AuthorityDep, ReaderDep
from kpchain.service import views
from kpchain.service.authority import AuthorityService
from kpchain.service.keys import Principal

router = APIRouter(tags=["events"])

POLL_SECONDS = 0.5
MAX_EVENT_ID = 2**63 - 1
"""Feed ids are BIGINTs: a larger resume point is refused before it reaches the database."""
HEARTBEAT_SECONDS = 15.0


@router.get(
    "/v1/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    principal: ReaderDep,
    authority: AuthorityDep,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID)
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="Feed id to start after.")
    ] = None,
    follow: Annotated[bool, Query(description="Keep the stream open for new events.")] = True,
) -> StreamingResponse:
    """The caller's certificate events as `text/event-stream`, oldest first.

    Without `follow`, the stream ends after the events already indexed (for polling clients).
    """
    start = last_event_id if last_event_id is not None else (after or 0)
    return StreamingResponse(
        _stream(authority, principal, start, follow=follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    authority: AuthorityService, principal: Principal, after: int, *, follow: bool
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    idle = 0.0
    while True:
        batch: list[dict[str, Any]] = await run_in_threadpool(
            authority.events_after, principal, after_id=after, limit=200
        )
        for event in batch:
            after = int(event["id"])
            name = views.event_name(str(event["event"]))
            if name is None:
                continue
            data = json.dumps(event, separators=(",", ":"))
            yield f"id: {after}\nevent: {name}\ndata: {data}\n\n"
        if batch:
            idle = 0.0
            continue
        if not follow:
            return
        await asyncio.sleep(POLL_SECONDS)
        idle += POLL_SECONDS
        if idle >= HEARTBEAT_SECONDS:
            idle = 0.0
            yield ": keep-alive\n\n"
