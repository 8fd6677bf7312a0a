"""Request bodies are capped before anything parses them.

FastAPI reads and parses a body (JSON or a form) before the route's dependencies run, so before
the caller is authenticated: without a cap, one anonymous POST of 20 MB costs the process five
times that in memory. `BodyLimitMiddleware` refuses a body larger than its path's limit with 413,
before the application sees it: at once when `Content-Length` announces it, and as soon as the
limit is passed when the body comes in chunks without a length (it then holds at most the limit
in memory, and hands the body on only once it is complete).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kpchain.api.errors import error_response
from kpchain.errors import ErrorCode, PayloadTooLargeError

MIB = 2**20


class BodyLimitMiddleware:
    """Refuses request bodies over `default` bytes, or over `overrides[path]` for those paths.

    Args:
        app: the application behind it.
        default: the limit of every path without an override.
        overrides: exact paths with a limit of their own (the batch endpoint's is larger).
    """

    def __init__(self, app: ASGIApp, *, default: int, overrides: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.overrides = dict(overrides)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await self._refuse(scope, receive, send, limit)
                return
            # The server frames the body by its Content-Length: no more than that arrives.
            await self.app(scope, receive, send)
            return
        if not _has_body(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                messages.append(message)
                break
            received += len(message.get("body", b""))
            if received > limit:
                await self._refuse(scope, receive, send, limit)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request = Request(scope, receive)
        error = PayloadTooLargeError(
            f"the request body is larger than the {limit:,} bytes this path accepts",
            code=ErrorCode.PAYLOAD_TOO_LARGE,
            detail={"limit_bytes": limit},
        )
        response = error_response(request, error)
        # The unread rest of the body is not wanted: close the connection after answering.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we get here
    return None


def _has_body(scope: Scope) -> bool:
    """Whether a body may follow: chunked, with no Content-Length."""
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope["headers"]
    )
