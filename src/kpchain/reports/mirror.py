"""The mirror report: for each ordered pair of participants (A, B), A's exports to B beside B's
imports from A, and their differences (the KP's cross-check of export certificates against the
importers' confirmations of receipt).

Both sides follow the statistics' definitions (`kpchain.reports.statistics`): A's exports to B
are A's certificates to B shipped or received, by date of issue; B's imports from A are those B
confirmed, by date of receipt. So a pair's figures add up to the participants' rows of
`GET /v1/statistics`, and a difference is what monitoring looks into: shipments still in transit
or rejected after shipping, receipts in another period than their issue (December's exports
received in January), and, on the imports side, what the importer confirmed (`confirmed_carats`:
carats as weighed on arrival) against what the certificates state.

CSV (`mirror_csv`), one row per pair::

    year,period,from,to,exporting,importing,export_carats,export_value_usd,export_certificates,
    import_carats,import_value_usd,import_certificates,import_confirmed_carats,
    difference_carats,difference_value_usd,difference_certificates
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpchain.certificates.conversions import SECONDS_PER_DAY, issued_at_seconds
from kpchain.indexer.tables import Certificate
from kpchain.reports.common import amount_text
from kpchain.reports.statistics import EXPORTED, IMPORTED, period_bounds

CSV_HEADER = (
    "year",
    "period",
    "from",
    "to",
    "exporting",
    "importing",
    "export_carats",
    "export_value_usd",
    "export_certificates",
    "import_carats",
    "import_value_usd",
    "import_certificates",
    "import_confirmed_carats",
    "difference_carats",
    "difference_value_usd",
    "difference_certificates",
)

_Sums = tuple[int, int, int, int]  # hundredths, cents, certificates, confirmed hundredths


def mirror(session: Session, *, year: int, period: str | None = None) -> dict[str, Any]:
    """A's exports to B beside B's imports from A, for every ordered pair that traded in `year`
    (or one quarter of it).

    Returns:
        `{"year", "period", "from", "to", "pairs": [{"exporting", "importing", "exports":
        {"carats", "value_usd", "certificates"}, "imports": {…, "confirmed_carats"},
        "difference": {"carats", "value_usd", "certificates"}}]}`, pairs by (exporting,
        importing); `difference` is exports minus imports.

    Raises:
        InvalidRequestError: `year` or `period` is out of range.
    """
    first, last = period_bounds(year, period)
    start = issued_at_seconds(first)
    end = issued_at_seconds(last) + SECONDS_PER_DAY
    pair = (Certificate.exporting, Certificate.importing)
    exports = {
        (exporting, importing): (int(hundredths), int(cents), int(count), 0)
        for exporting, importing, hundredths, cents, count in session.execute(
            select(
                *pair,
                func.sum(Certificate.carats_hundredths),
                func.sum(Certificate.value_cents),
                func.count(),
            )
            .where(
                Certificate.status.in_(EXPORTED),
                Certificate.issued_at >= start,
                Certificate.issued_at < end,
            )
            .group_by(*pair)
        )
    }
    imports = {
        (exporting, importing): (int(hundredths), int(cents), int(count), int(confirmed or 0))
        for exporting, importing, hundredths, cents, count, confirmed in session.execute(
            select(
                *pair,
                func.sum(Certificate.carats_hundredths),
                func.sum(Certificate.value_cents),
                func.count(),
                func.sum(Certificate.received_carats_hundredths),
            )
            .where(
                Certificate.status.in_(IMPORTED),
                Certificate.received_at >= start,
                Certificate.received_at < end,
            )
            .group_by(*pair)
        )
    }
    zero: _Sums = (0, 0, 0, 0)
    pairs = []
    for key in sorted(exports.keys() | imports.keys()):
        out, into = exports.get(key, zero), imports.get(key, zero)
        pairs.append(
            {
                "exporting": key[0],
                "importing": key[1],
                "exports": _sums(out),
                "imports": {**_sums(into), "confirmed_carats": amount_text(into[3])},
                "difference": _sums((out[0] - into[0], out[1] - into[1], out[2] - into[2], 0)),
            }
        )
    return {
        "year": year,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "pairs": pairs,
    }


def mirror_csv(session: Session, *, year: int, period: str | None = None) -> str:
    """`mirror` as CSV (see the module's docstring for its columns)."""
    report = mirror(session, year=year, period=period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    lead = [year, period or "year", report["from"], report["to"]]
    for row in report["pairs"]:
        exports, imports, difference = row["exports"], row["imports"], row["difference"]
        writer.writerow(
            [
                *lead,
                row["exporting"],
                row["importing"],
                *(exports[name] for name in ("carats", "value_usd", "certificates")),
                *(imports[name] for name in ("carats", "value_usd", "certificates")),
                imports["confirmed_carats"],
                *(difference[name] for name in ("carats", "value_usd", "certificates")),
            ]
        )
    return out.getvalue()


def _sums(sums: _Sums) -> dict[str, Any]:
    return {
        "carats": amount_text(sums[0]),
        "value_usd": amount_text(sums[1]),
        "certificates": sums[2],
    }
