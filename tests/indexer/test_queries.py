"""The index's read API: certificate lists with direction, status and keyset pagination,
derived expiry, the event feed and participant views."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kpchain.errors import CursorInvalidError
from kpchain.indexer import Indexer, queries
from kpchain.indexer.queries import derived_status
from kpchain.indexer.tables import Certificate
from support_chain import DAY, Devnet

pytestmark = pytest.mark.anvil

MakeIndexer = Callable[..., Indexer]


def _numbers(rows: list[Certificate]) -> list[str]:
    return [row.cert_no for row in rows]


@pytest.fixture
def lifecycle(devnet: Devnet, make_indexer: MakeIndexer) -> int:
    """BW -> AE certificates in each status, one AE -> IN; indexed. Returns the latest expiry."""
    certs = {
        number: devnet.certificate(number, expires_in=(10 + n) * DAY)
        for n, number in enumerate(
            ["BW-2026-000001", "BW-2026-000002", "BW-2026-000003", "BW-2026-000004"]
        )
    }
    for cert in certs.values():
        devnet.issue(cert)
    devnet.ship("BW-2026-000002")
    devnet.ship("BW-2026-000003")
    devnet.receive("BW-2026-000003")
    devnet.cancel("BW-2026-000004")
    reexport = devnet.certificate("AE-2026-000001", exporting="AE", importing="IN")
    devnet.issue(reexport)
    make_indexer().sync()
    return max(cert.expiresAt for cert in [*certs.values(), reexport])


def test_certificates_pages_newest_first_when_limit_smaller_than_total(
    devnet: Devnet, make_indexer: MakeIndexer, sessions: sessionmaker[Session]
) -> None:
    devnet.issue(devnet.certificate("BW-2026-000001"))
    devnet.issue_batch([devnet.certificate(f"BW-2026-00001{n}") for n in range(3)])
    devnet.issue(devnet.certificate("BW-2026-000002"))
    make_indexer().sync()
    expected = ["BW-2026-000002", "BW-2026-000012", "BW-2026-000011", "BW-2026-000010"]
    expected.append("BW-2026-000001")

    pages: list[list[str]] = []
    cursor: str | None = None
    with sessions() as session:
        while True:
            rows, cursor = queries.certificates(
                session,
                participant="BW",
                direction=None,
                status=None,
                now=devnet.now(),
                limit=2,
                cursor=cursor,
            )
            pages.append(_numbers(rows))
            assert all(len(row.lines) == 1 for row in rows)  # lines come loaded
            if cursor is None:
                break

    assert pages == [expected[0:2], expected[2:4], expected[4:]]


def test_certificates_filters_by_side_when_direction_given(
    devnet: Devnet, sessions: sessionmaker[Session], lifecycle: int
) -> None:
    def page(participant: str, direction: queries.Direction | None) -> list[str]:
        with sessions() as session:
            rows, cursor = queries.certificates(
                session,
                participant=participant,
                direction=direction,
                status=None,
                now=devnet.now(),
                limit=50,
                cursor=None,
            )
        assert cursor is None
        return _numbers(rows)

    bw_certs = ["BW-2026-000004", "BW-2026-000003", "BW-2026-000002", "BW-2026-000001"]
    assert page("AE", "inbound") == bw_certs
    assert page("AE", "outbound") == ["AE-2026-000001"]
    assert page("AE", None) == ["AE-2026-000001", *bw_certs]
    assert page("BW", "inbound") == []
    assert page("IN", "inbound") == ["AE-2026-000001"]


@pytest.mark.parametrize(
    ("status", "now_expired", "expected"),
    [
        ("issued", False, ["BW-2026-000001"]),
        ("shipped", False, ["BW-2026-000002"]),
        ("received", False, ["BW-2026-000003"]),
        ("cancelled", False, ["BW-2026-000004"]),
        ("rejected", False, []),
        ("expired", False, []),
        ("issued", True, []),
        ("shipped", True, []),
        ("expired", True, ["BW-2026-000002", "BW-2026-000001"]),
        ("received", True, ["BW-2026-000003"]),
        ("cancelled", True, ["BW-2026-000004"]),
    ],
)
def test_certificates_filters_by_read_status_when_status_given(
    devnet: Devnet,
    sessions: sessionmaker[Session],
    lifecycle: int,
    status: str,
    now_expired: bool,
    expected: list[str],
) -> None:
    now = lifecycle + 1 if now_expired else devnet.now()
    with sessions() as session:
        rows, _ = queries.certificates(
            session,
            participant="BW",
            direction="outbound",
            status=status,
            now=now,
            limit=50,
            cursor=None,
        )
        assert [derived_status(row, now) for row in rows] == [status] * len(rows)

    assert _numbers(rows) == expected


def test_derived_status_reads_expired_only_after_expiry_second(
    sessions: sessionmaker[Session], lifecycle: int
) -> None:
    with sessions() as session:
        issued = queries.certificate(session, "BW-2026-000001")
        received = queries.certificate(session, "BW-2026-000003")
    assert issued is not None
    assert received is not None

    assert derived_status(issued, issued.expires_at) == "issued"  # valid through that second
    assert derived_status(issued, issued.expires_at + 1) == "expired"
    assert derived_status(received, received.expires_at + 1) == "received"


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"block": 1}').decode(),
        base64.urlsafe_b64encode(b'["1", "BW-1"]').decode(),
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
    ],
)
def test_certificates_raises_cursor_invalid_when_cursor_not_handed_out(
    sessions: sessionmaker[Session], cursor: str
) -> None:
    with sessions() as session, pytest.raises(CursorInvalidError) as caught:
        queries.certificates(
            session,
            participant="BW",
            direction=None,
            status=None,
            now=0,
            limit=10,
            cursor=cursor,
        )
    assert caught.value.code == "cursor_invalid"


def test_certificates_raises_value_error_when_status_unknown(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, pytest.raises(ValueError, match="status must be one of"):
        queries.certificates(
            session, participant="BW", direction=None, status="lost", now=0, limit=10, cursor=None
        )


def test_events_after_returns_party_events_in_order_when_resumed_from_id(
    sessions: sessionmaker[Session], lifecycle: int
) -> None:
    with sessions() as session:
        everything = queries.events_after(session, participant="AE", after_id=0, limit=100)
        resumed = queries.events_after(
            session, participant="AE", after_id=everything[2].id, limit=2
        )
        india = queries.events_after(session, participant="IN", after_id=0, limit=100)

    assert [(e.name, e.cert_no) for e in everything] == [
        ("CertificateIssued", "BW-2026-000001"),
        ("CertificateIssued", "BW-2026-000002"),
        ("CertificateIssued", "BW-2026-000003"),
        ("CertificateIssued", "BW-2026-000004"),
        ("CertificateShipped", "BW-2026-000002"),
        ("CertificateShipped", "BW-2026-000003"),
        ("CertificateReceived", "BW-2026-000003"),
        ("CertificateCancelled", "BW-2026-000004"),
        ("CertificateIssued", "AE-2026-000001"),
    ]
    assert resumed == everything[3:5]
    assert [(e.name, e.cert_no) for e in india] == [("CertificateIssued", "AE-2026-000001")]


def test_certificate_returns_none_when_number_unknown(
    sessions: sessionmaker[Session], lifecycle: int
) -> None:
    with sessions() as session:
        assert queries.certificate(session, "BW-2026-999999") is None
        assert queries.replaced_by(session, "BW-2026-000004") is None
