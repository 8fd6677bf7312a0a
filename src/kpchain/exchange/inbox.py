"""Receiving: an envelope is checked against the chain before its document is stored.

Nothing is stored unless every check passes, in this order (each refusal is a 4xx the sender
sees in its delivery state):

1. the recipient is a participant this service holds a key of, and the envelope is encrypted
   to one of its keys (404 `recipient_not_hosted`, 409 `encryption_key_unknown`);
2. it was signed a moment ago, not in the future (422 `envelope_expired`,
   `envelope_from_future`);
3. its signature recovers to the `signer` it names (403 `envelope_signature_invalid`), and that
   account is now an authority or the admin of the sending participant, in the registry
   (403 `exchange_sender_unknown`, after catching the index up once);
4. the certificate exists on chain (404 `certificate_not_found`), from the sender to the
   recipient (403 `exchange_parties_mismatch`), and its docHash is the envelope's
   (422 `document_hash_mismatch`);
5. it decrypts (422 `envelope_undecryptable`), to a signed document of that certificate
   (422 `document_invalid`) whose EIP-712 hash is the docHash on chain
   (422 `document_hash_mismatch`) and whose signature is the chain's signer's, an authority of
   the exporter at the issue block (422 `document_signer_invalid`): the checks of
   `kpchain.verification`.

An envelope is bound to its certificate number by its signature and by AES-GCM's associated
data, so one certificate's envelope presented for another fails at 3 or 5. The same envelope
(or another delivery of the same document) again is acknowledged without storing anything new.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kpchain.certificates.views import CertificateDocumentView
from kpchain.errors import (
    ConflictError,
    ErrorCode,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from kpchain.exchange.crypto import DecryptionError, KeyPair
from kpchain.exchange.envelope import Envelope, open_envelope, recovered_signer
from kpchain.exchange.keys import KeyRing
from kpchain.exchange.views import EnvelopeReceipt, aware
from kpchain.indexer import queries
from kpchain.indexer.indexer import Indexer
from kpchain.service.tables import ReceivedDocument
from kpchain.store import WRITE
from kpchain.verification.checks import ContractSignatureCheck, DocumentDomain
from kpchain.verification.verify import verify

logger = logging.getLogger(__name__)

MAX_AGE = 24 * 3600
"""Seconds an envelope stays acceptable after it was signed: the sender signs each attempt
afresh, so only a held-back copy grows older than this."""
MAX_SKEW = 600
"""Seconds an envelope may seem to come from the future (clocks differ)."""


class Inbox:
    """Checks and stores the envelopes delivered to the participants this service hosts.

    Args:
        sessions: the service database.
        keys: the hosted participants' encryption keys.
        indexer: the index the checks read (caught up once when a signer or a certificate is
            not there yet: the sender's node may be blocks ahead).
        chain_id: the chain's id (the EIP-712 domains).
        registry: the registry's address.
        contract_signatures: asks a contract account whether it accepts a document signature
            (ERC-1271), as verification does.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        keys: KeyRing,
        indexer: Indexer,
        chain_id: int,
        registry: str,
        contract_signatures: ContractSignatureCheck | None,
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._indexer = indexer
        self._chain_id = chain_id
        self._registry = registry
        self._contract_signatures = contract_signatures

    def receive(self, envelope: Envelope, *, now: int) -> tuple[EnvelopeReceipt, bool]:
        """Checks `envelope` and stores its document (see the module docstring).

        Returns:
            The receipt, and whether the document is new here (False: a repeat).

        Raises:
            NotFoundError, ConflictError, InvalidRequestError, PermissionDeniedError: the
                envelope is refused; nothing was stored.
        """
        cert_no = envelope.cert_no
        key_pair = self._recipient_key(envelope)
        _check_time(envelope, now)
        self._check_sender(envelope)
        with self._sessions() as session:
            row = self._certificate(session, cert_no)
            _check_certificate(envelope, row)
            issued_block = row.issued_block
        try:
            signed = open_envelope(
                envelope, key_pair, chain_id=self._chain_id, registry=self._registry
            )
        except (DecryptionError, ValueError):
            raise InvalidRequestError(
                f"the envelope of {cert_no} does not decrypt with {envelope.recipient}'s key "
                f"{envelope.recipient_key}: it was altered, or not sealed to this key",
                code=ErrorCode.ENVELOPE_UNDECRYPTABLE,
                detail={"cert_no": cert_no, "recipient_key": envelope.recipient_key},
            ) from None
        document = self._check_document(envelope, signed, now=now, issued_block=issued_block)
        return self._store(envelope, document)

    # --- the checks ------------------------------------------------------------------------

    def _recipient_key(self, envelope: Envelope) -> KeyPair:
        recipient = envelope.recipient
        if recipient not in self._keys.participants():
            raise NotFoundError(
                f"this service receives no documents for {recipient}: deliver to the endpoint "
                f"{recipient} registered on chain",
                code=ErrorCode.RECIPIENT_NOT_HOSTED,
                detail={"recipient": recipient},
            )
        owner = self._keys.owner(envelope.recipient_key)
        key_pair = self._keys.key_pair(envelope.recipient_key) if owner == recipient else None
        if key_pair is None:
            raise ConflictError(
                f"{envelope.recipient_key} is not an encryption key of {recipient} held here: "
                f"read {recipient}'s current key from the registry and seal the document again",
                code=ErrorCode.ENCRYPTION_KEY_UNKNOWN,
                detail={"recipient": recipient, "recipient_key": envelope.recipient_key},
            )
        return key_pair

    def _check_sender(self, envelope: Envelope) -> None:
        try:
            recovered = recovered_signer(envelope, chain_id=self._chain_id, registry=self._registry)
        except ValueError:
            recovered = None
        if recovered != envelope.signer:
            raise PermissionDeniedError(
                f"the envelope's signature is not {envelope.signer}'s over this envelope (of "
                f"{envelope.cert_no}, from {envelope.sender} to {envelope.recipient}): it was "
                "altered, or made for another envelope",
                code=ErrorCode.ENVELOPE_SIGNATURE_INVALID,
                detail={"cert_no": envelope.cert_no, "signer": envelope.signer},
            )
        # The sender's node may be blocks ahead of ours (a key added a moment ago): when the
        # index does not know the signer, caught up once before saying no.
        with self._sessions() as session:
            authorised = self._indexer.find(
                session, lambda s: True if _is_sender_key(s, envelope) else None
            )
        if not authorised:
            raise PermissionDeniedError(
                f"{envelope.signer} is neither an authority nor the admin of {envelope.sender} in "
                "the registry: the sender is unknown",
                code=ErrorCode.EXCHANGE_SENDER_UNKNOWN,
                detail={"sender": envelope.sender, "signer": envelope.signer},
            )

    def _certificate(self, session: Session, cert_no: str) -> queries.CertificateRead:
        # The sender's node may be a block ahead of ours: caught up once before saying no.
        row = self._indexer.find(session, lambda s: queries.certificate(s, cert_no))
        if row is None:
            raise NotFoundError(
                f"no certificate {cert_no} on the chain (as this service's index has it yet)",
                code=ErrorCode.CERTIFICATE_NOT_FOUND,
                detail={"cert_no": cert_no},
            )
        return row

    def _check_document(
        self, envelope: Envelope, signed: dict[str, Any], *, now: int, issued_block: int
    ) -> CertificateDocumentView:
        cert_no = envelope.cert_no
        try:
            document = CertificateDocumentView.model_validate(signed)
        except ValidationError as exc:
            raise InvalidRequestError(
                f"the envelope of {cert_no} holds no valid signed document: "
                f"{exc.errors()[0]['msg']}",
                code=ErrorCode.DOCUMENT_INVALID,
                detail={"cert_no": cert_no},
            ) from None
        if document.document.cert_no != cert_no:
            raise InvalidRequestError(
                f"the envelope of {cert_no} holds the document of {document.document.cert_no}",
                code=ErrorCode.DOCUMENT_INVALID,
                detail={"cert_no": cert_no, "document_cert_no": document.document.cert_no},
            )
        with self._sessions() as session:
            report = verify(
                session,
                cert_no,
                now=now,
                document=signed,
                domain=DocumentDomain(self._chain_id, self._registry),
                contract_signatures=self._contract_signatures,
            )
        checks = {check.name: check for check in report.checks}
        hashed = checks.get("document_hash")
        if hashed is None or not hashed.passed or document.doc_hash != envelope.doc_hash:
            raise InvalidRequestError(
                hashed.message
                if hashed is not None and not hashed.passed
                else f"the document's stated hash {document.doc_hash} is not {cert_no}'s",
                code=ErrorCode.DOCUMENT_HASH_MISMATCH,
                detail={"cert_no": cert_no, "doc_hash": envelope.doc_hash},
            )
        for name in ("signature", "authority"):
            check = checks.get(name)
            if check is None or not check.passed or document.signer != report.signer:
                message = (
                    check.message
                    if check is not None and not check.passed
                    else f"the document names {document.signer} as its signer, not the chain's"
                )
                raise InvalidRequestError(
                    message,
                    code=ErrorCode.DOCUMENT_SIGNER_INVALID,
                    detail={"cert_no": cert_no, "issued_block": issued_block},
                )
        return document

    # --- storing ---------------------------------------------------------------------------

    def _store(
        self, envelope: Envelope, document: CertificateDocumentView
    ) -> tuple[EnvelopeReceipt, bool]:
        cert_no = envelope.cert_no
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            held = session.get(ReceivedDocument, cert_no)
            if held is None:
                held = ReceivedDocument(
                    cert_no=cert_no,
                    sender=envelope.sender,
                    recipient=envelope.recipient,
                    document=document.document.model_dump(mode="json"),
                    exporter_salt=document.exporter_salt,
                    importer_salt=document.importer_salt,
                    doc_hash=document.doc_hash,
                    signature=document.signature,
                    signer=document.signer,
                    envelope_signer=envelope.signer,
                    encryption_key=envelope.recipient_key,
                    received_at=datetime.now(UTC),
                )
                session.add(held)
                try:
                    session.commit()
                except IntegrityError:
                    # A concurrent delivery of the same document stored it first.
                    session.rollback()
                    return self._store(envelope, document)
                logger.info("received the document of %s from %s", cert_no, envelope.sender)
                return _receipt(held, duplicate=False), True
            if held.doc_hash != document.doc_hash:  # pragma: no cover - numbers are unique
                raise ConflictError(
                    f"another document of {cert_no} is held here",
                    code=ErrorCode.DOCUMENT_CONFLICT,
                    detail={"cert_no": cert_no},
                )
            return _receipt(held, duplicate=True), False


def _check_time(envelope: Envelope, now: int) -> None:
    if envelope.sent_at > now + MAX_SKEW:
        raise InvalidRequestError(
            f"the envelope of {envelope.cert_no} is dated {envelope.sent_at}, after this "
            f"service's time {now}: check the sender's clock",
            code=ErrorCode.ENVELOPE_FROM_FUTURE,
            detail={"sent_at": envelope.sent_at, "now": now},
        )
    if envelope.sent_at < now - MAX_AGE:
        raise InvalidRequestError(
            f"the envelope of {envelope.cert_no} was signed at {envelope.sent_at}, more than "
            f"{MAX_AGE} seconds ago: send a fresh one",
            code=ErrorCode.ENVELOPE_EXPIRED,
            detail={"sent_at": envelope.sent_at, "now": now},
        )


def _check_certificate(envelope: Envelope, row: queries.CertificateRead) -> None:
    cert_no = envelope.cert_no
    if (row.exporting, row.importing) != (envelope.sender, envelope.recipient):
        raise PermissionDeniedError(
            f"{cert_no} is from {row.exporting} to {row.importing}: only {row.exporting}'s "
            f"service delivers its document, to {row.importing}",
            code=ErrorCode.EXCHANGE_PARTIES_MISMATCH,
            detail={"cert_no": cert_no, "exporting": row.exporting, "importing": row.importing},
        )
    if row.doc_hash != envelope.doc_hash:
        raise InvalidRequestError(
            f"the envelope names {envelope.doc_hash} as the document hash of {cert_no}; the "
            f"chain recorded {row.doc_hash}",
            code=ErrorCode.DOCUMENT_HASH_MISMATCH,
            detail={"cert_no": cert_no, "doc_hash": envelope.doc_hash, "chain": row.doc_hash},
        )


def _receipt(held: ReceivedDocument, *, duplicate: bool) -> EnvelopeReceipt:
    receipt = {
        "cert_no": held.cert_no,
        "doc_hash": held.doc_hash,
        "sender": held.sender,
        "recipient": held.recipient,
        "signer": held.signer,
        "received_at": aware(held.received_at),
        "duplicate": duplicate,
    }
    return EnvelopeReceipt.model_validate(receipt)


def _is_sender_key(session: Session, envelope: Envelope) -> bool:
    """Whether the envelope's signer is, in the index, an unrevoked authority or the admin of
    its sending participant."""
    participant = queries.participant(session, envelope.sender)
    return participant is not None and (
        participant.admin == envelope.signer
        or any(
            term.address == envelope.signer and term.revoked_block is None
            for term in participant.authorities
        )
    )
