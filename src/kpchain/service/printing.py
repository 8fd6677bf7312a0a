"""The printable certificate of a certificate the caller may read: what the REST API's
`GET /v1/certificates/{cert_no}/pdf` and the dashboard's PDF link both answer.

The certificate view and the signed document come from `AuthorityService`, with its checks (a
party's key, a document this service holds); `kpchain.printing.pdf` renders them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kpchain.i18n import DEFAULT_LANGUAGE
from kpchain.printing.pdf import render_certificate, verification_link
from kpchain.service.authority import AuthorityService
from kpchain.service.keys import Principal

# A certificate number may hold any printable ASCII; a quote or a slash would break the header or
# the saved file's name.
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class PrintedCertificate:
    """A certificate as an A4 PDF, and the name to save it under."""

    pdf: bytes
    filename: str
    """``<cert_no>.pdf``, with each character a file name or a header cannot hold as ``_``."""


def print_certificate(
    authority: AuthorityService,
    principal: Principal,
    cert_no: str,
    *,
    base_url: str,
    language: str = DEFAULT_LANGUAGE,
    cjk_font: Path | None = None,
) -> PrintedCertificate:
    """The KP certificate `cert_no` as a PDF, for either party, from the service that issued it
    (only it holds the exporter's and importer's identities): every KPCS Annex I element, the
    exporting authority's signature, and a QR code that opens the public verification page.

    Args:
        authority: the service core the views come from.
        principal: who asks (a party's key: the document names both parties).
        cert_no: the certificate's number.
        base_url: the service's public address, for the QR code's link (`Settings.base_url`).
        language: the certificate's language besides English (`kpchain.i18n.LANGUAGES`).
        cjk_font: the font for Chinese, Japanese and Korean names (`kpchain.printing.cjk`).

    Raises:
        NotFoundError: no such certificate, or this service does not hold its document.
        PermissionDeniedError: the principal's participant is not a party to it.
    """
    # The PDF reads the views as the API answers them (JSON: dates and amounts as text).
    view = authority.certificate(principal, cert_no).model_dump(mode="json")
    document = authority.document(principal, cert_no).model_dump(mode="json")
    link = verification_link(base_url, view["cert_no"], view["doc_hash"])
    return PrintedCertificate(
        pdf=render_certificate(
            view, document, verify_url=link, language=language, cjk_font=cjk_font
        ),
        filename=f"{_FILENAME_UNSAFE.sub('_', cert_no)}.pdf",
    )
