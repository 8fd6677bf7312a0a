"""Certificates: issue, the lifecycle operations, and reads (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, status

from kpchain.api.deps import AuthorityDep, IdempotencyKey, OfficerDep, ReaderDep
from kpchain.api.schemas import CHAIN, READ, WRITE, error_responses
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import (
    CancelRequest,
    ReceiveRequest,
    RejectRequest,
    ShipRequest,
    WithdrawRequest,
)
from kpchain.certificates.views import CertificateDocumentView, CertificatePage, CertificateView
from kpchain.service.authority import MAX_BATCH, MAX_PAGE
from kpchain.vocabulary import (
    CERT_NO_MAX_LENGTH,
    CERT_NO_TEXT_PATTERN,
    CertificateStatusLabel,
    Direction,
)

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])
BATCH_PATH = "/v1/certificates/batch"  # its body limit is larger: KPCHAIN_MAX_BATCH_BODY_BYTES

CertNoPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=CERT_NO_MAX_LENGTH,
        pattern=CERT_NO_TEXT_PATTERN,
        description="e.g. BW-2026-000123",
    ),
]
"""A certificate number in a path: any that the index may hold (one it does not is 404)."""


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CertificateView,
    responses=error_responses(*WRITE),
)
def issue(
    document: CertificateDocument,
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> CertificateView:
    """Sign the document with the exporting participant's key and issue it; answers once mined."""
    return authority.issue(principal, document, idempotency_key=idempotency_key)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=list[CertificateView],
    responses=error_responses(*WRITE),
)
def issue_batch(
    documents: Annotated[list[CertificateDocument], Body(min_length=1, max_length=MAX_BATCH)],
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> list[CertificateView]:
    """Issue many certificates in one transaction: all of them, or none."""
    return authority.issue_batch(principal, documents, idempotency_key=idempotency_key)


@router.get("", response_model=CertificatePage, responses=error_responses(401, 403, 422))
def list_certificates(
    principal: ReaderDep,
    authority: AuthorityDep,
    direction: Direction | None = None,
    status: CertificateStatusLabel | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CertificatePage:
    """The participant's certificates, newest first: `{"items": [...], "next_cursor"}`."""
    return authority.certificates(
        principal, direction=direction, status=status, limit=limit, cursor=cursor
    )


@router.get("/{cert_no}", response_model=CertificateView, responses=error_responses(*READ, *CHAIN))
def get_certificate(
    cert_no: CertNoPath, principal: ReaderDep, authority: AuthorityDep
) -> CertificateView:
    """The certificate view, for either party."""
    return authority.certificate(principal, cert_no)


@router.get(
    "/{cert_no}/document",
    response_model=CertificateDocumentView,
    responses=error_responses(*READ, *CHAIN),
)
def get_document(
    cert_no: CertNoPath, principal: ReaderDep, authority: AuthorityDep
) -> CertificateDocumentView:
    """The signed document with its hash, signature, signer and identity salts."""
    return authority.document(principal, cert_no)


@router.post("/{cert_no}/ship", response_model=CertificateView, responses=error_responses(*WRITE))
def ship(
    cert_no: CertNoPath,
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
    request: Annotated[ShipRequest | None, Body()] = None,
) -> CertificateView:
    """Record the sealed dispatch: the advance notice to the importing authority."""
    body = request or ShipRequest()
    return authority.ship(principal, cert_no, body, idempotency_key=idempotency_key)


@router.post(
    "/{cert_no}/receive", response_model=CertificateView, responses=error_responses(*WRITE)
)
def receive(
    cert_no: CertNoPath,
    request: ReceiveRequest,
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> CertificateView:
    """Confirm receipt: the KP import confirmation."""
    return authority.receive(principal, cert_no, request, idempotency_key=idempotency_key)


@router.post("/{cert_no}/reject", response_model=CertificateView, responses=error_responses(*WRITE))
def reject(
    cert_no: CertNoPath,
    request: RejectRequest,
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> CertificateView:
    """Reject a shipment, with a reason."""
    return authority.reject(principal, cert_no, request, idempotency_key=idempotency_key)


@router.post("/{cert_no}/cancel", response_model=CertificateView, responses=error_responses(*WRITE))
def cancel(
    cert_no: CertNoPath,
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
    request: Annotated[CancelRequest | None, Body()] = None,
) -> CertificateView:
    """Cancel a certificate that has not been shipped."""
    body = request or CancelRequest()
    return authority.cancel(principal, cert_no, body, idempotency_key=idempotency_key)


@router.post(
    "/{cert_no}/withdraw", response_model=CertificateView, responses=error_responses(*WRITE)
)
def withdraw(
    cert_no: CertNoPath,
    request: WithdrawRequest,
    principal: OfficerDep,
    authority: AuthorityDep,
    idempotency_key: IdempotencyKey = None,
) -> CertificateView:
    """Withdraw a shipment in transit to an importer that is no longer Active, with a reason:
    the certificate is then cancelled (and may be replaced)."""
    return authority.withdraw(principal, cert_no, request, idempotency_key=idempotency_key)
