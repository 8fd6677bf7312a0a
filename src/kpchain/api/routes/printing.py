"""The printable certificate: `GET /v1/certificates/{cert_no}/pdf`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kpchain.api.deps import AuthorityDep, ReaderDep, RuntimeDep
from kpchain.api.routes.certificates import CertNoPath
from kpchain.api.schemas import CHAIN, READ, error_responses
from kpchain.service.printing import print_certificate

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])


@router.get(
    "/{cert_no}/pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The KP certificate as an A4 PDF.",
        },
        **error_responses(*READ, *CHAIN),
    },
)
def certificate_pdf(
    cert_no: CertNoPath, principal: ReaderDep, authority: AuthorityDep, runtime: RuntimeDep
) -> Response:
    """The KP certificate as a PDF, for either party, from the service that issued it (only it
    holds the exporter's and importer's identities): every KPCS Annex I element, the exporting
    authority's signature, and a QR code that opens the public verification page.

    A plain `def`: rendering is CPU work, which FastAPI runs in a worker thread.
    """
    printed = print_certificate(authority, principal, cert_no, base_url=runtime.settings.base_url)
    return Response(
        content=printed.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{printed.filename}"'},
    )
