"""Reads of the index, for the REST layer and the pages: ORM rows, plain arguments.

Every function takes an open Session; rows come with the relations a view needs already loaded
(`Certificate.lines`, `Participant.zones` and `.authorities`), since those relations refuse to
lazy-load.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, cast

from eth_utils.address import to_checksum_address
from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from kpchain.errors import CursorInvalidError
from kpchain.indexer.tables import (
    Authority,
    Certificate,
    CertificateLine,
    Event,
    Participant,
    ServiceEndpoint,
)
from kpchain.vocabulary import (
    CERT_NO_MAX_LENGTH,
    CERT_NO_TEXT_PATTERN,
    OPEN_STATUSES,
    CertificateStatusLabel,
    Direction,
    StepName,
)

STORED_STATUSES = tuple(StepName)
"""What `Certificate.status` holds: the certificate's last step."""
STATUSES = tuple(CertificateStatusLabel)
"""What a reader sees: the stored statuses and the derived "expired"."""

_MAX_BLOCK = 2**63 - 1  # a BIGINT
_CURSOR_CERT_NO = re.compile(CERT_NO_TEXT_PATTERN)


def derived_status(row: CertificateRecord, now: int) -> str:
    """The status a reader sees at Unix time `now`: an issued or shipped certificate past its
    `expires_at` reads as "expired" (the contract: expired once block time passes it)."""
    if row.status in OPEN_STATUSES and row.expires_at < now:
        return CertificateStatusLabel.EXPIRED
    return row.status


class CertificateRead:
    """One certificate as `certificate` reads it: its `certificates` row, whose columns are its
    attributes as on `Certificate`, and `lines`, its `certificate_lines` rows in document
    order. Read-only, and bound to no session.

    Every write renders the certificate it changed, and verification reads one per request: two
    Core statements cost about a third of the ORM's load of the same rows (identity map, loader
    options, instance state), which was about a tenth of a write's CPU.
    """

    __slots__ = ("_row", "lines")

    def __init__(self, row: Row[Any], lines: list[Row[Any]]) -> None:
        self._row = row
        self.lines = lines

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)

    @property
    def columns(self) -> dict[str, Any]:
        """The certificate's columns by name (its lines left out)."""
        return dict(self._row._mapping)

    def __repr__(self) -> str:
        return f"CertificateRead({self._row.cert_no!r}, {len(self.lines)} lines)"


CertificateRecord = Certificate | CertificateRead
"""A certificate as the views read it: an ORM row (a page of `certificates`) or one
`certificate` read."""


def certificate(session: Session, cert_no: str) -> CertificateRead | None:
    """The certificate numbered `cert_no`, with its lines; None when the index has none."""
    connection = session.connection()
    row = connection.execute(_CERTIFICATE, {"cert_no": cert_no}).first()
    if row is None:
        return None
    return CertificateRead(row, list(connection.execute(_LINES, {"cert_no": cert_no})))


_certificates = cast(Table, Certificate.__table__)
_lines = cast(Table, CertificateLine.__table__)
_CERTIFICATE = select(_certificates).where(_certificates.c.cert_no == bindparam("cert_no"))
_LINES = select(_lines).where(_lines.c.cert_no == bindparam("cert_no")).order_by(_lines.c.position)


def certificate_parties(
    session: Session, cert_no: str
) -> Row[str, str, str, int | None, int] | None:
    """Who may act on certificate `cert_no` (its number, exporting and importing codes,
    shipping time and expiry: a receipt's dates are judged by them), without loading it and its
    lines as `certificate` does: a write checks these before recording, and renders the whole
    certificate only once it is mined."""
    return session.execute(_PARTIES, {"cert_no": cert_no}).first()


_PARTIES = select(
    Certificate.cert_no,
    Certificate.exporting,
    Certificate.importing,
    Certificate.shipped_time,
    Certificate.expires_at,
).where(Certificate.cert_no == bindparam("cert_no"))


def certificates(
    session: Session,
    *,
    participant: str,
    direction: Direction | None,
    status: str | None,
    now: int,
    limit: int,
    cursor: str | None,
) -> tuple[list[Certificate], str | None]:
    """A page of `participant`'s certificates, newest issued first, with their lines.

    Args:
        participant: the participant's code ("BW").
        direction: "outbound" (it exports), "inbound" (it imports) or None (either).
        status: one of `STATUSES`, as `derived_status` reads at `now`: "expired" is issued or
            shipped past expiry, and "issued" / "shipped" leave those out. None: any.
        now: the Unix time statuses are read at.
        limit: most rows in the page (at least 1).
        cursor: the cursor the previous page returned, or None for the first page.

    Returns:
        The page and the cursor of the next one (None when this is the last). Cursors stay
        valid as certificates are added: pages follow (issued block, number) downwards.

    Raises:
        CursorInvalidError: `cursor` is not one this function returned.
        ValueError: `status` or `limit` is out of range.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    conditions: list[ColumnElement[bool]] = []
    if direction == "outbound":
        conditions.append(Certificate.exporting == participant)
    elif direction == "inbound":
        conditions.append(Certificate.importing == participant)
    else:
        conditions.append(
            or_(Certificate.exporting == participant, Certificate.importing == participant)
        )
    if status is not None:
        conditions.append(_status_condition(status, now))
    if cursor is not None:
        block, cert_no = _decode_cursor(cursor)
        conditions.append(
            or_(
                Certificate.issued_block < block,
                and_(Certificate.issued_block == block, Certificate.cert_no < cert_no),
            )
        )
    rows = list(
        session.scalars(
            select(Certificate)
            .where(*conditions)
            .order_by(Certificate.issued_block.desc(), Certificate.cert_no.desc())
            .limit(limit + 1)
            .options(selectinload(Certificate.lines))
        )
    )
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, _encode_cursor(page[-1].issued_block, page[-1].cert_no)


def replaced_by(session: Session, cert_no: str) -> str | None:
    """The number of the certificate that replaces (cancelled or rejected) `cert_no`, if any."""
    return session.execute(_REPLACED_BY, {"cert_no": cert_no}).scalar()


_REPLACED_BY = (
    select(Certificate.cert_no).where(Certificate.replaces == bindparam("cert_no")).limit(1)
)


def replacements(session: Session, cert_nos: list[str]) -> dict[str, str]:
    """`replaced_by` of each of `cert_nos` that is replaced, in one query: replaced number ->
    the number of the certificate that replaces it (the registry lets each be replaced once)."""
    if not cert_nos:
        return {}
    rows = session.execute(
        select(Certificate.replaces, Certificate.cert_no).where(Certificate.replaces.in_(cert_nos))
    )
    return {str(replaced): str(by) for replaced, by in rows}


def participants(session: Session) -> list[Participant]:
    """Every participant in admission order, with zones and authority history."""
    return list(
        session.scalars(
            select(Participant)
            .order_by(Participant.admitted_block, Participant.code)
            .options(selectinload(Participant.zones), selectinload(Participant.authorities))
        )
    )


def participant(session: Session, code: str) -> Participant | None:
    """Participant `code` with its zones and authority history; None when never admitted."""
    return session.get(
        Participant,
        code,
        options=[selectinload(Participant.zones), selectinload(Participant.authorities)],
    )


def authority_history(session: Session, address: str) -> list[Authority]:
    """Every term of `address` as an authority, oldest first (an account revoked and added
    again has one row per term). `address` is matched checksummed."""
    return list(
        session.scalars(
            select(Authority)
            .where(Authority.address == to_checksum_address(address))
            .order_by(Authority.id)
        )
    )


def service_endpoint(session: Session, code: str) -> ServiceEndpoint | None:
    """The service endpoint and encryption key participant `code` registered last (the ones in
    force), or None when it has registered none."""
    return session.scalars(
        select(ServiceEndpoint)
        .where(ServiceEndpoint.participant == code)
        .order_by(ServiceEndpoint.block_number.desc(), ServiceEndpoint.log_index.desc())
        .limit(1)
    ).first()


def service_endpoints(session: Session, code: str) -> list[ServiceEndpoint]:
    """Every service endpoint and encryption key participant `code` has registered, oldest
    first (the last is in force)."""
    return list(
        session.scalars(
            select(ServiceEndpoint)
            .where(ServiceEndpoint.participant == code)
            .order_by(ServiceEndpoint.block_number, ServiceEndpoint.log_index)
        )
    )


def events_after(session: Session, *, participant: str, after_id: int, limit: int) -> list[Event]:
    """The certificate events `participant` is party to (exporting or importing) with an id
    above `after_id`, oldest first: the event feed, resumable from the last id a client saw."""
    return list(
        session.scalars(
            select(Event)
            .where(
                Event.id > after_id,
                or_(Event.exporting == participant, Event.importing == participant),
            )
            .order_by(Event.id)
            .limit(limit)
        )
    )


def _status_condition(status: str, now: int) -> ColumnElement[bool]:
    if status == CertificateStatusLabel.EXPIRED:
        return and_(Certificate.status.in_(OPEN_STATUSES), Certificate.expires_at < now)
    if status in OPEN_STATUSES:
        return and_(Certificate.status == status, Certificate.expires_at >= now)
    if status in STORED_STATUSES:
        return Certificate.status == status
    raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")


def _encode_cursor(block: int, cert_no: str) -> str:
    raw = json.dumps([block, cert_no], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        block, cert_no = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise CursorInvalidError(
            "the cursor is not one this API returned; start again without one",
            detail={"cursor": cursor[:100]},
        ) from exc
    # Bounded as the columns they are compared with (a BIGINT, a printable ASCII number), so
    # that a forged cursor is refused here, not by the database.
    if (
        not isinstance(block, int)
        or isinstance(block, bool)
        or not 0 <= block <= _MAX_BLOCK
        or not isinstance(cert_no, str)
        or len(cert_no) > CERT_NO_MAX_LENGTH
        or not _CURSOR_CERT_NO.fullmatch(cert_no)
    ):
        raise CursorInvalidError(
            "the cursor is not one this API returned; start again without one",
            detail={"cursor": cursor[:100]},
        )
    return block, cert_no
