"""Delivering: the outbox of the certificates this service issued, each one's signed document
sent to its importer's service until that service acknowledges it.

Crash-safe and at least once. A delivery is a row (`exchange_deliveries`), created once the
certificate is issued and indexed (its document held here, with the chain's docHash), and
committed before anything is sent; each attempt's outcome is committed after it. A process that
dies mid-attempt leaves the row as it was, and the next process tries again: the receiver
acknowledges a repeat without storing anything twice.

Each attempt reads the importer's endpoint and key from the index as they are then: an
importer that registers its endpoint late, or rotates its key, gets the document at its new
endpoint, sealed to its new key. A failed attempt is retried with exponential backoff (1 s,
2 s, 4 s … up to `max_backoff`), for as long as it takes; an importer without an endpoint is
waited for without counting attempts. `resend` puts a delivery back at the head of the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kpchain.chain.signer import Signer
from kpchain.errors import ErrorCode, KpchainError, NotFoundError
from kpchain.exchange.envelope import seal_envelope
from kpchain.exchange.tables import Delivery
from kpchain.indexer import queries
from kpchain.indexer.tables import Certificate
from kpchain.service import views as service_views
from kpchain.service.operations import Hosting
from kpchain.service.tables import Document
from kpchain.store import WRITE

logger = logging.getLogger(__name__)

ENVELOPES_PATH = "/v1/exchange/envelopes"
"""Where under a participant's registered endpoint its service takes envelopes."""
BATCH = 100
MIN_BACKOFF = 1.0

Locals = Callable[[], set[str]]
"""The participants hosted by this same service: their documents need no delivery."""


class Outbox:
    """The deliveries of this service's certificates; see the module docstring.

    Args:
        sessions: the service database.
        hosting: the senders of the hosted participants (an envelope is signed with the
            exporter's authority key, or its admin key when only that is hosted).
        hosted: the participants hosted here too (an importer among them reads the document
            this service holds: nothing is sent, and no delivery is recorded).
        chain_id: the chain's id (the EIP-712 domain of envelopes).
        registry: the registry's address.
        allow_http: deliver to http:// endpoints (development and tests only).
        max_backoff: the longest wait between two attempts, in seconds.
        timeout: seconds an attempt waits for the importer's service.
        http: the HTTP client (default: a new one).
        clock: the Unix time now.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        hosting: Hosting,
        hosted: Locals,
        chain_id: int,
        registry: str,
        allow_http: bool,
        max_backoff: float,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._hosting = hosting
        self._hosted = hosted
        self._chain_id = chain_id
        self._registry = registry
        self._allow_http = allow_http
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._http = http or httpx.Client(follow_redirects=False)
        self._clock = clock

    # --- the loop --------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, interval: float) -> None:
        """Enqueues and delivers until `stop` is set."""
        while not stop.is_set():
            try:
                self.enqueue()
                self.deliver()
            except Exception:  # the loop must outlive any single failure
                logger.exception("document delivery pass failed")
            stop.wait(interval)
        self._http.close()

    def enqueue(self) -> int:
        """Creates the deliveries of documents issued here whose certificates are indexed (with
        the same docHash), to importers not hosted here, that have none yet; returns how
        many."""
        hosted = self._hosted()
        with self._sessions() as session:
            found = session.execute(
                select(
                    Document.cert_no,
                    Document.doc_hash,
                    Certificate.exporting,
                    Certificate.importing,
                )
                .join(
                    Certificate,
                    and_(
                        Certificate.cert_no == Document.cert_no,
                        Certificate.doc_hash == Document.doc_hash,
                    ),
                )
                .outerjoin(Delivery, Delivery.cert_no == Document.cert_no)
                .where(Delivery.cert_no.is_(None), Certificate.importing.not_in(hosted))
                .limit(BATCH)
            ).all()
        created = 0
        for cert_no, doc_hash, exporting, importing in found:
            created += self._create(cert_no, doc_hash, exporting, importing)
        return created

    def deliver(self) -> int:
        """Attempts every delivery that is due; returns how many were delivered."""
        now = int(self._clock())
        with self._sessions() as session:
            due = list(
                session.scalars(
                    select(Delivery.cert_no)
                    .where(
                        Delivery.state.in_(("pending", "failed")), Delivery.next_attempt_at <= now
                    )
                    .order_by(Delivery.next_attempt_at, Delivery.cert_no)
                    .limit(BATCH)
                )
            )
        return sum(1 for cert_no in due if self.attempt(cert_no))

    # --- one delivery ----------------------------------------------------------------------

    def attempt(self, cert_no: str) -> bool:
        """Sends `cert_no`'s document once, and records the outcome; True when delivered."""
        now = int(self._clock())
        with self._sessions() as session:
            delivery = session.get(Delivery, cert_no)
            document = session.get(Document, cert_no)
            if delivery is None or document is None or delivery.state == "delivered":
                return False
            endpoint = queries.service_endpoint(session, delivery.recipient)
            signed = service_views.document_view(document).model_dump(mode="json")
            sender, recipient = delivery.sender, delivery.recipient
            url = None if endpoint is None else endpoint.url
            key = None if endpoint is None else endpoint.encryption_key
        if url is None or key is None:
            self._wait(
                cert_no,
                now,
                ErrorCode.ENDPOINT_MISSING,
                f"{recipient} has registered no service endpoint yet; the document is sent "
                "once it does",
            )
            return False
        problem = self._insecure(url)
        if problem is not None:
            self._failed(cert_no, now, url, key, ErrorCode.ENDPOINT_INSECURE, problem)
            return False
        try:
            envelope = seal_envelope(
                signed,
                sender=sender,
                recipient=recipient,
                recipient_key=key,
                signer=self._signer(sender),
                chain_id=self._chain_id,
                registry=self._registry,
                sent_at=now,
            )
        except ValueError:
            self._failed(
                cert_no,
                now,
                url,
                key,
                ErrorCode.ENCRYPTION_KEY_INVALID,
                f"{recipient}'s registered key {key} is not an X25519 public key; it must "
                "register a valid one",
            )
            return False
        except KpchainError as exc:  # the signer is away, or this service signs for no one
            self._failed(cert_no, now, url, key, exc.code, exc.message)
            return False
        target = url.rstrip("/") + ENVELOPES_PATH
        try:
            response = self._http.post(
                target, json=envelope.model_dump(mode="json"), timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            self._failed(
                cert_no,
                now,
                url,
                key,
                ErrorCode.ENDPOINT_UNREACHABLE,
                f"{recipient}'s service at {url} did not answer ({type(exc).__name__})",
            )
            return False
        if response.is_success:
            self._delivered(cert_no, now, url, key, _json(response))
            return True
        code, message = _refusal(response)
        self._failed(cert_no, now, url, key, code, message)
        return False

    def resend(self, cert_no: str) -> None:
        """Puts `cert_no`'s delivery back at the head of the queue (sent again even when
        delivered: the importer's service acknowledges a repeat).

        Raises:
            NotFoundError: this service holds no issued document of `cert_no` with the chain's
                hash, so has nothing to deliver.
        """
        with self._sessions() as session:
            row = session.execute(
                select(Document.doc_hash, Certificate.exporting, Certificate.importing)
                .join(
                    Certificate,
                    and_(
                        Certificate.cert_no == Document.cert_no,
                        Certificate.doc_hash == Document.doc_hash,
                    ),
                )
                .where(Document.cert_no == cert_no)
            ).first()
        if row is None:
            raise NotFoundError(
                f"this service issued no document of {cert_no} (as the chain has it), so it "
                "has nothing to deliver",
                code=ErrorCode.DOCUMENT_NOT_HELD,
                detail={"cert_no": cert_no},
            )
        self._create(cert_no, row.doc_hash, row.exporting, row.importing)
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            delivery = session.get_one(Delivery, cert_no)
            if not delivery.local:
                delivery.state = "pending"
                delivery.attempts = 0
                delivery.next_attempt_at = int(self._clock())
                delivery.error_code = None
                delivery.error = None
                delivery.updated_at = datetime.now(UTC)
            session.commit()
        logger.info("delivery of %s queued again", cert_no)

    # --- state -----------------------------------------------------------------------------

    def _create(self, cert_no: str, doc_hash: str, exporting: str, importing: str) -> int:
        now = int(self._clock())
        local = importing in self._hosted()
        stamp = datetime.now(UTC)
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            if session.get(Delivery, cert_no) is not None:
                return 0
            session.add(
                Delivery(
                    cert_no=cert_no,
                    doc_hash=doc_hash,
                    sender=exporting,
                    recipient=importing,
                    # The importer is hosted here: it reads the document this service holds.
                    state="delivered" if local else "pending",
                    local=local,
                    attempts=0,
                    next_attempt_at=now,
                    delivered_at=now if local else None,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            try:
                session.commit()
            except IntegrityError:  # created by a concurrent resend
                session.rollback()
                return 0
        return 1

    def _wait(self, cert_no: str, now: int, code: str, message: str) -> None:
        def change(delivery: Delivery) -> None:
            delivery.state = "pending"
            delivery.next_attempt_at = now  # checked again at the next pass: no network used
            delivery.error_code = code
            delivery.error = message

        self._update(cert_no, change)

    def _failed(self, cert_no: str, now: int, url: str, key: str, code: str, message: str) -> None:
        def change(delivery: Delivery) -> None:
            delivery.attempts += 1
            backoff = min(MIN_BACKOFF * 2.0 ** (delivery.attempts - 1), self._max_backoff)
            delivery.state = "failed"
            delivery.last_attempt_at = now
            delivery.next_attempt_at = now + max(int(backoff), 1)
            delivery.endpoint = url
            delivery.encryption_key = key
            delivery.error_code = code[:64]
            delivery.error = message

        self._update(cert_no, change)
        logger.warning("delivery of %s failed (%s): %s", cert_no, code, message)

    def _delivered(
        self, cert_no: str, now: int, url: str, key: str, receipt: dict[str, Any]
    ) -> None:
        def change(delivery: Delivery) -> None:
            delivery.attempts += 1
            delivery.state = "delivered"
            delivery.last_attempt_at = now
            delivery.delivered_at = now
            delivery.endpoint = url
            delivery.encryption_key = key
            delivery.error_code = None
            delivery.error = None
            delivery.receipt = receipt

        self._update(cert_no, change)
        logger.info("delivered the document of %s to %s", cert_no, url)

    def _update(self, cert_no: str, change: Callable[[Delivery], None]) -> None:
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            delivery = session.get_one(Delivery, cert_no)
            change(delivery)
            delivery.updated_at = datetime.now(UTC)
            session.commit()

    # --- helpers ---------------------------------------------------------------------------

    def _signer(self, code: str) -> Signer:
        if code in self._hosting.participants:
            return self._hosting.participants[code].signer
        if code in self._hosting.admins:
            return self._hosting.admins[code].signer
        return self._hosting.sender(code).signer  # raises participant_not_hosted

    def _insecure(self, url: str) -> str | None:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https" or (scheme == "http" and self._allow_http):
            return None
        return (
            f"the registered endpoint {url} is not https: documents go over https only "
            "(KPCHAIN_EXCHANGE_ALLOW_HTTP allows http in development)"
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """The code and message of an error answer (the one error shape, when it has it)."""
    error = _json(response).get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        message = str(error.get("message", ""))[:1000]
        return str(error["code"]), f"HTTP {response.status_code}: {message}"
    return f"http_{response.status_code}", f"HTTP {response.status_code} from the endpoint"
