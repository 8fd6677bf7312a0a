"""The gettext catalogues of the pages and the printable certificate: extract, update, compile,
check.

    python scripts/translations.py            # extract + update + compile (`make translations`)
    python scripts/translations.py check      # exit 1 listing what is untranslated or stale

`update` reads every text marked for translation (babel.cfg: the Python sources and the page
templates) and merges it into ``src/kpchain/locale/<language>/LC_MESSAGES/messages.po`` for
French and Russian, keeping the translations already there: a new text arrives with an empty
translation, a text no longer in the code is dropped. Translate the empty ``msgstr ""`` entries
(keep ``%(name)s`` placeholders as they are), then `compile` writes the ``.mo`` files the service
loads. `check` (also a test, tests/test_i18n.py) fails while a text has no translation, a
translation's placeholders differ from its text's, or a ``.mo`` is not the compiled ``.po``.

No fuzzy matching: a guessed translation of a similar text would pass for a real one.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "babel.cfg"
LOCALE_DIR = ROOT / "src" / "kpchain" / "locale"
TRANSLATED = ("fr", "ru")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "mark": None}
PROJECT = "kpchain"


def extract(root: Path = ROOT) -> Catalog:
    """Every text marked for translation in the sources babel.cfg names (paths from `root`)."""
    method_map, options_map = parse_mapping_cfg(io.StringIO(CONFIG.read_text()))
    template = Catalog(project=PROJECT, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        template.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language)


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    # No line numbers: they would change the file whenever code above a text moves.
    write_po(out, catalog, width=100, include_lineno=False, ignore_obsolete=True, sort_output=True)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(template: Catalog) -> None:
    """Merges `template` into each language's .po (a new one is created when missing)."""
    for language in TRANSLATED:
        path = po_path(language)
        if path.exists():
            catalog = read(language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project=PROJECT, charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        path.write_bytes(po_bytes(catalog))


def compile_all() -> None:
    for language in TRANSLATED:
        mo_path(language).write_bytes(mo_bytes(read(language)))


def problems(template: Catalog | None = None) -> list[str]:
    """What keeps the catalogues from being complete and current (empty when they are)."""
    found: list[str] = []
    template = template or extract()
    for language in TRANSLATED:
        catalog = read(language)
        for message in template:
            if not message.id:
                continue
            entry = catalog.get(message.id, message.context)
            if entry is None:
                found.append(f"{language}: not in messages.po (run the update): {message.id!r}")
            elif entry.fuzzy or not all(_strings(entry.string)):
                found.append(f"{language}: no translation: {message.id!r}")
        for entry, errors in catalog.check():
            found.extend(f"{language}: {entry.id!r}: {error}" for error in errors)
        if not mo_path(language).exists() or mo_path(language).read_bytes() != mo_bytes(catalog):
            found.append(f"{language}: messages.mo is not the compiled messages.po (run compile)")
    return found


def _strings(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return [""]
    return [value] if isinstance(value, str) else list(value)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "all"
    if command in ("all", "update"):
        update(extract())
    if command in ("all", "compile"):
        compile_all()
    if command in ("all", "check"):
        left = problems()
        for problem in left:
            print(problem, file=sys.stderr)
        if left:
            if command == "all":
                print(f"{len(left)} texts to translate in {LOCALE_DIR}", file=sys.stderr)
                return 0  # updated for the translator: not a failure yet
            return 1
    if command not in ("all", "update", "compile", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
