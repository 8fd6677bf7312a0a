"""The exchange's cryptography without a chain: HPKE sealing to an X25519 key, the envelope's
signature and associated data, and the encryption keys kept in the database."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from kpchain.cli import main
from kpchain.errors import ConfigError, ConflictError
from kpchain.exchange.crypto import DecryptionError, KeyPair, is_public_key, seal
from kpchain.exchange.envelope import Envelope, open_envelope, recovered_signer, seal_envelope
from kpchain.exchange.keys import DEVELOPMENT_PASSPHRASE, KeyRing, exchange_passphrase
from kpchain.exchange.tables import ExchangeKey
from kpchain.signing import LocalSigner
from kpchain.store import create_engine, session_factory

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 2021
SIGNED = {
    "document": {"cert_no": "BW-2026-000123", "importer": {"name": "AE Rough Imports Ltd"}},
    "doc_hash": "0x" + "ab" * 32,
    "signature": "0x" + "11" * 65,
    "signer": "0x" + "22" * 20,
    "exporter_salt": "0x" + "33" * 32,
    "importer_salt": "0x" + "44" * 32,
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the key ring's store is not what these tests are about."""
    return sqlite_url


def _sealed(pair: KeyPair, signer: LocalSigner | None = None) -> Envelope:
    return seal_envelope(
        SIGNED,
        sender="BW",
        recipient="AE",
        recipient_key=pair.public_key_hex,
        signer=signer or LocalSigner(Account.create()),
        chain_id=CHAIN_ID,
        registry=REGISTRY,
        sent_at=1_796_000_000,
    )


def _open(envelope: Envelope | dict[str, Any], pair: KeyPair) -> dict[str, Any]:
    model = envelope if isinstance(envelope, Envelope) else Envelope.model_validate(envelope)
    return open_envelope(model, pair, chain_id=CHAIN_ID, registry=REGISTRY)


def test_seal_opens_with_recipient_key_only() -> None:
    recipient, other = KeyPair.generate(), KeyPair.generate()
    enc, ciphertext = seal(recipient.public_key, b"the document", info=b"i", aad=b"header")

    assert recipient.open(enc, ciphertext, info=b"i", aad=b"header") == b"the document"
    assert len(enc) == 32
    with pytest.raises(DecryptionError):
        other.open(enc, ciphertext, info=b"i", aad=b"header")
    with pytest.raises(DecryptionError):
        recipient.open(enc, ciphertext, info=b"i", aad=b"another header")
    with pytest.raises(DecryptionError):
        recipient.open(enc, ciphertext, info=b"another deployment", aad=b"header")


def test_seal_refuses_a_public_key_that_is_not_on_the_curve() -> None:
    with pytest.raises(ValueError, match="Curve25519"):
        seal(bytes(32), b"x", info=b"", aad=b"")


def test_key_pair_reads_back_from_encrypted_pem_with_its_passphrase_only() -> None:
    pair = KeyPair.generate()
    pem = pair.to_pem(passphrase="s3cret", work_factor=2**14)

    assert "ENCRYPTED PRIVATE KEY" in pem
    assert KeyPair.from_pem(pem, passphrase="s3cret").public_key == pair.public_key
    assert is_public_key(pair.public_key_hex)
    assert "s3cret" not in repr(pair)
    with pytest.raises(ValueError, match="wrong passphrase"):
        KeyPair.from_pem(pem, passphrase="wrong")


def test_envelope_opens_and_recovers_its_signer_when_untouched() -> None:
    pair, signer = KeyPair.generate(), LocalSigner(Account.create())
    envelope = _sealed(pair, signer)

    assert _open(envelope, pair) == SIGNED
    assert recovered_signer(envelope, chain_id=CHAIN_ID, registry=REGISTRY) == signer.address
    assert envelope.signer == signer.address
    assert envelope.recipient_key == pair.public_key_hex


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cert_no", "BW-2026-000124"),
        ("sender", "RU"),
        ("recipient", "EU"),
        ("doc_hash", "0x" + "cd" * 32),
        ("sent_at", 1_796_000_001),
    ],
)
def test_envelope_signature_recovers_to_another_account_when_a_header_field_changes(
    field: str, value: Any
) -> None:
    pair, signer = KeyPair.generate(), LocalSigner(Account.create())
    changed = Envelope.model_validate({**_sealed(pair, signer).model_dump(), field: value})

    assert recovered_signer(changed, chain_id=CHAIN_ID, registry=REGISTRY) != signer.address


def test_envelope_signature_recovers_to_another_account_when_ciphertext_changes() -> None:
    pair, signer = KeyPair.generate(), LocalSigner(Account.create())
    envelope = _sealed(pair, signer)
    raw = bytearray(base64.b64decode(envelope.ciphertext))
    raw[0] ^= 1
    changed = Envelope.model_validate(
        {**envelope.model_dump(), "ciphertext": base64.b64encode(bytes(raw)).decode()}
    )

    assert recovered_signer(changed, chain_id=CHAIN_ID, registry=REGISTRY) != signer.address
    with pytest.raises(DecryptionError):
        _open(changed, pair)


@pytest.mark.parametrize("field", ["cert_no", "doc_hash", "recipient"])
def test_envelope_does_not_open_when_its_associated_header_changes(field: str) -> None:
    pair = KeyPair.generate()
    value = {"cert_no": "BW-2026-000999", "doc_hash": "0x" + "ee" * 32, "recipient": "IN"}[field]

    with pytest.raises(DecryptionError):
        _open({**_sealed(pair).model_dump(), field: value}, pair)


def test_exchange_passphrase_comes_from_file_value_or_development_default(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("from the file\n")

    assert (
        exchange_passphrase(passphrase=None, passphrase_file=secret, development=False)
        == "from the file"
    )
    assert (
        exchange_passphrase(passphrase=SecretStr("given"), passphrase_file=None, development=False)
        == "given"
    )
    assert (
        exchange_passphrase(passphrase=None, passphrase_file=None, development=True)
        == DEVELOPMENT_PASSPHRASE
    )
    assert exchange_passphrase(passphrase=None, passphrase_file=None, development=False) is None
    with pytest.raises(ConfigError, match="not both"):
        exchange_passphrase(passphrase=SecretStr("x"), passphrase_file=secret, development=False)


def test_key_ring_keeps_every_key_of_a_participant_when_it_rotates(
    sessions: sessionmaker[Session],
) -> None:
    ring = KeyRing(sessions, passphrase="ring passphrase")
    first = ring.generate("AE")
    second = ring.generate("AE")
    reopened = KeyRing(sessions, passphrase="ring passphrase")

    assert reopened.newest("AE") == second
    assert reopened.participants() == {"AE"}
    assert reopened.owner(first) == "AE"
    assert reopened.owner("0x" + "00" * 32) is None
    for key in (first, second):
        pair = reopened.key_pair(key)
        assert pair is not None
        assert pair.public_key_hex == key
    with sessions() as session:
        stored = session.get_one(ExchangeKey, first)
        assert "ENCRYPTED PRIVATE KEY" in stored.private_key
    assert reopened.newest("BW") is None


def test_key_ring_refuses_keys_when_no_passphrase_and_opens_none_with_a_wrong_one(
    sessions: sessionmaker[Session],
) -> None:
    key = KeyRing(sessions, passphrase="right").generate("AE")

    with pytest.raises(ConflictError) as missing:
        KeyRing(sessions, passphrase=None).generate("AE")
    with pytest.raises(ConfigError, match="does not open"):
        KeyRing(sessions, passphrase="wrong").key_pair(key)

    assert missing.value.code == "exchange_passphrase_missing"


def test_import_key_command_keeps_a_consortium_join_key_under_the_service_passphrase(
    tmp_path: Path, clean_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    joined = KeyPair.generate()
    key_file = tmp_path / "encryption-key.pem"
    key_file.write_text(joined.to_pem(passphrase="join passphrase", work_factor=2**14))
    passphrase_file = tmp_path / "join-passphrase"
    passphrase_file.write_text("join passphrase\n")
    database_url = f"sqlite:///{tmp_path / 'kpchain.db'}"
    monkeypatch.setenv("KPCHAIN_DATABASE_URL", database_url)
    monkeypatch.setenv("KPCHAIN_EXCHANGE_PASSPHRASE", "service passphrase")
    command = ["exchange", "import-key", "AE", str(key_file), "--passphrase-file"]

    imported = CliRunner().invoke(main, [*command, str(passphrase_file)])
    wrong = tmp_path / "wrong"
    wrong.write_text("not it")
    refused = CliRunner().invoke(main, [*command, str(wrong)])

    assert imported.exit_code == 0, imported.output
    assert imported.output.strip() == joined.public_key_hex
    assert refused.exit_code == 1
    assert "wrong passphrase" in refused.output
    engine = create_engine(database_url)
    try:
        ring = KeyRing(session_factory(engine), passphrase="service passphrase")
        assert ring.newest("AE") == joined.public_key_hex
        opened = ring.key_pair(joined.public_key_hex)
        assert opened is not None
        assert opened.public_key == joined.public_key
    finally:
        engine.dispose()
