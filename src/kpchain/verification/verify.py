"""Verification from the index: what GET /v1/verify/{cert_no} and the public verification page
answer. The checks themselves are in `kpchain.verification.checks`, shared with `kpchain verify`,
which reads the chain instead."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpchain.errors import ErrorCode, InvalidRequestError
from kpchain.i18n import mark
from kpchain.indexer import queries
from kpchain.indexer.tables import Event
from kpchain.verification.checks import (
    AuthorityTerm,
    CertificateFacts,
    ContractSignatureCheck,
    DocumentDomain,
    Verification,
    evaluate,
    present,
)
from kpchain.vocabulary import CHAIN_CERT_NO_PATTERN, CertificateStatusLabel

_CERT_NO = re.compile(CHAIN_CERT_NO_PATTERN)


def verify(
    session: Session,
    cert_no: str,
    *,
    now: int,
    doc_hash: str | None = None,
    signature: str | None = None,
    document: Mapping[str, Any] | None = None,
    domain: DocumentDomain | None = None,
    contract_signatures: ContractSignatureCheck | None = None,
) -> Verification:
    """Verifies certificate `cert_no` against the index.

    Args:
        session: a session on the service's store.
        cert_no: the certificate number.
        now: the Unix time statuses are read at (see AuthorityService.now).
        doc_hash: the presented document's hash (0x-hex), to compare with the chain's.
        signature: a presented signature (0x-hex), to recover against the chain's signer.
        document: a presented signed document (the JSON of GET
            /v1/certificates/{cert_no}/document), hashed here instead of `doc_hash`.
        domain: the EIP-712 domain to hash `document` in (the chain id and the registry's
            address); required with `document`.
        contract_signatures: asks a signer that is a contract account whether it accepts the
            presented signature (`kpchain.verification.chain.ContractSignatures`).

    Returns:
        The report; an unknown number is a report with `found` False, not an error.

    Raises:
        InvalidRequestError: `cert_no`, `doc_hash` or `signature` is malformed.
    """
    if not _CERT_NO.fullmatch(cert_no):
        raise InvalidRequestError(
            mark(
                "a certificate number is a participant code then printable ASCII without "
                'spaces, at most 32 characters, such as "BW-2026-000123"'
            ),
            code=ErrorCode.CERT_NO_INVALID,
            detail={"cert_no": cert_no[:100]},
        )
    presented = present(
        cert_no, doc_hash=doc_hash, signature=signature, document=document, domain=domain
    )
    row = queries.certificate(session, cert_no)
    facts = None if row is None else _facts(session, row, now)
    return evaluate(
        cert_no,
        facts,
        presented,
        terms_of=lambda address: _terms(session, address),
        contract_signatures=contract_signatures,
    )


_REPLACEABLE = frozenset({CertificateStatusLabel.CANCELLED, CertificateStatusLabel.REJECTED})
"""The statuses of a certificate the registry lets its exporter replace."""


def _facts(session: Session, row: queries.CertificateRead, now: int) -> CertificateFacts:
    status = queries.derived_status(row, now)
    return CertificateFacts(
        cert_no=row.cert_no,
        exporting=row.exporting,
        importing=row.importing,
        origin=row.origin,
        status=status,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        received_at=row.received_at,
        doc_hash=row.doc_hash,
        signer=row.signer,
        issued_block=row.issued_block,
        rejection_reason=row.rejection_reason,
        replaced_by=(queries.replaced_by(session, row.cert_no) if status in _REPLACEABLE else None),
        replaces=row.replaces,
    )


def _terms(session: Session, address: str) -> list[AuthorityTerm]:
    return [
        AuthorityTerm(
            participant=term.participant,
            added_block=term.added_block,
            revoked_block=term.revoked_block,
            revoked_time=term.revoked_time,
        )
        for term in queries.authority_history(session, address)
    ]


def index_version(session: Session) -> tuple[int, str, int] | None:
    """What a verification reads from the index, as one value that changes whenever it may:
    the newest event indexed (block number, block hash, log index); None when there is none.

    The index's tables are projections of its events, written in the transaction that stores
    them. A new event is newer than every one before; a reorg repair deletes the events of the
    blocks it rewinds (among them the newest) and the replacement blocks have other hashes; a
    rebuild empties the events first. So equal versions mean equal events, and equal answers
    (the clock aside: see `Verification.holds_until`). Blocks without events leave it alone.
    Read it first in a transaction, before the data it vouches for.
    """
    newest = session.execute(
        select(Event.block_number, Event.block_hash, Event.log_index)
        .order_by(Event.block_number.desc(), Event.log_index.desc())
        .limit(1)
    ).first()
    return None if newest is None else (newest[0], newest[1], newest[2])
