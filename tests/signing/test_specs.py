"""The signers file: YAML or JSON entries for keystores, remote signers and devnet keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from fake_web3signer import FakeWeb3Signer, new_account

from kpchain.errors import ConfigError, SigningError
from kpchain.signing import KeystoreSigner, LocalSigner, RemoteSigner, create_keystore
from kpchain.signing.devkeys import governor_account, participant_account
from kpchain.signing.specs import (
    DevSignerSpec,
    KeystoreSignerSpec,
    RemoteSignerSpec,
    SignersConfig,
    open_signer,
)

PASSPHRASE = "correct horse battery staple"
TOKEN = "Bearer tok-987654"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A signers-file folder with keys/bw.json (passphrase in env) and keys/gov.json (in a
    file, secrets/gov)."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "gov").write_text(PASSPHRASE + "\n")
    for name in ("bw", "gov"):
        create_keystore(tmp_path / "keys" / f"{name}.json", passphrase=PASSPHRASE, iterations=2**10)
    return tmp_path


@pytest.fixture
def remote_key() -> LocalAccount:
    return new_account()


@pytest.fixture
def web3signer(remote_key: LocalAccount) -> Iterator[FakeWeb3Signer]:
    server = FakeWeb3Signer([remote_key]).start()
    yield server
    server.stop()


def _yaml(folder: Path, web3signer: FakeWeb3Signer, remote_key: LocalAccount) -> Path:
    path = folder / "signers.yaml"
    path.write_text(
        f"""
participants:
  BW: {{keystore: keys/bw.json, passphrase_env: KPCHAIN_BW_PASSPHRASE}}
  AE:
    remote: "{web3signer.url}"
    address: "{remote_key.address}"
    headers: {{Authorization: "{TOKEN}"}}
  EU: {{dev: EU}}
admins:
  BW: {{keystore: keys/gov.json, passphrase_file: secrets/gov}}
"""
    )
    return path


def test_load_reads_yaml_and_resolves_paths_against_the_file_folder(
    folder: Path, web3signer: FakeWeb3Signer, remote_key: LocalAccount
) -> None:
    config = SignersConfig.load(_yaml(folder, web3signer, remote_key))

    assert config.admins["BW"] == KeystoreSignerSpec(
        keystore=folder / "keys" / "gov.json", passphrase_file=folder / "secrets" / "gov"
    )
    bw, ae, eu = (config.participants[code] for code in ("BW", "AE", "EU"))
    assert isinstance(bw, KeystoreSignerSpec)
    assert bw.keystore == folder / "keys" / "bw.json"
    assert bw.passphrase_env == "KPCHAIN_BW_PASSPHRASE"
    assert isinstance(ae, RemoteSignerSpec)
    assert ae.address == remote_key.address
    assert ae.headers["Authorization"].get_secret_value() == TOKEN
    assert eu == DevSignerSpec(dev="EU")
    assert TOKEN not in repr(config)


def test_load_reads_json_the_same_as_yaml(
    folder: Path, web3signer: FakeWeb3Signer, remote_key: LocalAccount
) -> None:
    path = folder / "signers.json"
    path.write_text(
        json.dumps(
            {
                "participants": {
                    "BW": {"keystore": "keys/bw.json", "passphrase_env": "KPCHAIN_BW_PASSPHRASE"},
                    "AE": {
                        "remote": web3signer.url,
                        "address": remote_key.address,
                        "headers": {"Authorization": TOKEN},
                    },
                    "EU": {"dev": "EU"},
                },
                "admins": {
                    "BW": {"keystore": "keys/gov.json", "passphrase_file": "secrets/gov"},
                },
            }
        )
    )

    assert SignersConfig.load(path) == SignersConfig.load(_yaml(folder, web3signer, remote_key))


def test_load_keeps_absolute_paths_as_they_are(folder: Path) -> None:
    path = folder / "elsewhere" / "signers.yaml"
    path.parent.mkdir()
    keystore = folder / "keys" / "bw.json"
    path.write_text(f"participants: {{BW: {{keystore: {keystore}, passphrase_env: X}}}}\n")

    spec = SignersConfig.load(path).participants["BW"]

    assert isinstance(spec, KeystoreSignerSpec)
    assert spec.keystore == keystore


def test_load_reads_norway_as_a_code_not_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text("participants: {NO: {dev: NO}}\n")  # YAML 1.1 would read NO as false

    assert SignersConfig.load(path).participants == {"NO": DevSignerSpec(dev="NO")}


def test_load_returns_empty_config_when_file_empty(tmp_path: Path) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text("# nobody hosted yet\n")

    assert SignersConfig.load(path) == SignersConfig()


@pytest.mark.usefixtures("clean_settings")
def test_open_all_opens_every_kind_when_development(
    folder: Path,
    web3signer: FakeWeb3Signer,
    remote_key: LocalAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KPCHAIN_BW_PASSPHRASE", PASSPHRASE)
    config = SignersConfig.load(_yaml(folder, web3signer, remote_key))

    hosted = config.open_all(development=True)
    try:
        assert isinstance(hosted.admins["BW"], KeystoreSigner)
        assert isinstance(hosted.participants["BW"], KeystoreSigner)
        assert isinstance(hosted.participants["AE"], RemoteSigner)
        assert hosted.participants["AE"].address == remote_key.address
        assert isinstance(hosted.participants["EU"], LocalSigner)
        assert hosted.participants["EU"].address == participant_account("EU", "authority").address
        assert web3signer.received[0].headers["Authorization"] == TOKEN
    finally:
        hosted.close()


@pytest.mark.usefixtures("clean_settings")
def test_open_all_refuses_dev_entry_naming_it_when_not_development(
    folder: Path,
    web3signer: FakeWeb3Signer,
    remote_key: LocalAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KPCHAIN_BW_PASSPHRASE", PASSPHRASE)
    config = SignersConfig.load(_yaml(folder, web3signer, remote_key))

    with pytest.raises(SigningError, match=r"participants\.EU") as caught:
        config.open_all(development=False)

    assert "KPCHAIN_DEVELOPMENT=true" in caught.value.message
    assert caught.value.detail["signer"] == "participants.EU"


def test_open_all_opens_admin_keys_apart_from_authority_keys_when_admins_listed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text("participants: {EU: {dev: EU}}\nadmins: {EU: {dev: EU}, BW: {dev: BW}}\n")

    hosted = SignersConfig.load(path).open_all(development=True)

    assert hosted.participants["EU"].address == participant_account("EU", "authority").address
    assert hosted.admins["EU"].address == participant_account("EU", "admin").address
    assert hosted.admins["BW"].address == participant_account("BW", "admin").address
    assert set(hosted.participants) == {"EU"}


def test_load_refuses_an_admin_entry_whose_key_is_not_a_participant_code(tmp_path: Path) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text("admins: {bw: {dev: BW}}\n")

    with pytest.raises(ConfigError, match="admins"):
        SignersConfig.load(path)


def test_load_refuses_a_governor_entry_since_no_account_governs(tmp_path: Path) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text("governor: {dev: BW}\nparticipants: {BW: {dev: BW}}\n")

    with pytest.raises(ConfigError, match="governor"):
        SignersConfig.load(path)


@pytest.mark.usefixtures("clean_settings")
def test_open_signer_raises_naming_variable_when_passphrase_env_unset(folder: Path) -> None:
    spec = KeystoreSignerSpec(keystore=folder / "keys" / "bw.json", passphrase_env="KP_BW_PASS")

    with pytest.raises(SigningError, match="KP_BW_PASS") as caught:
        open_signer(spec, development=False)

    assert caught.value.detail["variable"] == "KP_BW_PASS"


@pytest.mark.usefixtures("clean_settings")
def test_open_all_names_entry_and_hides_passphrase_when_passphrase_wrong(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not the passphrase at all"
    monkeypatch.setenv("KPCHAIN_BW_PASSPHRASE", wrong)
    path = folder / "signers.yaml"
    path.write_text(
        "participants: {BW: {keystore: keys/bw.json, passphrase_env: KPCHAIN_BW_PASSPHRASE}}\n"
    )

    with pytest.raises(SigningError, match=r"participants\.BW: .*wrong passphrase") as caught:
        SignersConfig.load(path).open_all(development=False)

    rendered = " ".join([str(caught.value), repr(caught.value), json.dumps(caught.value.detail)])
    assert wrong not in rendered
    assert PASSPHRASE not in rendered


def test_open_signer_refuses_development_key_in_keystore_unless_development(
    tmp_path: Path,
) -> None:
    keystore = tmp_path / "gov.json"
    create_keystore(
        keystore,
        passphrase=PASSPHRASE,
        private_key=bytes(governor_account().key),
        iterations=2**10,
    )
    (tmp_path / "pass").write_text(PASSPHRASE)
    spec = KeystoreSignerSpec(keystore=keystore, passphrase_file=tmp_path / "pass")

    with pytest.raises(SigningError, match="well-known development account"):
        open_signer(spec, development=False)
    assert open_signer(spec, development=True).address == governor_account().address


def test_open_signer_refuses_remote_development_address_unless_development() -> None:
    spec = RemoteSignerSpec(remote="http://127.0.0.1:1", address=governor_account().address)

    with pytest.raises(SigningError, match="well-known development account"):
        open_signer(spec, development=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("participants: {BW: {keystore: k.json, remote: 'http://x'}}", "exactly one of"),
        ("participants: {BW: {passphrase_env: X}}", "exactly one of"),
        ("participants: {BW: {keystore: k.json}}", "passphrase_env and passphrase_file"),
        (
            "participants: {BW: {keystore: k.json, passphrase_env: X, passphrase_file: f}}",
            "passphrase_env and passphrase_file",
        ),
        ("participants: {bw: {dev: BW}}", "got 'bw'"),
        ("participants: {BW: {dev: bw}}", "two upper-case letters"),
        ("participants: {BW: {remote: 'ftp://x', address: '0x" + "1" * 40 + "'}}", "http"),
        ("participants: {BW: {remote: 'http://x', address: '0x12'}}", "address"),
        ("participants: {BW: {dev: BW, colour: blue}}", "colour"),
        ("hosts: {}", "hosts"),
        ("- just\n- a list\n", "(top)"),
    ],
)
def test_load_raises_config_error_when_entry_malformed(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text(content)

    with pytest.raises(ConfigError, match="is malformed") as caught:
        SignersConfig.load(path)

    assert message in caught.value.message
    assert str(path) in caught.value.message


def test_load_error_quotes_no_header_token_when_entry_malformed(tmp_path: Path) -> None:
    path = tmp_path / "signers.yaml"
    path.write_text(
        f"participants: {{AE: {{remote: 'http://x', address: '0x12', "
        f"headers: {{Authorization: '{TOKEN}'}}}}}}\n"
    )

    with pytest.raises(ConfigError) as caught:
        SignersConfig.load(path)

    assert "tok-987654" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("signers.yaml", f"participants: {{AE: {{headers: {{a: '{TOKEN}'}}\n", "not valid YAML"),
        ("signers.json", f'{{"participants": "{TOKEN}",}}', "not valid JSON near line 1"),
    ],
)
def test_load_raises_config_error_without_content_when_file_does_not_parse(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)

    with pytest.raises(ConfigError, match=message) as caught:
        SignersConfig.load(path)

    assert "tok-987654" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_load_raises_config_error_when_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read signers file"):
        SignersConfig.load(tmp_path / "absent.yaml")
