"""A participant's document encryption key: the X25519 key (RFC 7748) that other participants'
services encrypt the private half of a certificate to.

`kpchain consortium join` makes one at each government and keeps it in two files:

- ``encryption-key.pem``, the private key: PEM ``ENCRYPTED PRIVATE KEY``, an encrypted PKCS #8
  key (RFC 5958) under PBES2 (RFC 8018) with scrypt (RFC 7914; N = 2**18, r = 8, p = 1, the work
  factor of the Ethereum keystores beside it) and AES-256-CBC, readable by its owner only. It
  opens with `EncryptionKey.read`, with `cryptography`'s
  ``serialization.load_pem_private_key(data, passphrase)`` (an ``X25519PrivateKey``; checked with
  cryptography 48) or pycryptodome's ``ECC.import_key(data, passphrase)``. The OpenSSL command
  line cannot open it: it caps scrypt at 32 MiB, and this work factor takes 256 MiB.
- ``encryption-key.pub``, the public key: ``0x`` and the 64 hex digits of its 32 raw bytes
  (RFC 7748's encoding), as it is published in ``public.json`` and registered on chain.

The keys are made with pycryptodome, which eth-account already brings (`cryptography` is not in
kpchain's environment); the file is the same standard format either library writes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from Crypto.Protocol.DH import import_x25519_private_key
from Crypto.PublicKey import ECC

from kpchain.errors import ConfigError, SigningError

CURVE = "Curve25519"
PUBLIC_KEY_BYTES = 32
# scrypt's cost parameter N: 2**18 with r = 8 takes 256 MiB and about a second, as eth-account's
# keystores do (Web3 Secret Storage's default).
SCRYPT_WORK_FACTOR = 2**18
_PROTECTION = "scryptAndAES256-CBC"
_PUBLIC_KEY = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class EncryptionKey:
    """An X25519 private key. Neither its repr nor its errors show the private key."""

    _key: ECC.EccKey = field(repr=False)

    def __post_init__(self) -> None:
        if self._key.curve != CURVE or not self._key.has_private():
            raise ConfigError("a document encryption key is an X25519 private key")

    @classmethod
    def generate(cls) -> EncryptionKey:
        """A fresh key from the operating system's random source."""
        return cls(ECC.generate(curve=CURVE))

    @classmethod
    def from_private_bytes(cls, private_key: bytes) -> EncryptionKey:
        """The key whose 32 raw private bytes (RFC 7748) are `private_key`.

        Raises:
            ConfigError: not 32 bytes.
        """
        if len(private_key) != PUBLIC_KEY_BYTES:
            raise ConfigError("an X25519 private key is 32 bytes")
        return cls(import_x25519_private_key(private_key))

    @classmethod
    def read(cls, path: Path, *, passphrase: str) -> EncryptionKey:
        """The key in `path`, decrypted with `passphrase`.

        Raises:
            SigningError: the file cannot be read, the passphrase is wrong, or it holds no X25519
                private key.
        """
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningError(
                f"cannot read encryption key {path}: {type(exc).__name__}",
                detail={"encryption_key": str(path)},
            ) from None
        try:
            key = ECC.import_key(text, passphrase=passphrase)
        except (ValueError, TypeError, IndexError):
            # pycryptodome cannot tell a wrong passphrase from a damaged file: both decrypt to
            # bytes that are not a key. Its message is not passed on.
            raise SigningError(
                f"cannot decrypt encryption key {path}: wrong passphrase, or not an encrypted "
                "X25519 key",
                detail={"encryption_key": str(path)},
            ) from None
        if key.curve != CURVE or not key.has_private():
            raise SigningError(
                f"{path} holds a {key.curve} key, not an X25519 private key",
                detail={"encryption_key": str(path)},
            )
        return cls(key)

    def write(self, path: Path, *, passphrase: str, work_factor: int = SCRYPT_WORK_FACTOR) -> None:
        """Writes the key, encrypted under `passphrase`, readable by the owner only.

        Args:
            path: the file; an existing one is never overwritten.
            passphrase: what will open it.
            work_factor: scrypt's N; only tests should lower it.

        Raises:
            FileExistsError: `path` exists.
        """
        pem = self._key.export_key(
            format="PEM",
            passphrase=passphrase,
            protection=_PROTECTION,
            prot_params={"iteration_count": work_factor},
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(pem + "\n")

    @property
    def public_key(self) -> bytes:
        """The public key's 32 raw bytes (RFC 7748)."""
        return self._key.public_key().export_key(format="raw")

    @property
    def public_key_hex(self) -> str:
        """The public key as published: ``0x`` and 64 hex digits."""
        return "0x" + self.public_key.hex()

    def private_bytes(self) -> bytes:
        """The private key's 32 raw bytes (RFC 7748), for a key agreement; never log them."""
        return self._key.seed


def checked_public_key(value: object, *, what: str = "encryption public key") -> str:
    """`value` as a published encryption public key: ``0x`` and 64 lower-case hex digits.

    Raises:
        ConfigError: anything else.
    """
    if not isinstance(value, str) or not _PUBLIC_KEY.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} is not 0x and the 64 hex digits of a 32-byte X25519 public key",
            detail={"what": what},
        )
    return value.lower()
