"""KeystoreSigner: encrypted keystores opened with a passphrase from the environment or a file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from kpchain.chain.signer import Signer
from kpchain.cli import main
from kpchain.config import get_settings
from kpchain.errors import SigningError
from kpchain.signing import KeystoreSigner, LocalSigner, create_keystore
from kpchain.signing.keystore import (
    DEV_MNEMONIC,
    development_addresses,
    is_development_address,
    resolve_passphrase,
)

PASSPHRASE = "correct horse battery staple"
FAST = 2**10  # scrypt work factor for tests only; the default (2**18) takes a second


def _dev_key(index: int) -> bytes:
    """Account `index` of the anvil/hardhat mnemonic, derived independently of kpchain."""
    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return bytes(account.key)


@pytest.fixture
def key() -> bytes:
    return bytes(Account.create().key)


@pytest.fixture
def keystore(tmp_path: Path, key: bytes) -> Path:
    path = tmp_path / "keystore.json"
    create_keystore(path, passphrase=PASSPHRASE, private_key=key, iterations=FAST)
    return path


def _secrets(key: bytes) -> list[str]:
    """Forms the key could take in a message."""
    return [key.hex(), "0x" + key.hex(), key.hex().upper(), str(key), PASSPHRASE]


@pytest.mark.usefixtures("clean_settings")
def test_open_returns_signer_for_key_when_passphrase_from_environment(
    keystore: Path, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPCHAIN_KEYSTORE_PASSPHRASE", PASSPHRASE)

    signer = KeystoreSigner.open(keystore, passphrase=get_settings().keystore_passphrase)

    assert signer.address == Account.from_key(key).address
    assert isinstance(signer, Signer)


def test_open_returns_signer_for_key_when_passphrase_from_file(
    keystore: Path, key: bytes, tmp_path: Path
) -> None:
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")  # as `echo` writes it

    signer = KeystoreSigner.open(keystore, passphrase_file=passphrase_file)

    assert signer.address == Account.from_key(key).address


@pytest.mark.anvil
def test_keystore_signer_signs_transaction_that_anvil_mines(keystore: Path, w3: Web3) -> None:
    signer = KeystoreSigner.open(keystore, passphrase=PASSPHRASE)
    tx = {"to": signer.address, "value": 0, "gas": 21_000, "gasPrice": 0, "nonce": 0}

    tx_hash = w3.eth.send_raw_transaction(signer.sign_transaction({**tx, "chainId": 2021}))

    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    assert receipt["from"] == signer.address


def test_keystore_signer_signs_typed_data_that_recovers_to_its_address(keystore: Path) -> None:
    signer = KeystoreSigner.open(keystore, passphrase=PASSPHRASE)
    typed_data = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}],
            "Note": [{"name": "text", "type": "string"}],
        },
        "primaryType": "Note",
        "domain": {"name": "kpchain test"},
        "message": {"text": "hello"},
    }

    signature = signer.sign_typed_data(typed_data)

    recovered = Account.recover_message(
        encode_typed_data(full_message=typed_data), signature=signature
    )
    assert len(signature) == 65
    assert recovered == signer.address


def test_open_raises_signing_error_without_secrets_when_passphrase_wrong(
    keystore: Path, key: bytes
) -> None:
    with pytest.raises(SigningError, match="wrong passphrase") as caught:
        KeystoreSigner.open(keystore, passphrase="not " + PASSPHRASE)

    rendered = " ".join([str(caught.value), repr(caught.value), json.dumps(caught.value.detail)])
    for secret in _secrets(key):
        assert secret not in rendered
    assert str(keystore) in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_open_raises_signing_error_when_passphrase_file_missing(
    keystore: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-passphrase"

    with pytest.raises(SigningError, match="cannot read passphrase file") as caught:
        KeystoreSigner.open(keystore, passphrase_file=missing)

    assert str(missing) in caught.value.message


def test_open_raises_signing_error_when_keystore_missing(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="cannot read keystore"):
        KeystoreSigner.open(tmp_path / "absent.json", passphrase=PASSPHRASE)


def test_open_raises_signing_error_when_keystore_is_not_a_keystore(tmp_path: Path) -> None:
    path = tmp_path / "not-a-keystore.json"
    path.write_text('{"hello": "world"}')

    with pytest.raises(SigningError, match="not a valid keystore"):
        KeystoreSigner.open(path, passphrase=PASSPHRASE)


def test_open_raises_signing_error_when_both_passphrase_sources_set(
    keystore: Path, tmp_path: Path
) -> None:
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE)

    with pytest.raises(SigningError, match="not both"):
        KeystoreSigner.open(keystore, passphrase=PASSPHRASE, passphrase_file=passphrase_file)


def test_open_raises_signing_error_when_no_passphrase(keystore: Path) -> None:
    with pytest.raises(SigningError, match="KPCHAIN_KEYSTORE_PASSPHRASE"):
        KeystoreSigner.open(keystore)


@pytest.mark.parametrize("index", [0, 7, 19])
def test_open_refuses_development_key_when_not_in_development_mode(
    tmp_path: Path, index: int
) -> None:
    path = tmp_path / "dev.json"
    address = create_keystore(
        path, passphrase=PASSPHRASE, private_key=_dev_key(index), iterations=FAST
    )

    with pytest.raises(SigningError, match="well-known development account") as caught:
        KeystoreSigner.open(path, passphrase=PASSPHRASE)

    assert caught.value.detail["address"] == address
    assert KeystoreSigner.open(path, passphrase=PASSPHRASE, development=True).address == address


def test_development_addresses_are_the_twenty_mnemonic_accounts() -> None:
    expected = tuple(Account.from_key(_dev_key(index)).address for index in range(20))

    assert development_addresses() == expected
    assert expected[0] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert is_development_address(expected[19].lower())
    assert not is_development_address(Account.create().address)
    assert not is_development_address(Account.from_key(_dev_key(20)).address)


def test_repr_and_str_show_address_and_no_key(keystore: Path, key: bytes) -> None:
    signer = KeystoreSigner.open(keystore, passphrase=PASSPHRASE)

    for text in (repr(signer), str(signer), repr(LocalSigner.from_key(key))):
        assert signer.address in text
        for secret in _secrets(key):
            assert secret not in text


def test_resolve_passphrase_strips_only_the_trailing_newline(tmp_path: Path) -> None:
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text("  spaced passphrase \r\n")

    assert resolve_passphrase(passphrase_file=passphrase_file) == "  spaced passphrase "


def test_create_keystore_writes_owner_only_file_and_refuses_overwrite(
    keystore: Path, key: bytes
) -> None:
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert key.hex() not in keystore.read_text()

    with pytest.raises(SigningError, match="already exists"):
        create_keystore(keystore, passphrase=PASSPHRASE, iterations=FAST)


@pytest.mark.usefixtures("clean_settings")
def test_new_keystore_command_prints_address_that_the_keystore_opens_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPCHAIN_KEYSTORE_PASSPHRASE", PASSPHRASE)
    out = tmp_path / "operator.json"

    result = CliRunner().invoke(main, ["keys", "new-keystore", "--out", str(out)])

    assert result.exit_code == 0, result.output
    address = result.output.strip()
    assert Web3.is_checksum_address(address)
    assert KeystoreSigner.open(out, passphrase=PASSPHRASE).address == address
