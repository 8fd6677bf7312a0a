"""The private document exchange (DESIGN.md section 8): each participant's endpoint and key,
each certificate's delivery state, and the route other services deliver documents to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from kpchain.api.deps import AdminDep, ExchangeDep, IdempotencyKey, OfficerDep, ReaderDep
from kpchain.api.routes.certificates import CertNoPath
from kpchain.api.routes.participants import Code
from kpchain.api.schemas import CHAIN, READ, WRITE, error_responses
from kpchain.exchange.envelope import Envelope
from kpchain.exchange.outbox import ENVELOPES_PATH
from kpchain.exchange.service import EndpointRequest
from kpchain.exchange.views import DeliveryView, EndpointView, EnvelopeReceipt

router = APIRouter(tags=["exchange"])

__all__ = ["ENVELOPES_PATH", "router"]


@router.put(
    "/v1/participants/{code}/endpoint",
    response_model=EndpointView,
    responses=error_responses(*WRITE),
)
def register_endpoint(
    code: Code,
    principal: AdminDep,
    exchange: ExchangeDep,
    idempotency_key: IdempotencyKey = None,
    request: Annotated[EndpointRequest | None, Body()] = None,
) -> EndpointView:
    """Register, with the participant's admin key, where this service takes the participant's
    documents and the X25519 key to encrypt them to (`rotate_key`: a new key; the old ones are
    kept to read what was encrypted to them). Answers once mined and indexed."""
    body = request or EndpointRequest()
    return exchange.register_endpoint(principal, code, body, idempotency_key=idempotency_key)


@router.get(
    "/v1/participants/{code}/endpoint",
    response_model=EndpointView,
    responses=error_responses(*READ, *CHAIN),
)
def get_endpoint(code: Code, _: ReaderDep, exchange: ExchangeDep) -> EndpointView:
    """A participant's registered endpoint and encryption key, with every earlier one."""
    return exchange.endpoint(code)


@router.get(
    "/v1/certificates/{cert_no}/delivery",
    response_model=DeliveryView,
    responses=error_responses(*READ, *CHAIN),
    tags=["certificates"],
)
def get_delivery(cert_no: CertNoPath, principal: ReaderDep, exchange: ExchangeDep) -> DeliveryView:
    """Whether the certificate's signed document has reached the importer's service: at the
    exporter's service, the outbox's state (pending, failed with the reason and the next
    attempt, delivered); at the importer's, pending until it is received."""
    return exchange.delivery(principal, cert_no)


@router.post(
    "/v1/certificates/{cert_no}/delivery/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryView,
    responses=error_responses(401, 403, 404, 422, *CHAIN),
    tags=["certificates"],
)
def resend(cert_no: CertNoPath, principal: OfficerDep, exchange: ExchangeDep) -> DeliveryView:
    """Queue the document's delivery again, at once (the exporter's officer; the importer's
    service acknowledges a repeat without storing it twice)."""
    return exchange.resend(principal, cert_no)


@router.post(
    ENVELOPES_PATH,
    status_code=status.HTTP_201_CREATED,
    response_model=EnvelopeReceipt,
    responses={
        200: {"model": EnvelopeReceipt, "description": "The same document was received before."},
        **error_responses(400, 403, 404, 409, 413, 422, *CHAIN),
    },
)
def receive_envelope(
    envelope: Envelope, exchange: ExchangeDep, response: Response
) -> EnvelopeReceipt:
    """Another participant's service delivers a certificate's signed document, encrypted to a
    key of a participant this service hosts. No API key: the envelope is signed by an
    authority (or the admin) of the sending participant, checked against the registry, and the
    document is stored only once its hash is the certificate's docHash on chain and its signer
    was an authority of the exporter when it was issued. A bad delivery is refused (4xx) and
    nothing is stored."""
    receipt, created = exchange.receive(envelope)
    if not created:
        response.status_code = status.HTTP_200_OK
    return receipt
