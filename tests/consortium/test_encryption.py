"""The document encryption key: X25519 against RFC 7748's vectors, its encrypted PKCS #8 file
read back here and by OpenSSL (an independent implementation of the format), and what its file,
repr and errors never show."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from Crypto.Protocol.DH import (
    import_x25519_private_key,
    import_x25519_public_key,
    key_agreement,
)

from kpchain.consortium.encryption import (
    SCRYPT_WORK_FACTOR,
    EncryptionKey,
    checked_public_key,
)
from kpchain.errors import ConfigError, SigningError

# RFC 7748, section 6.1: Alice's and Bob's keys and their shared secret.
ALICE_PRIVATE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PUBLIC = "0x8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
BOB_PRIVATE = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
BOB_PUBLIC = "0xde9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
SHARED = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
PASSPHRASE = "a passphrase of five words"
FAST = 2**10  # scrypt's N for the tests' files; the default is checked on its own below


def _shared_secret(private: EncryptionKey, public_hex: str) -> bytes:
    secret: bytes = key_agreement(
        static_priv=import_x25519_private_key(private.private_bytes()),
        static_pub=import_x25519_public_key(bytes.fromhex(public_hex.removeprefix("0x"))),
        kdf=lambda raw: raw,
    )
    return secret


def test_public_keys_are_rfc_7748s_for_its_private_keys() -> None:
    assert EncryptionKey.from_private_bytes(ALICE_PRIVATE).public_key_hex == ALICE_PUBLIC
    assert EncryptionKey.from_private_bytes(BOB_PRIVATE).public_key_hex == BOB_PUBLIC


def test_two_keys_agree_on_rfc_7748s_shared_secret() -> None:
    alice = EncryptionKey.from_private_bytes(ALICE_PRIVATE)
    bob = EncryptionKey.from_private_bytes(BOB_PRIVATE)

    assert _shared_secret(alice, BOB_PUBLIC) == _shared_secret(bob, ALICE_PUBLIC) == SHARED


def test_generated_keys_are_fresh_x25519_keys() -> None:
    first, second = EncryptionKey.generate(), EncryptionKey.generate()

    assert first.public_key != second.public_key
    assert len(first.public_key) == 32
    assert _shared_secret(first, second.public_key_hex) == _shared_secret(
        second, first.public_key_hex
    )


def test_key_file_reads_back_with_its_passphrase_and_is_owner_only(tmp_path: Path) -> None:
    key = EncryptionKey.generate()
    path = tmp_path / "encryption-key.pem"

    key.write(path, passphrase=PASSPHRASE, work_factor=FAST)

    text = path.read_text()
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert EncryptionKey.read(path, passphrase=PASSPHRASE).public_key == key.public_key
    assert key.private_bytes().hex() not in text


def test_key_file_is_pkcs8_that_openssl_opens(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl on this machine")
    key = EncryptionKey.from_private_bytes(ALICE_PRIVATE)
    path = tmp_path / "encryption-key.pem"
    # OpenSSL's command line caps scrypt at 32 MiB: 2**14 (16 MiB) is within, the default not.
    key.write(path, passphrase=PASSPHRASE, work_factor=2**14)

    public = subprocess.run(
        [openssl, "pkey", "-in", str(path), "-passin", "env:PASS", "-pubout", "-outform", "DER"],
        env={**os.environ, "PASS": PASSPHRASE},
        capture_output=True,
        check=True,
    ).stdout

    assert public[-32:].hex() == ALICE_PUBLIC.removeprefix("0x")


def test_key_file_keeps_the_keystores_scrypt_work_factor_by_default(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl on this machine")
    path = tmp_path / "encryption-key.pem"

    EncryptionKey.generate().write(path, passphrase=PASSPHRASE)

    lines = subprocess.run(
        [openssl, "asn1parse", "-in", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()
    at = next(index for index, line in enumerate(lines) if line.rstrip().endswith(":scrypt"))
    integers = [int(line.rsplit(":", 1)[1], 16) for line in lines[at:] if "INTEGER" in line]
    assert integers[:3] == [SCRYPT_WORK_FACTOR, 8, 1] == [2**18, 8, 1]  # scrypt's N, r and p
    assert any(line.rstrip().endswith(":aes-256-cbc") for line in lines)


def test_a_wrong_passphrase_is_refused_without_showing_either(tmp_path: Path) -> None:
    path = tmp_path / "encryption-key.pem"
    EncryptionKey.generate().write(path, passphrase=PASSPHRASE, work_factor=FAST)

    with pytest.raises(SigningError, match="wrong passphrase") as caught:
        EncryptionKey.read(path, passphrase="another passphrase entirely")

    assert PASSPHRASE not in caught.value.message
    assert "another passphrase" not in caught.value.message


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "encryption-key.pem"
    first = EncryptionKey.generate()
    first.write(path, passphrase=PASSPHRASE, work_factor=FAST)

    with pytest.raises(FileExistsError):
        EncryptionKey.generate().write(path, passphrase=PASSPHRASE, work_factor=FAST)

    assert EncryptionKey.read(path, passphrase=PASSPHRASE).public_key == first.public_key


def test_repr_hides_the_private_key() -> None:
    key = EncryptionKey.from_private_bytes(ALICE_PRIVATE)

    assert ALICE_PRIVATE.hex() not in repr(key)
    assert str(int.from_bytes(ALICE_PRIVATE, "little")) not in repr(key)


def test_published_public_keys_are_0x_and_64_hex_digits() -> None:
    assert checked_public_key(ALICE_PUBLIC.upper().replace("0X", "0x")) == ALICE_PUBLIC
    for bad in (ALICE_PUBLIC[2:], ALICE_PUBLIC[:-2], ALICE_PUBLIC + "00", 42):
        with pytest.raises(ConfigError, match="32-byte X25519 public key"):
            checked_public_key(bad)
