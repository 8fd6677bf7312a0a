"""What the API's plain ASGI middlewares share."""

from __future__ import annotations

from starlette.types import Message, Send


class StatusRecorder:
    """An ASGI `send` that passes every message on and notes the response's status.

    `status` is 500 until the response starts: a request whose app raised before answering is
    answered 500 by the server's error middleware, outside the one that records.
    """

    __slots__ = ("_send", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)
