"""The printable certificate: `GET /v1/certificates/{cert_no}/pdf`."""

from __future__ import annotations

import re

from fastapi import APIRouter, Response

from kpchain.api.deps import AuthorityDep, ReaderDep, RuntimeDep
from kpchain.api.routes.certificates import CertNo
from kpchain.api.schemas import CHAIN, READ, error_responses
from kpchain.printing.pdf import render_certificate, verification_link

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])

# A certificate number may hold any printable ASCII; a quote or a slash would break the header or
# the saved file's name.
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


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
    cert_no: CertNo, principal: ReaderDep, authority: AuthorityDep, runtime: RuntimeDep
) -> Response:
    """The KP certificate as a PDF, for either party, from the service that issued it (only it
    holds the exporter's and importer's identities): every KPCS Annex I element, the exporting
    authority's signature, and a QR code that opens the public verification page.

    A plain `def`: rendering is CPU work, which FastAPI runs in a worker thread.
    """
    view = authority.certificate(principal, cert_no)
    document = authority.document(principal, cert_no)
    link = verification_link(runtime.settings.base_url, view["cert_no"], view["doc_hash"])
    pdf = render_certificate(view, document, verify_url=link)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{_filename(cert_no)}.pdf"'},
    )


def _filename(cert_no: str) -> str:
    return _FILENAME_UNSAFE.sub("_", cert_no)
