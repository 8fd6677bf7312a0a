"""The exchange as the API and the runtime use it: register this service's endpoint and key on
chain, read endpoints and delivery states, re-queue a delivery, receive an envelope, and run the
outbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3.contract.contract import ContractFunction

from kpchain.contracts.registry import Registry
from kpchain.errors import ErrorCode, InvalidRequestError, PermissionDeniedError
from kpchain.exchange import views
from kpchain.exchange.envelope import Envelope
from kpchain.exchange.inbox import Inbox
from kpchain.exchange.keys import KeyRing
from kpchain.exchange.outbox import Outbox
from kpchain.exchange.tables import Delivery
from kpchain.indexer import queries
from kpchain.indexer.indexer import Indexer
from kpchain.service.authority import certificate_row, participant_row
from kpchain.service.keys import Principal, require_participant
from kpchain.service.operations import (
    CallBuilder,
    Hosting,
    Intent,
    Renderer,
    Writer,
    admin_actor,
    response_as,
)
from kpchain.service.tables import Document, Operation, ReceivedDocument
from kpchain.service.views import held_documents
from kpchain.verification.checks import ContractSignatureCheck

SET_ENDPOINT = "set_service_endpoint"
"""The operation kind that registers a participant's endpoint and key (its admin signs)."""
MAX_URL_BYTES = 256
"""The registry's MAX_SERVICE_ENDPOINT_LENGTH."""


def _set_endpoint(registry: Registry, request: dict[str, Any]) -> ContractFunction:
    key = bytes.fromhex(request["encryption_key"][2:])
    return registry.set_service_endpoint(request["code"], request["url"], key)


def _render_endpoint(session: Session, operation: Operation) -> views.EndpointView:
    return views.endpoint_view(session, operation.subject)


CALLS: Mapping[str, CallBuilder] = {SET_ENDPOINT: _set_endpoint}
"""How the exchange's operation kinds become registry calls (the runtime gives them to the
service's one writer, beside the authority's)."""
RENDERS: Mapping[str, Renderer] = {SET_ENDPOINT: _render_endpoint}
"""How the writer renders a finished operation of the exchange's kinds."""


class EndpointRequest(BaseModel):
    """`PUT /v1/participants/{code}/endpoint`: register (or change) where this service takes
    the participant's documents, and (`rotate_key`) a new encryption key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_URL_BYTES,
        description="The base URL other services deliver documents under (https); default "
        "this service's public URL (KPCHAIN_PUBLIC_URL).",
        examples=["https://kp.ae.example"],
    )
    rotate_key: bool = Field(
        default=False,
        description="Make and register a new encryption key; the old ones stay to read what "
        "was encrypted to them.",
    )


class ExchangeService:
    """The document exchange of one service.

    Args:
        sessions: the service database.
        indexer: the index (endpoints, certificates; caught up when a read misses).
        hosting: the hosted participants' senders.
        writer: the crash-safe write path (the endpoint registration is an operation).
        keys: the hosted participants' encryption keys.
        chain_id: the chain's id.
        registry: the registry's address.
        public_url: this service's public URL (the default endpoint).
        allow_http: accept and deliver to http:// endpoints (development and tests only).
        max_backoff: the longest wait between two delivery attempts, seconds.
        contract_signatures: ERC-1271 checks of document signatures by contract accounts.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        indexer: Indexer,
        hosting: Hosting,
        writer: Writer,
        keys: KeyRing,
        chain_id: int,
        registry: str,
        public_url: str,
        allow_http: bool,
        max_backoff: float,
        contract_signatures: ContractSignatureCheck | None,
    ) -> None:
        self._sessions = sessions
        self._indexer = indexer
        self._hosting = hosting
        self._writer = writer
        self.keys = keys
        self._public_url = public_url
        self._allow_http = allow_http
        self.outbox = Outbox(
            sessions=sessions,
            hosting=hosting,
            hosted=self._hosted,
            chain_id=chain_id,
            registry=registry,
            allow_http=allow_http,
            max_backoff=max_backoff,
        )
        self.inbox = Inbox(
            sessions=sessions,
            keys=keys,
            indexer=indexer,
            chain_id=chain_id,
            registry=registry,
            contract_signatures=contract_signatures,
        )

    def run(self, stop: threading.Event, *, interval: float) -> None:
        """The outbox's loop (a thread of the runtime)."""
        self.outbox.run(stop, interval=interval)

    # --- endpoints -------------------------------------------------------------------------

    def register_endpoint(
        self,
        principal: Principal,
        code: str,
        request: EndpointRequest,
        *,
        idempotency_key: str | None,
    ) -> views.EndpointView:
        """Registers `code`'s endpoint and encryption key on chain, signed by its admin key.

        A new key pair is made (and stored) when the participant has none here, or when
        `rotate_key` asks for one; a request that changes nothing sends nothing.
        """
        require_participant(principal, code, doing=f"registers {code}'s endpoint")
        url = self._checked_url(request.url or self._public_url)
        actor = admin_actor(code)
        self._hosting.sender(actor)  # refuse an unhosted admin before making a key
        with self._sessions() as session:
            participant_row(self._indexer, session, code)
        key = self._recorded_key(actor, idempotency_key)
        if key is None:
            newest = self.keys.newest(code)
            key = self.keys.generate(code) if request.rotate_key or newest is None else newest
            with self._sessions() as session:
                current = queries.service_endpoint(session, code)
                if current is not None and (current.url, current.encryption_key) == (url, key):
                    return views.endpoint_view(session, code)
        intent = Intent(
            actor=actor,
            kind=SET_ENDPOINT,
            subject=code,
            request={"code": code, "url": url, "encryption_key": key},
            body=request.model_dump(mode="json"),
            idempotency_key=idempotency_key,
        )
        return response_as(views.EndpointView, self._writer.submit(intent))

    def endpoint(self, code: str) -> views.EndpointView:
        """`code`'s endpoint, key and their history."""
        with self._sessions() as session:
            participant_row(self._indexer, session, code)
            return views.endpoint_view(session, code)

    # --- deliveries ------------------------------------------------------------------------

    def delivery(self, principal: Principal, cert_no: str) -> views.DeliveryView:
        """The delivery state of `cert_no`'s document, for either party's keys."""
        with self._sessions() as session:
            row = certificate_row(self._indexer, session, cert_no)
            _require_party(principal, row.exporting, row.importing, cert_no)
            if principal.participant == row.exporting or self._issued_here(session, row):
                delivery = session.get(Delivery, cert_no)
                if delivery is not None:
                    return views.outbound_view(delivery)
                if self._issued_here(session, row):
                    # Issued and indexed, not yet picked up by the outbox (it will be).
                    return _queued(row, local=row.importing in self._hosted())
            received = session.get(ReceivedDocument, cert_no)
            if received is not None and received.doc_hash != row.doc_hash:
                received = None
            return views.inbound_view(
                cert_no=cert_no,
                sender=row.exporting,
                recipient=row.importing,
                doc_hash=row.doc_hash,
                received=received,
            )

    def resend(self, principal: Principal, cert_no: str) -> views.DeliveryView:
        """Re-queues `cert_no`'s delivery (the exporter's officer)."""
        if principal.role != "officer":
            raise PermissionDeniedError(
                f"a {principal.role} key cannot re-send a document; it needs an officer key",
                code=ErrorCode.ROLE_INSUFFICIENT,
                detail={"role": principal.role, "required": ["officer"]},
            )
        with self._sessions() as session:
            row = certificate_row(self._indexer, session, cert_no)
            if principal.participant != row.exporting:
                raise PermissionDeniedError(
                    f"only the exporting participant ({row.exporting}) delivers the document "
                    f"of {cert_no}; this key is {principal.participant}'s",
                    code=ErrorCode.PARTICIPANT_MISMATCH,
                    detail={"cert_no": cert_no, "required": row.exporting},
                )
        self.outbox.resend(cert_no)
        with self._sessions() as session:
            return views.outbound_view(session.get_one(Delivery, cert_no))

    def shipment_documents(self, views_: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """For certificate views (of the dashboard): the exporter and importer named by the
        signed document this service holds of each (issued here, or delivered by the exporter's
        service; None when it holds none), and its delivery state (delivered, pending, failed).
        """
        numbers = [view["cert_no"] for view in views_]
        hosted = self._hosted()
        with self._sessions() as session:
            held = held_documents(session, numbers)
            states = views.delivery_states(session, numbers)
        found: dict[str, dict[str, Any]] = {}
        for view in views_:
            cert_no = view["cert_no"]
            document = held.get(cert_no)
            if document is None or document.doc_hash != view["doc_hash"]:
                found[cert_no] = {"parties": None, "document_state": "pending"}
                continue
            state = states.get(cert_no)
            if state is None:
                # No delivery row: received here, or issued here for an importer hosted here
                # too (delivered), or issued and not yet picked up by the outbox (pending).
                outbound = isinstance(document, Document)
                waiting = outbound and view["importing_participant"] not in hosted
                state = "pending" if waiting else "delivered"
            found[cert_no] = {
                "parties": {
                    "exporter": document.document["exporter"],
                    "importer": document.document["importer"],
                },
                "document_state": state,
            }
        return found

    def receive(self, envelope: Envelope) -> tuple[views.EnvelopeReceipt, bool]:
        """Checks and stores a delivered envelope; see `kpchain.exchange.inbox`."""
        return self.inbox.receive(envelope, now=int(time.time()))

    # --- internals -------------------------------------------------------------------------

    def _hosted(self) -> set[str]:
        return set(self._hosting.participants) | self.keys.participants()

    def _issued_here(self, session: Session, row: Any) -> bool:
        document = session.get(Document, row.cert_no)
        return document is not None and document.doc_hash == row.doc_hash

    def _recorded_key(self, actor: str, idempotency_key: str | None) -> str | None:
        """The key a first attempt under `idempotency_key` registered (a retry reuses it, and
        makes no second key)."""
        if idempotency_key is None:
            return None
        with self._sessions() as session:
            request = session.scalar(
                select(Operation.request).where(
                    Operation.actor == actor,
                    Operation.idempotency_key == idempotency_key,
                    Operation.kind == SET_ENDPOINT,
                )
            )
        return None if request is None else str(request["encryption_key"])

    def _checked_url(self, url: str) -> str:
        parts = urlsplit(url)
        schemes = ("https", "http") if self._allow_http else ("https",)
        problem = None
        if parts.scheme not in schemes:
            problem = "must be an https URL" if not self._allow_http else "must be an http(s) URL"
        elif not parts.hostname or parts.username or parts.password:
            problem = "must name a host, without credentials"
        elif parts.query or parts.fragment:
            problem = "must have no query or fragment"
        elif len(url.encode()) > MAX_URL_BYTES:
            problem = f"must be at most {MAX_URL_BYTES} bytes"
        if problem is not None:
            raise InvalidRequestError(
                f"the endpoint URL {url[:300]!r} {problem} (KPCHAIN_EXCHANGE_ALLOW_HTTP allows "
                "http in development)",
                code=ErrorCode.ENDPOINT_URL_INVALID,
                detail={"url": url[:300]},
            )
        return url.rstrip("/")


def _queued(row: Any, *, local: bool) -> views.DeliveryView:
    view = {
        "cert_no": row.cert_no,
        "direction": "outbound",
        "sender": row.exporting,
        "recipient": row.importing,
        "doc_hash": row.doc_hash,
        "state": "delivered" if local else "pending",
        "local": local,
    }
    return views.DeliveryView.model_validate(view)


def _require_party(principal: Principal, exporting: str, importing: str, cert_no: str) -> None:
    if principal.participant not in (exporting, importing):
        raise PermissionDeniedError(
            f"{cert_no} is between {exporting} and {importing}; this key is "
            f"{principal.participant or 'a governor'}'s",
            code=ErrorCode.PARTICIPANT_MISMATCH
            if principal.participant is not None
            else ErrorCode.PARTICIPANT_KEY_REQUIRED,
            detail={"cert_no": cert_no},
        )
