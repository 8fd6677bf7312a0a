"""Public verification: is the certificate a customs officer holds the one its authority issued,
and what state is it in? No API key; commercial identities never appear.

Answers are kept at the index head (`kpchain.api.caching`): the same question asked again before
the index moves is answered by `CachedAnswersMiddleware` without coming here, and carries the
same strong `ETag`; `If-None-Match` with it answers 304."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute

from kpchain.api.caching import CachedAnswer, cache_key
from kpchain.api.deps import AnswersDep, ContractSignaturesDep, RuntimeDep
from kpchain.api.schemas import CHAIN, error_responses
from kpchain.verification.verify import index_version, verify
from kpchain.verification.views import VerificationReport
from kpchain.vocabulary import CERT_NO_MAX_LENGTH, CHAIN_CERT_NO_PATTERN, HEX32_PATTERN

PREFIX = "/v1/verify/"
"""Where the route's paths start (what the cache's middleware looks at)."""

router = APIRouter(prefix=PREFIX.rstrip("/"), tags=["verification"])

_VALIDATORS = {
    "ETag": {
        "description": "A strong tag of the answer: send it in `If-None-Match` to revalidate.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`public, no-cache`: storable by anyone, revalidated before each use.",
        "schema": {"type": "string"},
    },
}


@router.get(
    "/{cert_no}",
    response_model=VerificationReport,
    responses={
        200: {"headers": _VALIDATORS},
        304: {
            "description": "Not modified: `If-None-Match` names the answer's ETag.",
            "headers": _VALIDATORS,
        },
        **error_responses(422, *CHAIN),
    },
)
def verify_certificate(
    request: Request,
    cert_no: Annotated[
        str,
        Path(
            pattern=CHAIN_CERT_NO_PATTERN,
            max_length=CERT_NO_MAX_LENGTH,
            description="e.g. BW-2026-000123",
        ),
    ],
    runtime: RuntimeDep,
    contract_signatures: ContractSignaturesDep,
    answers: AnswersDep,
    doc_hash: Annotated[
        str | None,
        Query(
            pattern=HEX32_PATTERN,
            description="The presented document's hash (the QR code and the PDF carry it).",
        ),
    ] = None,
    signature: Annotated[
        str | None,
        Query(
            pattern="^0x([0-9a-fA-F]{2})+$",
            max_length=2050,
            description="The presented document's signature, to check who validated it.",
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(description="An ETag of an earlier answer: 304 when the answer is still it."),
    ] = None,
) -> Response:
    """Whether the certificate exists, matches the presented hash, was signed by an authority
    of its exporting participant, and is still valid: a report, `found` false for an unknown
    number (not a 404), with `problem` and `advice` when it is not genuine."""
    head = answers.head()  # before reading: the answer is at least as fresh as its key
    now = runtime.authority.now()
    with runtime.sessions() as session:
        version = index_version(session)  # first: the data read next is of this version
        report = verify(
            session,
            cert_no,
            now=now,
            doc_hash=doc_hash,
            signature=signature,
            contract_signatures=contract_signatures,
        )
    body = VerificationReport.model_validate(report.as_dict()).model_dump_json().encode()
    answer = CachedAnswer.of(body, holds_until=report.holds_until)
    answers.put(cache_key(request.scope), answer, head=head, version=version)
    return answer.response(if_none_match)


def route() -> APIRoute:
    """The verification route (the cache's middleware answers in its name)."""
    found = next(r for r in router.routes if isinstance(r, APIRoute))
    return found
