"""GET /v1/certificates/{cert_no}/pdf against the real service (anvil, a database, the hosted
signers): certificates issued through the API, printed, and read back as their holder would,
the QR code decoded from page 1 rendered to an image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_checks import assert_error
from fastapi.testclient import TestClient

from kpchain.app import create_app
from kpchain.printing.cjk import installed_cjk_font
from support_api import Service, create_keys, service_settings
from support_chain import Devnet
from support_pdf import assert_annex_i, flat, packed, pages_text, qr_codes

TWO_LINES = [
    {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3},
    {"hs_code": "7102.21", "carats": "100.44", "value_usd": "1000.50", "parcels": 2},
]


def _get(service: Service, path: str, code: str, role: str = "clerk") -> Any:
    return service.client.get(path, headers=service.headers(code, role))


def _printed(service: Service, cert_no: str, code: str, role: str = "clerk") -> bytes:
    response = _get(service, f"/v1/certificates/{cert_no}/pdf", code, role)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{cert_no}.pdf"'
    content: bytes = response.content
    return content


def _signed(service: Service, cert_no: str) -> dict[str, Any]:
    response = _get(service, f"/v1/certificates/{cert_no}/document", "BW")
    assert response.status_code == 200, response.text
    signed: dict[str, Any] = response.json()
    return signed


def test_pdf_shows_every_annex_i_element_and_a_verify_qr_code_when_either_party_prints_it(
    service: Service,
) -> None:
    cert_no = "BW-2026-000300"
    service.issue(cert_no, lines=TWO_LINES)
    shipped = service.post(f"/v1/certificates/{cert_no}/ship", "BW", {"seal_ref": "SEAL-9"})
    assert shipped.status_code == 200, shipped.text
    view = shipped.json()
    signed = _signed(service, cert_no)

    pdf = _printed(service, cert_no, "BW", "officer")
    text = assert_annex_i(pdf, view, signed, origin="COUNTRY OF ORIGIN Botswana (BW)")
    assert signed["document"]["exporter"]["name"] == "BW Diamond Trading Company"
    assert "IMPORTING PARTICIPANT United Arab Emirates (AE)" in text
    assert "STATUS WHEN PRINTED SHIPPED" in text
    shipped_step = view["steps"]["shipped"]
    assert f"{shipped_step['block_number']} {shipped_step['tx_hash']}" in text

    verify = f"{service.settings.base_url}/verify/{cert_no}?doc_hash={view['doc_hash']}"
    assert verify.startswith("http://127.0.0.1:8000/verify/")
    assert qr_codes(pdf) == [verify]
    assert verify in packed(text)

    # The importer prints the same certificate, byte for byte.
    for code, role in (("AE", "clerk"), ("AE", "auditor"), ("BW", "clerk")):
        assert _printed(service, cert_no, code, role) == pdf


def test_pdf_prints_a_non_latin_exporter_when_the_names_are_cyrillic_and_chinese(
    service: Service,
) -> None:
    cert_no = "RU-2026-000001"
    exporter = {
        "name": "АО «АЛРОСА»",  # noqa: RUF001 - Cyrillic on purpose
        "address": "ул. Ленина, 6, Мирный",
        "licence": "РФ-0001",
    }
    importer = {"name": "北京钻石 Beijing Diamonds", "address": "北京 Beijing", "licence": "EU-7"}
    service.issue(cert_no, "RU", "EU", exporter=exporter, importer=importer)
    pdf = _printed(service, cert_no, "RU")
    view = _get(service, f"/v1/certificates/{cert_no}", "RU").json()
    signed = _get(service, f"/v1/certificates/{cert_no}/document", "RU").json()

    text = flat(" ".join(pages_text(pdf)))
    assert "EXPORTER АО «АЛРОСА» ул. Ленина, 6, Мирный Licence No. РФ-0001" in text  # noqa: RUF001
    # Issue 15: Chinese prints with the machine's CJK font when it has one (this test checks
    # the branch this machine is in; tests/printing checks both on any machine).
    if installed_cjk_font(service.settings.cjk_font) is None:
        assert "\ufffd\ufffd\ufffd\ufffd Beijing Diamonds" in text
        assert "marks a character the fonts of this printout cannot show" in text
        assert "No CJK font is installed on the machine that printed this certificate" in text
    else:
        assert "IMPORTER 北京钻石 Beijing Diamonds 北京 Beijing Licence No. EU-7" in text
        assert "\ufffd" not in text
        assert "marks a character the fonts of this printout cannot show" not in text
    assert "EXPORTING PARTICIPANT Russian Federation (RU)" in text
    assert view["doc_hash"] in text
    assert signed["signature"] in packed(text)
    assert qr_codes(pdf) == [
        f"{service.settings.base_url}/verify/{cert_no}?doc_hash={view['doc_hash']}"
    ]


def test_pdf_is_printed_in_french_or_russian_beside_the_english_when_asked(
    service: Service,
) -> None:
    cert_no = "BW-2026-000777"
    service.issue(cert_no, "BW", "RU")
    path = f"/v1/certificates/{cert_no}/pdf"
    headers = service.headers("RU", "clerk")

    by_query = service.client.get(f"{path}?lang=fr", headers=headers)
    by_header = service.client.get(path, headers={**headers, "Accept-Language": "ru, en;q=0.5"})
    english = service.client.get(path, headers={**headers, "Accept-Language": "de"})
    for response, language in ((by_query, "fr"), (by_header, "ru"), (english, "en")):
        assert response.status_code == 200, response.text
        assert response.headers["content-language"] == language
        assert response.headers["vary"] == "Accept-Language"

    french = flat(" ".join(pages_text(by_query.content)))
    assert "Kimberley Process Certificate Certificat du Processus de Kimberley" in french
    assert "DATE OF ISSUE / DATE DE DÉLIVRANCE" in french
    assert "IMPORTING PARTICIPANT / PARTICIPANT IMPORTATEUR Russian Federation / " in french
    russian = flat(" ".join(pages_text(by_header.content)))
    assert "Kimberley Process Certificate Сертификат Кимберлийского процесса" in russian
    assert "DATE OF ISSUE / ДАТА ВЫДАЧИ" in russian
    assert "Botswana / Ботсвана (BW)" in russian
    assert by_header.content != english.content
    assert english.content == _printed(service, cert_no, "RU")  # English alone, as before

    refused = service.client.get(f"{path}?lang=de", headers=headers)
    assert refused.status_code == 422


def test_pdf_shows_mixed_and_the_provenance_when_a_trading_centre_exports(
    service: Service,
) -> None:
    cert_no = "AE-2026-000042"
    issued = service.issue(cert_no, "AE", "IN", origin="MIXED", provenance="BW")
    assert issued["origin"] == "MIXED"
    pdf = _printed(service, cert_no, "IN")
    signed = _get(service, f"/v1/certificates/{cert_no}/document", "AE").json()
    assert_annex_i(
        pdf,
        issued,
        signed,
        origin="COUNTRY OF ORIGIN Mixed Country of provenance: Botswana (BW)",
    )


def test_pdf_is_refused_when_the_caller_is_no_party_or_the_certificate_unknown(
    service: Service,
) -> None:
    cert_no = "BW-2026-000301"
    service.issue(cert_no)
    path = f"/v1/certificates/{cert_no}/pdf"

    error = assert_error(_get(service, path, "IN"), 403, "participant_mismatch")
    assert error["detail"]["cert_no"] == cert_no
    assert_error(service.client.get(path), 401, "api_key_missing")
    unknown = _get(service, "/v1/certificates/BW-2026-999999/pdf", "BW")
    assert_error(unknown, 404, "certificate_not_found")
    # The governor reads every certificate's view, but not the identities a PDF prints.
    governor = service.client.get(path, headers=service.headers("", "governor"))
    assert_error(governor, 403, "participant_key_required")


@pytest.fixture
def importer_service(tmp_path: Path, anvil: Any, chain: Devnet) -> Iterator[Service]:
    """A second service on the same chain with a database of its own, as an importing authority
    that runs its own system would: it indexes every certificate but holds no document it did
    not issue."""
    directory = tmp_path / "importer"
    directory.mkdir()
    database_url = f"sqlite:///{directory / 'kpchain.db'}"
    settings = service_settings(directory, anvil.rpc_url, chain, database_url)
    governor, keys = create_keys(database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)


def test_pdf_answers_document_not_held_when_the_service_did_not_issue_it(
    service: Service, importer_service: Service
) -> None:
    cert_no = "BW-2026-000302"
    issued = service.issue(cert_no)
    importer_service.client.app.state.runtime.indexer.sync()  # type: ignore[attr-defined]
    # The importer's service knows the certificate from the chain ...
    view = _get(importer_service, f"/v1/certificates/{cert_no}", "AE")
    assert view.status_code == 200, view.text
    assert view.json()["doc_hash"] == issued["doc_hash"]
    # ... but not the identities behind its hashes, which only the issuing service holds.
    response = _get(importer_service, f"/v1/certificates/{cert_no}/pdf", "AE")
    error = assert_error(response, 404, "document_not_held")
    assert error["detail"] == {"cert_no": cert_no, "doc_hash": issued["doc_hash"]}
