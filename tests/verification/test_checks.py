"""The verification checks on their own, over facts built here: the edges of an authority term,
and what a holder may present. (The branches a chain reaches are tested against anvil in
tests/api/test_verify.py and test_cli_verify.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eth_account import Account

from helpers.documents import document
from kpchain.errors import InvalidRequestError
from kpchain.i18n import use_language
from kpchain.verification.checks import (
    AuthorityTerm,
    CertificateFacts,
    DocumentDomain,
    Presented,
    Verification,
    evaluate,
    present,
)

SIGNER = Account.create()
ISSUED_BLOCK = 100
DOC_HASH = "0x" + "ab" * 32
DOMAIN = DocumentDomain(2021, "0x" + "11" * 20)


def _facts(**fields: Any) -> CertificateFacts:
    values: dict[str, Any] = {
        "cert_no": "BW-2026-000001",
        "exporting": "BW",
        "importing": "AE",
        "origin": "BW",
        "status": "issued",
        "issued_at": 1_795_000_000 - 1_795_000_000 % 86_400,
        "expires_at": 1_800_000_000,
        "received_at": None,
        "doc_hash": DOC_HASH,
        "signer": SIGNER.address,
        "issued_block": ISSUED_BLOCK,
    }
    return CertificateFacts(**{**values, **fields})


def _verify(terms: Sequence[AuthorityTerm], presented: Presented | None = None) -> Verification:
    return evaluate("BW-2026-000001", _facts(), presented or Presented(), terms_of=lambda _: terms)


def _authority(report: Verification) -> tuple[bool, str]:
    check = next(check for check in report.checks if check.name == "authority")
    return check.passed, check.message


@pytest.mark.parametrize(
    ("term", "held"),
    [
        (AuthorityTerm("BW", added_block=ISSUED_BLOCK), True),  # added in the issue's block
        (AuthorityTerm("BW", added_block=1, revoked_block=ISSUED_BLOCK + 1), True),
        (AuthorityTerm("BW", added_block=1, revoked_block=ISSUED_BLOCK), False),
        (AuthorityTerm("BW", added_block=ISSUED_BLOCK + 1), False),
    ],
)
def test_authority_term_covers_the_issue_block_from_added_until_revoked(
    term: AuthorityTerm, held: bool
) -> None:
    assert term.covers(ISSUED_BLOCK) is held
    assert _authority(_verify([term]))[0] is held


def test_authority_fails_when_key_became_an_authority_only_after_the_issue() -> None:
    report = _verify([AuthorityTerm("BW", added_block=ISSUED_BLOCK + 5)])

    assert report.genuine is False
    assert _authority(report) == (
        False,
        f"The key recorded on chain, {SIGNER.address}, only became an authority of BW at block "
        f"{ISSUED_BLOCK + 5}, after the certificate was issued at block {ISSUED_BLOCK}.",
    )


def test_authority_passes_when_a_later_term_covers_the_issue_after_a_revocation() -> None:
    terms = [
        AuthorityTerm("BW", added_block=1, revoked_block=10, revoked_time=1_700_000_000),
        AuthorityTerm("BW", added_block=50),
    ]

    assert _authority(_verify(terms))[0] is True


def test_present_refuses_a_hash_and_a_document_together() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        present("BW-2026-000001", doc_hash=DOC_HASH, document={"document": {}}, domain=DOMAIN)

    assert refused.value.code == "presented_twice"


def test_present_needs_the_domain_to_hash_a_document() -> None:
    with pytest.raises(ValueError, match="EIP-712 domain"):
        present("BW-2026-000001", document={"document": document("BW-2026-000001")})


def test_present_fails_the_document_hash_when_document_is_numbered_otherwise() -> None:
    signed = {
        "document": document("BW-2026-000002"),
        "exporter_salt": "0x" + "01" * 32,
        "importer_salt": "0x" + "02" * 32,
    }

    presented = present("BW-2026-000001", document=signed, domain=DOMAIN)
    report = _verify([AuthorityTerm("BW", added_block=1)], presented)

    assert presented.doc_hash is None
    check = next(check for check in report.checks if check.name == "document_hash")
    assert check.message == (
        "The document cannot be hashed: it is numbered BW-2026-000002, not BW-2026-000001."
    )
    assert report.doc_hash_checked is False
    assert report.genuine is False


def test_present_takes_the_documents_own_signature_when_none_is_given() -> None:
    signed = {"document": document("BW-2026-000001"), "signature": "0x" + "aa" * 65}

    presented = present("BW-2026-000001", document=signed, domain=DOMAIN)

    assert presented.signature == bytes.fromhex("aa" * 65)
    assert presented.document_problem == (
        "The document cannot be hashed: exporter_salt must be 0x and 64 hexadecimal digits."
    )


def test_sentences_are_english_and_can_be_worded_in_another_language() -> None:
    revoked = AuthorityTerm("BW", added_block=1, revoked_block=50, revoked_time=1_790_000_000)
    report = _verify([revoked], Presented(doc_hash="0x" + "cd" * 32))
    authority = next(check for check in report.checks if check.name == "authority")

    # The API's English, as before; the same sentence in French and Russian from its template.
    assert authority.message.startswith("The key recorded on chain, ")
    assert authority.localized() == authority.message
    with use_language("fr"):
        assert authority.localized().startswith(
            f"La clé enregistrée sur la chaîne, {SIGNER.address}"
        )
        assert "a été révoquée comme clé de l'autorité de BW au bloc 50" in authority.localized()
        assert report.localized_advice() == (
            "Le document n'est pas celui qui a été délivré : retenez l'envoi, demandez à "
            "l'autorité exportatrice (BW) de confirmer le certificat et signalez un soupçon de "
            "falsification à votre autorité du PK."
        )
    with use_language("ru"):
        hashed = next(check for check in report.checks if check.name == "document_hash")
        assert hashed.localized().startswith("Предъявленный хеш документа 0xcdcd")
    assert report.advice is not None
    assert report.advice.startswith("The document is not the one that was issued: hold the")
