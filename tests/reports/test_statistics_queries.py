"""The statistics' sums on an index written directly (SQLite and PostgreSQL): what the workload
through the API (tests/api/test_statistics.py) never makes, a certificate with two lines under
one HS code, counts once in that code's breakdown, and its carats and value twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from kpchain.certificates.conversions import expiry_seconds, issued_at_seconds
from kpchain.indexer.tables import Certificate, CertificateLine, Participant
from kpchain.reports.mirror import mirror, mirror_csv
from kpchain.reports.statistics import statistics
from kpchain.store import create_engine, migrate, session_factory

HASH = "0x" + "ab" * 32
ADDRESS = "0x" + "00" * 19 + "01"


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = create_engine(database_url)
    migrate(engine)
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _certificate(
    cert_no: str,
    importing: str,
    status: str,
    lines: list[tuple[int, int, int]],
    *,
    issued: date,
    received: date | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A BW certificate as the indexer leaves it, with `lines` of (HS code, hundredths, cents)."""
    row = {
        "cert_no": cert_no,
        "exporting": "BW",
        "importing": importing,
        "origin": "BW",
        "exporter_hash": HASH,
        "importer_hash": HASH,
        "issued_at": issued_at_seconds(issued),
        "expires_at": expiry_seconds(date(issued.year, 12, 31)),
        "issuing_authority": "BW Government Diamond Office",
        "doc_hash": HASH,
        "signer": ADDRESS,
        "status": status,
        "carats_hundredths": sum(h for _, h, _ in lines),
        "value_cents": sum(c for _, _, c in lines),
        "parcels": len(lines),
        "issued_block": 1,
        "issued_tx": HASH,
        "issued_time": issued_at_seconds(issued),
        "received_at": issued_at_seconds(received) if received else None,
    }
    children = [
        {
            "cert_no": cert_no,
            "position": position,
            "hs_code": hs_code,
            "carats_hundredths": hundredths,
            "value_cents": cents,
            "parcels": 1,
        }
        for position, (hs_code, hundredths, cents) in enumerate(lines)
    ]
    return row, children


def test_statistics_count_certificate_once_per_hs_code_when_two_of_its_lines_share_it(
    session: Session,
) -> None:
    certificates = [
        _certificate(
            "BW-2023-000001",
            "AE",
            "received",
            [(710231, 10_001, 100_001), (710210, 500, 500), (710231, 20_002, 200_002)],
            issued=date(2023, 3, 1),
            received=date(2023, 3, 10),
        ),
        _certificate(
            "BW-2023-000002", "EU", "shipped", [(710231, 100, 100)], issued=date(2023, 5, 1)
        ),
        _certificate(
            "BW-2023-000003", "AE", "cancelled", [(710231, 7, 7)], issued=date(2023, 5, 2)
        ),
    ]
    session.execute(
        insert(Participant),
        [
            {
                "code": code,
                "status": "active",
                "admin": ADDRESS,
                "origin_restricted": False,
                "admitted_block": 1,
                "admitted_time": 0,
            }
            for code in ("AE", "BW", "EU")
        ],
    )
    session.execute(insert(Certificate), [row for row, _ in certificates])
    session.execute(insert(CertificateLine), [line for _, lines in certificates for line in lines])
    session.commit()

    report = statistics(session, year=2023)

    rows = {row["code"]: row for row in report["participants"]}
    exports = rows["BW"]["exports"]
    assert (exports["carats"], exports["value_usd"], exports["certificates"]) == (
        "306.03",
        "3006.03",
        2,
    )
    assert exports["by_hs_code"]["7102.31"] == {
        "carats": "301.03",
        "value_usd": "3001.03",
        "certificates": 2,
    }
    assert exports["by_hs_code"]["7102.10"] == {
        "carats": "5.00",
        "value_usd": "5.00",
        "certificates": 1,
    }
    imports = rows["AE"]["imports"]
    assert imports["by_hs_code"]["7102.31"] == {
        "carats": "300.03",
        "value_usd": "3000.03",
        "certificates": 1,
    }
    assert imports["certificates"] == 1
    assert rows["EU"]["imports"]["certificates"] == 0  # shipped, not received
    assert report["totals"]["exports"]["by_hs_code"]["7102.31"]["certificates"] == 2


def _insert(
    session: Session, certificates: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> None:
    session.execute(
        insert(Participant),
        [
            {
                "code": code,
                "status": "active",
                "admin": ADDRESS,
                "origin_restricted": False,
                "admitted_block": 1,
                "admitted_time": 0,
            }
            for code in ("AE", "BW")
        ],
    )
    session.execute(insert(Certificate), [row for row, _ in certificates])
    session.execute(insert(CertificateLine), [line for _, lines in certificates for line in lines])
    session.commit()


def test_statistics_count_an_export_only_when_shipped_or_received(session: Session) -> None:
    issued = date(2023, 6, 1)
    fates = {
        "BW-2023-000001": ("issued", 1),
        "BW-2023-000002": ("shipped", 10),
        "BW-2023-000003": ("received", 100),
        "BW-2023-000004": ("rejected", 1_000),
        "BW-2023-000005": ("cancelled", 10_000),
    }
    certificates = [
        _certificate(
            cert_no,
            "AE",
            status,
            [(710231, hundredths, hundredths)],
            issued=issued,
            received=date(2023, 6, 9) if status == "received" else None,
        )
        for cert_no, (status, hundredths) in fates.items()
    ]
    # Withdrawn in transit: shipped, then cancelled with a reason (ShipmentWithdrawn).
    withdrawn, lines = _certificate(
        "BW-2023-000006", "AE", "cancelled", [(710231, 100_000, 100_000)], issued=issued
    )
    withdrawn.update(shipped_time=issued_at_seconds(issued), withdrawal_reason="returned")
    _insert(session, [*certificates, (withdrawn, lines)])

    report = statistics(session, year=2023)

    rows = {row["code"]: row for row in report["participants"]}
    exports, imports = rows["BW"]["exports"], rows["AE"]["imports"]
    assert (exports["carats"], exports["certificates"]) == ("1.10", 2)  # shipped + received
    assert exports["by_hs_code"]["7102.31"]["certificates"] == 2
    assert (imports["carats"], imports["certificates"]) == ("1.00", 1)  # received only


def test_statistics_by_origin_count_each_lines_origin_when_lines_differ_in_origin(
    session: Session,
) -> None:
    several, several_lines = _certificate(
        "BW-2023-000011",
        "AE",
        "received",
        [(710231, 10_000, 100_000), (710231, 2_000, 20_000), (710210, 300, 3_000)],
        issued=date(2023, 3, 1),
        received=date(2023, 3, 10),
    )
    several_lines[1].update(origin="ZA")  # the first line states none: BW, the certificate's
    several_lines[2].update(origin="MIXED", provenance="BE")
    single, single_lines = _certificate(
        "BW-2023-000012", "EU", "shipped", [(710231, 50, 500)], issued=date(2023, 5, 1)
    )
    cancelled, cancelled_lines = _certificate(
        "BW-2023-000013", "AE", "cancelled", [(710231, 7, 7)], issued=date(2023, 5, 2)
    )
    cancelled_lines[0].update(origin="ZA")
    session.execute(
        insert(Participant),
        [
            {
                "code": code,
                "status": "active",
                "admin": ADDRESS,
                "origin_restricted": False,
                "admitted_block": 1,
                "admitted_time": 0,
            }
            for code in ("AE", "BW", "EU")
        ],
    )
    session.execute(insert(Certificate), [several, single, cancelled])
    session.execute(
        insert(CertificateLine),
        [{"origin": None, "provenance": None, "origin_zone": None, **line}
         for line in [*several_lines, *single_lines, *cancelled_lines]],
    )  # fmt: skip
    session.commit()

    report = statistics(session, year=2023, by_origin=True)

    rows = {row["code"]: row for row in report["participants"]}
    assert rows["BW"]["exports"]["by_origin"] == {
        "BW": {"carats": "100.50", "value_usd": "1005.00", "certificates": 2},
        "MIXED": {"carats": "3.00", "value_usd": "30.00", "certificates": 1},
        "ZA": {"carats": "20.00", "value_usd": "200.00", "certificates": 1},
    }
    assert rows["AE"]["imports"]["by_origin"] == {
        "BW": {"carats": "100.00", "value_usd": "1000.00", "certificates": 1},
        "MIXED": {"carats": "3.00", "value_usd": "30.00", "certificates": 1},
        "ZA": {"carats": "20.00", "value_usd": "200.00", "certificates": 1},
    }
    assert rows["EU"]["imports"]["by_origin"] == {}
    assert report["totals"]["exports"]["by_origin"] == rows["BW"]["exports"]["by_origin"]
    # The totals and HS codes are what they are without the breakdown.
    plain = statistics(session, year=2023)
    for row in plain["participants"]:
        for flow in ("exports", "imports"):
            assert "by_origin" not in row[flow]
            assert {**row[flow], "by_origin": rows[row["code"]][flow]["by_origin"]} == rows[
                row["code"]
            ][flow]


def test_mirror_sets_exports_by_issue_date_beside_imports_by_receipt_date_pair_by_pair(
    session: Session,
) -> None:
    june = date(2023, 6, 1)

    def received(cert_no: str, issued: date, on: date, confirmed: int) -> Any:
        row, lines = _certificate(
            cert_no, "AE", "received", [(710231, 10_000, 1_000)], issued=issued, received=on
        )
        row.update(received_parcels=1, received_carats_hundredths=confirmed)
        return row, lines

    _insert(
        session,
        [
            # Issued in December 2022, received in January 2023: an import of 2023 only.
            received("BW-2022-000001", date(2022, 12, 20), date(2023, 1, 5), 9_900),
            received("BW-2023-000001", date(2023, 3, 1), date(2023, 3, 9), 10_000),
            # Issued in December 2023, received in January 2024: an export of 2023 only.
            received("BW-2023-000002", date(2023, 12, 28), date(2024, 1, 3), 10_000),
            _certificate("BW-2023-000003", "EU", "shipped", [(710231, 50, 5)], issued=june),
            _certificate("BW-2023-000004", "AE", "rejected", [(710231, 7, 7)], issued=june),
            _certificate("BW-2023-000005", "AE", "issued", [(710231, 7, 7)], issued=june),
        ],
    )  # fmt: skip

    report = mirror(session, year=2023)

    assert (report["from"], report["to"]) == ("2023-01-01", "2023-12-31")
    assert report["pairs"] == [
        {
            "exporting": "BW",
            "importing": "AE",
            "exports": {"carats": "200.00", "value_usd": "20.00", "certificates": 2},
            "imports": {
                "carats": "200.00",
                "value_usd": "20.00",
                "certificates": 2,
                "confirmed_carats": "199.00",
            },
            "difference": {"carats": "0.00", "value_usd": "0.00", "certificates": 0},
        },
        {
            "exporting": "BW",
            "importing": "EU",
            "exports": {"carats": "0.50", "value_usd": "0.05", "certificates": 1},
            "imports": {
                "carats": "0.00",
                "value_usd": "0.00",
                "certificates": 0,
                "confirmed_carats": "0.00",
            },
            "difference": {"carats": "0.50", "value_usd": "0.05", "certificates": 1},
        },
    ]
    q1 = mirror(session, year=2023, period="Q1")["pairs"]
    assert [(p["exports"]["certificates"], p["imports"]["certificates"]) for p in q1] == [(1, 2)]
    csv_text = mirror_csv(session, year=2023)
    assert csv_text.splitlines()[0].startswith("year,period,from,to,exporting,importing,")
    assert csv_text.splitlines()[2].split(",")[4:6] == ["BW", "EU"]
