"""Public verification: is the certificate a customs officer holds the one its authority issued,
and what state is it in? No API key; commercial identities never appear."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from kpchain.api.deps import ContractSignaturesDep, RuntimeDep
from kpchain.api.schemas import CHAIN, error_responses
from kpchain.verification.verify import CERT_NO_PATTERN, verify
from kpchain.verification.views import VerificationReport

router = APIRouter(prefix="/v1/verify", tags=["verification"])


@router.get("/{cert_no}", response_model=VerificationReport, responses=error_responses(422, *CHAIN))
def verify_certificate(
    cert_no: Annotated[
        str,
        Path(pattern=f"^{CERT_NO_PATTERN}$", max_length=32, description="e.g. BW-2026-000123"),
    ],
    runtime: RuntimeDep,
    contract_signatures: ContractSignaturesDep,
    doc_hash: Annotated[
        str | None,
        Query(
            pattern="^0x[0-9a-fA-F]{64}$",
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
) -> dict[str, Any]:
    """Whether the certificate exists, matches the presented hash, was signed by an authority
    of its exporting participant, and is still valid: a report, `found` false for an unknown
    number (not a 404), with `problem` and `advice` when it is not genuine."""
    now = runtime.authority.now()
    with runtime.sessions() as session:
        report = verify(
            session,
            cert_no,
            now=now,
            doc_hash=doc_hash,
            signature=signature,
            contract_signatures=contract_signatures,
        )
    return report.as_dict()
