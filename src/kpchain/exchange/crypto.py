"""The exchange's cryptography: X25519 key pairs and HPKE (RFC 9180), from pycryptodome.

A document travels encrypted with HPKE in base mode, suite DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, AES-256-GCM: the sender encapsulates a fresh shared secret to the importer's
registered X25519 key (`enc` is the ephemeral public key), and AES-256-GCM seals the document
under the key HPKE derives from it, with the envelope's header as associated data, so that the
ciphertext cannot be moved under another certificate number, sender, recipient or key. Any RFC
9180 implementation (`cryptography`'s HPKE, OpenSSL 3.2's) opens it with the same parameters.

pycryptodome is the library: eth-account already brings it (pinned in constraints.txt), and
`cryptography` is not in kpchain's environment. A private key at rest is an encrypted PKCS #8
PEM (RFC 5958, PBES2 with scrypt and AES-256-CBC), the format `kpchain consortium join` writes
for a government's key file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from Crypto.Protocol import HPKE
from Crypto.Protocol.DH import import_x25519_public_key
from Crypto.PublicKey import ECC
from Crypto.PublicKey.ECC import EccKey

CURVE = "Curve25519"
KEY_BYTES = 32
AEAD = HPKE.AEAD.AES256_GCM
SCRYPT_WORK_FACTOR = 2**16
"""scrypt's N for keys stored in the database: 64 MiB and a fifth of a second to open, once per
key and process (opened keys are cached). The passphrase is the secret; this only slows a guess
at it from a stolen database."""

_PROTECTION = "scryptAndAES256-CBC"
_PUBLIC_KEY = re.compile(r"0x[0-9a-f]{64}")


class DecryptionError(ValueError):
    """A ciphertext did not open: a wrong key, a wrong header, or it was tampered with."""


@dataclass(frozen=True)
class KeyPair:
    """An X25519 key pair. Neither its repr nor its errors show the private key."""

    _key: EccKey = field(repr=False)

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh key pair from the operating system's random source."""
        return cls(ECC.generate(curve=CURVE))

    @classmethod
    def from_pem(cls, pem: str, *, passphrase: str) -> KeyPair:
        """The key pair in an encrypted PKCS #8 PEM.

        Raises:
            ValueError: a wrong passphrase, a damaged PEM, or not an X25519 private key.
        """
        try:
            key = ECC.import_key(pem, passphrase=passphrase)
        except (ValueError, TypeError, IndexError):
            # pycryptodome cannot tell a wrong passphrase from a damaged PEM.
            raise ValueError("wrong passphrase, or not an encrypted X25519 key") from None
        if key.curve != CURVE or not key.has_private():
            raise ValueError(f"a {key.curve} key, not an X25519 private key")
        return cls(key)

    def to_pem(self, *, passphrase: str, work_factor: int = SCRYPT_WORK_FACTOR) -> str:
        """The private key as an encrypted PKCS #8 PEM."""
        return str(
            self._key.export_key(
                format="PEM",
                passphrase=passphrase,
                protection=_PROTECTION,
                prot_params={"iteration_count": work_factor},
            )
        )

    @property
    def public_key(self) -> bytes:
        """The public key's 32 raw bytes (RFC 7748), as registered on chain."""
        return bytes(self._key.public_key().export_key(format="raw"))

    @property
    def public_key_hex(self) -> str:
        """The public key as the registry and the index write it: 0x and 64 hex digits."""
        return "0x" + self.public_key.hex()

    def open(self, enc: bytes, ciphertext: bytes, *, info: bytes, aad: bytes) -> bytes:
        """The plaintext HPKE sealed to this key.

        Raises:
            DecryptionError: it does not open with this key, `info` and `aad`.
        """
        try:
            receiver = HPKE.new(receiver_key=self._key, aead_id=AEAD, enc=enc, info=info)
            return bytes(receiver.unseal(ciphertext, aad))
        except ValueError:
            raise DecryptionError("the ciphertext does not open with this key") from None


def seal(public_key: bytes, plaintext: bytes, *, info: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Encrypts `plaintext` to the X25519 `public_key` (HPKE base mode).

    Returns:
        (enc, ciphertext): the encapsulated key (the ephemeral public key, 32 bytes) and the
        AES-256-GCM ciphertext with its tag.

    Raises:
        ValueError: `public_key` is not a valid X25519 public key.
    """
    receiver = import_x25519_public_key(public_key)
    sender = HPKE.new(receiver_key=receiver, aead_id=AEAD, info=info)
    ciphertext = sender.seal(plaintext, aad)
    return bytes(sender.enc), bytes(ciphertext)


def is_public_key(value: str) -> bool:
    """Whether `value` is 0x and the 64 lower-case hex digits of a 32-byte key."""
    return bool(_PUBLIC_KEY.fullmatch(value))
