"""The well-known development keys: anvil's accounts and every devnet participant key."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from kpchain.devnet.seed import DEMO_PARTICIPANTS
from kpchain.errors import SigningError
from kpchain.signing import KeystoreSigner, create_keystore
from kpchain.signing.devkeys import (
    DEV_MNEMONIC,
    devnet_participant_addresses,
    governor_account,
    is_development_address,
    participant_account,
    participant_index,
    participant_path,
)

PASSPHRASE = "correct horse battery staple"


def _derived(path: str) -> str:
    """The address at `path` of the development mnemonic, derived by eth-account alone."""
    Account.enable_unaudited_hdwallet_features()
    return str(Account.from_mnemonic(DEV_MNEMONIC, account_path=path).address)


@pytest.mark.parametrize("code", ["AA", "BW", "EU", "ZZ", "QX"])
def test_devnet_participant_addresses_match_eth_account_derivation_when_any_code(
    code: str,
) -> None:
    index = participant_index(code)
    expected = {_derived(f"m/44'/60'/2021'/{index}/{role}").lower() for role in (0, 1)}

    assert expected <= devnet_participant_addresses()
    assert participant_account(code, "admin").address == _derived(f"m/44'/60'/2021'/{index}/0")


def test_devnet_participant_addresses_cover_two_keys_of_every_two_letter_code() -> None:
    assert len(devnet_participant_addresses()) == 26 * 26 * 2


def test_is_development_address_true_when_governor_or_any_demo_participant_key() -> None:
    keys = [governor_account().address] + [
        participant_account(demo.code, role).address
        for demo in DEMO_PARTICIPANTS
        for role in ("admin", "authority")
    ]

    assert all(is_development_address(address) for address in keys)
    assert all(is_development_address(address.lower()) for address in keys)
    assert not is_development_address(Account.create().address)
    assert not is_development_address(_derived("m/44'/60'/2021'/676/0"))  # beyond "ZZ"
    assert not is_development_address(_derived("m/44'/60'/2021'/48/2"))  # a third BW key


@pytest.mark.parametrize(("code", "index"), [("AA", 0), ("BW", 48), ("EU", 124), ("ZZ", 675)])
def test_participant_index_follows_documented_formula(code: str, index: int) -> None:
    assert participant_index(code) == index
    assert participant_path(code, "authority") == f"m/44'/60'/2021'/{index}/1"


@pytest.mark.parametrize("code", ["bw", "B", "BWA", "B1", "ÄB", ""])
def test_participant_index_raises_value_error_when_code_invalid(code: str) -> None:
    with pytest.raises(ValueError, match="two upper-case letters"):
        participant_index(code)


def test_keystore_open_refuses_devnet_participant_key_unless_development(tmp_path: Path) -> None:
    path = tmp_path / "eu-authority.json"
    key = bytes(participant_account("EU", "authority").key)
    address = create_keystore(path, passphrase=PASSPHRASE, private_key=key, iterations=2**10)

    with pytest.raises(SigningError, match="well-known development account") as caught:
        KeystoreSigner.open(path, passphrase=PASSPHRASE)

    assert caught.value.detail == {"keystore": str(path), "address": address}
    assert KeystoreSigner.open(path, passphrase=PASSPHRASE, development=True).address == address
