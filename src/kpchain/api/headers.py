"""Response headers every answer of the service gets, whatever route made it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=63072000; includeSubDomains"
"""Two years, as hstspreload.org asks: a browser that reached the service over https never tries
plain http for it again, so a session cookie cannot be caught on a downgraded connection."""


class HstsMiddleware:
    """Adds `Strict-Transport-Security` to every response served over https (directly, or
    behind a proxy whose `X-Forwarded-Proto` uvicorn trusts). Over plain http the header means
    nothing to a browser, so it is left out there (the devnet, on loopback)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_hsts)
