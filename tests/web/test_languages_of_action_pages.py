"""The dashboard's action and maker-checker pages in French and Russian, through FastAPI's
TestClient on a running service: the New certificate form and each field's problem, the
four-eyes refusal, a draft's history, a certificate's page with its status, the certificates
list, the governance pages and the refusals of the participant admin's and governance forms."""

from __future__ import annotations

from html import unescape

import pytest
from action_pages import refused_text, submit
from eth_account import Account
from fastapi.testclient import TestClient
from web_checks import DRAFT_SAVED, hidden, logged_in, new_certificate_form

from kpchain.devnet.seed import participant_account
from support_api import Service

pytestmark = pytest.mark.anvil


def _post_new(visitor: TestClient, values: dict[str, str]) -> tuple[str, int, str]:
    page = visitor.get("/dashboard/drafts/new")
    assert page.status_code == 200, page.text
    response = visitor.post(
        "/dashboard/drafts/new", data={**values, "csrf_token": hidden(page.text, "csrf_token")}
    )
    return page.text, response.status_code, response.headers.get("location", response.text)


def test_new_certificate_form_and_its_field_problems_are_in_french(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk", "fr")
    values = new_certificate_form(
        "BW-2026-LANG-FORM",
        **{"lines.0.carats": "12.345", "lines.0.parcels": "three", "importer.name": ""},
    )

    form, status, html = _post_new(clerk, values)

    assert "<h1>Nouveau certificat</h1>" in form
    assert "Ajouter une ligne" in form
    assert "Enregistrer comme brouillon" in form
    assert status == 422
    assert "Veuillez corriger ce qui est signalé :" in html
    # Each field's problem, by its rule, in French (the English is pydantic's or the document's).
    assert 'id="lines-0-carats-error">Doit avoir deux décimales au plus.' in html
    assert 'id="lines-0-parcels-error">Doit être un nombre entier.' in html
    assert 'id="importer-name-error">Ne doit pas être vide.' in html
    assert "at most two decimal places" not in html
    # The rules across fields too.
    _, status, html = _post_new(clerk, new_certificate_form("AE-2026-LANG-FORM", origin="MIXED"))
    assert status == 422
    assert "Doit commencer par le code du participant exportateur" in html
    assert "Une origine mixte exige sa provenance" in html


def test_four_eyes_refusal_and_a_drafts_history_are_in_russian(web: Service) -> None:
    author = logged_in(web, "BW", "officer", "ru")
    _, status, location = _post_new(author, new_certificate_form("BW-2026-LANG-4EYES"))
    assert status == 303, location
    found = DRAFT_SAVED.match(location)
    assert found is not None, location
    draft_id = int(found.group(1))

    saved = author.get(location)
    assert "Черновик сохранён и ожидает утверждения должностным лицом." in saved.text
    assert "<h1>Черновик BW-2026-LANG-4EYES" in saved.text
    assert ">ожидает утверждения</span>" in saved.text  # the draft's status
    assert "<strong>создан</strong>" in saved.text  # its history
    assert "утвердить его должно другое должностное лицо" in saved.text  # noqa: RUF001
    refused = author.post(
        f"/dashboard/drafts/{draft_id}/approve",
        data={
            "csrf_token": hidden(saved.text, "csrf_token"),
            "idempotency_key": "web-lang-self-approval",
            "version": "1",
        },
    )
    assert refused.status_code == 403
    assert refused.headers["content-language"] == "ru"
    assert "Не разрешено" in refused.text  # noqa: RUF001
    assert f"Черновик {draft_id} создан или изменён этим ключом" in refused.text
    assert "принцип четырёх глаз" in refused.text
    assert "four eyes" not in refused.text


def test_certificate_page_and_list_show_statuses_in_russian(web: Service) -> None:
    cert_no = "BW-2026-LANG-CERT"
    web.issue(cert_no, "BW", "AE")
    officer = logged_in(web, "BW", "officer", "ru")
    clerk = logged_in(web, "BW", "clerk", "ru")

    page = officer.get(f"/dashboard/certificates/{cert_no}")

    assert page.status_code == 200
    assert page.headers["content-language"] == "ru"
    assert (
        f'<h1>Сертификат {cert_no} <span class="status" data-status="issued">выдан</span>'
        in page.text
    )
    assert "Отправить сертификат" in page.text
    assert "Аннулировать сертификат…" in page.text
    read_only = clerk.get(f"/dashboard/certificates/{cert_no}").text
    assert "ключ роли «оператор» участника BW не позволяет действий" in read_only
    assert "в статусе «выдан»" in read_only
    listed = officer.get("/dashboard/certificates?status=issued")
    assert listed.status_code == 200
    assert '<option value="issued" selected>выдан</option>' in listed.text
    assert '<span class="status">выдан</span>' in listed.text


def test_governance_and_participant_admin_pages_are_in_french(web: Service) -> None:
    admin = logged_in(web, "BW", "admin", "fr")

    governance = admin.get("/dashboard/governance")
    participant = admin.get("/dashboard/participants/BW")

    assert governance.status_code == 200
    assert "<h1>Gouvernance</h1>" in governance.text
    assert "Proposer une décision" in governance.text
    assert '<option value="suspend">Suspendre un participant</option>' in governance.text
    assert participant.status_code == 200
    assert "<h1>Administration du participant : Botswana (BW)</h1>" in participant.text
    assert '<h2 id="authorities">Clés de l\'autorité</h2>' in participant.text
    assert "Échange des documents" in participant.text


def test_participant_and_governance_refusals_are_in_french_and_russian(web: Service) -> None:
    """The refusals the participant admin's and the governance pages meet, each worded by its
    code in the page's language (the service words them in English)."""
    french, russian = logged_in(web, "BW", "admin", "fr"), logged_in(web, "BW", "admin", "ru")
    page, proposals = "/dashboard/participants/BW", "/dashboard/governance/proposals"
    current = participant_account("BW", "authority").address

    registered = submit(french, page, f"{page}/authorities", account=current)
    bad_url = submit(french, page, f"{page}/endpoint", url="ftp://kp.bw.example")
    unknown = submit(
        french,
        "/dashboard/governance",
        proposals,
        action="suspend",
        participant="ZZ",
        description="Suspend a participant never admitted (the languages' test)",
    )
    not_registered = submit(
        russian, page, f"{page}/authorities/revoke", account=Account.create().address
    )
    admitted = submit(
        russian,
        "/dashboard/governance",
        proposals,
        action="admit",
        participant="AE",
        admin=Account.create().address,
        description="Admit a participant admitted already (the languages' test)",
    )

    assert registered.status_code == 409
    assert unescape(refused_text(registered.text)).endswith(
        "Ce compte est déjà une clé de l'autorité : un compte agit pour un seul participant à la "
        "fois (son administrateur le révoque d'abord)."
    )
    assert bad_url.status_code == 422
    assert "L'URL du point d'accès n'est pas valide" in unescape(refused_text(bad_url.text))
    assert unknown.status_code == 404
    assert unescape(refused_text(unknown.text)).endswith(
        "Ce participant n'est pas admis au Processus de Kimberley sur cette chaîne."
    )
    assert not_registered.status_code == 409
    assert refused_text(not_registered.text).endswith(
        "Этот счёт не является ключом органа этого участника."
    )
    assert admitted.status_code == 409
    assert refused_text(admitted.text).endswith("Этот участник уже принят.")
