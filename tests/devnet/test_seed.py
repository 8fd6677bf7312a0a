"""The devnet's development keys and demo seeding, against a real anvil."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from eth_account import Account
from web3 import Web3

from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.enums import ParticipantStatus
from kpchain.deploy import deploy
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import (
    DEMO_PARTICIPANTS,
    DEVNET_GOVERNANCE,
    DEVNET_MNEMONIC,
    DemoParticipant,
    founders,
    governor_account,
    participant_account,
    registry,
    seed,
)
from kpchain.errors import ContractRevertError
from kpchain.signing import LocalSigner

ANVIL_FIRST_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _deployed(w3: Web3, participants: Sequence[DemoParticipant] = DEMO_PARTICIPANTS) -> str:
    deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)
    return deploy(
        deployer,
        founders=founders(participants),
        governance=DEVNET_GOVERNANCE,
        network="test",
        expected_chain_id=DEVNET_CHAIN_ID,
    ).address


def test_deployer_account_is_anvil_first_account() -> None:
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


def test_founders_are_the_demo_dozen_with_their_admin_keys_and_founding_state() -> None:
    by_code = {f.code: f for f in founders()}

    assert list(by_code) == [p.code for p in DEMO_PARTICIPANTS]
    assert by_code["BW"].admin == participant_account("BW", "admin").address
    assert by_code["VE"].status is ParticipantStatus.SUSPENDED
    assert by_code["CF"].zones == ("CF:Berberati", "CF:Carnot")
    assert DEVNET_GOVERNANCE.quorum_for(founders()) == 2


@pytest.mark.anvil
def test_seed_adds_each_authority_once_and_sends_nothing_when_run_again(w3: Web3) -> None:
    address = _deployed(w3)
    first = seed(w3, address, chain_id=DEVNET_CHAIN_ID)
    block = w3.eth.block_number

    again = seed(w3, address, chain_id=DEVNET_CHAIN_ID)

    assert again == first
    assert w3.eth.block_number == block
    assert [(p.code, p.status) for p in first] == [(p.code, p.status) for p in DEMO_PARTICIPANTS]
    contract = registry(w3, address).functions
    for participant in first:
        raw = participant.code.encode()
        assert contract.authorityStatus(participant.authority).call() == [raw, participant.status]
        assert contract.authoritiesOf(raw).call() == [participant.authority]
        assert participant.admin == participant_account(participant.code, "admin").address


@pytest.mark.anvil
def test_seed_completes_remaining_authorities_when_interrupted(w3: Web3) -> None:
    address = _deployed(w3)
    seed(w3, address, chain_id=DEVNET_CHAIN_ID, participants=DEMO_PARTICIPANTS[:3])

    seeded = seed(w3, address, chain_id=DEVNET_CHAIN_ID)

    contract = registry(w3, address).functions
    assert len(contract.participantCodes().call()) == 12
    for participant in seeded:
        assert contract.isAuthority(participant.code.encode(), participant.authority).call()


@pytest.mark.anvil
def test_seed_skips_demo_participants_the_registry_never_admitted(w3: Web3) -> None:
    address = _deployed(w3, DEMO_PARTICIPANTS[:3])

    seeded = seed(w3, address, chain_id=DEVNET_CHAIN_ID)

    assert [p.status for p in seeded[3:]] == [ParticipantStatus.NONE] * 9
    assert len(registry(w3, address).functions.participantCodes().call()) == 3


@pytest.mark.anvil
def test_seed_raises_contract_revert_when_an_admin_key_is_not_the_participants_admin(
    w3: Web3,
) -> None:
    deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)
    stranger = Account.create().address
    others = [f for f in founders() if f.code != "BW"]
    address = deploy(
        deployer,
        founders=[*others, replace(founders()[0], admin=stranger)],
        governance=DEVNET_GOVERNANCE,
        network="test",
        expected_chain_id=DEVNET_CHAIN_ID,
    ).address

    with pytest.raises(ContractRevertError) as caught:
        seed(w3, address, chain_id=DEVNET_CHAIN_ID)

    assert caught.value.error_name == "ParticipantAdminUnauthorized"
