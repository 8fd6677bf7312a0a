"""The printable KP certificate: one A4 PDF carrying every element of KPCS Annex I, the exporting
authority's validation (its EIP-712 signature and the chain's record of the issue), the document
hash, and a QR code that opens the public verification page.

`render_certificate` is a pure function of two views: the certificate view (what the chain holds,
through the index: status, hashes, lifecycle steps) and the document view (what the issuing
service holds: the signed document with the identities, the signature and its signer). It touches
no service, database or chain, so it can be tested and reused on its own.

Fonts: DejaVu Sans and DejaVu Sans Mono ship in ``printing/fonts`` (licence beside them) and are
embedded as subsets, so a name in Latin, Cyrillic, Greek, Armenian, Georgian, Hebrew or Arabic
script prints with no system font and no network. A character they have no glyph for (CJK
ideographs, Thai, Devanagari) prints as U+FFFD and the certificate says so, pointing to the signed
electronic document for the exact text: a certificate never fails to print, and never drops a
character silently. Text is shaped with HarfBuzz (uharfbuzz), so Arabic letters are joined and
right-to-left names are ordered as they are read.

The layout is black on white with grey only for labels and table headings, so that it reads the
same printed in black and white. Identical inputs give identical bytes: the PDF's creation date
is the block time of the issue, not the time of printing.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
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
from kpchain.certificates.participants import participant_label
from kpchain.errors import DocumentInvalidError
from kpchain.vocabulary import (
    MIXED,
    CertificateStatusLabel,
    HsCode,
    RejectionReasonLabel,
    StepName,
)

FONTS_DIR: Final = Path(__file__).parent / "fonts"

TITLE: Final = "Kimberley Process Certificate"
STATEMENT: Final = (
    "The rough diamonds in this shipment have been handled in accordance with the provisions "
    "of the Kimberley Process Certification Scheme for rough diamonds."
)
HS_DESCRIPTIONS: Final[Mapping[str, str]] = {
    HsCode.UNSORTED: "Unsorted",
    HsCode.INDUSTRIAL: "Industrial",
    HsCode.NON_INDUSTRIAL: "Non-industrial",
}
"""What each KPCS HS code covers, as the certificate's table describes it."""

UNPRINTABLE: Final = "\ufffd"
"""What a character the embedded fonts have no glyph for prints as."""

STATUS_LABELS: Final[Mapping[str, str]] = {
    status: status.capitalize() for status in CertificateStatusLabel
}
"""How the certificate writes each status and step ("Issued")."""
_NOT_VALID = (
    CertificateStatusLabel.CANCELLED,
    CertificateStatusLabel.REJECTED,
    CertificateStatusLabel.EXPIRED,
)
REJECTION_REASON_WORDS: Final[Mapping[str, str]] = {
    RejectionReasonLabel.DISCREPANCY: "discrepancy between the shipment and the certificate",
    RejectionReasonLabel.SEAL_BROKEN: "seal broken",
    RejectionReasonLabel.EXPIRED: "certificate expired",
    RejectionReasonLabel.SUSPECTED_FORGERY: "suspected forgery",
    RejectionReasonLabel.OTHER: "other reason",
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
    view: Mapping[str, Any], document_view: Mapping[str, Any], *, verify_url: str
) -> bytes:
    """The certificate as an A4 PDF.

    Args:
        view: the certificate view (`CertificateView` as JSON: status, doc_hash, signer, totals,
            steps).
        document_view: the signed document (`CertificateDocumentView` as JSON: document,
            doc_hash, signature, signer).
        verify_url: what the QR code opens (see `verification_link`); printed under it too.

    Raises:
        DocumentInvalidError: the two views are of different certificates or documents.
    """
    document: Mapping[str, Any] = document_view["document"]
    cert_no = str(view["cert_no"])
    doc_hash = str(view["doc_hash"])
    if document["cert_no"] != cert_no or document_view["doc_hash"] != doc_hash:
        raise DocumentInvalidError(
            f"the document {document['cert_no']} ({document_view['doc_hash']}) is not the one "
            f"certificate {cert_no} was issued with ({doc_hash})",
            detail={"cert_no": cert_no, "doc_hash": doc_hash},
        )
    pdf = _CertificatePdf(cert_no=cert_no, doc_hash=doc_hash)
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
    return bytes(pdf.output())


# --- the document -------------------------------------------------------------------------------


class _CertificatePdf(FPDF):
    """fpdf2's document with the certificate's fonts, running header and footer, and text that
    never asks for a glyph the fonts lack."""

    def __init__(self, *, cert_no: str, doc_hash: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.cert_no = cert_no
        self.doc_hash = doc_hash
        self.unprintable = False
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_BOTTOM_MARGIN)
        self.c_margin = 1.5  # text to cell border, in tables
        self.add_font(_SANS, "", FONTS_DIR / "DejaVuSans.ttf")
        self.add_font(_SANS, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
        self.add_font(_MONO, "", FONTS_DIR / "DejaVuSansMono.ttf")
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
        kept = [char if char == "\n" or ord(char) in font.cmap else UNPRINTABLE for char in text]
        printable = "".join(kept)
        if printable != text:
            self.unprintable = True
        return printable

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the first page has the masthead
        running = f"{TITLE} No. {self.cert_no} (continued)"
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
        page = f"Page {self.page_no()} of {{nb}}"
        self.cell(0, 4, page, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.use(_HEX_SMALL)
        self.cell(0, 4, f"Document hash {self.doc_hash}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


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
    pdf.set_lang("en")
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
    pdf.use(_KICKER)
    pdf.cell(text_width, 4, "KIMBERLEY PROCESS CERTIFICATION SCHEME", new_x=XPos.LMARGIN)
    pdf.set_y(pdf.get_y() + 5)
    pdf.use(_TITLE)
    pdf.cell(text_width, 10, TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 2)
    _label(pdf, "Certificate No.", text_width)
    pdf.use(_NUMBER, size=_fitting_size(pdf, _NUMBER, cert_no, text_width - 2 * pdf.c_margin))
    pdf.cell(text_width, 11, cert_no, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 3)
    pdf.use(_TEXT)
    pdf.set_line_width(0.4)
    pdf.multi_cell(
        text_width,
        _TEXT.line_height,
        STATEMENT,
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
    pdf.cell(_QR_SIZE, 4, "Scan to verify", align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
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
        f"NOT VALID FOR TRADE: this certificate is {status.upper()}",
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
    pdf.paragraph(
        _STRONG, f"Replaced by certificate No. {replaced_by}.", _WIDTH, new_x=XPos.LMARGIN
    )
    pdf.set_y(pdf.get_y() + 3)


def _particulars(
    pdf: _CertificatePdf, view: Mapping[str, Any], document: Mapping[str, Any]
) -> None:
    _heading(pdf, "1. Certificate")
    third = _WIDTH / 3
    _row(
        pdf,
        [
            _Field(
                "Exporting participant",
                [(_TEXT, participant_label(view["exporting_participant"]))],
                third,
            ),
            _Field(
                "Importing participant",
                [(_TEXT, participant_label(view["importing_participant"]))],
                third,
            ),
            _Field("Country of origin", _origin_runs(document), third),
        ],
    )
    _row(
        pdf,
        [
            _Field("Date of issue", [(_STRONG, str(document["issued_at"]))], _WIDTH / 4),
            _Field("Date of expiry", [(_STRONG, str(document["expires_at"]))], _WIDTH / 4),
            _Field("Issuing authority", [(_TEXT, str(document["issuing_authority"]))], _WIDTH / 2),
        ],
    )
    optional = [
        ("Origin zone", document.get("origin_zone")),
        ("Replaces certificate No.", document.get("replaces")),
    ]
    present = [(label, str(value)) for label, value in optional if value]
    if present:
        width = _WIDTH / len(present)
        _row(pdf, [_Field(label, [(_TEXT, value)], width) for label, value in present])


def _origin_runs(document: Mapping[str, Any]) -> list[tuple[_Font, str]]:
    """KPCS Annex I: the country of origin for unmixed parcels; "Mixed" and the country of
    provenance (the last participant it was exported from) otherwise."""
    origin = str(document["origin"])
    if origin != MIXED:
        return [(_TEXT, participant_label(origin))]
    provenance = document.get("provenance")
    named = "not stated" if provenance is None else participant_label(str(provenance))
    return [(_STRONG, "Mixed"), (_TEXT, f"Country of provenance: {named}")]


def _parties(pdf: _CertificatePdf, document: Mapping[str, Any]) -> None:
    _heading(pdf, "2. Exporter and importer")
    half = _WIDTH / 2
    _row(
        pdf,
        [
            _Field("Exporter", _party_runs(document["exporter"]), half),
            _Field("Importer", _party_runs(document["importer"]), half),
        ],
    )
    if pdf.unprintable:
        _note(
            pdf,
            f"{UNPRINTABLE} marks a character the fonts of this printout cannot show; the signed "
            "electronic document (its hash is below) holds the exact text.",
        )


def _party_runs(party: Mapping[str, Any]) -> list[tuple[_Font, str]]:
    return [
        (_STRONG, str(party["name"])),
        (_TEXT, str(party["address"])),
        (_SMALL, f"Licence No. {party['licence']}"),
    ]


def _contents(pdf: _CertificatePdf, view: Mapping[str, Any], document: Mapping[str, Any]) -> None:
    _heading(pdf, "3. Contents of the shipment: rough diamonds")
    lines = document["lines"]
    rows = [
        (
            str(line["hs_code"]),
            HS_DESCRIPTIONS.get(str(line["hs_code"]), ""),
            _amount(line["carats"]),
            _amount(line["value_usd"]),
            str(line["parcels"]),
        )
        for line in lines
    ]
    total = ("Total", "", _amount(view["carats"]), _amount(view["value_usd"]), str(view["parcels"]))
    _table(
        pdf,
        headings=("HS code", "Description", "Carat weight", "Value (US$)", "Parcels"),
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
    _note(pdf, "Lines of another origin than the country of origin in section 1:")
    rows = [
        (str(position), str(line["hs_code"]), _line_origin_text(line)) for position, line in own
    ]
    _table(
        pdf,
        headings=("Line", "HS code", "Country of origin (or provenance of a mixed line)"),
        widths=(16, 24, _WIDTH - 40),
        aligns=(Align.R, Align.L, Align.L),
        rows=rows,
    )


def _line_origin_text(line: Mapping[str, Any]) -> str:
    origin = str(line["origin"])
    if origin == MIXED:
        provenance = line.get("provenance")
        named = "not stated" if provenance is None else participant_label(str(provenance))
        text = f"Mixed; country of provenance: {named}"
    else:
        text = participant_label(origin)
    zone = line.get("origin_zone")
    return text if zone is None else f"{text}; origin zone {zone}"


def _validation(
    pdf: _CertificatePdf, view: Mapping[str, Any], document_view: Mapping[str, Any]
) -> None:
    _heading(pdf, "4. Validation by the exporting authority")
    _note(
        pdf,
        "The exporting authority validated this certificate by signing its document (EIP-712 "
        "typed data, whose hash is the document hash) with an authority key of "
        f"{participant_label(view['exporting_participant'])}; the KP certificate registry checked "
        "the signature against the participant's registered authority keys when it recorded the "
        "issue. Scan the QR code for the certificate's current status.",
    )
    status = str(view["status"])
    _row(
        pdf,
        [
            _Field("Signed by (authority account)", [(_HEX, str(document_view["signer"]))], 100),
            _Field(
                "Status when printed",
                [(_STRONG, STATUS_LABELS.get(status, status).upper())],
                _WIDTH - 100,
            ),
        ],
    )
    _row(pdf, [_Field("Document hash (EIP-712)", [(_HEX, str(view["doc_hash"]))], _WIDTH)])
    _row(pdf, [_Field("Signature", [(_HEX, str(document_view["signature"]))], _WIDTH)])
    confirmation = view.get("confirmation")
    if confirmation:
        received = (
            f"{confirmation['parcels']} parcels, {_amount(confirmation['carats'])} carats, "
            f"received on {confirmation['received_at']}"
        )
        _row(
            pdf,
            [_Field("Confirmation of receipt (importing authority)", [(_TEXT, received)], _WIDTH)],
        )
    reason = view.get("rejection_reason")
    if reason:
        text = REJECTION_REASON_WORDS.get(str(reason), str(reason))
        _row(pdf, [_Field("Rejected by the importing authority", [(_TEXT, text)], _WIDTH)])

    steps: Mapping[str, Any] = view.get("steps") or {}
    rows = [
        (
            STATUS_LABELS[name],
            _utc(steps[name]["at"]),
            str(steps[name]["block_number"]),
            str(steps[name]["tx_hash"]),
        )
        for name in StepName
        if name in steps
    ]
    if rows:
        pdf.set_y(pdf.get_y() + 3)
        _label(pdf, "Recorded on the KP chain", _WIDTH)
        _table(
            pdf,
            headings=("Step", "Time (UTC)", "Block", "Transaction"),
            widths=(22, 38, 20, _WIDTH - 80),
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
    pdf.use(_HEADING)
    pdf.cell(_WIDTH, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + _WIDTH, pdf.get_y())
    pdf.set_y(pdf.get_y() + 1.5)


def _label(pdf: _CertificatePdf, text: str, width: float) -> None:
    pdf.use(_LABEL)
    pdf.set_text_color(_GREY_TEXT)
    pdf.cell(width, _LABEL_HEIGHT, text.upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0)


def _note(pdf: _CertificatePdf, text: str) -> None:
    pdf.set_y(pdf.get_y() + 1.5)
    pdf.paragraph(_SMALL, text, _WIDTH, new_x=XPos.LMARGIN)
    pdf.set_y(pdf.get_y() + 1.5)


def _row(pdf: _CertificatePdf, fields: Sequence[_Field]) -> None:
    """Labelled boxes side by side, as tall as the tallest, moved whole to the next page when
    they do not fit on this one."""
    inner = [field.width - 2 * _PAD for field in fields]
    height = (
        2 * _PAD
        + _LABEL_HEIGHT
        + max(
            sum(pdf.paragraph(font, text, width, dry_run=True) for font, text in field.runs)
            for field, width in zip(fields, inner, strict=True)
        )
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
        cells(headings, [_STRONG] * len(widths), fill=True)

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
