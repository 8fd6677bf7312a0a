"""The checks that decide whether a presented certificate is genuine, over a small record of
what the chain says about it (`CertificateFacts`), whoever read that record: the service from
its index (`kpchain.verification.verify`) or `kpchain verify` from the node itself
(`kpchain.verification.chain`). One set of checks and messages for both.

Each check is independent and named:

- `exists`: the chain has a certificate with that number;
- `document_hash`: the presented document's hash (given, or computed from the document) is the
  one the chain recorded; absent when nothing was presented;
- `signature`: the presented signature recovers, over that hash, to the key the chain recorded
  as the certificate's signer, or, when that signer is a contract account (a multisig, a
  smart account), the account accepts it (ERC-1271 `isValidSignature`, asked at the block the
  certificate was issued in, as the registry asked when it issued it); absent when no signature
  was presented;
- `authority`: the signer (the recovered one when a signature was presented, else the chain's)
  was an authority of the exporting participant at the block the certificate was issued in;
- `status`: the certificate is not cancelled, rejected or expired.

A certificate is genuine when every check that ran passed. Commercial identities (exporter,
importer) are never part of a verification.

Each sentence (a check's message, the advice, the note) is English, as the REST API and the CLI
speak it, and also kept as its `Text`: a template marked for the catalogues (`mark`) with its
values, so that a page can word it in its own language (`Text.localized`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from eth_account import Account
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError as EthKeysValidationError
from pydantic import ValidationError

from kpchain.certificates.conversions import date_from_seconds, expiry_date, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.typed_data import document_hash
from kpchain.errors import DocumentInvalidError, ErrorCode, InvalidRequestError
from kpchain.i18n import gettext, mark
from kpchain.vocabulary import HEX32_PATTERN, OPEN_STATUSES, CertificateStatusLabel

CheckName = Literal["exists", "document_hash", "signature", "authority", "status"]

_ACCEPTED_STATUSES = (*OPEN_STATUSES, CertificateStatusLabel.RECEIVED)
_HEX32 = re.compile(HEX32_PATTERN)
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
_MAX_SIGNATURE_HEX = 2 + 2 * 1024  # an ERC-1271 signature may be longer than a key's 65 bytes


@dataclass(frozen=True)
class Text:
    """A sentence as a template marked for translation (`mark`) and the values of its named
    placeholders; a value may itself be a `Text` (a phrase worded in the same language).

    `str()` is the English sentence; `localized()` the sentence in the current language."""

    template: str
    values: Mapping[str, str | Text] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.values:
            return self.template
        return self.template % {key: str(value) for key, value in self.values.items()}

    def localized(self) -> str:
        """The sentence in the current language (`kpchain.i18n.use_language`); in English
        when its template has no translation or the translation does not fit its values."""
        values = {
            key: value.localized() if isinstance(value, Text) else value
            for key, value in self.values.items()
        }
        translated = gettext(self.template)
        try:
            return translated % values if values else translated
        except (KeyError, TypeError, ValueError):
            return str(self)


def _text(template: str, **values: str | Text) -> Text:
    return Text(template, values)


@dataclass(frozen=True)
class AuthorityTerm:
    """One term of an account as an authority of a participant: added at a block, perhaps
    revoked at a later one (the index's `authorities` rows, or the registry's events)."""

    participant: str
    added_block: int
    revoked_block: int | None = None
    revoked_time: int | None = None  # Unix seconds of the revocation block

    def covers(self, block: int) -> bool:
        """Whether the account held this term at `block`."""
        return self.added_block <= block and (
            self.revoked_block is None or block < self.revoked_block
        )


@dataclass(frozen=True)
class CertificateFacts:
    """What the chain says about a certificate.

    Attributes:
        status: the status a reader sees now: issued, shipped, received, rejected, cancelled,
            or expired (issued or shipped past its expiry).
        issued_at: date of issue, Unix seconds.
        expires_at: expiry, Unix seconds.
        received_at: date of receipt, Unix seconds, once received.
        doc_hash: the document's EIP-712 hash recorded at issue, 0x-hex.
        signer: the account whose signature validated the document, checksummed.
        issued_block: the block the certificate was issued in.
        rejection_reason: why the importing authority rejected it ("seal_broken"), if it did.
        replaced_by: the number of the certificate that replaces it, when known.
        replaces: the number of the (cancelled or rejected) certificate it replaces, if any.
    """

    cert_no: str
    exporting: str
    importing: str
    origin: str
    status: str
    issued_at: int
    expires_at: int
    received_at: int | None
    doc_hash: str
    signer: str
    issued_block: int
    rejection_reason: str | None = None
    replaced_by: str | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class Presented:
    """What the holder of a certificate presents.

    Attributes:
        doc_hash: the document hash to compare with the chain's (0x-hex, lower-case): the one
            given, or the one computed from the document; None when nothing was presented.
        from_document: True when `doc_hash` was computed from a presented document.
        document_problem: why a presented document could not be hashed (then `doc_hash` is
            None and the document_hash check fails with this).
        signature: the presented signature's bytes, None when none was presented.
    """

    doc_hash: str | None = None
    from_document: bool = False
    document_problem: str | None = None
    signature: bytes | None = None
    document_reason: str | None = field(default=None, compare=False, repr=False)

    @property
    def has_document(self) -> bool:
        return self.doc_hash is not None or self.document_problem is not None


@dataclass(frozen=True)
class Check:
    """The outcome of one named check, with a sentence that says what was found (`message`, in
    English; `text`, the same to be worded in another language)."""

    name: CheckName
    passed: bool
    message: str
    text: Text | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, name: CheckName, passed: bool, text: Text) -> Check:
        """The check with `text` as its sentence (`message` is its English)."""
        return cls(name, passed, str(text), text)

    def localized(self) -> str:
        """The sentence in the current language."""
        return self.text.localized() if self.text is not None else gettext(self.message)


@dataclass(frozen=True)
class Verification:
    """The report of one verification: `as_dict()` is its public JSON.

    Attributes:
        found: whether the chain has a certificate with that number.
        genuine: whether every check that ran passed.
        status: the certificate's status now (None when not found).
        doc_hash_checked: whether a presented document (or its hash) was compared.
        signer: the account that validated the certificate on chain.
        checks: every check that ran, in order.
        problem: one sentence saying what failed (the first failed check), None when genuine.
        advice: what a customs officer should do when it is not genuine.
        note: what the verification did not cover although it passed (the document itself
            was not compared, for instance).
        replaced_by: for a cancelled or rejected certificate, the number of the one that
            replaces it, when known.
        replaces: the number of the cancelled or rejected certificate this one replaces, if
            any (the other side of `replaced_by`).
        holds_until: the Unix time up to which the report holds while the chain says nothing
            new: a certificate read as valid expires after it; None when only a new event can
            change the report. Not part of the public JSON.
    """

    cert_no: str
    found: bool
    genuine: bool
    status: str | None
    exporting_participant: str | None
    importing_participant: str | None
    origin: str | None
    issued_at: date | None
    expires_at: date | None
    received_at: date | None
    doc_hash_checked: bool
    signer: str | None
    checks: tuple[Check, ...]
    problem: str | None
    advice: str | None
    note: str | None
    replaced_by: str | None = None
    replaces: str | None = None
    holds_until: int | None = None
    advice_text: Text | None = field(default=None, compare=False, repr=False)

    def localized_advice(self) -> str | None:
        """The advice in the current language."""
        if self.advice_text is not None:
            return self.advice_text.localized()
        return None if self.advice is None else gettext(self.advice)

    def localized_note(self) -> str | None:
        """The note in the current language."""
        return None if self.note is None else gettext(self.note)

    def as_dict(self) -> dict[str, Any]:
        """The public JSON of the report: dates as ISO dates, never an identity."""
        return {
            "cert_no": self.cert_no,
            "found": self.found,
            "genuine": self.genuine,
            "status": self.status,
            "exporting_participant": self.exporting_participant,
            "importing_participant": self.importing_participant,
            "origin": self.origin,
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "received_at": _iso(self.received_at),
            "doc_hash_checked": self.doc_hash_checked,
            "signer": self.signer,
            "replaced_by": self.replaced_by,
            "replaces": self.replaces,
            "checks": [
                {"name": check.name, "passed": check.passed, "message": check.message}
                for check in self.checks
            ],
            "problem": self.problem,
            "advice": self.advice,
            "note": self.note,
        }


ContractSignatureCheck = Callable[[str, bytes, bytes, int], bool]
"""Whether the contract account `signer` accepts `signature` over `digest` at block `block`
(ERC-1271): `check(signer, digest, signature, block)`; False for an account without code."""


@dataclass(frozen=True)
class DocumentDomain:
    """The EIP-712 domain documents are hashed in: the chain and the registry's address."""

    chain_id: int
    verifying_contract: str


def present(
    cert_no: str,
    *,
    doc_hash: str | None = None,
    signature: str | None = None,
    document: Mapping[str, Any] | None = None,
    domain: DocumentDomain | None = None,
) -> Presented:
    """What a holder presents for `cert_no`, ready for the checks.

    Args:
        cert_no: the number being verified.
        doc_hash: a document hash (0x and 64 hex digits).
        signature: a signature (0x-hex); default: the document's own, if it carries one.
        document: a signed document as GET /v1/certificates/{cert_no}/document returns it
            (`document`, `exporter_salt`, `importer_salt`, and usually `signature`); its hash
            is computed here. A document that cannot be hashed fails the document_hash check.
        domain: the EIP-712 domain to hash `document` in; required with `document`.

    Raises:
        InvalidRequestError: `doc_hash` or `signature` is malformed, or both `doc_hash` and
            `document` were given.
        ValueError: `document` was given without `domain` (a programming error).
    """
    if doc_hash is not None and document is not None:
        raise InvalidRequestError(
            "present a document hash or a document, not both", code=ErrorCode.PRESENTED_TWICE
        )
    if signature is None and document is not None and isinstance(document.get("signature"), str):
        signature = document["signature"]
    signature_bytes = None if signature is None else _signature_bytes(signature)
    if doc_hash is not None:
        if not _HEX32.fullmatch(doc_hash):
            raise InvalidRequestError(
                "doc_hash must be 0x and 64 hexadecimal digits",
                code=ErrorCode.DOC_HASH_INVALID,
                detail={"doc_hash": doc_hash[:100]},
            )
        return Presented(doc_hash=doc_hash.lower(), signature=signature_bytes)
    if document is None:
        return Presented(signature=signature_bytes)
    if domain is None:
        raise ValueError("a presented document needs the EIP-712 domain to be hashed in")
    try:
        computed = _hash_signed_document(cert_no, document, domain)
    except (DocumentInvalidError, ValidationError, ValueError, TypeError, KeyError) as error:
        reason = _reason(error)
        problem = str(_cannot_hash(reason))
        return Presented(
            document_problem=problem, signature=signature_bytes, document_reason=reason
        )
    return Presented(doc_hash=computed, from_document=True, signature=signature_bytes)


TermsOf = Callable[[str], Sequence[AuthorityTerm]]
"""Every authority term of an account (any participant), oldest first."""


def evaluate(
    cert_no: str,
    facts: CertificateFacts | None,
    presented: Presented,
    *,
    terms_of: TermsOf,
    contract_signatures: ContractSignatureCheck | None = None,
) -> Verification:
    """Runs the checks on `facts` (None: the chain has no such certificate).

    Args:
        cert_no: the number asked about.
        facts: what the chain says about it, or None when it has no such certificate.
        presented: the document hash and signature presented, if any.
        terms_of: reads the authority terms of an account (only called for the signer).
        contract_signatures: asks a contract account whether it accepts a signature (only
            called when a presented signature does not recover to the chain's signer);
            without it, only keys' signatures can pass.
    """
    if facts is None:
        exists = Check.of(
            "exists",
            False,
            _text(
                mark("No certificate numbered %(cert_no)s exists on the chain."), cert_no=cert_no
            ),
        )
        return _report(cert_no, None, (exists,), presented)
    checks = [
        Check.of(
            "exists",
            True,
            _text(
                mark(
                    "%(cert_no)s was issued by %(exporting)s for %(importing)s on %(issued)s "
                    "(block %(block)s)."
                ),
                cert_no=cert_no,
                exporting=facts.exporting,
                importing=facts.importing,
                issued=_day(facts.issued_at),
                block=str(facts.issued_block),
            ),
        )
    ]
    if presented.has_document:
        checks.append(_document_hash(facts, presented))
    signer, recovered = facts.signer, False
    if presented.signature is not None:
        check, recovered_signer = _signature(facts, presented, contract_signatures)
        checks.append(check)
        if recovered_signer is not None:
            signer, recovered = recovered_signer, True
    checks.append(_authority(facts, signer, terms_of(signer), recovered=recovered))
    checks.append(_status(facts))
    return _report(cert_no, facts, tuple(checks), presented)


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The account whose ECDSA `signature` is over `digest` (an EIP-712 hash), as the contract
    recovers it.

    Raises:
        ValueError: `signature` is not a valid 65-byte ECDSA signature.
    """
    if len(signature) != 65:
        raise ValueError(f"a key's signature is 65 bytes, this one is {len(signature)}")
    try:
        return str(Account._recover_hash(digest, signature=signature))
    except (BadSignature, EthKeysValidationError) as error:
        raise ValueError(str(error) or type(error).__name__) from None


# --- the checks ----------------------------------------------------------------------------------


def _cannot_hash(reason: str) -> Text:
    return _text(mark("The document cannot be hashed: %(reason)s."), reason=reason)


def _document_hash(facts: CertificateFacts, presented: Presented) -> Check:
    if presented.doc_hash is None:
        if presented.document_reason is not None:
            return Check.of("document_hash", False, _cannot_hash(presented.document_reason))
        return Check("document_hash", False, presented.document_problem or "No document hash.")
    what = (
        _text(mark("The document's hash"))
        if presented.from_document
        else _text(mark("The presented document hash"))
    )
    if presented.doc_hash == facts.doc_hash.lower():
        return Check.of(
            "document_hash",
            True,
            _text(
                mark("%(what)s %(doc_hash)s is the one recorded on the chain at issue."),
                what=what,
                doc_hash=presented.doc_hash,
            ),
        )
    return Check.of(
        "document_hash",
        False,
        _text(
            mark(
                "%(what)s %(doc_hash)s differs from the one recorded on the chain "
                "(%(recorded)s): the document is not the one its authority issued."
            ),
            what=what,
            doc_hash=presented.doc_hash,
            recorded=facts.doc_hash,
        ),
    )


def _signature(
    facts: CertificateFacts,
    presented: Presented,
    contract_signatures: ContractSignatureCheck | None,
) -> tuple[Check, str | None]:
    assert presented.signature is not None
    # Over the presented document when there is one (does this signature validate *this*
    # document?), else over the chain's hash (is it the validation recorded on chain?).
    digest = bytes.fromhex((presented.doc_hash or facts.doc_hash)[2:])
    recovered: str | None = None
    problem = _text("")
    try:
        recovered = recover_signer(digest, presented.signature)
    except ValueError as error:
        problem = _text(
            mark("The signature is not a valid signature of a key: %(error)s."), error=str(error)
        )
    if recovered == facts.signer:
        message = _text(
            mark(
                "The signature recovers to %(signer)s, the key recorded on the chain as having "
                "validated the certificate."
            ),
            signer=recovered,
        )
        return Check.of("signature", True, message), recovered
    # The registry accepts a contract account's signature by asking the account (ERC-1271, as
    # OpenZeppelin's SignatureChecker does): so does the verification.
    if contract_signatures is not None and contract_signatures(
        facts.signer, digest, presented.signature, facts.issued_block
    ):
        message = _text(
            mark(
                "The signature is accepted by %(signer)s, the contract account recorded on the "
                "chain as having validated the certificate (ERC-1271, asked as of block "
                "%(block)s, when the certificate was issued)."
            ),
            signer=facts.signer,
            block=str(facts.issued_block),
        )
        return Check.of("signature", True, message), facts.signer
    if recovered is None:
        return Check.of("signature", False, problem), None
    message = _text(
        mark(
            "The signature recovers to %(recovered)s, not to %(signer)s, the key recorded on the "
            "chain as having validated the certificate."
        ),
        recovered=recovered,
        signer=facts.signer,
    )
    return Check.of("signature", False, message), recovered


def _authority(
    facts: CertificateFacts, signer: str, terms: Sequence[AuthorityTerm], *, recovered: bool
) -> Check:
    who = (
        _text(mark("The signing key %(signer)s"), signer=signer)
        if recovered
        else _text(mark("The key recorded on chain, %(signer)s,"), signer=signer)
    )
    block = str(facts.issued_block)
    exporting = facts.exporting
    own = [term for term in terms if term.participant == exporting]
    if any(term.covers(facts.issued_block) for term in own):
        return Check.of(
            "authority",
            True,
            _text(
                mark(
                    "%(who)s was an authority of %(exporting)s when the certificate was issued "
                    "(block %(block)s)."
                ),
                who=who,
                exporting=exporting,
                block=block,
            ),
        )
    revoked = [
        t for t in own if t.revoked_block is not None and t.revoked_block <= facts.issued_block
    ]
    if revoked:
        last = max(revoked, key=lambda term: term.revoked_block or 0)
        values: dict[str, str | Text] = {
            "who": who,
            "exporting": exporting,
            "revoked": str(last.revoked_block),
            "block": block,
        }
        if last.revoked_time is not None:
            values["day"] = _day(last.revoked_time)
            template = mark(
                "%(who)s was revoked as an authority of %(exporting)s at block %(revoked)s "
                "(%(day)s), before the certificate was issued at block %(block)s."
            )
        else:
            template = mark(
                "%(who)s was revoked as an authority of %(exporting)s at block %(revoked)s, "
                "before the certificate was issued at block %(block)s."
            )
        return Check.of("authority", False, Text(template, values))
    if own:
        first = min(term.added_block for term in own)
        return Check.of(
            "authority",
            False,
            _text(
                mark(
                    "%(who)s only became an authority of %(exporting)s at block %(first)s, after "
                    "the certificate was issued at block %(block)s."
                ),
                who=who,
                exporting=exporting,
                first=str(first),
                block=block,
            ),
        )
    others = sorted({term.participant for term in terms})
    if others:
        return Check.of(
            "authority",
            False,
            _text(
                mark(
                    "%(who)s has been an authority of %(others)s, never of %(exporting)s, the "
                    "exporting participant."
                ),
                who=who,
                others=", ".join(others),
                exporting=exporting,
            ),
        )
    return Check.of(
        "authority",
        False,
        _text(mark("%(who)s has never been an authority of any participant."), who=who),
    )


# A certificate still open (`OPEN_STATUSES`), by its status: what the status check says of it.
_OPEN: dict[str, str] = {
    CertificateStatusLabel.ISSUED: mark("Issued, valid until %(expires)s."),
    CertificateStatusLabel.SHIPPED: mark("Shipped, valid until %(expires)s."),
}


def _status(facts: CertificateFacts) -> Check:
    status = facts.status
    expires = expiry_date(facts.expires_at).isoformat()
    replaced_by = facts.replaced_by
    if status == CertificateStatusLabel.RECEIVED:
        if facts.received_at is not None:
            received = _text(
                mark("Received by %(importing)s on %(day)s."),
                importing=facts.importing,
                day=_day(facts.received_at),
            )
        else:
            received = _text(mark("Received by %(importing)s."), importing=facts.importing)
        return Check.of("status", True, received)
    if status in _OPEN:
        return Check.of("status", True, _text(_OPEN[status], expires=expires))
    if status == CertificateStatusLabel.EXPIRED:
        return Check.of(
            "status",
            False,
            _text(mark("The certificate expired on %(expires)s."), expires=expires),
        )
    if status == CertificateStatusLabel.CANCELLED:
        if replaced_by:
            cancelled = _text(
                mark(
                    "The certificate was cancelled by its exporting authority, and replaced by "
                    "%(replaced_by)s."
                ),
                replaced_by=replaced_by,
            )
        else:
            cancelled = _text(mark("The certificate was cancelled by its exporting authority."))
        return Check.of("status", False, cancelled)
    if status == CertificateStatusLabel.REJECTED:
        reason = _text((facts.rejection_reason or _NO_REASON).replace("_", " "))
        if replaced_by:
            rejected = _text(
                mark(
                    "The certificate was rejected by the importing authority (%(reason)s), and "
                    "replaced by %(replaced_by)s."
                ),
                reason=reason,
                replaced_by=replaced_by,
            )
        else:
            rejected = _text(
                mark("The certificate was rejected by the importing authority (%(reason)s)."),
                reason=reason,
            )
        return Check.of("status", False, rejected)
    return Check.of(
        "status", False, _text(mark("The certificate's status is %(status)s."), status=status)
    )


# --- the report ----------------------------------------------------------------------------------

# The status check words a rejection's reason as the contract names it, "_" as a space ("seal
# broken"), translated as the pages' words are (kpchain.web.rendering); and, without one:
_NO_REASON = mark("no reason")

_NOTE = mark(
    "The document itself was not compared with the chain: present its doc_hash (or the "
    "document) to check that it is the one issued."
)


def _advice(cert_no: str, check: Check, facts: CertificateFacts | None) -> Text:
    exporting = facts.exporting if facts else cert_no[:2]
    report = _text(
        mark(
            "hold the shipment, ask the exporting authority (%(exporting)s) to confirm the "
            "certificate, and report a suspected forgery to your KP authority."
        ),
        exporting=exporting,
    )
    if check.name == "exists":
        return _text(
            mark("Check that the number was read correctly; if it was, %(report)s"), report=report
        )
    if check.name == "document_hash":
        return _text(mark("The document is not the one that was issued: %(report)s"), report=report)
    if check.name in ("signature", "authority"):
        return _text(
            mark("The document was not validated by a key of its exporting authority: %(report)s"),
            report=report,
        )
    assert facts is not None
    if facts.status == CertificateStatusLabel.EXPIRED:
        return _text(
            mark(
                "Do not accept the shipment on this certificate: it can no longer be received, "
                "only rejected. Ask the exporting authority for a new certificate."
            )
        )
    if facts.status == CertificateStatusLabel.CANCELLED:
        if facts.replaced_by:
            return _text(
                mark(
                    "Do not accept the shipment on this certificate; ask for the certificate that "
                    "replaces it (%(replaced_by)s)."
                ),
                replaced_by=facts.replaced_by,
            )
        return _text(
            mark(
                "Do not accept the shipment on this certificate; ask for the certificate that "
                "replaces it."
            )
        )
    if facts.status == CertificateStatusLabel.REJECTED and facts.replaced_by:
        return _text(
            mark(
                "Do not accept the shipment on this certificate: its importing authority "
                "rejected it. Ask for the certificate that replaces it (%(replaced_by)s)."
            ),
            replaced_by=facts.replaced_by,
        )
    return _text(
        mark(
            "Do not accept the shipment on this certificate: its importing authority has already "
            "closed it. Contact the importing authority (%(importing)s)."
        ),
        importing=facts.importing,
    )


def _report(
    cert_no: str,
    facts: CertificateFacts | None,
    checks: tuple[Check, ...],
    presented: Presented,
) -> Verification:
    failed = [check for check in checks if not check.passed]
    first = failed[0] if failed else None
    note = _NOTE if facts is not None and not presented.has_document else None
    advice = _advice(cert_no, first, facts) if first else None
    return Verification(
        cert_no=cert_no,
        found=facts is not None,
        genuine=not failed,
        status=facts.status if facts else None,
        exporting_participant=facts.exporting if facts else None,
        importing_participant=facts.importing if facts else None,
        origin=facts.origin if facts else None,
        issued_at=date_from_seconds(facts.issued_at) if facts else None,
        expires_at=expiry_date(facts.expires_at) if facts else None,
        received_at=(
            date_from_seconds(facts.received_at)
            if facts is not None and facts.received_at is not None
            else None
        ),
        doc_hash_checked=presented.doc_hash is not None,
        signer=facts.signer if facts else None,
        checks=checks,
        problem=first.message if first else None,
        advice=None if advice is None else str(advice),
        note=note,
        replaced_by=facts.replaced_by if facts else None,
        replaces=facts.replaces if facts else None,
        # Issued or shipped reads as expired once the clock passes the expiry (see
        # CertificateFacts.status); every other status changes only by an event.
        holds_until=(
            facts.expires_at if facts is not None and facts.status in OPEN_STATUSES else None
        ),
        advice_text=advice,
    )


def _hash_signed_document(cert_no: str, signed: Mapping[str, Any], domain: DocumentDomain) -> str:
    document = CertificateDocument.model_validate(signed["document"])
    if document.cert_no != cert_no:
        raise ValueError(f"it is numbered {document.cert_no}, not {cert_no}")
    salts = []
    for name in ("exporter_salt", "importer_salt"):
        salt = signed.get(name)
        if not isinstance(salt, str) or not _HEX32.fullmatch(salt):
            raise ValueError(f"{name} must be 0x and 64 hexadecimal digits")
        salts.append(bytes.fromhex(salt[2:]))
    certificate = to_contract(document, exporter_salt=salts[0], importer_salt=salts[1])
    digest = document_hash(
        certificate, chain_id=domain.chain_id, verifying_contract=domain.verifying_contract
    )
    return "0x" + digest.hex()


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    if isinstance(error, KeyError):
        return f"{error.args[0]} is missing"
    return str(error).rstrip(".")


def _signature_bytes(signature: str) -> bytes:
    if not _HEX.fullmatch(signature) or len(signature) > _MAX_SIGNATURE_HEX:
        raise InvalidRequestError(
            "signature must be 0x and an even number of hexadecimal digits (65 bytes from a key)",
            code=ErrorCode.SIGNATURE_INVALID,
            detail={"signature": signature[:100]},
        )
    return bytes.fromhex(signature[2:])


def _day(seconds: int) -> str:
    return date_from_seconds(seconds).isoformat()


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
