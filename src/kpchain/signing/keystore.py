"""A signer whose key lives in an encrypted JSON keystore (Web3 Secret Storage, as geth writes).

The passphrase comes from the environment or from a file (a mounted secret), never from the
command line. The well-known development keys are refused unless development mode is on: their
private keys are public, so a deployment governed by one belongs to everyone.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr

from kpchain.errors import SigningError
from kpchain.signing.devkeys import (
    DEV_MNEMONIC,
    development_addresses,
    is_development_address,
    refuse_development_key,
)
from kpchain.signing.local import LocalSigner

__all__ = [
    "DEV_MNEMONIC",
    "KeystoreSigner",
    "create_keystore",
    "development_addresses",
    "is_development_address",
    "resolve_passphrase",
]

logger = logging.getLogger(__name__)


class KeystoreSigner(LocalSigner):
    """A `LocalSigner` opened from an encrypted keystore file; see `KeystoreSigner.open`.

    The decrypted key stays in process memory and never appears in `repr`, logs or errors.
    """

    def __init__(self, account: LocalAccount, *, keystore: Path) -> None:
        super().__init__(account)
        self.keystore = keystore

    @classmethod
    def open(
        cls,
        keystore: Path,
        *,
        passphrase: SecretStr | str | None = None,
        passphrase_file: Path | None = None,
        development: bool = False,
        variable: str = "KPCHAIN_KEYSTORE_PASSPHRASE",
    ) -> KeystoreSigner:
        """Decrypts `keystore` with the passphrase given directly or read from a file.

        Args:
            keystore: the JSON keystore file.
            passphrase: the passphrase, typically from `KPCHAIN_KEYSTORE_PASSPHRASE`.
            passphrase_file: a file whose content (without its trailing newline) is the
                passphrase; exactly one of `passphrase` and `passphrase_file` must be given.
            development: allow the well-known development keys.
            variable: the environment variable `passphrase` comes from, for messages.

        Raises:
            SigningError: no passphrase or two of them, a file cannot be read, the keystore is
                malformed, the passphrase is wrong, or the key is a development key outside
                development mode.
        """
        secret = resolve_passphrase(
            passphrase=passphrase, passphrase_file=passphrase_file, variable=variable
        )
        keyfile = _read_keyfile(keystore)
        try:
            key = Account.decrypt(keyfile, secret)
        except (ValueError, KeyError, TypeError) as exc:
            # eth-account says "MAC mismatch" for a wrong passphrase; anything else means a
            # malformed file. Ours is built from neither, and the cause is not chained.
            reason = "wrong passphrase" if "MAC mismatch" in str(exc) else "not a valid keystore"
            raise SigningError(
                f"cannot decrypt keystore {keystore}: {reason}; check the passphrase "
                f"({variable} or the passphrase file) and the file",
                detail={"keystore": str(keystore)},
            ) from None
        signer = cls(Account.from_key(key), keystore=keystore)
        refuse_development_key(
            signer.address,
            holder=f"keystore {keystore}",
            development=development,
            detail={"keystore": str(keystore)},
        )
        logger.info("opened keystore %s for %s", keystore, signer.address)
        return signer

    def __repr__(self) -> str:
        return f"KeystoreSigner({self.address}, keystore={str(self.keystore)!r})"


def resolve_passphrase(
    *,
    passphrase: SecretStr | str | None = None,
    passphrase_file: Path | None = None,
    variable: str = "KPCHAIN_KEYSTORE_PASSPHRASE",
) -> str:
    """The passphrase given directly or read from `passphrase_file` (one of them, not both).

    A file's trailing newline (as `echo` writes) is not part of the passphrase. `variable` names
    the environment variable `passphrase` comes from, for messages.

    Raises:
        SigningError: neither or both are given, the file cannot be read, or it is empty.
    """
    if passphrase is not None and passphrase_file is not None:
        raise SigningError(
            "both a keystore passphrase and a passphrase file are set; "
            f"set {variable} or the passphrase file, not both"
        )
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningError(
                f"cannot read passphrase file {passphrase_file}: {type(exc).__name__}; "
                "check that it exists and is readable by this user",
                detail={"passphrase_file": str(passphrase_file)},
            ) from None
        secret = text.removesuffix("\n").removesuffix("\r")
    elif passphrase is not None:
        secret = passphrase.get_secret_value() if isinstance(passphrase, SecretStr) else passphrase
    else:
        raise SigningError(f"no keystore passphrase: set {variable} or give a passphrase file")
    if not secret:
        raise SigningError("the keystore passphrase is empty; an empty passphrase protects nothing")
    return secret


def create_keystore(
    path: Path,
    *,
    passphrase: SecretStr | str,
    private_key: bytes | str | None = None,
    iterations: int | None = None,
) -> str:
    """Writes a new encrypted keystore to `path` (owner-only permissions); returns its address.

    Args:
        path: where to write; an existing file is never overwritten.
        passphrase: the passphrase that will open it.
        private_key: the key to store; a fresh random key when None.
        iterations: the scrypt work factor; eth-account's default (2**18) when None. Only tests
            should lower it.

    Raises:
        SigningError: `path` exists or cannot be written, or the passphrase is empty.
    """
    secret = resolve_passphrase(passphrase=passphrase)
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    keyfile = Account.encrypt(account.key, secret, kdf="scrypt", iterations=iterations)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningError(
            f"{path} already exists; choose another file (keystores are never overwritten)"
        ) from None
    except OSError as exc:
        raise SigningError(f"cannot write keystore {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keyfile, out)
        out.write("\n")
    logger.info("wrote keystore %s for %s", path, account.address)
    return str(account.address)


def _read_keyfile(keystore: Path) -> dict[str, Any]:
    try:
        data = json.loads(keystore.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningError(
            f"cannot read keystore {keystore}: {type(exc).__name__}; check the path "
            "(KPCHAIN_KEYSTORE or --keystore) and its permissions",
            detail={"keystore": str(keystore)},
        ) from None
    except ValueError:
        raise SigningError(
            f"keystore {keystore} is not JSON; expected an encrypted Web3 Secret Storage file",
            detail={"keystore": str(keystore)},
        ) from None
    if not isinstance(data, dict):
        raise SigningError(f"keystore {keystore} is not a keystore object")
    return data
