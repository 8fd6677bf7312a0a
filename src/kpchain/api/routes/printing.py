"""The printable certificate: `GET /v1/certificates/{cert_no}/pdf`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from kpchain.api.deps import AuthorityDep, ReaderDep, RuntimeDep
from kpchain.api.routes.certificates import CertNoPath
from kpchain.api.schemas import CHAIN, READ, error_responses
from kpchain.i18n import LANGUAGES, language_code, negotiate
from kpchain.printing.cjk import installed_cjk_font
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
    cert_no: CertNoPath,
    principal: ReaderDep,
    authority: AuthorityDep,
    runtime: RuntimeDep,
    lang: Annotated[
        str | None,
        Query(
            pattern=f"^({'|'.join(LANGUAGES)})$",
            description="The certificate's language besides English (default: Accept-Language,"
            " else English alone).",
        ),
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The KP certificate as a PDF, for either party, from the service that issued it (only it
    holds the exporter's and importer's identities): every KPCS Annex I element, the exporting
    authority's signature, and a QR code that opens the public verification page.

    In French or Russian (`?lang=`, else `Accept-Language`), every text is printed in English
    and in that language (KPCS Annex I: any language with an English translation).

    A plain `def`: rendering is CPU work, which FastAPI runs in a worker thread.
    """
    language = language_code(lang) or negotiate(accept_language)
    printed = print_certificate(
        authority,
        principal,
        cert_no,
        base_url=runtime.settings.base_url,
        language=language,
        cjk_font=installed_cjk_font(runtime.settings.cjk_font),
    )
    return Response(
        content=printed.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{printed.filename}"',
            "Content-Language": language,
            "Vary": "Accept-Language",
        },
    )
