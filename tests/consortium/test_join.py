"""`join`: a government's keys made on its machine: files that open with their passphrases and
only their owner may read, public parts that hold nothing secret, keys kept when it runs again,
and passphrases refused when weak or wrong. (scrypt runs with a low work factor here; the
command's own test in test_commands.py runs it at the default.)"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from kpchain.consortium.encryption import EncryptionKey
from kpchain.consortium.join import (
    MIN_PASSPHRASE_LENGTH,
    JoinOptions,
    JoinPassphrases,
    JoinResult,
    Passphrase,
    join,
    passphrase_variable,
    read_passphrase,
)
from kpchain.consortium.members import read_member
from kpchain.consortium.nodes import NodeKey
from kpchain.errors import ConfigError, SigningError
from kpchain.signing.keystore import KeystoreSigner
from kpchain.signing.specs import SignersConfig

FAST = 2**10  # scrypt's N for the tests' keys
PASSPHRASES = JoinPassphrases(
    authority=Passphrase("the authority's own passphrase", variable="KPCHAIN_BW_PASSPHRASE"),
    admin=Passphrase("the admin's own passphrase here", variable="KPCHAIN_BW_ADMIN_PASSPHRASE"),
    encryption=Passphrase(
        "the encryption key's passphrase", variable="KPCHAIN_BW_ENCRYPTION_PASSPHRASE"
    ),
)
OPTIONS = JoinOptions(code="BW", host="bw-node.example", p2p_port=30310)


def _join(directory: Path, options: JoinOptions = OPTIONS, **changes: Passphrase) -> JoinResult:
    passphrases = JoinPassphrases(**(vars(PASSPHRASES) | changes))
    return join(directory, options, passphrases, work_factor=FAST)


def _secrets(directory: Path) -> list[str]:
    """Every secret `join` made or was given, as text that could leak: the node key, the
    passphrases, the keystores' encrypted parts and the encryption key's file and raw bytes."""
    keys = directory / "keys"
    found = [(directory / "node" / "key").read_text().strip()]
    found += [PASSPHRASES.authority.value, PASSPHRASES.admin.value, PASSPHRASES.encryption.value]
    for keystore in ("authority.json", "admin.json"):
        crypto = json.loads((keys / keystore).read_text())["crypto"]
        found += [crypto["ciphertext"], crypto["mac"], crypto["kdfparams"]["salt"]]
        found += [crypto["cipherparams"]["iv"]]
        passphrase = getattr(PASSPHRASES, keystore.removesuffix(".json")).value
        keyfile = json.loads((keys / keystore).read_text())
        found.append(bytes(Account.decrypt(keyfile, passphrase)).hex())
    pem = (keys / "encryption-key.pem").read_text()
    found += [line for line in pem.splitlines() if not line.startswith("-----")]
    encryption = EncryptionKey.read(
        keys / "encryption-key.pem", passphrase=PASSPHRASES.encryption.value
    )
    found.append(encryption.private_bytes().hex())
    return found


def test_join_writes_keys_that_open_with_their_passphrases(tmp_path: Path) -> None:
    result = _join(tmp_path / "bw")

    keys = tmp_path / "bw" / "keys"
    member = result.member
    node_key = NodeKey.read(tmp_path / "bw" / "node" / "key")
    authority = KeystoreSigner.open(keys / "authority.json", passphrase=PASSPHRASES.authority.value)
    admin = KeystoreSigner.open(keys / "admin.json", passphrase=PASSPHRASES.admin.value)
    encryption = EncryptionKey.read(
        keys / "encryption-key.pem", passphrase=PASSPHRASES.encryption.value
    )
    assert result.created == ("node", "authority", "admin", "encryption")
    assert (member.code, member.validator) == ("BW", node_key.address)
    assert member.enode == f"enode://{node_key.public_key}@bw-node.example:30310"
    assert (member.authority, member.admin) == (authority.address, admin.address)
    assert member.encryption_public_key == encryption.public_key_hex
    assert (keys / "encryption-key.pub").read_text() == encryption.public_key_hex + "\n"
    assert (tmp_path / "bw" / "node" / "key.pub").read_text() == node_key.public_key + "\n"
    assert read_member(result.public_file) == member


def test_join_keeps_private_keys_owner_only(tmp_path: Path) -> None:
    _join(tmp_path / "bw")

    folder = tmp_path / "bw"
    for private in (
        "node/key",
        "keys/authority.json",
        "keys/admin.json",
        "keys/encryption-key.pem",
    ):
        assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600, private
    for directory in (".", "node", "keys"):
        assert stat.S_IMODE((folder / directory).stat().st_mode) == 0o700, directory


def test_public_parts_and_signers_file_hold_no_secret(tmp_path: Path) -> None:
    result = _join(tmp_path / "bw")

    published = result.public_file.read_text() + (tmp_path / "bw" / "signers.yaml").read_text()
    published += repr(result) + repr(PASSPHRASES)
    for secret in _secrets(tmp_path / "bw"):
        assert secret not in published
        assert secret.lower() not in published.lower()


def test_the_signers_file_opens_the_two_keystores_for_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "admin-passphrase"
    secret_file.write_text(PASSPHRASES.admin.value + "\n")
    result = _join(tmp_path / "bw", admin=Passphrase(PASSPHRASES.admin.value, file=secret_file))
    monkeypatch.setenv("KPCHAIN_BW_PASSPHRASE", PASSPHRASES.authority.value)

    config = SignersConfig.load(tmp_path / "bw" / "signers.yaml")
    hosted = config.open_all(development=False)

    try:
        assert hosted.participants["BW"].address == result.member.authority
        assert hosted.admins["BW"].address == result.member.admin
    finally:
        hosted.close()
    assert config.admins["BW"].passphrase_file == secret_file  # type: ignore[union-attr]


def test_joining_again_keeps_every_key_and_takes_a_new_host(tmp_path: Path) -> None:
    first = _join(tmp_path / "bw")
    files = {path: path.read_bytes() for path in (tmp_path / "bw" / "keys").iterdir()}
    node_key = (tmp_path / "bw" / "node" / "key").read_bytes()

    again = _join(tmp_path / "bw", JoinOptions(code="BW", host="10.0.0.9", p2p_port=30310))

    assert again.created == ()
    assert again.member == first.member.model_copy(
        update={
            "host": "10.0.0.9",
            "enode": first.member.enode.replace("bw-node.example", "10.0.0.9"),
        }
    )
    assert (tmp_path / "bw" / "node" / "key").read_bytes() == node_key
    assert {path: path.read_bytes() for path in files} == files
    assert read_member(again.public_file).host == "10.0.0.9"


def test_joining_again_leaves_the_operators_signers_file(tmp_path: Path) -> None:
    _join(tmp_path / "bw")
    signers = tmp_path / "bw" / "signers.yaml"
    edited = signers.read_text() + "# the operator's own note\n"
    signers.write_text(edited)

    _join(tmp_path / "bw")

    assert signers.read_text() == edited


def test_joining_again_makes_only_the_missing_key(tmp_path: Path) -> None:
    first = _join(tmp_path / "bw")
    (tmp_path / "bw" / "keys" / "admin.json").unlink()

    again = _join(tmp_path / "bw")

    assert again.created == ("admin",)
    assert again.member.admin != first.member.admin
    assert (again.member.validator, again.member.authority) == (
        first.member.validator,
        first.member.authority,
    )
    assert again.member.encryption_public_key == first.member.encryption_public_key


@pytest.mark.parametrize("key", ["authority", "admin", "encryption"])
def test_joining_again_with_a_wrong_passphrase_changes_nothing(tmp_path: Path, key: str) -> None:
    _join(tmp_path / "bw")
    public = (tmp_path / "bw" / "public.json").read_text()
    wrong = Passphrase("a passphrase that is not the one", variable="KPCHAIN_BW_X")

    with pytest.raises(SigningError, match="cannot decrypt") as caught:
        _join(tmp_path / "bw", JoinOptions(code="BW", host="10.0.0.9"), **{key: wrong})

    assert wrong.value not in caught.value.message
    assert (tmp_path / "bw" / "public.json").read_text() == public


@pytest.mark.parametrize("key", ["authority", "admin", "encryption"])
def test_a_short_passphrase_for_a_new_key_is_refused_before_anything_is_written(
    tmp_path: Path, key: str
) -> None:
    short = Passphrase("x" * (MIN_PASSPHRASE_LENGTH - 1), variable="KPCHAIN_BW_SHORT")

    with pytest.raises(SigningError, match=f"shorter than {MIN_PASSPHRASE_LENGTH}") as caught:
        _join(tmp_path / "bw", **{key: short})

    assert "KPCHAIN_BW_SHORT" in caught.value.message
    assert short.value not in caught.value.message
    assert not (tmp_path / "bw").exists()


def test_a_folder_with_another_participants_keys_is_refused(tmp_path: Path) -> None:
    _join(tmp_path / "keys")

    with pytest.raises(ConfigError, match="holds BW's keys; join as RU into another folder"):
        _join(tmp_path / "keys", JoinOptions(code="RU"))


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (JoinOptions(code="BW", rpc_port=30303), "must differ"),
        (JoinOptions(code="BW", host="0.0.0.0"), "IPv4 address or DNS name"),
        (JoinOptions(code="bw"), "two upper-case letters"),
    ],
    ids=["ports", "host", "code"],
)
def test_bad_options_are_refused_before_anything_is_written(
    tmp_path: Path, options: JoinOptions, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        _join(tmp_path / "bw", options)

    assert not (tmp_path / "bw").exists()


def test_passphrases_come_from_their_variable_or_a_file_not_both(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from the file, fifteen or more\n")
    environ = {"KPCHAIN_BW_ADMIN_PASSPHRASE": "from the environment variable"}

    from_env = read_passphrase("BW", "admin", file=None, environ=environ)
    from_file = read_passphrase("BW", "admin", file=secret_file, environ={})

    assert (from_env.value, from_env.source) == (
        "from the environment variable",
        "KPCHAIN_BW_ADMIN_PASSPHRASE",
    )
    assert (from_file.value, from_file.source) == (
        "from the file, fifteen or more",
        str(secret_file),
    )
    with pytest.raises(SigningError, match="set KPCHAIN_BW_ADMIN_PASSPHRASE or the passphrase"):
        read_passphrase("BW", "admin", file=secret_file, environ=environ)
    with pytest.raises(SigningError, match="set KPCHAIN_BW_ENCRYPTION_PASSPHRASE or give"):
        read_passphrase("BW", "encryption", file=None, environ=environ)
    assert [passphrase_variable("EU", key) for key in ("authority", "admin", "encryption")] == [
        "KPCHAIN_EU_PASSPHRASE",
        "KPCHAIN_EU_ADMIN_PASSPHRASE",
        "KPCHAIN_EU_ENCRYPTION_PASSPHRASE",
    ]
