"""The devnet's development keys and demo seeding, against a real anvil."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from kpchain.chain.transactions import TransactionSender
from kpchain.deploy import deploy
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import (
    DEMO_PARTICIPANTS,
    DEVNET_MNEMONIC,
    ParticipantStatus,
    governor_account,
    participant_account,
    registry,
    seed,
)
from kpchain.errors import ContractRevertError
from kpchain.signing import LocalSigner

ANVIL_FIRST_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _governor(w3: Web3) -> TransactionSender:
    return TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)


def _deployed(governor: TransactionSender) -> str:
    return deploy(
        governor,
        governor=governor.signer.address,
        network="test",
        expected_chain_id=DEVNET_CHAIN_ID,
    ).address


def test_governor_account_is_anvil_first_account() -> None:
    assert governor_account().address == ANVIL_FIRST_ACCOUNT


def test_participant_account_follows_documented_path() -> None:
    Account.enable_unaudited_hdwallet_features()
    bw_authority = Account.from_mnemonic(DEVNET_MNEMONIC, account_path="m/44'/60'/2021'/48/1")
    eu_admin = Account.from_mnemonic(DEVNET_MNEMONIC, account_path="m/44'/60'/2021'/124/0")

    assert participant_account("BW", "authority").address == bw_authority.address
    assert participant_account("EU", "admin").address == eu_admin.address


def test_participant_account_differs_per_code_and_role() -> None:
    anvil_accounts = {
        Account.from_mnemonic(DEVNET_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").address
        for i in range(10)
    }
    keys = [
        participant_account(p.code, role).address
        for p in DEMO_PARTICIPANTS
        for role in ("admin", "authority")
    ]

    assert len(set(keys)) == len(keys) == 24
    assert not set(keys) & anvil_accounts


@pytest.mark.parametrize("code", ["bw", "B", "BWA", "B1"])
def test_participant_account_raises_value_error_when_code_invalid(code: str) -> None:
    with pytest.raises(ValueError, match="two"):
        participant_account(code, "admin")


def test_demo_participants_are_a_dozen_with_eu_cf_zones_and_ve_suspended() -> None:
    by_code = {p.code: p for p in DEMO_PARTICIPANTS}

    assert len(by_code) == len(DEMO_PARTICIPANTS) == 12
    assert "EU" in by_code
    assert by_code["CF"].zones == ("CF:Berberati", "CF:Carnot")
    assert by_code["VE"].status is ParticipantStatus.SUSPENDED
    assert [p.code for p in DEMO_PARTICIPANTS if p.origin_restricted] == ["CF"]


@pytest.mark.anvil
def test_seed_sends_nothing_when_participants_already_admitted(w3: Web3) -> None:
    governor = _governor(w3)
    address = _deployed(governor)
    first = seed(governor, address)
    block = w3.eth.block_number

    again = seed(governor, address)

    assert again == first
    assert w3.eth.block_number == block
    assert [(p.code, p.status) for p in first] == [(p.code, p.status) for p in DEMO_PARTICIPANTS]


@pytest.mark.anvil
def test_seed_completes_remaining_participants_when_interrupted(w3: Web3) -> None:
    governor = _governor(w3)
    address = _deployed(governor)
    seed(governor, address, participants=DEMO_PARTICIPANTS[:3])

    seeded = seed(governor, address)

    contract = registry(w3, address).functions
    assert len(contract.participantCodes().call()) == 12
    for participant in seeded:
        raw = participant.code.encode()
        assert contract.authorityStatus(participant.authority).call() == [raw, participant.status]
    assert {p.code: p.status for p in seeded}["VE"] is ParticipantStatus.SUSPENDED


@pytest.mark.anvil
def test_seed_raises_contract_revert_when_sender_not_governor(w3: Web3) -> None:
    address = _deployed(_governor(w3))
    stranger = TransactionSender(w3, LocalSigner(Account.create()), chain_id=DEVNET_CHAIN_ID)

    with pytest.raises(ContractRevertError) as caught:
        seed(stranger, address)

    assert caught.value.error_name == "AccessControlUnauthorizedAccount"
