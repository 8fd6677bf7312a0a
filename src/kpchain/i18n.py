"""The languages of the pages and of the printable certificate: English, French and Russian.

Texts are written in English in the code and the templates, marked for translation with
`gettext` (or `mark`, for a constant translated where it is used), and translated through the
gettext catalogues in ``kpchain/locale/<language>/LC_MESSAGES/messages.po`` (compiled to ``.mo``
beside them; ``python scripts/translations.py`` extracts, updates and compiles them).

The language in use is a context variable, not a global: each request (each asyncio task, each
worker thread FastAPI runs a plain `def` in, which copies the request's context) reads its own,
so concurrent requests in different languages never see each other's. Outside `use_language`
it is English, which is what the REST API, the CLI and the logs speak.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Final

LANGUAGES: Final = ("en", "fr", "ru")
"""The languages the pages and the certificate are written in, English (the source) first."""

DEFAULT_LANGUAGE: Final = "en"

LANGUAGE_NAMES: Final = {"en": "English", "fr": "Français", "ru": "Русский"}
"""Each language's name in itself, as a language switch shows it."""

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"

_current: ContextVar[str] = ContextVar("kpchain_language", default=DEFAULT_LANGUAGE)

# One entry of Accept-Language: a language range and an optional weight ("fr-CA;q=0.8").
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([^,;\s]*))?")


def mark(message: str) -> str:
    """Marks `message` for the catalogues without translating it (a constant defined before any
    language is known); translate it where it is shown, with `gettext(message)`."""
    return message


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The catalogue of `language` (English: none, the texts are English as written).

    Raises:
        ValueError: `language` is not one of `LANGUAGES`.
        FileNotFoundError: its compiled catalogue is missing (a broken installation).
    """
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}; languages: {LANGUAGES}")
    if language == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as compiled:
        return _gettext.GNUTranslations(compiled)


def current_language() -> str:
    """The language of the request (or task) being served."""
    return _current.get()


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Translates into `language` inside the block (in this context only)."""
    translations(language)  # fail here, not in the middle of a page, on a bad language
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """`message` in the current language (as written when it has no translation)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for `n`, in the current language (Russian has three)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def language_code(value: str | None) -> str | None:
    """The supported language `value` names ("fr", "FR", "fr-CA", "ru_RU"), or None."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return primary if primary in LANGUAGES else None


def negotiate(accept_language: str | None) -> str:
    """The language to answer an ``Accept-Language`` header with: the supported one the client
    weighs most (the first listed among equals), English when it names none of them.

    Malformed entries are skipped, as a browser's header is never a reason to fail a page.
    """
    best, best_weight = DEFAULT_LANGUAGE, 0.0
    for entry in (accept_language or "")[:1000].split(","):
        found = _RANGE.match(entry)
        if found is None:
            continue
        try:
            weight = 1.0 if found.group(2) is None else float(found.group(2))
        except ValueError:
            continue
        language = DEFAULT_LANGUAGE if found.group(1) == "*" else language_code(found.group(1))
        if language is not None and 0 < weight <= 1 and weight > best_weight:
            best, best_weight = language, weight
    return best
