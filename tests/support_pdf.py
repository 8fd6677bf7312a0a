"""Reading a printed KP certificate back, as someone holding the PDF would: its text (pypdf),
its metadata, and the QR code on page 1 rendered to an image (pypdfium2) and decoded (zxing-cpp).

Shared by the renderer's unit tests (tests/printing) and the API's (tests/api/test_printing.py).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pypdfium2
import zxingcpp
from pypdf import PdfReader

TITLE = "Kimberley Process Certificate"
STATEMENT = (
    "The rough diamonds in this shipment have been handled in accordance with the provisions "
    "of the Kimberley Process Certification Scheme for rough diamonds."
)
# KPCS Annex I: 7102.10 unsorted, 7102.21 industrial, 7102.31 non-industrial.
HS_DESCRIPTIONS = {"7102.10": "Unsorted", "7102.21": "Industrial", "7102.31": "Non-industrial"}
DPI = 200


def pages_text(pdf: bytes) -> list[str]:
    """The extracted text of each page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """`text` with every run of whitespace (line breaks included) as one space: what a reader
    sees, whatever the line breaks of the layout."""
    return " ".join(text.split())


def packed(text: str) -> str:
    """`text` without whitespace: a hex string wrapped over lines reads whole again."""
    return "".join(text.split())


def metadata(pdf: bytes) -> Any:
    return PdfReader(io.BytesIO(pdf)).metadata


def qr_codes(pdf: bytes, *, page: int = 0, dpi: int = DPI) -> list[str]:
    """The texts of the QR codes on page `page`, rendered at `dpi` as a scan would see it."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    return [
        result.text
        for result in zxingcpp.read_barcodes(image)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


def amount(value: str) -> str:
    """An amount as a reader expects it printed: thousands separated, two decimals."""
    return f"{Decimal(value):,.2f}"


def assert_annex_i(
    pdf: bytes, view: Mapping[str, Any], signed: Mapping[str, Any], *, origin: str
) -> str:
    """Asserts that the PDF shows every KPCS Annex I element of the certificate and its
    validation; returns its text (flattened).

    Args:
        pdf: the rendered certificate.
        view: the certificate view (`GET /v1/certificates/{cert_no}`).
        signed: the signed document (`GET /v1/certificates/{cert_no}/document`).
        origin: how the origin must read ("Botswana (BW)", or "Mixed" and the provenance).
    """
    document = signed["document"]
    text = flat(" ".join(pages_text(pdf)))
    hex_text = packed(text)
    # 1. the title and the KP statement; 3. the number (with the exporter's code).
    assert TITLE in text
    assert STATEMENT in text
    assert document["cert_no"] in text
    assert document["cert_no"].startswith(document["exporting_participant"] + "-")
    # 2. the origin (or "Mixed" and the provenance).
    assert origin in text
    # 4. and 5. the dates; 6. the issuing authority.
    assert f"DATE OF ISSUE {document['issued_at']}" in text
    assert f"DATE OF EXPIRY {document['expires_at']}" in text
    assert flat(document["issuing_authority"]) in text
    # 7. the exporter and the importer.
    for role in ("exporter", "importer"):
        party = document[role]
        assert flat(party["name"]) in text, role
        assert flat(party["address"]) in text, role
        assert f"Licence No. {party['licence']}" in text, role
    # 8. to 11. carats, value, parcels and HS code, line by line, and their totals.
    for line in document["lines"]:
        description = HS_DESCRIPTIONS[line["hs_code"]]
        row = f"{amount(line['carats'])} {amount(line['value_usd'])} {line['parcels']}"
        assert f"{line['hs_code']} {description} {row}" in text, line
    total = f"Total {amount(view['carats'])} {amount(view['value_usd'])} {view['parcels']}"
    assert total in text
    # 12. validation by the exporting authority: signer, signature, document hash, the issue's
    # block and transaction, the status when printed.
    assert signed["signer"] in text
    assert signed["signature"] in hex_text
    assert view["doc_hash"] in text
    issued = view["steps"]["issued"]
    assert f"{issued['block_number']} {issued['tx_hash']}" in text
    assert f"STATUS WHEN PRINTED {view['status'].upper()}" in text
    return text
