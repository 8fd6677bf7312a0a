"""The pages in French and Russian, through FastAPI's TestClient on a running service: chosen by
Accept-Language or by the switch (``?lang=``, kept in a cookie), with their headers, the
dashboard's texts and refusals, its printable certificate, and concurrent requests in different
languages that never see each other's."""

from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from web_checks import card, hidden, log_in, shipped

from kpchain.web.language import LANGUAGE_COOKIE
from support_api import Service
from support_pdf import flat, pages_text

pytestmark = pytest.mark.anvil

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
RUSSIAN = {"Accept-Language": "ru-RU,ru;q=0.9"}


def _h1(html: str) -> str:
    start = html.index("<h1>") + len("<h1>")
    return html[start : html.index("</h1>", start)]


def test_verify_page_follows_accept_language(web: Service, visitor: TestClient) -> None:
    view = shipped(web, "BW-2026-LANG-VFY")
    path = f"/verify/BW-2026-LANG-VFY?doc_hash={view['doc_hash']}"

    french = visitor.get(path, headers=FRENCH)
    assert french.status_code == 200
    assert french.headers["content-language"] == "fr"
    assert french.headers["vary"] == "Accept-Language, Cookie"
    assert '<html lang="fr">' in french.text
    assert _h1(french.text) == "Vérifier un certificat du Processus de Kimberley"
    assert "AUTHENTIQUE" in french.text
    assert 'Statut : <strong class="status">expédié</strong>' in french.text
    assert "Botswana (BW)" in french.text
    assert "Émirats arabes unis (AE)" in french.text
    assert "et le document présenté est bien celui qu'elle a délivré" in french.text

    russian = visitor.get(path, headers=RUSSIAN)
    assert russian.headers["content-language"] == "ru"
    assert _h1(russian.text) == "Проверка сертификата Кимберлийского процесса"
    assert "ПОДЛИННЫЙ" in russian.text
    assert 'Статус: <strong class="status">отправлен</strong>' in russian.text
    assert "Объединённые Арабские Эмираты (AE)" in russian.text

    # Neither French nor Russian asked for: English, as before.
    other = visitor.get(path, headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert other.headers["content-language"] == "en"
    assert _h1(other.text) == "Verify a Kimberley Process certificate"
    assert 'Status: <strong class="status">shipped</strong>' in other.text


def test_switch_sets_a_cookie_that_outweighs_accept_language(visitor: TestClient) -> None:
    page = visitor.get("/verify", headers=FRENCH)
    # Every page links to itself in each language.
    assert 'href="/verify?lang=en" hreflang="en" lang="en">English</a>' in page.text
    assert 'href="/verify?lang=ru" hreflang="ru" lang="ru">Русский</a>' in page.text
    assert 'href="/verify?lang=fr" hreflang="fr" lang="fr" aria-current="true">' in page.text

    switched = visitor.get("/verify?lang=ru", headers=FRENCH)
    assert switched.headers["content-language"] == "ru"
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=ru;")
    assert {"httponly", "samesite=lax", "path=/"} <= {
        part.strip().lower() for part in cookie.split(";")
    }
    # The next page, without ?lang=, stays in Russian although the browser prefers French.
    after = visitor.get("/verify", headers=FRENCH)
    assert after.headers["content-language"] == "ru"
    assert "Введите номер, напечатанный на сертификате" in after.text
    assert "set-cookie" not in after.headers
    # The switch keeps the page's other query.
    digest = "0x" + "ab" * 32
    number = visitor.get(f"/verify/BW-2026-LANG-NONE?doc_hash={digest}")
    assert f'href="/verify/BW-2026-LANG-NONE?doc_hash={digest}&amp;lang=fr"' in number.text
    assert "НЕ НАЙДЕН" in number.text  # noqa: RUF001
    assert number.status_code == 404

    back = visitor.get("/verify?lang=en")
    assert back.headers["content-language"] == "en"
    assert visitor.cookies[LANGUAGE_COOKIE] == "en"


def test_a_language_the_pages_do_not_have_is_ignored(visitor: TestClient) -> None:
    page = visitor.get("/verify?lang=de", headers=RUSSIAN)
    assert page.status_code == 200
    assert page.headers["content-language"] == "ru"
    assert "set-cookie" not in page.headers


def test_form_errors_are_in_the_pages_language(visitor: TestClient) -> None:
    empty = visitor.get("/verify?cert_no=+", headers=FRENCH)
    assert empty.status_code == 422
    assert "Saisissez un numéro de certificat." in empty.text
    malformed = visitor.get("/verify/BW%202026", headers=RUSSIAN)
    assert malformed.status_code == 422
    assert "номер сертификата — это код участника" in malformed.text


def test_dashboard_in_french_keeps_its_private_headers(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-LANG-DASH"
    shipped(web, cert_no)
    login = visitor.get("/dashboard/login", headers=FRENCH)
    assert _h1(login.text) == "Tableau de bord de l'autorité : connexion"
    assert login.headers["cache-control"] == "no-store"
    assert login.headers["content-language"] == "fr"
    visitor.headers.update(FRENCH)
    log_in(visitor, web.keys["AE"]["officer"])
    page = visitor.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-language"] == "fr"
    assert _h1(page.text) == "Tableau de bord de l'autorité : Émirats arabes unis (AE)"
    assert "Connecté avec une clé de rôle « <strong>agent habilité</strong> »" in page.text
    shipment = card(page.text, cert_no)
    assert '<span class="status">expédié</span>' in shipment
    assert "Confirmer la réception" in shipment
    assert '<option value="seal_broken">Scellé ou conteneur rompu</option>' in shipment
    assert "Envois sortants en transit" in page.text
    assert '<th scope="row">T1</th>' in page.text  # the statistics' quarters
    assert '<th scope="row">Année</th>' in page.text


def test_dashboard_refusals_and_the_printed_certificate_are_in_russian(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-LANG-CLERK"
    shipped(web, cert_no)
    visitor.get("/dashboard/login?lang=ru")  # the switch, before logging in
    log_in(visitor, web.keys["AE"]["clerk"])
    page = visitor.get("/dashboard").text
    assert "только чтение" in page
    refused = visitor.post(
        f"/dashboard/certificates/{cert_no}/receive",
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "idempotency_key": "web-lang-clerk-1",
            "parcels": "3",
            "carats": "1.00",
            "received_at": "2026-01-01",
        },
    )
    assert refused.status_code == 403
    assert refused.headers["content-language"] == "ru"
    assert "Не разрешено" in refused.text  # noqa: RUF001
    assert "Ключ роли «оператор» позволяет только просмотр" in refused.text

    printed = visitor.get(f"/dashboard/certificates/{cert_no}.pdf")
    assert printed.status_code == 200
    assert printed.headers["content-language"] == "ru"
    text = flat(" ".join(pages_text(printed.content)))
    assert "Kimberley Process Certificate Сертификат Кимберлийского процесса" in text
    assert "DATE OF ISSUE / ДАТА ВЫДАЧИ" in text
    english = visitor.get(f"/dashboard/certificates/{cert_no}.pdf?lang=en")
    assert english.headers["content-language"] == "en"
    assert "Сертификат" not in flat(" ".join(pages_text(english.content)))


def test_concurrent_requests_in_different_languages_each_get_their_own(
    web: Service, visitor: TestClient
) -> None:
    # The page worker threads serve French and Russian at once from one cached Jinja
    # environment; a language stored anywhere shared would show up in the other's pages.
    expected = {
        "en": "Verify a Kimberley Process certificate",
        "fr": "Vérifier un certificat du Processus de Kimberley",
        "ru": "Проверка сертификата Кимберлийского процесса",
    }

    def fetch(language: str) -> tuple[str, str, str]:
        response = visitor.get("/verify", headers={"Accept-Language": language})
        return language, response.headers["content-language"], _h1(response.text)

    languages = ["en", "fr", "ru"] * 20
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(fetch, languages))
    assert answers == [(lang, lang, expected[lang]) for lang in languages]


def test_verify_page_words_the_checks_and_the_advice_in_its_language(
    web: Service, visitor: TestClient
) -> None:
    # The checks' sentences, the problem and the advice come from kpchain.verification in
    # English (the API's words); the page words them in its own language.
    missing = html.unescape(visitor.get("/verify/BW-2026-LANG-NONE2", headers=FRENCH).text)
    assert (
        "Aucun certificat portant le numéro BW-2026-LANG-NONE2 n'existe sur la chaîne." in missing
    )
    assert "Vérifiez que le numéro a été lu correctement ; si c'est le cas, retenez l'envoi" in (
        missing
    )
    assert "No certificate numbered" not in missing
    missing = html.unescape(visitor.get("/verify/BW-2026-LANG-NONE2", headers=RUSSIAN).text)
    assert "Сертификата с номером BW-2026-LANG-NONE2 в цепочке нет." in missing  # noqa: RUF001
    assert "Проверьте, правильно ли прочитан номер; если правильно, задержите партию" in missing

    web.issue("BW-2026-LANG-CNCL")
    assert web.post("/v1/certificates/BW-2026-LANG-CNCL/cancel", "BW").status_code == 200
    french = html.unescape(visitor.get("/verify/BW-2026-LANG-CNCL", headers=FRENCH).text)
    problem = "CNCL</strong>: Le certificat a été annulé par son autorité exportatrice."
    assert problem in french
    assert "N'acceptez pas l'envoi sur la base de ce certificat ; demandez le certificat" in french
    assert "a été délivré par BW pour AE le" in french  # the exists check, passed
    assert "La clé enregistrée sur la chaîne, 0x" in french  # the authority check's subject
    assert "The certificate was cancelled" not in french
    russian = html.unescape(visitor.get("/verify/BW-2026-LANG-CNCL", headers=RUSSIAN).text)
    assert "Сертификат аннулирован органом страны-экспортёра." in russian
    assert "Не принимайте партию по этому сертификату; запросите сертификат" in russian  # noqa: RUF001

    # In English, and through the API, the words are the checks' own, unchanged.
    english = html.unescape(visitor.get("/verify/BW-2026-LANG-CNCL").text)
    assert "The certificate was cancelled by its exporting authority." in english
    report = web.client.get("/v1/verify/BW-2026-LANG-CNCL", headers=FRENCH).json()
    assert report["problem"] == "The certificate was cancelled by its exporting authority."
