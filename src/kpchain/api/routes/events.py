"""`GET /v1/events`: a server-sent event stream of what happens to the caller's certificates.

An importing authority hears `certificate.shipped` (the advance notice) the moment the index
sees it; an exporting authority hears `certificate.received` and `certificate.rejected`. Each
event's `id` is the index's feed id: a client that reconnects with `Last-Event-ID` (browsers'
EventSource does it on its own) gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from kpchain.api.deps import AuthorityDep, ReaderDep, RuntimeDep
from kpchain.api.schemas import error_responses
from kpchain.errors import AuthenticationError, ErrorCode, TooManyRequestsError
from kpchain.runtime import Runtime
from kpchain.service import views
from kpchain.service.authority import AuthorityService
from kpchain.service.keys import Principal, require_live

router = APIRouter(tags=["events"])

POLL_SECONDS = 0.5
MAX_EVENT_ID = 2**63 - 1
"""Feed ids are BIGINTs: a larger resume point is refused before it reaches the database."""
HEARTBEAT_SECONDS = 15.0
STREAM_ERROR = "error"
"""The event that ends a stream whose key stopped being valid."""

# One event of the stream (OpenAPI 3.1 describes a text/event-stream by its events).
_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": [*views.EVENT_NAMES, STREAM_ERROR]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The event as JSON (an `error` event: its code and message).",
        },
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "Its feed id."},
        "retry": {"type": "integer"},
    },
}


class StreamSlot:
    """One open stream's place in `OpenStreams`: its generator holds it."""


class OpenStreams:
    """The event streams open in this process, by API key, each key at most `limit` at once.

    A stream holds its `StreamSlot`, which `OpenStreams` holds only weakly: the slot is freed
    when the stream ends (its client went away, its key was revoked, a polling stream ran out)
    and also when a response that never started streaming is dropped, so no way out of a stream
    leaks its place.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._by_key: dict[str, weakref.WeakSet[StreamSlot]] = {}

    def acquire(self, key_id: str) -> StreamSlot:
        """A slot for one more stream of `key_id`.

        Raises:
            TooManyRequestsError: the key has `limit` streams open already.
        """
        with self._lock:
            slots = self._by_key.setdefault(key_id, weakref.WeakSet())
            if len(slots) >= self.limit:
                raise TooManyRequestsError(
                    f"this API key has {self.limit} event streams open, as many as it may; "
                    "close one (or resume it with Last-Event-ID) before opening another",
                    code=ErrorCode.TOO_MANY_STREAMS,
                    detail={"limit": self.limit},
                )
            slot = StreamSlot()
            slots.add(slot)
            return slot

    def release(self, key_id: str, slot: StreamSlot) -> None:
        with self._lock:
            slots = self._by_key.get(key_id)
            if slots is not None:
                slots.discard(slot)
                if not slots:
                    del self._by_key[key_id]

    def count(self, key_id: str) -> int:
        """How many streams `key_id` has open."""
        with self._lock:
            return len(self._by_key.get(key_id, ()))


@router.get(
    "/v1/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
            "description": "Server-sent events: `id`, `event` (certificate.shipped, …), "
            "`data` (the event as JSON).",
        },
        **error_responses(401, 403, 422, 429),
    },
)
async def events(
    request: Request,
    principal: ReaderDep,
    authority: AuthorityDep,
    runtime: RuntimeDep,
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
    The key is checked again at every poll: a revoked key's stream ends with an `error` event.
    One key holds at most `KPCHAIN_MAX_STREAMS_PER_KEY` streams at once (429 beyond).
    """
    start = last_event_id if last_event_id is not None else (after or 0)
    streams: OpenStreams = request.app.state.streams
    slot = streams.acquire(principal.key_id)
    return StreamingResponse(
        _stream(
            runtime,
            authority,
            principal,
            start,
            follow=follow,
            release=partial(streams.release, principal.key_id, slot),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    runtime: Runtime,
    authority: AuthorityService,
    principal: Principal,
    after: int,
    *,
    follow: bool,
    release: Callable[[], None],
) -> AsyncIterator[str]:
    # `release` holds the stream's slot: see OpenStreams.
    try:
        yield "retry: 2000\n\n"
        idle = 0.0
        while True:
            try:
                batch = await run_in_threadpool(_poll, runtime, authority, principal, after)
            except AuthenticationError as exc:
                error = {"code": exc.code, "message": exc.message}
                data = json.dumps(error, separators=(",", ":"))
                yield f"event: {STREAM_ERROR}\ndata: {data}\n\n"
                return
            for event in batch:
                after = event.id
                name = views.event_name(event.event)
                if name is None:
                    continue
                data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
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
    finally:
        release()


def _poll(
    runtime: Runtime, authority: AuthorityService, principal: Principal, after: int
) -> list[views.EventView]:
    """The next events of the stream, once its key is known to be still valid."""
    with runtime.sessions() as session:
        require_live(session, principal)
    return authority.events_after(principal, after_id=after, limit=200)
