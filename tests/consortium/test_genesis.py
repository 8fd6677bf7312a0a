"""The QBFT genesis: extraData against Besu's documented vectors and decoded back with the `rlp`
library (an independent RLP implementation), and the genesis fields Besu's documentation asks
for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rlp
import yaml
from eth_utils.address import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from kpchain.artifacts import load_artifact
from kpchain.consortium.genesis import (
    BFT_MIX_HASH,
    CONSORTIUM_CHAIN_ID,
    QbftParameters,
    genesis,
    qbft_extra_data,
)
from kpchain.errors import ConfigError

# Besu documentation, "Configure QBFT consensus" (docs/private-networks/how-to/configure/consensus/
# qbft.md in hyperledger/besu-docs), section "Generate extra data": `besu rlp encode
# --type=QBFT_EXTRA_DATA` of these four validators, in this order, gives this extraData.
BESU_RLP_ENCODE_VALIDATORS = [
    "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
    "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
    "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
    "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
]
BESU_RLP_ENCODE_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e4"
    "5706cc08b8f44b11e43cba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02"
    "d7bcbc1bf1236b8c15148971e1de94ab5e7f4061c605820d3744227eed91ff8e2c8908c080c0"
)
# The same page, "Genesis file", tab "Block header validator selection": the example genesis'
# extraData, whose four validators are read off the vector itself.
BESU_GENESIS_EXAMPLE_VALIDATORS = [
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]
BESU_GENESIS_EXAMPLE_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6"
    "263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738c9"
    "f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0"
)
# The same page, tab "Contract validator selection": no validators in the header.
BESU_CONTRACT_SELECTION_EXTRA_DATA = (
    "0xe5a00000000000000000000000000000000000000000000000000000000000000000c0c080c0"
)

APE_CONFIG = Path(__file__).resolve().parents[2] / "ape-config.yaml"
GENESIS_TIME = 1_790_000_000


def _decoded(extra_data: str) -> Any:
    return rlp.decode(bytes.fromhex(extra_data.removeprefix("0x")))


def _validators_of(extra_data: str) -> list[str]:
    vanity, validators, vote, round_number, seals = _decoded(extra_data)
    assert (vanity, vote, round_number, seals) == (bytes(32), [], b"", [])
    return [to_checksum_address(validator) for validator in validators]


def test_extra_data_equals_besu_rlp_encode_vector() -> None:
    assert qbft_extra_data(BESU_RLP_ENCODE_VALIDATORS) == BESU_RLP_ENCODE_EXTRA_DATA


def test_extra_data_equals_besu_genesis_example() -> None:
    assert qbft_extra_data(BESU_GENESIS_EXAMPLE_VALIDATORS) == BESU_GENESIS_EXAMPLE_EXTRA_DATA


def test_extra_data_without_validators_equals_besu_contract_selection_example() -> None:
    assert qbft_extra_data([]) == BESU_CONTRACT_SELECTION_EXTRA_DATA


def test_extra_data_decodes_to_vanity_validators_no_vote_round_zero_no_seals() -> None:
    validators = [to_checksum_address(v) for v in BESU_RLP_ENCODE_VALIDATORS]

    assert _validators_of(qbft_extra_data(validators)) == validators


@given(st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=40, unique=True))
def test_extra_data_decodes_back_to_any_validator_list(raw: list[bytes]) -> None:
    # Up to 40 validators: the list's RLP length takes one, then two length bytes.
    validators = [to_checksum_address(address) for address in raw]

    assert _validators_of(qbft_extra_data(validators)) == validators


def test_genesis_lists_validators_ascending_in_extra_data() -> None:
    document = genesis(BESU_RLP_ENCODE_VALIDATORS, QbftParameters(), timestamp=GENESIS_TIME)

    assert _validators_of(document["extraData"]) == sorted(
        (to_checksum_address(v) for v in BESU_RLP_ENCODE_VALIDATORS), key=str.lower
    )


def test_genesis_has_besu_qbft_zero_gas_fields() -> None:
    parameters = QbftParameters(block_period=5, request_timeout=10, epoch_length=100)

    document = genesis(BESU_RLP_ENCODE_VALIDATORS, parameters, timestamp=GENESIS_TIME)

    config = document["config"]
    assert config["chainId"] == CONSORTIUM_CHAIN_ID
    assert config["qbft"] == {
        "blockperiodseconds": 5,
        "epochlength": 100,
        "requesttimeoutseconds": 10,
    }
    assert config["londonBlock"] == 0
    assert config["zeroBaseFee"] is True
    assert document["baseFeePerGas"] == "0x0"
    assert document["difficulty"] == "0x1"
    assert document["mixHash"] == BFT_MIX_HASH
    assert bytes.fromhex(BFT_MIX_HASH[2:]) == b"ctical byzantine fault tolerance"
    assert document["timestamp"] == hex(GENESIS_TIME)
    assert int(document["gasLimit"], 16) == QbftParameters().gas_limit
    assert document["alloc"] == {}


def test_default_chain_id_is_ape_config_kp_consortium_chain_id() -> None:
    networks = yaml.safe_load(APE_CONFIG.read_text())["networks"]["custom"]
    consortium = next(network for network in networks if network["name"] == "kp-consortium")

    assert consortium["chain_id"] == CONSORTIUM_CHAIN_ID == QbftParameters().chain_id


def test_genesis_activates_the_hardforks_of_the_contracts_evm_version() -> None:
    evm_version = load_artifact("CertificateRegistry").compiler["settings"]["evmVersion"]

    config = genesis(BESU_RLP_ENCODE_VALIDATORS, QbftParameters(), timestamp=0)["config"]

    assert evm_version == "cancun"  # PUSH0 (Shanghai) and MCOPY (Cancun) may be in the code
    assert config["shanghaiTime"] == 0
    assert config["cancunTime"] == 0


def test_genesis_for_london_contracts_has_no_timestamp_forks() -> None:
    parameters = QbftParameters(evm_version="london")

    config = genesis(BESU_RLP_ENCODE_VALIDATORS, parameters, timestamp=0)["config"]

    assert "shanghaiTime" not in config
    assert config["londonBlock"] == 0


def test_genesis_rejects_an_evm_version_it_cannot_activate() -> None:
    with pytest.raises(ConfigError, match="EVM version 'prague'"):
        genesis(BESU_RLP_ENCODE_VALIDATORS, QbftParameters(evm_version="prague"), timestamp=0)


def test_genesis_funds_accounts_under_their_checksummed_address() -> None:
    deployer = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"

    document = genesis(
        BESU_RLP_ENCODE_VALIDATORS,
        QbftParameters(),
        timestamp=0,
        balances={deployer: 10**24},
    )

    assert document["alloc"] == {
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266": {"balance": hex(10**24)}
    }


@pytest.mark.parametrize(
    ("validators", "problem"),
    [
        ([], "at least one validator"),
        (["0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb"] * 2, "listed twice"),
        (["0x4592c8e45706cc08b8f44b11e43cba0cfc5892c"], "0x and 40 hexadecimal"),
        (["0x4592C8e45706cc08b8f44b11e43cba0cfc5892cb"], "checksum"),
    ],
    ids=["none", "repeated", "short", "bad-checksum"],
)
def test_genesis_rejects_bad_validator_lists(validators: list[str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        genesis(validators, QbftParameters(), timestamp=0)
