"""The printable certificate on its own, without a chain: views built with the domain's models
(document -> contract certificate -> EIP-712 hash, a real signature, the API's view shapes),
rendered, and read back as someone holding the PDF would (pypdf for the text, pypdfium2 and
zxing-cpp for the QR code)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from kpchain.certificates.conversions import to_contract
from kpchain.certificates.document import CertificateDocument, Party
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.certificates.views import (
    CertificateDocumentView,
    CertificateView,
    ConfirmationView,
    StepView,
)
from kpchain.contracts.encoding import zone_id
from kpchain.contracts.enums import RejectionReason
from kpchain.errors import DocumentInvalidError
from kpchain.printing.pdf import REJECTION_REASON_WORDS, render_certificate, verification_link
from kpchain.vocabulary import RejectionReasonLabel
from support_pdf import (
    STATEMENT,
    assert_annex_i,
    flat,
    metadata,
    packed,
    pages_text,
    qr_codes,
)

CHAIN_ID = 2021
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
AUTHORITY = Account.from_key("0x" + "42" * 32)
BASE_URL = "https://kp.example.org"
SALT_A = bytes(range(32))
SALT_B = bytes(range(32, 64))
ISSUED_AT = datetime(2026, 11, 27, 9, 30, 5, tzinfo=UTC)
THREE_LINES = [
    {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3},
    {"hs_code": "7102.21", "carats": "100.44", "value_usd": "1000.50", "parcels": 2},
    {"hs_code": "7102.10", "carats": "0.05", "value_usd": "7", "parcels": 1},
]
DOCUMENT: dict[str, Any] = {
    "cert_no": "BW-2026-000123",
    "exporting_participant": "BW",
    "importing_participant": "AE",
    "origin": "BW",
    "exporter": {
        "name": "Okavango Diamond Company",
        "address": "Plot 64518, Fairgrounds\nGaborone",
        "licence": "BW-EXP-0017",
    },
    "importer": {
        "name": "Dubai Rough Trading DMCC",
        "address": "Almas Tower, Jumeirah Lakes Towers, Dubai",
        "licence": "DMCC-42",
    },
    "lines": THREE_LINES,
    "issued_at": "2026-11-27",
    "expires_at": "2027-01-26",
    "issuing_authority": "Government Diamond Office, Ministry of Minerals",
}
UNPRINTABLE_NOTICE = "marks a character the fonts of this printout cannot show"


def _certificate(
    *,
    status: str = "shipped",
    steps: Sequence[str] = ("issued", "shipped"),
    confirmation: ConfirmationView | None = None,
    rejection_reason: RejectionReason | None = None,
    **fields: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The certificate view and the signed document view of DOCUMENT with `fields` changed, as
    the API returns them."""
    document = CertificateDocument.model_validate({**DOCUMENT, **fields})
    cert = to_contract(document, exporter_salt=SALT_A, importer_salt=SALT_B)
    zone = document.origin_zone
    digest = document_hash(cert, chain_id=CHAIN_ID, verifying_contract=REGISTRY)
    message = typed_data(cert, chain_id=CHAIN_ID, verifying_contract=REGISTRY)
    signature = AUTHORITY.sign_typed_data(full_message=message).signature
    timestamp = int(ISSUED_AT.timestamp())
    step_views = {
        name: StepView.from_block(
            timestamp=timestamp + 3600 * index,
            block_number=100 + index,
            tx_hash=bytes([index + 1]) * 32,
            authority=AUTHORITY.address,
        )
        for index, name in enumerate(steps)
    }
    view = CertificateView.from_certificate(
        cert,
        status=status,  # type: ignore[arg-type]
        doc_hash=digest,
        signer=AUTHORITY.address,
        zone_names=None if zone is None else {zone_id(zone): zone},
        confirmation=confirmation,
        rejection_reason=rejection_reason,
        steps=step_views,  # type: ignore[arg-type]
    )
    signed = CertificateDocumentView.model_validate(
        {
            "document": document,
            "doc_hash": digest,
            "signature": signature,
            "signer": AUTHORITY.address,
            "exporter_salt": SALT_A,
            "importer_salt": SALT_B,
        }
    )
    return view.model_dump(mode="json"), signed.model_dump(mode="json")


def _render(view: dict[str, Any], signed: dict[str, Any]) -> tuple[bytes, str]:
    url = verification_link(BASE_URL, view["cert_no"], view["doc_hash"])
    return render_certificate(view, signed, verify_url=url), url


def _text(pdf: bytes) -> str:
    return flat(" ".join(pages_text(pdf)))


# --- every Annex I element, and the QR code --------------------------------------------------


def test_render_shows_every_annex_i_element_and_a_qr_code_of_the_verify_page() -> None:
    view, signed = _certificate()
    pdf, url = _render(view, signed)

    assert pdf.startswith(b"%PDF-")
    assert len(pages_text(pdf)) == 1
    text = assert_annex_i(pdf, view, signed, origin="COUNTRY OF ORIGIN Botswana (BW)")
    assert "EXPORTING PARTICIPANT Botswana (BW)" in text
    assert "IMPORTING PARTICIPANT United Arab Emirates (AE)" in text
    assert "Shipped 2026-11-27 10:30:05 101 0x" + "02" * 32 in text
    assert "NOT VALID" not in text
    assert UNPRINTABLE_NOTICE not in text

    expected = f"{BASE_URL}/verify/BW-2026-000123?doc_hash={view['doc_hash']}"
    assert url == expected
    assert qr_codes(pdf) == [expected]
    assert expected in packed(text)  # printed under the QR code too

    info = metadata(pdf)
    assert info.title == "Kimberley Process Certificate BW-2026-000123"
    assert "BW-2026-000123" in info.subject
    assert view["doc_hash"] in info.subject
    assert info.author == DOCUMENT["issuing_authority"]
    assert info.creation_date == ISSUED_AT


def test_render_gives_identical_bytes_when_inputs_are_identical() -> None:
    view, signed = _certificate()
    first, _ = _render(view, signed)
    again, _ = _render(*_certificate())
    assert again == first
    received, _ = _render({**view, "status": "received"}, signed)
    assert received != first


def test_render_shows_mixed_and_the_provenance_when_origin_is_mixed() -> None:
    view, signed = _certificate(origin="MIXED", provenance="IN")
    pdf, _ = _render(view, signed)
    assert_annex_i(
        pdf, view, signed, origin="COUNTRY OF ORIGIN Mixed Country of provenance: India (IN)"
    )


def test_render_shows_origin_zone_and_replaced_number_when_the_document_has_them() -> None:
    view, signed = _certificate(origin="CF", origin_zone="CF:Berberati", replaces="BW-2026-000001")
    pdf, _ = _render(view, signed)
    text = assert_annex_i(pdf, view, signed, origin="Central African Republic (CF)")
    assert "ORIGIN ZONE CF:Berberati" in text
    assert "REPLACES CERTIFICATE NO. BW-2026-000001" in text


# --- any name, in any script ------------------------------------------------------------------


def test_render_prints_cyrillic_greek_and_accented_names_when_parties_use_them() -> None:
    # Cyrillic and Greek on purpose (ruff's RUF001 takes them for look-alikes of Latin).
    exporter = {
        "name": "АО «АЛРОСА» Алмазы России",  # noqa: RUF001
        "address": "ул. Ленина, 6, Мирный, Республика Саха (Якутия)",  # noqa: RUF001
        "licence": "РФ-ЭКС-0001",
    }
    importer = {
        "name": "Ελληνικά Διαμάντια Α.Ε. — Zürich Øresund Straße",  # noqa: RUF001
        "address": "Hoveniersstraat 22, 2018 Antwerpen, België",
        "licence": "BE-İTH-ß42",
    }
    view, signed = _certificate(exporter=exporter, importer=importer)
    pdf, url = _render(view, signed)
    text = assert_annex_i(pdf, view, signed, origin="Botswana (BW)")
    assert "\ufffd" not in text
    assert UNPRINTABLE_NOTICE not in text
    assert qr_codes(pdf) == [url]


def test_render_keeps_arabic_glyphs_when_an_address_is_arabic() -> None:
    importer = {"name": "شركة دبي للألماس", "address": "برج الماس، دبي", "licence": "DMCC-7"}
    view, signed = _certificate(importer=importer)
    pdf, _ = _render(view, signed)
    text = _text(pdf)
    # DejaVu has the Arabic letters (shaped by HarfBuzz): none replaced.
    assert "\ufffd" not in text
    assert UNPRINTABLE_NOTICE not in text
    assert "ش" in text
    assert "DMCC-7" in text


def test_render_marks_characters_the_fonts_lack_when_a_name_is_chinese() -> None:
    exporter = {**DOCUMENT["exporter"], "name": "北京钻石 Beijing Diamonds"}
    view, signed = _certificate(exporter=exporter)
    pdf, url = _render(view, signed)
    text = _text(pdf)
    assert "\ufffd\ufffd\ufffd\ufffd Beijing Diamonds" in text
    assert f"\ufffd {UNPRINTABLE_NOTICE}; the signed electronic document" in text
    assert qr_codes(pdf) == [url]


# Any text a document takes: every Unicode character but controls and lone surrogates.
_NAMES = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=120).filter(
    lambda name: name.strip() != ""
)


@settings(max_examples=12, deadline=None)
@given(name=_NAMES, address=_NAMES)
def test_render_never_fails_whatever_the_party_names(name: str, address: str) -> None:
    party = Party(name=name, address=address, licence="L-1")
    view, signed = _certificate(exporter=party.model_dump())
    pdf, _ = _render(view, signed)
    text = _text(pdf)
    assert "BW-2026-000123" in text
    assert "Licence No. L-1" in text


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "steps", "reason"),
    [
        ("cancelled", ("issued", "cancelled"), None),
        ("rejected", ("issued", "shipped", "rejected"), RejectionReason.SEAL_BROKEN),
        ("expired", ("issued",), None),
    ],
)
def test_render_warns_not_valid_when_certificate_no_longer_covers_a_shipment(
    status: str, steps: Sequence[str], reason: RejectionReason | None
) -> None:
    view, signed = _certificate(status=status, steps=steps, rejection_reason=reason)
    pdf, _ = _render(view, signed)
    text = assert_annex_i(pdf, view, signed, origin="Botswana (BW)")
    assert f"NOT VALID FOR TRADE: this certificate is {status.upper()}" in text
    if reason is not None:
        assert "REJECTED BY THE IMPORTING AUTHORITY seal broken" in text
    assert f"{steps[-1].capitalize()} 2026-11-27" in text


def test_render_shows_the_confirmation_when_the_importer_received_it() -> None:
    confirmation = ConfirmationView.from_contract(
        parcels=6, carats=133505, received_at=1_796_000_000, confirmation_hash=b"\x07" * 32
    )
    view, signed = _certificate(
        status="received", steps=("issued", "shipped", "received"), confirmation=confirmation
    )
    pdf, _ = _render(view, signed)
    text = assert_annex_i(pdf, view, signed, origin="Botswana (BW)")
    assert "NOT VALID" not in text
    assert (
        "CONFIRMATION OF RECEIPT (IMPORTING AUTHORITY) 6 parcels, 1,335.05 carats, "
        f"received on {confirmation.received_at.isoformat()}" in text
    )


# --- long certificates ------------------------------------------------------------------------


def test_render_spans_pages_with_headings_repeated_when_a_document_has_100_lines() -> None:
    lines = [
        {
            "hs_code": ("7102.10", "7102.21", "7102.31")[i % 3],
            "carats": f"{i + 1}.{i % 100:02d}",
            "value_usd": f"{(i + 1) * 1000}.50",
            "parcels": i + 1,
        }
        for i in range(100)
    ]
    cert_no = "BW-" + "W" * 29  # the longest number, in the widest letter
    view, signed = _certificate(cert_no=cert_no, lines=lines)
    pdf, url = _render(view, signed)

    pages = [flat(page) for page in pages_text(pdf)]
    assert len(pages) >= 3
    assert_annex_i(pdf, view, signed, origin="Botswana (BW)")
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert view["doc_hash"] in page
        if number > 1:
            assert f"Kimberley Process Certificate No. {cert_no} (continued)" in page
    # The table's headings open each page it runs on.
    assert all("HS code Description Carat weight Value (US$) Parcels" in p for p in pages[:2])
    assert STATEMENT in pages[0]
    assert qr_codes(pdf) == [url]


# --- refusals and links -----------------------------------------------------------------------


def test_render_refuses_when_the_document_is_not_the_certificates() -> None:
    view, signed = _certificate()
    _, other = _certificate(issuing_authority="Another Office")
    with pytest.raises(DocumentInvalidError, match="is not the one"):
        render_certificate(view, other, verify_url=BASE_URL)
    renumbered = {**signed, "document": {**signed["document"], "cert_no": "BW-2026-000999"}}
    with pytest.raises(DocumentInvalidError):
        render_certificate(view, renumbered, verify_url=BASE_URL)


def test_verification_link_escapes_the_number_when_it_holds_url_characters() -> None:
    doc_hash = "0x" + "ab" * 32
    assert verification_link("https://kp.example.org/", "BW-2026/7?#%", doc_hash) == (
        f"https://kp.example.org/verify/BW-2026%2F7%3F%23%25?doc_hash={doc_hash}"
    )
    assert verification_link("http://127.0.0.1:8000", "BW-2026-000123", doc_hash) == (
        f"http://127.0.0.1:8000/verify/BW-2026-000123?doc_hash={doc_hash}"
    )


def test_every_rejection_reason_has_its_words_on_the_certificate() -> None:
    assert set(REJECTION_REASON_WORDS) == set(RejectionReasonLabel)
    assert all(words != reason for reason, words in REJECTION_REASON_WORDS.items())


# --- languages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "fr",
            [
                "Kimberley Process Certificate Certificat du Processus de Kimberley",
                "DATE OF ISSUE / DATE DE DÉLIVRANCE 2026-11-27",
                "DATE OF EXPIRY / DATE D'EXPIRATION 2027-01-26",
                "IMPORTING PARTICIPANT / PARTICIPANT IMPORTATEUR United Arab Emirates / Émirats "
                "arabes unis (AE)",
                "Licence No. / Licence n° BW-EXP-0017",
                "Les diamants bruts de cet envoi ont été traités conformément aux dispositions du "
                "Système de certification du Processus de Kimberley pour les diamants bruts.",
                "STATUS WHEN PRINTED / STATUT À L'IMPRESSION SHIPPED / EXPÉDIÉ",
                "Non-industrial / Non industriels",
                "Page 1 of",
                "Page 1 sur",
            ],
        ),
        (
            "ru",
            [
                "Kimberley Process Certificate Сертификат Кимберлийского процесса",
                "DATE OF ISSUE / ДАТА ВЫДАЧИ 2026-11-27",
                "EXPORTING PARTICIPANT / УЧАСТНИК-ЭКСПОРТЁР Botswana / Ботсвана (BW)",
                "COUNTRY OF ORIGIN / СТРАНА ПРОИСХОЖДЕНИЯ Botswana / Ботсвана (BW)",  # noqa: RUF001
                "Licence No. / Лицензия № BW-EXP-0017",
                "Системы сертификации Кимберлийского процесса",
                "STATUS WHEN PRINTED / СТАТУС НА МОМЕНТ ПЕЧАТИ SHIPPED / ОТПРАВЛЕН",  # noqa: RUF001
                "Unsorted / Несортированные",
                "Страница 1 из",
            ],
        ),
    ],
)
def test_render_prints_the_chosen_language_beside_the_english(
    language: str, expected: list[str]
) -> None:
    view, signed = _certificate()
    url = verification_link(BASE_URL, view["cert_no"], view["doc_hash"])
    pdf = render_certificate(view, signed, verify_url=url, language=language)
    text = _text(pdf)
    for piece in expected:
        assert piece in text, piece
    # The English is all there too (KPCS Annex I: any language with an English translation).
    assert STATEMENT in text
    assert "Kimberley Process Certificate" in text
    assert "\ufffd" not in text
    assert qr_codes(pdf) == [url]
    assert metadata(pdf).title == "Kimberley Process Certificate BW-2026-000123"
    # Identical inputs, identical bytes, in any language.
    assert render_certificate(view, signed, verify_url=url, language=language) == pdf


def test_render_in_english_is_english_alone() -> None:
    view, signed = _certificate()
    url = verification_link(BASE_URL, view["cert_no"], view["doc_hash"])
    english = render_certificate(view, signed, verify_url=url, language="en")
    assert english == render_certificate(view, signed, verify_url=url)
    text = _text(english)
    assert " / " not in text
    assert "Certificat du" not in text


def test_render_refuses_a_language_it_is_not_written_in() -> None:
    view, signed = _certificate()
    with pytest.raises(ValueError, match="no catalogue for language 'de'"):
        render_certificate(view, signed, verify_url=BASE_URL, language="de")


def test_render_prints_chinese_with_a_cjk_font_when_one_is_given(cjk_font: Path) -> None:
    exporter = {**DOCUMENT["exporter"], "name": "北京钻石 Beijing Diamonds"}
    view, signed = _certificate(exporter=exporter)
    url = verification_link(BASE_URL, view["cert_no"], view["doc_hash"])
    for language in ("en", "ru"):
        pdf = render_certificate(view, signed, verify_url=url, language=language, cjk_font=cjk_font)
        text = _text(pdf)
        assert "北京钻石 Beijing Diamonds" in text
        assert "\ufffd" not in text
        assert UNPRINTABLE_NOTICE not in text
        assert "No CJK font" not in text
        assert qr_codes(pdf) == [url]
    # A certificate without CJK names does not load the font: the same bytes as without it.
    plain_view, plain_signed = _certificate()
    assert render_certificate(
        plain_view, plain_signed, verify_url=url, cjk_font=cjk_font
    ) == render_certificate(plain_view, plain_signed, verify_url=url)


def test_render_says_no_cjk_font_is_installed_when_none_is_given(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = {**DOCUMENT["exporter"], "name": "北京钻石 Beijing Diamonds"}
    view, signed = _certificate(exporter=exporter)
    with caplog.at_level(logging.WARNING, logger="kpchain.printing.pdf"):
        pdf = render_certificate(view, signed, verify_url=BASE_URL, language="fr", cjk_font=None)
    text = _text(pdf)
    assert "\ufffd\ufffd\ufffd\ufffd Beijing Diamonds" in text
    assert "No CJK font is installed on the machine that printed this certificate" in text
    assert "Aucune police CJK n'est installée sur la machine qui a imprimé ce certificat" in text
    assert any(
        "BW-2026-000123" in record.getMessage() and "no CJK font" in record.getMessage()
        for record in caplog.records
    )


def test_render_says_nothing_of_cjk_when_only_other_scripts_are_missing() -> None:
    exporter = {**DOCUMENT["exporter"], "name": "บริษัท เพชร Thai Diamonds"}  # Thai
    view, signed = _certificate(exporter=exporter)
    text = _text(render_certificate(view, signed, verify_url=BASE_URL))
    assert UNPRINTABLE_NOTICE in text
    assert "No CJK font" not in text


# --- lines of several origins, and replacement (registry 1.3.0) -------------------------------


def test_render_lists_the_lines_of_another_origin_when_the_document_has_them() -> None:
    lines = [
        THREE_LINES[0],
        {**THREE_LINES[1], "origin": "MIXED", "provenance": "IN"},
        {**THREE_LINES[2], "origin": "CF", "origin_zone": "CF:Berberati"},
    ]
    view, signed = _certificate(lines=lines)
    pdf, _ = _render(view, signed)

    text = assert_annex_i(pdf, view, signed, origin="COUNTRY OF ORIGIN Botswana (BW)")
    assert "Lines of another origin than the country of origin in section 1" in text
    assert "2 7102.21 Mixed; Country of provenance: India (IN)" in text
    assert "3 7102.10 Central African Republic (CF); Origin zone CF:Berberati" in text


def test_render_leaves_out_line_origins_when_every_line_is_of_the_certificates_origin() -> None:
    text = _text(_render(*_certificate())[0])
    assert "Lines of another origin" not in text
    assert "Replaced by" not in text


def test_render_names_the_replacement_when_a_rejected_certificate_is_replaced() -> None:
    view, signed = _certificate(
        status="rejected",
        steps=("issued", "shipped", "rejected"),
        rejection_reason=RejectionReason.DISCREPANCY,
    )
    pdf, _ = _render({**view, "replaced_by": "BW-2026-000124"}, signed)

    text = _text(pdf)
    assert "NOT VALID FOR TRADE: this certificate is REJECTED" in text
    assert "Replaced by certificate No. BW-2026-000124." in text
