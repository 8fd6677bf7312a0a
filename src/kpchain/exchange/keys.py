"""The document encryption keys of the participants this service hosts, kept in its database.

Each key pair is made here and its private half never leaves: it is stored as an encrypted
PKCS #8 PEM under the exchange passphrase (`KPCHAIN_EXCHANGE_PASSPHRASE` or
`KPCHAIN_EXCHANGE_PASSPHRASE_FILE`), and opened in memory when a document encrypted to it
arrives. A rotation adds a key and registers it on chain; the older keys stay, so a document
encrypted to one of them (delivered before the rotation, or on its way during it) still opens.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.errors import ConfigError, ConflictError, ErrorCode
from kpchain.exchange.crypto import KeyPair
from kpchain.exchange.tables import ExchangeKey
from kpchain.store import WRITE

logger = logging.getLogger(__name__)

DEVELOPMENT_PASSPHRASE = "kpchain development exchange keys"
"""The passphrase of a development service without one: public, like the devnet's keys."""


def exchange_passphrase(
    *,
    passphrase: SecretStr | None,
    passphrase_file: Path | None,
    development: bool,
) -> str | None:
    """The passphrase the service's encryption keys are stored under, or None when none is
    configured outside development (the service then cannot make or open keys).

    Raises:
        ConfigError: both sources are given, or the file cannot be read.
    """
    if passphrase is not None and passphrase_file is not None:
        raise ConfigError(
            "set KPCHAIN_EXCHANGE_PASSPHRASE or KPCHAIN_EXCHANGE_PASSPHRASE_FILE, not both"
        )
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the exchange passphrase file {passphrase_file}: {type(exc).__name__}"
            ) from None
    if passphrase is not None:
        return passphrase.get_secret_value()
    if development:
        return DEVELOPMENT_PASSPHRASE
    return None


class KeyRing:
    """The encryption keys of the hosted participants.

    Args:
        sessions: the service database.
        passphrase: what the private keys are encrypted under (see `exchange_passphrase`);
            None: keys can neither be made nor opened.
    """

    def __init__(self, sessions: sessionmaker[Session], *, passphrase: str | None) -> None:
        self._sessions = sessions
        self._passphrase = passphrase
        self._opened: dict[str, KeyPair] = {}
        self._lock = threading.Lock()

    def generate(self, participant: str) -> str:
        """Makes and stores a new key pair for `participant`; returns its public key (0x-hex).

        The row is committed before the key is registered anywhere, so nothing is ever
        encrypted to a key this service could lose.

        Raises:
            ConflictError: no exchange passphrase is configured.
        """
        passphrase = self._require_passphrase()
        pair = KeyPair.generate()
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            session.add(
                ExchangeKey(
                    public_key=pair.public_key_hex,
                    participant=participant,
                    private_key=pair.to_pem(passphrase=passphrase),
                    created_at=datetime.now(UTC),
                )
            )
            session.commit()
        with self._lock:
            self._opened[pair.public_key_hex] = pair
        logger.info("new document encryption key %s for %s", pair.public_key_hex, participant)
        return pair.public_key_hex

    def import_pem(self, participant: str, pem: str, *, passphrase: str) -> str:
        """Stores the key pair of an encrypted PKCS #8 PEM (the ``encryption-key.pem`` that
        `kpchain consortium join` made) as `participant`'s newest key, under this service's
        passphrase; returns its public key. Importing a key held already changes nothing.

        Raises:
            ValueError: the PEM does not open with `passphrase`, or holds no X25519 key.
            ConflictError: no exchange passphrase is configured.
        """
        service_passphrase = self._require_passphrase()
        pair = KeyPair.from_pem(pem, passphrase=passphrase)
        with self._sessions() as session:
            session.connection(execution_options=WRITE)
            if session.get(ExchangeKey, pair.public_key_hex) is None:
                session.add(
                    ExchangeKey(
                        public_key=pair.public_key_hex,
                        participant=participant,
                        private_key=pair.to_pem(passphrase=service_passphrase),
                        created_at=datetime.now(UTC),
                    )
                )
            session.commit()
        with self._lock:
            self._opened[pair.public_key_hex] = pair
        return pair.public_key_hex

    def newest(self, participant: str) -> str | None:
        """The public key made last for `participant`, or None when it has none."""
        with self._sessions() as session:
            return session.scalars(
                select(ExchangeKey.public_key)
                .where(ExchangeKey.participant == participant)
                .order_by(ExchangeKey.created_at.desc(), ExchangeKey.public_key)
                .limit(1)
            ).first()

    def owner(self, public_key: str) -> str | None:
        """The participant whose key `public_key` is, when this service holds it."""
        with self._sessions() as session:
            row = session.get(ExchangeKey, public_key.lower())
            return None if row is None else row.participant

    def participants(self) -> set[str]:
        """The participants this service holds at least one key of."""
        with self._sessions() as session:
            return set(session.scalars(select(ExchangeKey.participant).distinct()))

    def key_pair(self, public_key: str) -> KeyPair | None:
        """The key pair of `public_key`, opened (and kept open), or None when not held.

        Raises:
            ConflictError: no exchange passphrase is configured.
            ConfigError: the stored key does not open with the configured passphrase.
        """
        public_key = public_key.lower()
        with self._lock:
            if public_key in self._opened:
                return self._opened[public_key]
        with self._sessions() as session:
            row = session.get(ExchangeKey, public_key)
            pem = None if row is None else row.private_key
        if pem is None:
            return None
        passphrase = self._require_passphrase()
        try:
            pair = KeyPair.from_pem(pem, passphrase=passphrase)
        except ValueError:
            raise ConfigError(
                f"the encryption key {public_key} does not open with the configured exchange "
                "passphrase: set the one it was made under"
            ) from None
        with self._lock:
            self._opened[public_key] = pair
        return pair

    def _require_passphrase(self) -> str:
        if self._passphrase is None:
            raise ConflictError(
                "this service has no exchange passphrase: set KPCHAIN_EXCHANGE_PASSPHRASE (or "
                "KPCHAIN_EXCHANGE_PASSPHRASE_FILE) to keep document encryption keys",
                code=ErrorCode.EXCHANGE_PASSPHRASE_MISSING,
            )
        return self._passphrase
