"""`kpchain consortium join`: a government makes its own keys, on its own machine, and publishes
only their public parts.

Layout of the folder it writes::

    public.json               the public parts (`kpchain.consortium.members`): send this file
    signers.yaml              the service's signers file entries for the two keystores
                              (KPCHAIN_SIGNERS_FILE; it names where the passphrases come from,
                              never a passphrase); written once, then the operator's
    node/                     the Besu node's folder: `init` writes the rest of it
        key                   the node's private key, hex, mode 0600 (Besu reads it as it is)
        key.pub               its public key (the enode's node id)
    keys/
        authority.json        the participant's first authority key: encrypted JSON keystore
        admin.json            the participant's admin key (its governance seat): keystore
        encryption-key.pem    the document encryption key (X25519), encrypted PKCS #8
        encryption-key.pub    its public key, 0x and 64 hex digits

Every private key file is readable by its owner only, in folders only the owner may open. Each
of the three encrypted keys has a passphrase of its own, from an environment variable or a file
(never the command line), of at least `MIN_PASSPHRASE_LENGTH` characters.

Joining again into the same folder keeps every key it finds, as `init` keeps node keys: each is
opened with its passphrase (so a forgotten passphrase shows before the public parts go out), the
missing ones are made, and ``public.json`` is written again (with a new host or ports, if asked).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kpchain.consortium.addresses import checked_code
from kpchain.consortium.encryption import SCRYPT_WORK_FACTOR, EncryptionKey
from kpchain.consortium.members import PUBLIC_FILE, Member, checked_host, enode_url
from kpchain.consortium.nodes import KEY_FILE, NodeKey, write_key_files
from kpchain.errors import ConfigError, SigningError
from kpchain.signing.keystore import KeystoreSigner, create_keystore, resolve_passphrase

logger = logging.getLogger(__name__)

NODE_DIR = "node"
KEYS_DIR = "keys"
SIGNERS_FILE = "signers.yaml"
AUTHORITY_KEYSTORE = "authority.json"
ADMIN_KEYSTORE = "admin.json"
ENCRYPTION_KEY_FILE = "encryption-key.pem"
ENCRYPTION_PUBLIC_FILE = "encryption-key.pub"
# NIST SP 800-63B-4, section 3.1.1.2: a password that is the only factor is at least 15
# characters long. A keystore's passphrase is that, against an offline guesser with the file.
MIN_PASSPHRASE_LENGTH = 15


@dataclass(frozen=True)
class Passphrase:
    """A passphrase and where it came from: an environment variable or a file (whose name is
    shown in messages, never the passphrase)."""

    value: str = field(repr=False)
    variable: str | None = None
    file: Path | None = None

    @property
    def source(self) -> str:
        return str(self.file) if self.file is not None else str(self.variable)


@dataclass(frozen=True)
class JoinPassphrases:
    """The passphrases of the three encrypted keys."""

    authority: Passphrase
    admin: Passphrase
    encryption: Passphrase


@dataclass(frozen=True)
class JoinOptions:
    """Where the government's node is reached, and on which ports it listens.

    Attributes:
        code: the participant's code.
        host: the IPv4 address or DNS name the other nodes reach this node at.
        p2p_port: its P2P port (TCP and UDP), open to the other nodes.
        rpc_port: its HTTP JSON-RPC port, for this participant's own service.
        admin_port: its admin listener's port (WebSocket on 127.0.0.1).
    """

    code: str
    host: str = "127.0.0.1"
    p2p_port: int = 30303
    rpc_port: int = 8545
    admin_port: int = 8645


@dataclass(frozen=True)
class JoinResult:
    """What `join` wrote.

    Attributes:
        directory: the folder.
        member: the public parts (also in ``public.json``).
        created: the keys made now ("node", "authority", "admin", "encryption"); the others
            were there and are kept.
    """

    directory: Path
    member: Member
    created: tuple[str, ...]

    @property
    def public_file(self) -> Path:
        return self.directory / PUBLIC_FILE

    @property
    def node_folder(self) -> Path:
        return self.directory / NODE_DIR


def passphrase_variable(code: str, key: str) -> str:
    """The environment variable `join` reads a key's passphrase from: KPCHAIN_BW_PASSPHRASE for
    BW's authority keystore (the name the signers file examples use), KPCHAIN_BW_ADMIN_PASSPHRASE
    for its admin keystore, KPCHAIN_BW_ENCRYPTION_PASSPHRASE for its encryption key."""
    suffix = {"authority": "", "admin": "_ADMIN", "encryption": "_ENCRYPTION"}[key]
    return f"KPCHAIN_{code}{suffix}_PASSPHRASE"


def read_passphrase(
    code: str, key: str, *, file: Path | None, environ: Mapping[str, str] | None = None
) -> Passphrase:
    """The passphrase of `key` ("authority", "admin" or "encryption"): from `file` when given,
    else from its environment variable (`passphrase_variable`); not from both.

    Raises:
        SigningError: neither or both, an unreadable file, or an empty passphrase.
    """
    variable = passphrase_variable(code, key)
    value = (os.environ if environ is None else environ).get(variable)
    secret = resolve_passphrase(passphrase=value, passphrase_file=file, variable=variable)
    return Passphrase(secret, variable=None if file is not None else variable, file=file)


def join(
    directory: Path,
    options: JoinOptions,
    passphrases: JoinPassphrases,
    *,
    work_factor: int | None = None,
) -> JoinResult:
    """Makes (or keeps) a government's keys in `directory` and writes their public parts.

    Args:
        directory: the folder (created when missing); see the module docstring.
        options: the participant and its node's host and ports.
        passphrases: one for each encrypted key.
        work_factor: scrypt's N for new encrypted keys; the default (2**18) when None. Only
            tests should lower it.

    Raises:
        ConfigError: a malformed code or host, ports that clash, or a folder that holds another
            participant's keys. Nothing is written.
        SigningError: a passphrase shorter than `MIN_PASSPHRASE_LENGTH` for a key to be made, or
            a kept key that its passphrase does not open. Nothing is written.
    """
    code = checked_code(options.code)
    host = checked_host(options.host)
    ports = (options.p2p_port, options.rpc_port, options.admin_port)
    if len(set(ports)) != len(ports):
        raise ConfigError(
            f"--p2p-port, --rpc-port and --admin-port must differ (got {ports}): each is a "
            "listener of its own"
        )
    node_dir, keys_dir = directory / NODE_DIR, directory / KEYS_DIR
    _refuse_another_participant(directory, code)
    paths = {
        "authority": keys_dir / AUTHORITY_KEYSTORE,
        "admin": keys_dir / ADMIN_KEYSTORE,
        "encryption": keys_dir / ENCRYPTION_KEY_FILE,
    }
    secrets = {
        "authority": passphrases.authority,
        "admin": passphrases.admin,
        "encryption": passphrases.encryption,
    }
    for name, path in paths.items():
        if not path.exists():
            _refuse_weak(secrets[name], what=f"the {name} key's passphrase")

    # Every kept key is opened before anything is written: a wrong passphrase changes nothing.
    node_key_path = node_dir / KEY_FILE
    node_key = NodeKey.read(node_key_path) if node_key_path.exists() else None
    kept_accounts = {
        name: _open_keystore(paths[name], secrets[name])
        for name in ("authority", "admin")
        if paths[name].exists()
    }
    encryption_path = paths["encryption"]
    encryption_key = (
        EncryptionKey.read(encryption_path, passphrase=secrets["encryption"].value)
        if encryption_path.exists()
        else None
    )

    created: list[str] = []
    _private_folder(directory)
    _private_folder(node_dir)
    _private_folder(keys_dir)
    if node_key is None:
        node_key = NodeKey.generate()
        created.append("node")
    write_key_files(node_dir, node_key)
    accounts: dict[str, str] = {}
    for name in ("authority", "admin"):
        if name in kept_accounts:
            accounts[name] = kept_accounts[name]
        else:
            accounts[name] = create_keystore(
                paths[name],
                passphrase=secrets[name].value,
                iterations=work_factor or SCRYPT_WORK_FACTOR,
            )
            created.append(name)
    if encryption_key is None:
        encryption_key = EncryptionKey.generate()
        encryption_key.write(
            encryption_path,
            passphrase=secrets["encryption"].value,
            work_factor=work_factor or SCRYPT_WORK_FACTOR,
        )
        created.append("encryption")
    (keys_dir / ENCRYPTION_PUBLIC_FILE).write_text(encryption_key.public_key_hex + "\n")

    member = Member(
        code=code,
        enode=enode_url(node_key.public_key, host, options.p2p_port),
        validator=node_key.address,
        authority=accounts["authority"],
        admin=accounts["admin"],
        encryption_public_key=encryption_key.public_key_hex,
        host=host,
        p2p_port=options.p2p_port,
        rpc_port=options.rpc_port,
        admin_port=options.admin_port,
    )
    signers = directory / SIGNERS_FILE
    if not signers.exists():  # the operator's to change once written
        signers.write_text(_signers_file(code, passphrases))
    member.write(directory / PUBLIC_FILE)
    logger.info("joined as %s in %s: made %s", code, directory, ", ".join(created) or "no new key")
    return JoinResult(directory=directory, member=member, created=tuple(created))


def _refuse_another_participant(directory: Path, code: str) -> None:
    """Refuses a folder whose public parts name another participant. Only their code is read:
    public parts that no longer check out (an address since refused) are written anew."""
    try:
        held = json.loads((directory / PUBLIC_FILE).read_text(encoding="utf-8")).get("code")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return
    if held is not None and held != code:
        raise ConfigError(
            f"{directory} holds {held}'s keys; join as {code} into another folder",
            detail={"folder": str(directory), "holds": held},
        )


def _refuse_weak(passphrase: Passphrase, *, what: str) -> None:
    if len(passphrase.value) < MIN_PASSPHRASE_LENGTH:
        raise SigningError(
            f"{what} ({passphrase.source}) is shorter than {MIN_PASSPHRASE_LENGTH} characters; "
            "a key file can be guessed at offline, so choose a longer one (several words)",
            detail={"source": passphrase.source},
        )


def _open_keystore(path: Path, passphrase: Passphrase) -> str:
    signer = KeystoreSigner.open(path, passphrase=passphrase.value, variable=passphrase.source)
    return signer.address


def _private_folder(path: Path) -> None:
    """Creates `path` readable by its owner only; an existing folder keeps its mode."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # mkdir's mode passes through the umask


def _signers_file(code: str, passphrases: JoinPassphrases) -> str:
    def entry(keystore: str, passphrase: Passphrase) -> dict[str, str]:
        source = (
            {"passphrase_env": passphrase.variable}
            if passphrase.variable is not None
            else {"passphrase_file": str(passphrase.file)}
        )
        return {"keystore": f"{KEYS_DIR}/{keystore}", **source}

    document = {
        "participants": {code: entry(AUTHORITY_KEYSTORE, passphrases.authority)},
        "admins": {code: entry(ADMIN_KEYSTORE, passphrases.admin)},
    }
    header = (
        f"# {code}'s keys for its kpchain service (KPCHAIN_SIGNERS_FILE=this file). No secret is\n"
        "# in it: each passphrase comes from the variable or file named. Keystore paths are\n"
        "# relative to this file's folder.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False)
