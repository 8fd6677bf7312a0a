"""Maker-checker drafts (DESIGN.md section 8): a clerk or officer saves a certificate draft, an
officer whose key neither created nor edited it approves it (and it is issued) or returns it
with a comment. See `kpchain.service.drafts`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status

from kpchain.api.deps import DraftsDep, IdempotencyKey, MakerDep, OfficerDep, ReaderDep
from kpchain.api.schemas import CHAIN, READ, WRITE, error_responses
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.views import CertificateView
from kpchain.service.drafts import (
    MAX_DRAFT_PAGE,
    ApproveRequest,
    DraftPage,
    DraftStatus,
    DraftView,
    ReturnRequest,
)

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])

DraftId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The draft's id.")]

_PATCH = Body(
    description="A JSON Merge Patch (RFC 7396) of the draft's certificate document: the fields "
    "given replace the draft's (objects merge key by key, arrays such as `lines` are replaced "
    "whole, null removes an optional field). The patched document must be valid as a whole.",
    examples=[{"issuing_authority": "Government Diamond Office", "origin_zone": None}],
)
_LOCAL = (401, 403, 404, 409, 413, 422, 400)
"""What a draft write that does not reach the chain may answer."""


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DraftView,
    responses=error_responses(*_LOCAL),
)
def create_draft(
    document: CertificateDocument, principal: MakerDep, drafts: DraftsDep
) -> DraftView:
    """Save a certificate document as a draft awaiting an officer's approval (clerk or officer
    of the exporting participant). The document is validated as `POST /v1/certificates`
    validates one: a draft is complete."""
    return drafts.create(principal, document)


@router.get("", response_model=DraftPage, responses=error_responses(401, 403, 422))
def list_drafts(
    principal: ReaderDep,
    drafts: DraftsDep,
    status: DraftStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DRAFT_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> DraftPage:
    """The participant's drafts, newest first (`status=awaiting_approval`: what officers have
    to review)."""
    return drafts.drafts(principal, status=status, limit=limit, cursor=cursor)


@router.get("/{draft_id}", response_model=DraftView, responses=error_responses(*READ))
def get_draft(draft_id: DraftId, principal: ReaderDep, drafts: DraftsDep) -> DraftView:
    """A draft of the participant, with who created, edited, returned and approved it."""
    return drafts.draft(principal, draft_id)


@router.patch("/{draft_id}", response_model=DraftView, responses=error_responses(*_LOCAL))
def patch_draft(
    draft_id: DraftId,
    patch: Annotated[dict[str, Any], _PATCH],
    principal: MakerDep,
    drafts: DraftsDep,
) -> DraftView:
    """Change a draft awaiting approval or returned (a returned draft awaits approval again);
    the key that changes it is recorded, and may not approve it."""
    return drafts.patch(principal, draft_id, patch)


@router.post(
    "/{draft_id}/approve",
    status_code=status.HTTP_201_CREATED,
    response_model=CertificateView,
    responses=error_responses(*WRITE, *CHAIN),
)
def approve_draft(
    draft_id: DraftId,
    principal: OfficerDep,
    drafts: DraftsDep,
    idempotency_key: IdempotencyKey = None,
    request: Annotated[ApproveRequest | None, Body()] = None,
) -> CertificateView:
    """Approve a draft (an officer whose key neither created nor edited it, else 403
    `four_eyes_required`): its document is signed and issued; answers with the issued
    certificate's view once mined, as `POST /v1/certificates` does."""
    version = request.version if request is not None else None
    return drafts.approve(principal, draft_id, idempotency_key=idempotency_key, version=version)


@router.post("/{draft_id}/return", response_model=DraftView, responses=error_responses(*_LOCAL))
def return_draft(
    draft_id: DraftId, request: ReturnRequest, principal: OfficerDep, drafts: DraftsDep
) -> DraftView:
    """Send a draft awaiting approval back to its author with a comment."""
    return drafts.send_back(principal, draft_id, request)
