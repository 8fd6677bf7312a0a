"""Webhooks: the event feed of `GET /v1/events`, pushed to a participant's own system.

Configured by a file (`KPCHAIN_WEBHOOKS_FILE`, YAML or JSON)::

    participants:
      AE: {url: "https://customs.ae.example/kp-hook", secret_env: KPCHAIN_AE_WEBHOOK_SECRET}
      EU: {url: "https://kp.ec.example/events"}

Each event is POSTed as JSON ``{"id", "event", "data"}`` with the headers ``X-Kpchain-Event``,
``X-Kpchain-Delivery`` (the feed id, stable across retries: the receiver's deduplication key)
and, when a secret is configured, ``X-Kpchain-Signature: sha256=<HMAC-SHA256 of the body>``.

Delivery is at least once and in order, per participant: the cursor (the last feed id the
receiver answered 2xx to) is stored in the database, so a restart resumes where it stopped; a
failing receiver is retried with exponential backoff and holds back later events rather than
receive them out of order. A newly configured webhook starts with the events after it was
configured, not the whole history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.configfile import ConfigFile
from kpchain.errors import ConfigError
from kpchain.indexer import queries
from kpchain.indexer.tables import Event
from kpchain.service import views
from kpchain.service.tables import WebhookCursor
from kpchain.store import WRITE

logger = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
BATCH = 100


class WebhookSpec(BaseModel):
    """Where one participant's events go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    secret_env: str | None = Field(
        default=None, description="The environment variable holding the HMAC secret."
    )
    timeout: float = Field(default=10.0, gt=0)

    def secret(self) -> bytes | None:
        if self.secret_env is None:
            return None
        value = os.environ.get(self.secret_env)
        if not value:
            raise ConfigError(f"webhook secret variable {self.secret_env} is not set")
        return value.encode()


class WebhooksConfig(BaseModel):
    """The webhooks file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    participants: dict[str, WebhookSpec] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> WebhooksConfig:
        """Reads and validates `path`.

        Raises:
            ConfigFileError: unreadable, or not in the documented shape (the message gives the
                line).
        """
        return ConfigFile.read(path, what="webhooks file").validate(cls, headline="is invalid")


@dataclass
class _Target:
    participant: str
    spec: WebhookSpec
    secret: bytes | None
    failures: int = 0
    retry_at: float = 0.0


class WebhookDispatcher:
    """Pushes each configured participant's feed to its URL; see the module docstring."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: WebhooksConfig,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self._sessions = sessions
        self._targets = [
            _Target(code, spec, spec.secret()) for code, spec in config.participants.items()
        ]
        self._http = http or httpx.Client()

    def deliver(self) -> int:
        """One pass: sends what each due participant has not received yet; returns how many
        events were delivered."""
        delivered = 0
        for target in self._targets:
            if time.monotonic() < target.retry_at:
                continue
            delivered += self._deliver_to(target)
        return delivered

    def run(self, stop: threading.Event, *, interval: float) -> None:
        """Calls `deliver` until `stop` is set."""
        while not stop.is_set():
            try:
                if self.deliver() == 0:
                    stop.wait(interval)
            except Exception:  # the loop must outlive any single failure
                logger.exception("webhook pass failed")
                stop.wait(interval)
        self._http.close()

    def _deliver_to(self, target: _Target) -> int:
        cursor = self._cursor(target.participant)
        with self._sessions() as session:
            events = [
                views.event_view(row).model_dump(mode="json")
                for row in queries.events_after(
                    session, participant=target.participant, after_id=cursor, limit=BATCH
                )
            ]
        delivered = 0
        for event in events:
            name = views.event_name(str(event["event"]))
            if name is not None and not self._post(target, name, event):
                return delivered
            self._advance(target.participant, int(event["id"]))
            delivered += 1
        return delivered

    def _post(self, target: _Target, name: str, event: dict[str, Any]) -> bool:
        body = json.dumps(
            {"id": event["id"], "event": name, "data": event}, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Kpchain-Event": name,
            "X-Kpchain-Delivery": str(event["id"]),
        }
        if target.secret is not None:
            digest = hmac.new(target.secret, body, hashlib.sha256).hexdigest()
            headers["X-Kpchain-Signature"] = f"sha256={digest}"
        try:
            response = self._http.post(
                str(target.spec.url), content=body, headers=headers, timeout=target.spec.timeout
            )
            ok = response.is_success
            problem = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, problem = False, type(exc).__name__
        if ok:
            target.failures = 0
            return True
        target.failures += 1
        backoff = min(2.0 ** (target.failures - 1), MAX_BACKOFF)
        target.retry_at = time.monotonic() + backoff
        logger.warning(
            "webhook of %s refused event %s (%s); retrying in %.0fs",
            target.participant,
            event["id"],
            problem,
            backoff,
        )
        return False

    def _cursor(self, participant: str) -> int:
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            row = session.get(WebhookCursor, participant)
            if row is None:
                # Start after what exists now: a new webhook gets new events, not the history.
                latest = session.scalar(select(func.max(Event.id))) or 0
                row = WebhookCursor(
                    participant=participant, last_event_id=latest, updated_at=datetime.now(UTC)
                )
                session.add(row)
                session.commit()
            return row.last_event_id

    def _advance(self, participant: str, event_id: int) -> None:
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            row = session.get_one(WebhookCursor, participant)
            row.last_event_id = event_id
            row.updated_at = datetime.now(UTC)
            session.commit()
