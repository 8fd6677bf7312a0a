"""How the service opens the signers it hosts: the signers file (`KPCHAIN_SIGNERS_FILE`).

YAML or JSON:

```yaml
participants:
  BW: {keystore: keys/bw.json, passphrase_env: KPCHAIN_BW_PASSPHRASE}
  AE: {remote: "https://signer.ae.example:9000", address: "0x…", headers: {Authorization: …}}
  EU: {dev: EU}   # the devnet authority key of EU; development mode only
admins:           # optional: the participant admin keys this service signs with
  BW: {keystore: keys/bw-admin.json, passphrase_env: KPCHAIN_BW_ADMIN_PASSPHRASE}
  EU: {dev: EU}   # the devnet admin key of EU
```

`participants` holds each hosted participant's authority key (it signs certificates and their
lifecycle); `admins` its admin key (its seat in governance, its authority keys, its exchange
endpoint), a key of its own that no officer's operation uses.

Each entry is exactly one of: an encrypted keystore with its passphrase from an environment
variable or a file (relative paths are relative to the signers file), a remote Web3Signer-style
signer holding the key, or a devnet key (``dev: <participant code>`` for that participant's
authority, or its admin under `admins`). No account governs (see `kpchain.governance`), so the
file names no governor. The file names no secret itself: header values are kept as secrets in
memory and never shown.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PositiveFloat,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kpchain.chain.signer import Signer
from kpchain.configfile import ConfigFile
from kpchain.errors import KpchainError, SigningError
from kpchain.signing.devkeys import (
    DevRole,
    participant_account,
    participant_index,
)
from kpchain.signing.keystore import KeystoreSigner
from kpchain.signing.local import LocalSigner
from kpchain.signing.remote import RemoteSigner
from kpchain.vocabulary import ADDRESS_PATTERN

logger = logging.getLogger(__name__)


_BASE_DIR = "base_dir"  # validation context: the signers file's folder


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeystoreSignerSpec(_Spec):
    """An encrypted JSON keystore and where its passphrase comes from (exactly one source).

    Attributes:
        keystore: the keystore file; relative to the signers file's folder.
        passphrase_env: the environment variable holding the passphrase.
        passphrase_file: a file holding the passphrase (a mounted secret); relative to the
            signers file's folder.
    """

    keystore: Path
    passphrase_env: str | None = None
    passphrase_file: Path | None = None

    @field_validator("keystore", "passphrase_file")
    @classmethod
    def _relative_to_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base = (info.context or {}).get(_BASE_DIR)
        value = value.expanduser()
        return value if base is None else Path(base) / value  # an absolute value stays as it is

    @model_validator(mode="after")
    def _one_passphrase_source(self) -> KeystoreSignerSpec:
        if (self.passphrase_env is None) == (self.passphrase_file is None):
            raise ValueError("give exactly one of passphrase_env and passphrase_file")
        if self.passphrase_env is not None and not self.passphrase_env:
            raise ValueError("passphrase_env is empty")
        return self


class RemoteSignerSpec(_Spec):
    """A remote signer speaking Web3Signer's eth1 JSON-RPC, and the account it signs as.

    Attributes:
        remote: the signer's http(s) URL.
        address: the account it must hold.
        headers: HTTP headers for every request (e.g. an Authorization token); kept secret.
        timeout: seconds to wait for each answer.
    """

    remote: str = Field(repr=False)  # may carry user:password
    address: str = Field(pattern=ADDRESS_PATTERN)
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeout: PositiveFloat = 10.0

    @field_validator("remote")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("remote must be an http:// or https:// URL")
        return value


class DevSignerSpec(_Spec):
    """A devnet key of a participant (`dev: EU`): its authority, or its admin under `admins`.

    Development mode only: these keys are public.
    """

    dev: str

    @field_validator("dev")
    @classmethod
    def _participant(cls, value: str) -> str:
        participant_index(value)  # raises ValueError for anything but two capitals
        return value


_KINDS: dict[str, type[_Spec]] = {
    "keystore": KeystoreSignerSpec,
    "remote": RemoteSignerSpec,
    "dev": DevSignerSpec,
}


def _spec_kind(value: Any) -> str | None:
    """Which spec a raw entry is, by the one key that tells: keystore, remote or dev."""
    for kind, spec in _KINDS.items():
        if isinstance(value, spec):
            return kind
    if not isinstance(value, Mapping):
        return None
    kinds = [kind for kind in _KINDS if kind in value]
    return kinds[0] if len(kinds) == 1 else None


SignerSpec = Annotated[
    Annotated[KeystoreSignerSpec, Tag("keystore")]
    | Annotated[RemoteSignerSpec, Tag("remote")]
    | Annotated[DevSignerSpec, Tag("dev")],
    Discriminator(
        _spec_kind,
        custom_error_type="signer_kind",
        custom_error_message="a signer needs exactly one of 'keystore', 'remote' or 'dev'",
    ),
]
"""One signer entry of a signers file."""


@dataclass
class HostedSigners:
    """The signers a service acts as: each hosted participant's authority and admin.

    `close` releases the remote signers' connections.
    """

    participants: dict[str, Signer] = field(default_factory=dict)
    admins: dict[str, Signer] = field(default_factory=dict)

    def close(self) -> None:
        """Closes every signer that holds a connection."""
        for signer in [*self.participants.values(), *self.admins.values()]:
            if isinstance(signer, RemoteSigner):
                signer.close()


class SignersConfig(_Spec):
    """A signers file: whom the service signs as, and how each key is opened.

    Attributes:
        participants: each hosted participant's authority signer, by participant code ("BW").
        admins: each hosted participant's admin signer, by participant code.
    """

    participants: dict[str, SignerSpec] = Field(default_factory=dict)
    admins: dict[str, SignerSpec] = Field(default_factory=dict)

    @field_validator("participants", "admins")
    @classmethod
    def _participant_codes(cls, value: dict[str, Any]) -> dict[str, Any]:
        for code in value:
            participant_index(code)  # raises ValueError for anything but two capitals
        return value

    @classmethod
    def load(cls, path: Path) -> SignersConfig:
        """Reads and checks a signers file; `.json` is JSON, anything else YAML.

        Relative keystore and passphrase paths are taken relative to the file's folder.

        Raises:
            ConfigFileError: the file cannot be read or parsed, or an entry is malformed; the
                message gives the line, never the file's values (they may be tokens).
        """
        file = ConfigFile.read(
            path,
            what="signers file",
            confidential=True,  # header values may be tokens
            hint="check KPCHAIN_SIGNERS_FILE and the file's permissions",
        )
        config = file.validate(cls, context={_BASE_DIR: path.parent}, location=_location)
        logger.info(
            "signers file %s: participants %s, admins %s",
            path,
            ", ".join(sorted(config.participants)) or "none",
            ", ".join(sorted(config.admins)) or "none",
        )
        return config

    def open_all(self, *, development: bool) -> HostedSigners:
        """Opens every signer of the file.

        Args:
            development: allow development keys (`dev` entries, and well-known keys in
                keystores or remote signers).

        Raises:
            SigningError: a signer cannot be opened; the message names its entry. Signers
                opened before it are closed.
        """
        hosted = HostedSigners()
        try:
            for code, spec in self.participants.items():
                hosted.participants[code] = _open_entry(
                    f"participants.{code}", spec, development=development
                )
            for code, spec in self.admins.items():
                hosted.admins[code] = _open_entry(
                    f"admins.{code}", spec, development=development, role="admin"
                )
        except BaseException:
            hosted.close()
            raise
        return hosted


def open_signer(
    spec: KeystoreSignerSpec | RemoteSignerSpec | DevSignerSpec,
    *,
    development: bool,
    role: DevRole = "authority",
) -> Signer:
    """Opens the signer `spec` describes.

    Args:
        spec: a keystore, remote or dev entry.
        development: allow development keys; a `dev` entry needs it.
        role: which devnet key of a participant a `dev` entry names (its authority, or its
            admin for an entry of `admins`).

    Raises:
        SigningError: the passphrase variable is unset, the keystore or remote signer cannot be
            opened (see `KeystoreSigner.open` and `RemoteSigner`), or a development key is used
            outside development mode.
    """
    if isinstance(spec, KeystoreSignerSpec):
        passphrase = None
        if spec.passphrase_env is not None:
            passphrase = os.environ.get(spec.passphrase_env)
            if passphrase is None:
                raise SigningError(
                    f"environment variable {spec.passphrase_env} (the passphrase of keystore "
                    f"{spec.keystore}) is not set",
                    detail={"keystore": str(spec.keystore), "variable": spec.passphrase_env},
                )
        return KeystoreSigner.open(
            spec.keystore,
            passphrase=passphrase,
            passphrase_file=spec.passphrase_file,
            development=development,
        )
    if isinstance(spec, RemoteSignerSpec):
        return RemoteSigner(
            spec.remote,
            spec.address,
            timeout=spec.timeout,
            headers={name: value.get_secret_value() for name, value in spec.headers.items()},
            development=development,
        )
    if not development:
        raise SigningError(
            f"signer 'dev: {spec.dev}' is a devnet key whose private key is public; it is "
            "allowed only with KPCHAIN_DEVELOPMENT=true on a throwaway devnet",
            detail={"dev": spec.dev},
        )
    account = participant_account(spec.dev, role)
    return LocalSigner(account)


def _location(loc: tuple[int | str, ...]) -> str:
    """A validation error's location as the file has it: "participants.BW.address", without
    the union tag pydantic inserts ("participants.BW.remote.address")."""
    parts = [str(part) for i, part in enumerate(loc) if not (part in _KINDS and i + 1 < len(loc))]
    return ".".join(parts) or "(top)"


def _open_entry(
    name: str,
    spec: KeystoreSignerSpec | RemoteSignerSpec | DevSignerSpec,
    *,
    development: bool,
    role: DevRole = "authority",
) -> Signer:
    try:
        signer = open_signer(spec, development=development, role=role)
    except KpchainError as exc:
        raise SigningError(
            f"cannot open the signer of {name}: {exc.message}",
            detail={**exc.detail, "signer": name},
        ) from None
    logger.info("signer of %s: %r", name, signer)
    return signer
