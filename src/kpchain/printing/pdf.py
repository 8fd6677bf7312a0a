"""The printable KP certificate: one A4 PDF carrying every element of KPCS Annex I, the exporting
authority's validation (its EIP-712 signature and the chain's record of the issue), the document
hash, and a QR code that opens the public verification page.

`render_certificate` is a pure function of two views: the certificate view (what the chain holds,
through the index: status, hashes, lifecycle steps) and the document view (what the issuing
service holds: the signed document with the identities, the signature and its signer). It touches
no service, database or chain, so it can be tested and reused on its own.

Languages: English, or French or Russian with the English beside it (KPCS Annex I allows any
language with an English translation): each label reads "Date of issue / Date de délivrance",
each paragraph is printed in English and then in the chosen language. The texts are translated
through the catalogues of `kpchain.i18n`.

Fonts: DejaVu Sans and DejaVu Sans Mono ship in ``printing/fonts`` (licence beside them) and are
embedded as subsets, so a name in Latin, Cyrillic, Greek, Armenian, Georgian, Hebrew or Arabic
script prints with no system font and no network. Chinese, Japanese and Korean characters print
with a CJK font installed on the machine when one is given (`kpchain.printing.cjk` finds it).
A character no font has a glyph for prints as U+FFFD and the certificate says so, pointing to the
signed electronic document for the exact text (and, for CJK, that no CJK font is installed): a
certificate never fails to print, and never drops a character silently. Text is shaped with
HarfBuzz (uharfbuzz), so Arabic letters are joined and right-to-left names are ordered as they
are read.

The layout is black on white with grey only for labels and table headings, so that it reads the
same printed in black and white. Identical inputs give identical bytes: the PDF's creation date
is the block time of the issue, not the time of printing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

import segno
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, WrapMode, XPos, YPos
from fpdf.fonts import TTFFont
from fpdf.util import Padding

from kpchain import __version__
from kpchain.certificates.participants import KP_NAMES
from kpchain.errors import DocumentInvalidError
from kpchain.i18n import DEFAULT_LANGUAGE, current_language, gettext, mark, use_language
from kpchain.vocabulary import (
    MIXED,
    CertificateStatusLabel,
    HsCode,
    RejectionReasonLabel,
    StepName,
)

_log = logging.getLogger(__name__)

FONTS_DIR: Final = Path(__file__).parent / "fonts"

TITLE: Final = mark("Kimberley Process Certificate")
STATEMENT: Final = mark(
    "The rough diamonds in this shipment have been handled in accordance with the provisions "
    "of the Kimberley Process Certification Scheme for rough diamonds."
)
HS_DESCRIPTIONS: Final[Mapping[str, str]] = {
    HsCode.UNSORTED: mark("Unsorted"),
    HsCode.INDUSTRIAL: mark("Industrial"),
    HsCode.NON_INDUSTRIAL: mark("Non-industrial"),
}
"""What each KPCS HS code covers, as the certificate's table describes it."""

UNPRINTABLE: Final = "\ufffd"
"""What a character the embedded fonts have no glyph for prints as."""

STATUS_LABELS: Final[Mapping[str, str]] = {
    CertificateStatusLabel.ISSUED: mark("Issued"),
    CertificateStatusLabel.SHIPPED: mark("Shipped"),
    CertificateStatusLabel.RECEIVED: mark("Received"),
    CertificateStatusLabel.REJECTED: mark("Rejected"),
    CertificateStatusLabel.CANCELLED: mark("Cancelled"),
    CertificateStatusLabel.EXPIRED: mark("Expired"),
}
"""How the certificate writes each status and step ("Issued")."""
_NOT_VALID = (
    CertificateStatusLabel.CANCELLED,
    CertificateStatusLabel.REJECTED,
    CertificateStatusLabel.EXPIRED,
)
REJECTION_REASON_WORDS: Final[Mapping[str, str]] = {
    RejectionReasonLabel.DISCREPANCY: mark("discrepancy between the shipment and the certificate"),
    RejectionReasonLabel.SEAL_BROKEN: mark("seal broken"),
    RejectionReasonLabel.EXPIRED: mark("certificate expired"),
    RejectionReasonLabel.SUSPECTED_FORGERY: mark("suspected forgery"),
    RejectionReasonLabel.OTHER: mark("other reason"),
}
"""How the certificate words each rejection reason, after "Rejected by the importing
authority"."""

# --- geometry (millimetres) and type ------------------------------------------------------------

_MARGIN = 15.0
_BOTTOM_MARGIN = 22.0  # room for the footer
_WIDTH = 210.0 - 2 * _MARGIN
_QR_SIZE = 40.0  # the QR symbol with its quiet zone
_PAD = 1.0  # inside a field box, besides the cell margin
_LABEL_HEIGHT = 3.4
_GREY_TEXT = 70
_GREY_FILL = 225
_PT = 25.4 / 72  # millimetres per point

_SANS = "DejaVuSans"
_MONO = "DejaVuSansMono"
_CJK = "CJK"

# Where Chinese, Japanese and Korean characters are (the scripts a CJK font adds): Hangul Jamo,
# CJK radicals to Yi, Hangul syllables, compatibility ideographs and forms, full-width forms,
# and the supplementary ideographic planes.
_CJK_RANGES: Final = (
    (0x1100, 0x11FF),
    (0x2E80, 0xA4CF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


def is_cjk(char: str) -> bool:
    """Whether `char` is a Chinese, Japanese or Korean character (which DejaVu lacks)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


@dataclass(frozen=True)
class _Font:
    family: str
    style: str
    size: float  # points
    wrap: WrapMode = WrapMode.WORD

    @property
    def line_height(self) -> float:
        return self.size * _PT * 1.3


_KICKER = _Font(_SANS, "B", 8)
_TITLE = _Font(_SANS, "B", 22)
_SUBTITLE = _Font(_SANS, "B", 14)  # the title in the chosen language, under the English
_NUMBER = _Font(_SANS, "B", 24)
_HEADING = _Font(_SANS, "B", 10.5)
_LABEL = _Font(_SANS, "", 6.5)
_TEXT = _Font(_SANS, "", 9.5)
_STRONG = _Font(_SANS, "B", 9.5)
_SMALL = _Font(_SANS, "", 7.5)
_HEX = _Font(_MONO, "", 8, WrapMode.CHAR)
_HEX_SMALL = _Font(_MONO, "", 6.5, WrapMode.CHAR)
_URL = _Font(_MONO, "", 5.8, WrapMode.CHAR)


@dataclass(frozen=True)
class _Field:
    """A labelled box of a form row: runs of text, each in its own font, one under another."""

    label: str
    runs: Sequence[tuple[_Font, str]]
    width: float


# --- public API ---------------------------------------------------------------------------------


def verification_link(base_url: str, cert_no: str, doc_hash: str) -> str:
    """The address of the public verification page of a certificate, as its QR code holds it:
    ``<base_url>/verify/<cert_no>?doc_hash=<0x…>``. The number is percent-encoded as a path
    segment (a certificate number may hold any printable ASCII, ``/`` and ``?`` included)."""
    path = quote(cert_no, safe="")
    return f"{base_url.rstrip('/')}/verify/{path}?{urlencode({'doc_hash': doc_hash})}"


def render_certificate(
    view: Mapping[str, Any],
    document_view: Mapping[str, Any],
    *,
    verify_url: str,
    language: str = DEFAULT_LANGUAGE,
    cjk_font: Path | None = None,
) -> bytes:
    """The certificate as an A4 PDF.

    Args:
        view: the certificate view (`CertificateView` as JSON: status, doc_hash, signer, totals,
            steps).
        document_view: the signed document (`CertificateDocumentView` as JSON: document,
            doc_hash, signature, signer).
        verify_url: what the QR code opens (see `verification_link`); printed under it too.
        language: one of `kpchain.i18n.LANGUAGES`: English alone, or that language with the
            English beside it.
        cjk_font: a font file (.ttf, .otf, .ttc) for the Chinese, Japanese and Korean characters
            of the document; without one they print as U+FFFD, and the certificate says that no
            CJK font is installed.

    Raises:
        DocumentInvalidError: the two views are of different certificates or documents.
        ValueError: `language` is not one the certificate is written in.
    """
    with use_language(language):
        return _render(view, document_view, verify_url=verify_url, cjk_font=cjk_font)


def _render(
    view: Mapping[str, Any],
    document_view: Mapping[str, Any],
    *,
    verify_url: str,
    cjk_font: Path | None,
) -> bytes:
    document: Mapping[str, Any] = document_view["document"]
    cert_no = str(view["cert_no"])
    doc_hash = str(view["doc_hash"])
    if document["cert_no"] != cert_no or document_view["doc_hash"] != doc_hash:
        raise DocumentInvalidError(
            f"the document {document['cert_no']} ({document_view['doc_hash']}) is not the one "
            f"certificate {cert_no} was issued with ({doc_hash})",
            detail={"cert_no": cert_no, "doc_hash": doc_hash},
        )
    # The CJK font is loaded only for a document that needs it (it is large, and certificates
    # without such names keep the same bytes whether a CJK font is installed or not).
    needs_cjk = any(is_cjk(char) for text in _document_texts(document) for char in text)
    pdf = _CertificatePdf(
        cert_no=cert_no, doc_hash=doc_hash, cjk_font=cjk_font if needs_cjk else None
    )
    _set_metadata(pdf, view, document)
    pdf.add_page()
    _masthead(pdf, cert_no, verify_url)
    _status_banner(pdf, view)
    _replaced_by(pdf, view)
    _particulars(pdf, view, document)
    _parties(pdf, document)
    _contents(pdf, view, document)
    _line_origins(pdf, document)
    _validation(pdf, view, document_view)
    if needs_cjk and cjk_font is None:
        _log.warning(
            "certificate %s names Chinese, Japanese or Korean characters and no CJK font is "
            "installed: printed as U+FFFD (install fonts-noto-cjk or set KPCHAIN_CJK_FONT)",
            cert_no,
        )
    return bytes(pdf.output())


def _document_texts(document: Mapping[str, Any]) -> Iterator[str]:
    """The free texts of a document (what may be in any script)."""
    for party in ("exporter", "importer"):
        yield from (str(value) for value in document[party].values())
    yield str(document["issuing_authority"])
    yield str(document.get("origin_zone") or "")


# --- the document -------------------------------------------------------------------------------


class _CertificatePdf(FPDF):
    """fpdf2's document with the certificate's fonts, running header and footer, and text that
    never asks for a glyph the fonts lack."""

    def __init__(self, *, cert_no: str, doc_hash: str, cjk_font: Path | None = None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.cert_no = cert_no
        self.doc_hash = doc_hash
        self.unprintable = False
        self.unprintable_cjk = False
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_BOTTOM_MARGIN)
        self.c_margin = 1.5  # text to cell border, in tables
        self.add_font(_SANS, "", FONTS_DIR / "DejaVuSans.ttf")
        self.add_font(_SANS, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
        self.add_font(_MONO, "", FONTS_DIR / "DejaVuSansMono.ttf")
        self.cjk_cmap: frozenset[int] = frozenset()
        if cjk_font is not None:
            # fpdf2 takes a character the current font lacks from a fallback font; bold text
            # falls back to the regular CJK face (exact_match=False) rather than to nothing.
            self.add_font(_CJK, "", cjk_font)
            font = self.fonts[_CJK.lower()]
            assert isinstance(font, TTFFont)
            self.cjk_cmap = frozenset(font.cmap)
            self.set_fallback_fonts([_CJK], exact_match=False)
        # HarfBuzz (uharfbuzz) joins Arabic letters and orders mixed right-to-left and
        # left-to-right text, as a UAE importer's name needs.
        self.set_text_shaping(True)

    def use(self, font: _Font, *, size: float | None = None) -> None:
        self.set_font(font.family, font.style, size or font.size)

    def paragraph(
        self,
        font: _Font,
        text: str,
        width: float,
        *,
        new_x: XPos = XPos.LEFT,
        dry_run: bool = False,
    ) -> float:
        """`text` in `font`, left-aligned and wrapped to `width`, from the current position to
        the line under it; returns its height (with `dry_run`, only measures it)."""
        self.use(font)
        height = self.multi_cell(
            width,
            font.line_height,
            text,
            align=Align.L,
            wrapmode=font.wrap,
            new_x=new_x,
            new_y=YPos.NEXT,
            dry_run=dry_run,
            output=MethodReturnValue.HEIGHT,
        )
        assert isinstance(height, float | int)
        return float(height)

    def normalize_text(self, text: str) -> str:
        """Every character the current font has no glyph for becomes U+FFFD (fpdf2 would drop
        it with a warning), and the document remembers to say so."""
        text = super().normalize_text(text)
        font = self.current_font
        if not isinstance(font, TTFFont):
            return text
        kept = []
        for char in text:
            if char == "\n" or ord(char) in font.cmap or ord(char) in self.cjk_cmap:
                kept.append(char)
            else:
                kept.append(UNPRINTABLE)
                self.unprintable = True
                self.unprintable_cjk = self.unprintable_cjk or is_cjk(char)
        return "".join(kept)

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the first page has the masthead
        running = _bilingual(
            mark("Kimberley Process Certificate No. %(cert_no)s (continued)"),
            cert_no=self.cert_no,
        )
        self.use(_STRONG, size=_fitting_size(self, _STRONG, running, _WIDTH - 2 * self.c_margin))
        self.cell(0, 6, running, new_x=XPos.LMARGIN)
        self.set_y(self.get_y() + 7)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.get_y(), self.l_margin + _WIDTH, self.get_y())
        self.set_y(self.get_y() + 3)

    def footer(self) -> None:
        self.set_y(-_BOTTOM_MARGIN + 6)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.l_margin + _WIDTH, self.get_y())
        self.set_y(self.get_y() + 1.5)
        self.use(_SMALL)
        self.cell(0, 4, f"{TITLE} No. {self.cert_no}", new_x=XPos.LMARGIN)
        page = _bilingual(mark("Page %(page)s of %(pages)s"), page=self.page_no(), pages="{nb}")
        self.cell(0, 4, page, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.use(_HEX_SMALL)
        hash_label = _bilingual(mark("Document hash"))
        self.cell(0, 4, f"{hash_label} {self.doc_hash}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _set_metadata(pdf: FPDF, view: Mapping[str, Any], document: Mapping[str, Any]) -> None:
    cert_no = view["cert_no"]
    pdf.set_title(f"{TITLE} {cert_no}")
    pdf.set_subject(
        f"{TITLE} {cert_no}: rough diamonds from {view['exporting_participant']} to "
        f"{view['importing_participant']}; document hash {view['doc_hash']}"
    )
    pdf.set_author(str(document["issuing_authority"]))
    pdf.set_keywords(["Kimberley Process", "KPCS", "rough diamonds", str(cert_no)])
    pdf.set_creator(f"kpchain {__version__}")
    pdf.set_lang(current_language())
    pdf.set_creation_date(_issue_time(view))


def _issue_time(view: Mapping[str, Any]) -> datetime:
    """When the certificate was issued: its block's time, else the start of its issue date."""
    issued = (view.get("steps") or {}).get("issued")
    if issued is not None:
        return datetime.fromisoformat(issued["at"]).astimezone(UTC)
    return datetime.combine(date.fromisoformat(view["issued_at"]), time(0), tzinfo=UTC)


# --- sections -----------------------------------------------------------------------------------


def _masthead(pdf: _CertificatePdf, cert_no: str, verify_url: str) -> None:
    """Title, number and KP statement on the left; the QR code and its address on the right (on
    the first page, whatever follows)."""
    top = pdf.get_y()
    left = pdf.l_margin
    text_width = _WIDTH - _QR_SIZE - 6
    pdf.set_line_width(0.8)
    pdf.line(left, top, left + _WIDTH, top)

    pdf.set_xy(left, top + 3)
    for kicker in _both(mark("Kimberley Process Certification Scheme")):
        kicker = kicker.upper()
        pdf.use(_KICKER, size=_fitting_size(pdf, _KICKER, kicker, text_width - 2 * pdf.c_margin))
        pdf.cell(text_width, 4, kicker, new_x=XPos.LMARGIN)
        pdf.set_y(pdf.get_y() + 5)
    english, *translated = _both(TITLE)
    pdf.use(_TITLE)
    pdf.cell(text_width, 10, english, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for title in translated:
        size = _fitting_size(pdf, _SUBTITLE, title, text_width - 2 * pdf.c_margin)
        pdf.use(_SUBTITLE, size=size)
        pdf.cell(text_width, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 2)
    _label(pdf, _bilingual(mark("Certificate No.")), text_width)
    pdf.use(_NUMBER, size=_fitting_size(pdf, _NUMBER, cert_no, text_width - 2 * pdf.c_margin))
    pdf.cell(text_width, 11, cert_no, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 3)
    pdf.use(_TEXT)
    pdf.set_line_width(0.4)
    pdf.multi_cell(
        text_width,
        _TEXT.line_height,
        "\n".join(_both(STATEMENT)),
        border=1,
        align=Align.L,
        padding=Padding(2.5, 2.5, 2.5, 2.5),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    text_bottom = pdf.get_y()

    qr_left = left + _WIDTH - _QR_SIZE
    pdf.image(_qr_svg(verify_url), x=qr_left, y=top + 3, w=_QR_SIZE, h=_QR_SIZE)
    pdf.set_xy(qr_left, top + 3 + _QR_SIZE)
    pdf.use(_KICKER)
    for scan in _both(mark("Scan to verify")):
        pdf.use(_KICKER, size=_fitting_size(pdf, _KICKER, scan, _QR_SIZE))
        pdf.cell(_QR_SIZE, 4, scan, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.paragraph(_URL, verify_url, _QR_SIZE, new_x=XPos.LMARGIN)
    pdf.set_y(max(text_bottom, pdf.get_y()) + 4)


def _qr_svg(url: str) -> io.BytesIO:
    """The QR code as SVG (vector: sharp at any print resolution), quiet zone included."""
    svg = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        svg, kind="svg", border=4, xmldecl=False, omitsize=True
    )
    svg.seek(0)
    return svg


def _status_banner(pdf: _CertificatePdf, view: Mapping[str, Any]) -> None:
    """A boxed warning on a certificate that no longer covers a shipment, so that a printout of
    it cannot pass for a valid one."""
    status = view["status"]
    if status not in _NOT_VALID:
        return
    pdf.use(_HEADING)
    pdf.set_line_width(1.0)
    pdf.multi_cell(
        _WIDTH,
        7,
        "\n".join(
            _both(
                mark("NOT VALID FOR TRADE: this certificate is %(status)s"),
                status=lambda: gettext(STATUS_LABELS.get(status, status)).upper(),
            )
        ),
        border=1,
        align=Align.C,
        padding=Padding(1.5, 1.5, 1.5, 1.5),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(pdf.get_y() + 4)


def _replaced_by(pdf: _CertificatePdf, view: Mapping[str, Any]) -> None:
    """The certificate that replaces this (cancelled or rejected) one, once one does: the
    other side of the replacement's "Replaces certificate No."."""
    replaced_by = view.get("replaced_by")
    if replaced_by is None:
        return
    pdf.set_x(pdf.l_margin)
    for text in _both(mark("Replaced by certificate No. %(cert_no)s."), cert_no=replaced_by):
        pdf.paragraph(_STRONG, text, _WIDTH, new_x=XPos.LMARGIN)
    pdf.set_y(pdf.get_y() + 3)


def _particulars(
    pdf: _CertificatePdf, view: Mapping[str, Any], document: Mapping[str, Any]
) -> None:
    _heading(pdf, "1. " + _bilingual(mark("Certificate")))
    third = _WIDTH / 3
    _row(
        pdf,
        [
            _Field(
                _bilingual(mark("Exporting participant")),
                [(_TEXT, _participant(view["exporting_participant"]))],
                third,
            ),
            _Field(
                _bilingual(mark("Importing participant")),
                [(_TEXT, _participant(view["importing_participant"]))],
                third,
            ),
            _Field(_bilingual(mark("Country of origin")), _origin_runs(document), third),
        ],
    )
    _row(
        pdf,
        [
            _Field(
                _bilingual(mark("Date of issue")),
                [(_STRONG, str(document["issued_at"]))],
                _WIDTH / 4,
            ),
            _Field(
                _bilingual(mark("Date of expiry")),
                [(_STRONG, str(document["expires_at"]))],
                _WIDTH / 4,
            ),
            _Field(
                _bilingual(mark("Issuing authority")),
                [(_TEXT, str(document["issuing_authority"]))],
                _WIDTH / 2,
            ),
        ],
    )
    optional = [
        (mark("Origin zone"), document.get("origin_zone")),
        (mark("Replaces certificate No."), document.get("replaces")),
    ]
    present = [(_bilingual(label), str(value)) for label, value in optional if value]
    if present:
        width = _WIDTH / len(present)
        _row(pdf, [_Field(label, [(_TEXT, value)], width) for label, value in present])


def _origin_runs(document: Mapping[str, Any]) -> list[tuple[_Font, str]]:
    """KPCS Annex I: the country of origin for unmixed parcels; "Mixed" and the country of
    provenance (the last participant it was exported from) otherwise."""
    origin = str(document["origin"])
    if origin != MIXED:
        return [(_TEXT, _participant(origin))]
    provenance = document.get("provenance")
    return [
        (_STRONG, _bilingual(mark("Mixed"))),
        *(
            (_TEXT, line)
            for line in _both(
                mark("Country of provenance: %(participant)s"),
                participant=lambda: (
                    gettext("not stated")
                    if provenance is None
                    else _participant(str(provenance), bilingual=False)
                ),
            )
        ),
    ]


def _parties(pdf: _CertificatePdf, document: Mapping[str, Any]) -> None:
    _heading(pdf, "2. " + _bilingual(mark("Exporter and importer")))
    half = _WIDTH / 2
    _row(
        pdf,
        [
            _Field(_bilingual(mark("Exporter")), _party_runs(document["exporter"]), half),
            _Field(_bilingual(mark("Importer")), _party_runs(document["importer"]), half),
        ],
    )
    if pdf.unprintable:
        for text in _both(
            mark(
                "%(mark)s marks a character the fonts of this printout cannot show; the signed "
                "electronic document (its hash is below) holds the exact text."
            ),
            mark=lambda: UNPRINTABLE,
        ):
            _note(pdf, text)
    if pdf.unprintable_cjk:
        for text in _both(
            mark(
                "No CJK font is installed on the machine that printed this certificate, so its "
                "Chinese, Japanese or Korean characters are not shown (the service's operator "
                "can install one, such as Debian's fonts-noto-cjk)."
            )
        ):
            _note(pdf, text)


def _party_runs(party: Mapping[str, Any]) -> list[tuple[_Font, str]]:
    return [
        (_STRONG, str(party["name"])),
        (_TEXT, str(party["address"])),
        (_SMALL, _bilingual(mark("Licence No.")) + " " + str(party["licence"])),
    ]


def _contents(pdf: _CertificatePdf, view: Mapping[str, Any], document: Mapping[str, Any]) -> None:
    _heading(pdf, "3. " + _bilingual(mark("Contents of the shipment: rough diamonds")))
    lines = document["lines"]
    rows = [
        (
            str(line["hs_code"]),
            _bilingual(HS_DESCRIPTIONS[str(line["hs_code"])])
            if str(line["hs_code"]) in HS_DESCRIPTIONS
            else "",
            _amount(line["carats"]),
            _amount(line["value_usd"]),
            str(line["parcels"]),
        )
        for line in lines
    ]
    total = (
        _bilingual(mark("Total")),
        "",
        _amount(view["carats"]),
        _amount(view["value_usd"]),
        str(view["parcels"]),
    )
    _table(
        pdf,
        headings=_headings(
            mark("HS code"),
            mark("Description"),
            mark("Carat weight"),
            mark("Value (US$)"),
            mark("Parcels"),
        ),
        widths=(24, 58, 36, 38, 24),
        aligns=(Align.L, Align.L, Align.R, Align.R, Align.R),
        rows=rows,
        total=total,
    )


def _line_origins(pdf: _CertificatePdf, document: Mapping[str, Any]) -> None:
    """The lines whose goods come from elsewhere than the certificate's origin (registry
    1.3.0), each with its own: the country of origin printed in section 1 is that of the
    other lines. Nothing for a certificate of one origin."""
    own = [
        (position, line)
        for position, line in enumerate(document["lines"], start=1)
        if line.get("origin") is not None
    ]
    if not own:
        return
    pdf.set_y(pdf.get_y() + 3)
    _note(pdf, _bilingual(mark("Lines of another origin than the country of origin in section 1:")))
    rows = [
        (str(position), str(line["hs_code"]), _line_origin_text(line)) for position, line in own
    ]
    _table(
        pdf,
        headings=_headings(
            mark("Line"),
            mark("HS code"),
            mark("Country of origin (or provenance of a mixed line)"),
        ),
        widths=(16, 24, _WIDTH - 40),
        aligns=(Align.R, Align.L, Align.L),
        rows=rows,
    )


def _line_origin_text(line: Mapping[str, Any]) -> str:
    """A line's own origin on one row: as section 1 prints the certificate's, and its zone."""
    origin = str(line["origin"])
    if origin == MIXED:
        provenance = line.get("provenance")
        named = " / ".join(
            _both(
                mark("Country of provenance: %(participant)s"),
                participant=lambda: (
                    gettext("not stated")
                    if provenance is None
                    else _participant(str(provenance), bilingual=False)
                ),
            )
        )
        text = f"{_bilingual(mark('Mixed'))}; {named}"
    else:
        text = _participant(origin)
    zone = line.get("origin_zone")
    return text if zone is None else f"{text}; {_bilingual(mark('Origin zone'))} {zone}"


def _validation(
    pdf: _CertificatePdf, view: Mapping[str, Any], document_view: Mapping[str, Any]
) -> None:
    _heading(pdf, "4. " + _bilingual(mark("Validation by the exporting authority")))
    for text in _both(
        mark(
            "The exporting authority validated this certificate by signing its document (EIP-712 "
            "typed data, whose hash is the document hash) with an authority key of "
            "%(participant)s; the KP certificate registry checked the signature against the "
            "participant's registered authority keys when it recorded the issue. Scan the QR "
            "code for the certificate's current status."
        ),
        participant=lambda: _participant(view["exporting_participant"], bilingual=False),
    ):
        _note(pdf, text)
    status = str(view["status"])
    _row(
        pdf,
        [
            _Field(
                _bilingual(mark("Signed by (authority account)")),
                [(_HEX, str(document_view["signer"]))],
                100,
            ),
            _Field(
                _bilingual(mark("Status when printed")),
                [
                    (
                        _STRONG,
                        _bilingual(STATUS_LABELS[status]).upper()
                        if status in STATUS_LABELS
                        else status.upper(),
                    )
                ],
                _WIDTH - 100,
            ),
        ],
    )
    _row(
        pdf,
        [
            _Field(
                _bilingual(mark("Document hash (EIP-712)")),
                [(_HEX, str(view["doc_hash"]))],
                _WIDTH,
            )
        ],
    )
    _row(
        pdf,
        [_Field(_bilingual(mark("Signature")), [(_HEX, str(document_view["signature"]))], _WIDTH)],
    )
    confirmation = view.get("confirmation")
    if confirmation:
        received = _both(
            mark("%(parcels)s parcels, %(carats)s carats, received on %(date)s"),
            parcels=lambda: confirmation["parcels"],
            carats=lambda: _amount(confirmation["carats"]),
            date=lambda: confirmation["received_at"],
        )
        label = _bilingual(mark("Confirmation of receipt (importing authority)"))
        _row(pdf, [_Field(label, [(_TEXT, text) for text in received], _WIDTH)])
    reason = view.get("rejection_reason")
    if reason:
        words = REJECTION_REASON_WORDS.get(str(reason))
        text = str(reason) if words is None else _bilingual(words)
        label = _bilingual(mark("Rejected by the importing authority"))
        _row(pdf, [_Field(label, [(_TEXT, text)], _WIDTH)])

    steps: Mapping[str, Any] = view.get("steps") or {}
    rows = [
        (
            _bilingual(STATUS_LABELS[name]),
            _utc(steps[name]["at"]),
            str(steps[name]["block_number"]),
            str(steps[name]["tx_hash"]),
        )
        for name in StepName
        if name in steps
    ]
    if rows:
        pdf.set_y(pdf.get_y() + 3)
        _label(pdf, _bilingual(mark("Recorded on the KP chain")), _WIDTH)
        _table(
            pdf,
            headings=_headings(
                mark("Step"), mark("Time (UTC)"), mark("Block"), mark("Transaction")
            ),
            # Bilingual step names ("Shipped / Отправлен") take a wider first column.
            widths=(22, 38, 20, _WIDTH - 80)
            if current_language() == DEFAULT_LANGUAGE
            else (34, 36, 14, _WIDTH - 84),
            aligns=(Align.L, Align.L, Align.R, Align.L),
            rows=rows,
            fonts=(_TEXT, _TEXT, _TEXT, _HEX_SMALL),
        )


# --- building blocks ----------------------------------------------------------------------------


def _heading(pdf: _CertificatePdf, text: str) -> None:
    # Keep a heading with at least the start of what it heads.
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.set_y(pdf.get_y() + 2)
    pdf.use(_HEADING, size=_fitting_size(pdf, _HEADING, text, _WIDTH - 2 * pdf.c_margin))
    pdf.cell(_WIDTH, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + _WIDTH, pdf.get_y())
    pdf.set_y(pdf.get_y() + 1.5)


def _label(pdf: _CertificatePdf, text: str, width: float, *, dry_run: bool = False) -> float:
    """A field's label, in capitals, wrapped to `width` (a bilingual one may take two lines);
    returns its height (with `dry_run`, only measures it)."""
    pdf.use(_LABEL)
    pdf.set_text_color(_GREY_TEXT)
    height = pdf.multi_cell(
        width,
        _LABEL_HEIGHT,
        text.upper(),
        align=Align.L,
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
        dry_run=dry_run,
        output=MethodReturnValue.HEIGHT,
    )
    pdf.set_text_color(0)
    assert isinstance(height, float | int)
    return float(height)


# --- the two languages --------------------------------------------------------------------------


def _both(message: str, **params: Callable[[], object] | object) -> list[str]:
    """`message` (an English text marked for the catalogues) in English, then in the current
    language when that is another one and the translation differs. A callable parameter is
    called in each language (a participant's name, a status, differ between them)."""

    def text() -> str:
        values = {name: value() if callable(value) else value for name, value in params.items()}
        translated = gettext(message)
        return translated % values if values else translated

    language = current_language()
    with use_language(DEFAULT_LANGUAGE):
        english = text()
    if language == DEFAULT_LANGUAGE:
        return [english]
    other = text()
    return [english] if other == english else [english, other]


def _bilingual(message: str, **params: Callable[[], object] | object) -> str:
    """A label in English and the current language: "Date of issue / Date de délivrance"."""
    return " / ".join(_both(message, **params))


def _headings(*messages: str) -> tuple[str, ...]:
    """A table's headings, each in English and, on a second line, the current language."""
    return tuple("\n".join(_both(message)) for message in messages)


def _participant(code: str, *, bilingual: bool = True) -> str:
    """A participant or country by name and code: "Russian Federation (RU)" in English,
    "Russian Federation / Fédération de Russie (RU)" beside another language (or, not
    `bilingual`, that language's name alone: a paragraph printed in each language)."""
    name = KP_NAMES.get(code)
    if name is None:
        return code
    translated = gettext(name)
    if bilingual and translated != name:
        return f"{name} / {translated} ({code})"
    return f"{translated} ({code})"


def _note(pdf: _CertificatePdf, text: str) -> None:
    pdf.set_y(pdf.get_y() + 1.5)
    pdf.paragraph(_SMALL, text, _WIDTH, new_x=XPos.LMARGIN)
    pdf.set_y(pdf.get_y() + 1.5)


def _row(pdf: _CertificatePdf, fields: Sequence[_Field]) -> None:
    """Labelled boxes side by side, as tall as the tallest, moved whole to the next page when
    they do not fit on this one."""
    inner = [field.width - 2 * _PAD for field in fields]
    height = 2 * _PAD + max(
        _label(pdf, field.label, width, dry_run=True)
        + sum(pdf.paragraph(font, text, width, dry_run=True) for font, text in field.runs)
        for field, width in zip(fields, inner, strict=True)
    )
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()
    x = pdf.l_margin
    pdf.set_line_width(0.2)
    for field, width in zip(fields, inner, strict=True):
        pdf.rect(x, top, field.width, height)
        pdf.set_xy(x + _PAD, top + _PAD)
        _label(pdf, field.label, width)
        for font, text in field.runs:
            pdf.paragraph(font, text, width)
        x += field.width
    pdf.set_xy(pdf.l_margin, top + height)


def _table(
    pdf: _CertificatePdf,
    *,
    headings: Sequence[str],
    widths: Sequence[float],
    aligns: Sequence[Align],
    rows: Sequence[Sequence[str]],
    fonts: Sequence[_Font] | None = None,
    total: Sequence[str] | None = None,
) -> None:
    """A ruled table whose headings repeat on every page it spans; `total` closes it in bold."""
    height = 6.5
    body_fonts = fonts or [_TEXT] * len(widths)

    def cells(values: Sequence[str], row_fonts: Sequence[_Font], *, fill: bool) -> None:
        for value, width, align, font in zip(values, widths, aligns, row_fonts, strict=True):
            pdf.use(font, size=_fitting_size(pdf, font, value, width - 2 * pdf.c_margin))
            pdf.cell(width, height, value, border=1, align=align, fill=fill)
        pdf.ln(height)

    def head() -> None:
        pdf.set_fill_color(_GREY_FILL)
        pdf.set_line_width(0.2)
        lines = max(heading.count("\n") + 1 for heading in headings)
        if lines == 1:
            cells(headings, [_STRONG] * len(widths), fill=True)
            return
        # Bilingual headings: the English on the first line, the other language under it.
        line_height = 4.2
        top, x = pdf.get_y(), pdf.l_margin
        box = lines * line_height + 1.5
        for heading, width, align in zip(headings, widths, aligns, strict=True):
            pdf.rect(x, top, width, box, style="DF")
            for index, part in enumerate(heading.split("\n")):
                pdf.set_xy(x, top + 0.75 + index * line_height)
                pdf.use(_STRONG, size=_fitting_size(pdf, _STRONG, part, width - 2 * pdf.c_margin))
                pdf.cell(width, line_height, part, align=align)
            x += width
        pdf.set_xy(pdf.l_margin, top + box)

    head()
    for row in [*rows, *([total] if total is not None else [])]:
        if pdf.will_page_break(height):
            pdf.add_page()
            head()
        row_fonts = [_STRONG] * len(widths) if row is total else body_fonts
        cells(row, row_fonts, fill=False)


def _fitting_size(pdf: _CertificatePdf, font: _Font, text: str, width: float) -> float:
    """`font`'s size, or a smaller one at which `text` fits `width` (a 32-character number in
    the masthead, a sum of uint64 carat weights in a table cell), down to 5 points."""
    pdf.use(font)
    natural = pdf.get_string_width(text)
    if natural <= width:
        return font.size
    return max(5.0, font.size * width / natural)


def _amount(value: Any) -> str:
    """A two-decimal amount with thousands separators ("1234.5" -> "1,234.50")."""
    return f"{Decimal(str(value)):,.2f}"


def _utc(at: str) -> str:
    """An ISO 8601 UTC time as the certificate writes it ("2026-11-27 10:00:00")."""
    return datetime.fromisoformat(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
