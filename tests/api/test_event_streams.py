"""Live event streams (`GET /v1/events`, following) on a real uvicorn: a revoked key's stream
ends, and one key cannot hold more than its share of streams."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.service.keys import revoke_key
from kpchain.store import create_engine, session_factory
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess

pytestmark = pytest.mark.anvil

STREAMS_PER_KEY = 2


@dataclass
class Served:
    service: ServiceProcess
    keys: dict[str, dict[str, str]]
    database_url: str

    def stream(self, stack: contextlib.ExitStack, token: str) -> httpx.Response:
        """Opens a following stream with `token`, kept open until `stack` closes."""
        client = stack.enter_context(httpx.Client(base_url=self.service.url, timeout=30))
        return stack.enter_context(
            client.stream("GET", "/v1/events", headers={"Authorization": f"Bearer {token}"})
        )

    def revoke(self, token: str) -> None:
        engine = create_engine(self.database_url)
        with session_factory(engine)() as session:
            assert revoke_key(session, token.split("_")[1])
            session.commit()
        engine.dispose()


@pytest.fixture
def served(tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str) -> Iterator[Served]:
    settings = service_settings(
        tmp_path, anvil.rpc_url, seeded, sqlite_url, max_streams_per_key=STREAMS_PER_KEY
    )
    _, keys = create_keys(sqlite_url)
    service = ServiceProcess(settings, tmp_path).start()
    try:
        yield Served(service, keys, sqlite_url)
    finally:
        service.stop()


def _frames(response: httpx.Response) -> Iterator[dict[str, str]]:
    """The stream's server-sent event frames, as field -> value."""
    frame: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if frame:
                yield frame
            frame = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        frame[name] = value.strip()


def test_stream_of_a_revoked_key_ends_with_an_error_and_delivers_nothing_after(
    served: Served,
) -> None:
    clerk = served.keys["AE"]["clerk"]
    with contextlib.ExitStack() as stack:
        stream = served.stream(stack, clerk)
        assert stream.status_code == 200
        frames = _frames(stream)
        assert next(frames) == {"retry": "2000"}

        served.revoke(clerk)
        with httpx.Client(base_url=served.service.url, timeout=60) as client:
            issued = client.post(
                "/v1/certificates",
                json=document("BW-2026-000777"),
                headers={"Authorization": f"Bearer {served.keys['BW']['officer']}"},
            )
        assert issued.status_code == 201, issued.text

        rest = list(frames)  # the stream ends: iterating stops

    assert rest == [
        {
            "event": "error",
            "data": '{"code":"api_key_invalid","message":"the API key is not valid"}',
        }
    ]


def test_one_key_holds_at_most_its_streams_and_a_closed_one_frees_its_place(
    served: Served,
) -> None:
    auditor = served.keys["BW"]["auditor"]
    with contextlib.ExitStack() as stack:
        opened = [served.stream(stack, auditor) for _ in range(STREAMS_PER_KEY)]
        assert [response.status_code for response in opened] == [200] * STREAMS_PER_KEY
        with contextlib.ExitStack() as extra:
            refused = served.stream(extra, auditor)
            assert refused.status_code == 429
            refused.read()
            assert refused.json()["error"]["code"] == "too_many_streams"
            assert refused.headers["retry-after"]
        with contextlib.ExitStack() as other:
            assert served.stream(other, served.keys["BW"]["clerk"]).status_code == 200

    # Once the client closes them, their places are free again (the server notices the
    # disconnect at its next write or poll).
    def reopened() -> bool:
        with contextlib.ExitStack() as stack:
            return all(
                served.stream(stack, auditor).status_code == 200 for _ in range(STREAMS_PER_KEY)
            )

    wait_until(reopened, timeout=10, what="the closed streams' places to be free")
