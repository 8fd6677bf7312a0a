"""Webhooks against real parts: the service core on anvil and SQLite, and a real HTTP receiver
on 127.0.0.1 that can refuse deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import ShipRequest
from kpchain.errors import ConfigError
from kpchain.runtime import Runtime
from kpchain.service.keys import Principal
from kpchain.service.webhooks import WebhookDispatcher, WebhooksConfig

SECRET = "webhook-test-secret"
BW = Principal(key_id="test", participant="BW", role="officer")


class Receiver:
    """An HTTP endpoint that records what it is sent and answers `status` (settable)."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [headers["X-Kpchain-Event"] for headers, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


@pytest.fixture
def dispatcher(
    runtime: Runtime, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> WebhookDispatcher:
    monkeypatch.setenv("KPCHAIN_AE_WEBHOOK_SECRET", SECRET)
    return WebhookDispatcher(runtime.sessions, _config(receiver))


def _issue_and_ship(runtime: Runtime, cert_no: str) -> None:
    today = datetime.now(UTC).date()
    doc = CertificateDocument.model_validate(
        document(cert_no, expires_at=(today + timedelta(days=30)).isoformat())
    )
    runtime.authority.issue(BW, doc, idempotency_key=None)
    runtime.authority.ship(BW, cert_no, ShipRequest(seal_ref="S-1"), idempotency_key=None)


def test_webhook_delivers_importer_events_signed_and_in_order_when_receiver_accepts(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    assert dispatcher.deliver() == 0  # a new webhook starts after what exists now
    _issue_and_ship(runtime, "BW-2026-000100")

    assert dispatcher.deliver() == 2

    assert receiver.events() == ["certificate.issued", "certificate.shipped"]
    ids = [int(headers["X-Kpchain-Delivery"]) for headers, _ in receiver.received]
    assert ids == sorted(ids)
    for headers, body in receiver.received:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Kpchain-Signature"] == f"sha256={expected}"
        payload = json.loads(body)
        assert payload["event"] == headers["X-Kpchain-Event"]
        assert payload["data"]["cert_no"] == "BW-2026-000100"
        assert payload["data"]["importing_participant"] == "AE"


def test_webhook_redelivers_after_refusal_and_resumes_after_restart_when_cursor_stored(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    dispatcher.deliver()
    _issue_and_ship(runtime, "BW-2026-000101")
    receiver.status = 503

    assert dispatcher.deliver() == 0  # refused: nothing counts as delivered
    receiver.status = 200
    wait_until(lambda: dispatcher.deliver() == 2, timeout=10, what="the retry after backoff")
    restarted = WebhookDispatcher(runtime.sessions, _config(receiver))

    assert restarted.deliver() == 0  # the stored cursor: nothing is sent twice
    assert receiver.events() == [
        "certificate.issued",  # refused with 503
        "certificate.issued",
        "certificate.shipped",
    ]


def test_webhooks_config_raises_config_error_when_file_invalid(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text("participants:\n  AE: {url: not-a-url}\n")

    with pytest.raises(ConfigError, match=r"participants\.AE\.url"):
        WebhooksConfig.load(path)


def test_webhooks_config_reads_norways_code_as_a_code_when_yaml(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text("participants:\n  NO: {url: 'https://kp.no.example/hook'}\n")

    assert list(WebhooksConfig.load(path).participants) == ["NO"]  # not False (YAML 1.1)


def _config(receiver: Receiver) -> WebhooksConfig:
    return WebhooksConfig.model_validate(
        {"participants": {"AE": {"url": receiver.url, "secret_env": "KPCHAIN_AE_WEBHOOK_SECRET"}}}
    )
