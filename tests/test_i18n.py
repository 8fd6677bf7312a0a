"""The languages: the catalogues are complete and compiled, Accept-Language is negotiated, and the
language of one request or task never leaks into another's."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import threading
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from fpdf.fonts import TTFFont

from kpchain.i18n import (
    LANGUAGES,
    current_language,
    gettext,
    language_code,
    negotiate,
    translations,
    use_language,
)
from kpchain.printing.pdf import FONTS_DIR, _CertificatePdf

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "src" / "kpchain" / "web" / "templates"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "translations", ROOT / "scripts" / "translations.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _script()


@pytest.fixture(scope="module")
def marked(script: ModuleType) -> Catalog:
    """Every text marked for translation in the templates and the Python sources."""
    catalog: Catalog = script.extract()
    return catalog


# --- the catalogues ---------------------------------------------------------------------------


def test_every_marked_text_has_a_french_and_a_russian_translation_and_mo_files_are_current(
    script: ModuleType, marked: Catalog
) -> None:
    # Fails on a text marked in a template or in Python without a translation (run
    # `make translations` and translate it), on a placeholder a translation lost, and on a .mo
    # that is not the compiled .po.
    assert script.problems(marked) == []


def test_extraction_finds_the_templates_and_the_python_texts(marked: Catalog) -> None:
    ids = {message.id for message in marked if message.id}
    assert "Verify a Kimberley Process certificate" in ids  # verify.html
    assert "Inbound shipments awaiting confirmation" in ids  # dashboard.html
    assert "Kimberley Process Certificate" in ids  # printing/pdf.py, through mark()
    assert "Suspected forgery" in ids  # web/forms.py
    assert "Russian Federation" in ids  # certificates/participants.py
    assert "That API key is not valid (or has been revoked). Check it and try again." in ids


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_SHOWN_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')
_WORD = re.compile(r"[^\W\d_]{2,}")


def unmarked(template: str) -> list[str]:
    """The words `template` shows without `_()`: in its text, or in an attribute a person reads
    (aria-label, title, placeholder, alt). The product's name is not translated."""
    text = _JINJA.sub(" ", template)
    shown = _SHOWN_ATTRIBUTE.findall(text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r'[\w-]+="[^"]*"', " ", text)  # attributes a macro writes into a tag
    # Codes in capitals ("BW-2026-000123" as a placeholder) are no words to translate.
    words = (w for part in (text, *shown) for w in _WORD.findall(part) if w != w.upper())
    return [w for w in words if w != "kpchain"]


def test_every_template_marks_all_of_its_visible_text_for_translation() -> None:
    # A text written in a template without _() would be extracted by no one and stay English on
    # the French and Russian pages; the catalogue test above cannot see it.
    found = {
        path.name: words
        for path in sorted(TEMPLATES.glob("*.html"))
        if (words := unmarked(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_unmarked_finds_text_outside_gettext() -> None:
    assert unmarked('<h1>{{ _("Drafts") }}</h1><p>{{ n }}</p>') == []
    assert unmarked("<p>Drafts {{ n }}</p>") == ["Drafts"]
    assert unmarked('<nav aria-label="Site">{% if x %}{% endif %}</nav>') == ["Site"]
    assert unmarked("<nav aria-label=\"{{ _('Site') }}\"></nav>") == []
    assert unmarked("{# a comment #}<title>{% block t %}kpchain{% endblock %}</title>") == []
    macro = '{% macro a() %} aria-invalid="true"{% endmacro %}'
    assert unmarked(f'<input placeholder="BW-2026-000123">{macro}') == []
    assert unmarked('<input placeholder="such as BW-2026-1">') == ["such", "as"]


def test_check_reports_a_new_text_without_translation_and_a_stale_mo(
    script: ModuleType, marked: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked_plus = Catalog(locale=None)
    for message in marked:
        if message.id:
            marked_plus.add(message.id, None, message.locations, flags=message.flags)
    marked_plus.add("A text a new page just added", None, [("new.html", 1)])
    found = script.problems(marked_plus)
    assert found == [
        "fr: not in messages.po (run the update): 'A text a new page just added'",
        "ru: not in messages.po (run the update): 'A text a new page just added'",
    ]

    # A .po edited after its .mo was compiled.
    locale = tmp_path / "locale"
    for language in ("fr", "ru"):
        folder = locale / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        for name in ("messages.po", "messages.mo"):
            (folder / name).write_bytes(
                (script.LOCALE_DIR / language / "LC_MESSAGES" / name).read_bytes()
            )
    po = locale / "ru" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgstr "Проверить"', 'msgstr "Проверить!"'))
    monkeypatch.setattr(script, "LOCALE_DIR", locale)
    assert script.problems(marked) == [
        "ru: messages.mo is not the compiled messages.po (run compile)"
    ]


def test_the_certificate_fonts_have_every_letter_of_the_translations(script: ModuleType) -> None:
    # The printable certificate is written in DejaVu Sans: every character of the French and
    # Russian texts (Cyrillic, accents, guillemets) must have a glyph in both of its weights.
    pdf = _CertificatePdf(cert_no="X", doc_hash="0x")
    for style in ("", "B"):
        font = pdf.fonts["dejavusans" + style]
        assert isinstance(font, TTFFont)
        for language in ("fr", "ru"):
            texts = "".join(str(m.string) for m in script.read(language) if m.id)
            missing = {char for char in texts if ord(char) not in font.cmap and char != "\n"}
            assert missing == set(), (style, language)
    assert (FONTS_DIR / "DejaVuSans.ttf").is_file()


def test_translations_are_loaded_for_each_language() -> None:
    with use_language("fr"):
        assert gettext("Kimberley Process Certificate") == "Certificat du Processus de Kimberley"
    with use_language("ru"):
        assert gettext("Kimberley Process Certificate") == "Сертификат Кимберлийского процесса"
    assert gettext("Kimberley Process Certificate") == "Kimberley Process Certificate"
    assert gettext("a text no catalogue has") == "a text no catalogue has"
    with pytest.raises(ValueError, match="no catalogue for language 'de'"):
        translations("de")


# --- negotiation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
        ("de-DE,de;q=0.9,ru;q=0.8,en;q=0.5", "ru"),
        ("en-GB,fr;q=0.9", "en"),
        ("ru;q=0.4, fr;q=0.6", "fr"),
        ("de, ja", "en"),  # none of ours
        ("fr;q=0, ru;q=0.1", "ru"),  # q=0 means "not this one"
        ("*", "en"),
        ("fr;q=abc, ru", "ru"),  # a malformed weight is skipped, not fatal
        ("RU-ru", "ru"),
        (";;;,,,", "en"),
    ],
)
def test_negotiate_picks_the_supported_language_the_browser_prefers(
    header: str | None, expected: str
) -> None:
    assert negotiate(header) == expected


def test_language_code_accepts_only_the_three_languages() -> None:
    assert [language_code(v) for v in ("fr", "FR", "fr-CA", "ru_RU", "de", "", None)] == [
        "fr",
        "fr",
        "fr",
        "ru",
        None,
        None,
        None,
    ]
    assert LANGUAGES == ("en", "fr", "ru")


# --- isolation ----------------------------------------------------------------------------------


def test_concurrent_threads_each_keep_their_own_language() -> None:
    # Both threads set their language, then wait for each other before reading it: a language
    # kept anywhere shared (a global, the cached Jinja environment) would be the other's.
    barrier = threading.Barrier(2, timeout=30)
    seen: dict[str, str] = {}

    def serve(language: str) -> None:
        with use_language(language):
            barrier.wait()
            seen[language] = gettext("Verify a certificate")
            barrier.wait()

    threads = [threading.Thread(target=serve, args=(lang,)) for lang in ("fr", "ru")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"fr": "Vérifier un certificat", "ru": "Проверить сертификат"}
    assert current_language() == "en"


def test_concurrent_asyncio_tasks_each_keep_their_own_language() -> None:
    async def serve(language: str, started: asyncio.Event, other: asyncio.Event) -> str:
        with use_language(language):
            started.set()
            await other.wait()  # the other task has set its language meanwhile
            return gettext("Log out")

    async def both() -> list[str]:
        fr_started, ru_started = asyncio.Event(), asyncio.Event()
        return list(
            await asyncio.gather(
                serve("fr", fr_started, ru_started), serve("ru", ru_started, fr_started)
            )
        )

    assert asyncio.run(both()) == ["Se déconnecter", "Выйти"]
