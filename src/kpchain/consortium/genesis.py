"""The genesis file of a Besu QBFT network: the validators in `extraData`, zero gas, and the
hardforks the contracts are compiled for.

Besu's QBFT documentation ("Configure QBFT consensus", section "Extra data") defines the genesis
`extraData` as ``RLP([32 bytes vanity, [validator addresses], no vote, round 0, no seals])``;
Besu's own encoder (``besu rlp encode --type=QBFT_EXTRA_DATA``) writes "no vote" as the empty list
and round 0 as the empty scalar, so every genesis ends in ``c0 80 c0``. The encoder here is the
few lines of RLP that takes, rather than a dependency: the tests check it against Besu's
documented vectors and decode it back with an independent RLP library.

Zero gas follows Besu's "Configure free gas networks": ``zeroBaseFee`` in the genesis (the London
fork puts a base fee in every block otherwise) and ``min-gas-price=0`` on every node (see
`kpchain.consortium.nodes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_canonical_address

from kpchain.artifacts import load_artifact
from kpchain.consortium.addresses import checksum_address
from kpchain.deploy import DEPLOYED_CONTRACT
from kpchain.errors import ConfigError

CONSORTIUM_CHAIN_ID = 7102
"""The consortium network's chain id; ape-config.yaml's ``kp-consortium`` network uses the same."""

# "Istanbul block identification": Besu's BFT genesis files carry this mixHash (the ASCII of
# "ctical byzantine fault tolerance").
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
VANITY = bytes(32)
# The block gas limit. Gas is free, so this is what bounds a block's work (and a transaction's:
# none can use more than a block holds). Besu's free-gas guide offers 0x1fffffffffffff, which
# bounds nothing; its other advice is "the gas your validators can process in the block time".
# The largest kpchain transactions are a batch of 100 issues (4.64 million gas,
# benchmarks/gas.json; 5.6 million as the service sends it, with its estimate margin) and the
# deploy (4.1 million): 50 million holds eight such batches a block (400 certificates a second
# at the default 2 s period), far above KP volumes, and is the order of an Ethereum mainnet
# block, which Besu is built to execute well within a block period.
DEFAULT_GAS_LIMIT = 50_000_000

# Hardforks by block number, all active from genesis; then those scheduled by timestamp
# (Shanghai was the first), activated at time 0 up to the EVM version the contracts target.
_BLOCK_FORKS = (
    "homesteadBlock",
    "eip150Block",
    "eip155Block",
    "eip158Block",
    "byzantiumBlock",
    "constantinopleBlock",
    "petersburgBlock",
    "istanbulBlock",
    "berlinBlock",
    "londonBlock",
)
_TIME_FORKS = {
    "london": (),
    "paris": (),  # solc's paris differs from london only in naming DIFFICULTY PREVRANDAO
    "shanghai": ("shanghaiTime",),  # PUSH0
    "cancun": ("shanghaiTime", "cancunTime"),  # MCOPY, TLOAD/TSTORE
}


@dataclass(frozen=True)
class QbftParameters:
    """The network-wide settings a genesis fixes.

    Attributes:
        chain_id: the network's chain id (EIP-155).
        block_period: seconds between blocks (`blockperiodseconds`).
        request_timeout: seconds a round waits for its block before a round change
            (`requesttimeoutseconds`); Besu suggests twice the block period to start with.
        epoch_length: blocks between epoch transitions, where pending validator votes are
            discarded (`epochlength`).
        gas_limit: the block gas limit; gas is free, so it is what bounds the work of a block
            and of any one transaction.
        evm_version: the EVM version the contracts are compiled for; the genesis activates the
            hardforks it needs. Default: that of the committed CertificateRegistry artifact.
    """

    chain_id: int = CONSORTIUM_CHAIN_ID
    block_period: int = 2
    request_timeout: int = 4
    epoch_length: int = 30_000
    gas_limit: int = DEFAULT_GAS_LIMIT
    evm_version: str | None = None

    def resolved_evm_version(self) -> str:
        """`evm_version`, or the one the deployed contract's artifact was compiled for."""
        if self.evm_version is not None:
            return self.evm_version
        return str(load_artifact(DEPLOYED_CONTRACT).compiler["settings"]["evmVersion"])


def qbft_extra_data(validators: Sequence[str]) -> str:
    """The genesis `extraData` naming `validators`, in the order given, as Besu encodes it.

    Besu's documentation asks for the validators in ascending order; `genesis` sorts them.

    Raises:
        ConfigError: a validator is not an address.
    """
    addresses = [
        to_canonical_address(checksum_address(validator, what="validator"))
        for validator in validators
    ]
    no_vote: list[bytes] = []
    round_zero = b""  # a scalar 0 is the empty string in RLP
    no_seals: list[bytes] = []
    return "0x" + _rlp([VANITY, addresses, no_vote, round_zero, no_seals]).hex()


def genesis(
    validators: Sequence[str],
    parameters: QbftParameters,
    *,
    timestamp: int,
    balances: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The genesis of a QBFT network whose first validators are `validators`.

    Args:
        validators: the validators' addresses (their node keys' addresses).
        parameters: the network-wide settings.
        timestamp: the genesis block's time, Unix seconds.
        balances: accounts funded at genesis, in wei (gas is free: only for tools that insist
            on a balance).

    Raises:
        ConfigError: no validators, a repeated validator, a malformed address, or an EVM version
            this genesis cannot activate.
    """
    if not validators:
        raise ConfigError("a QBFT network needs at least one validator")
    checksummed = [checksum_address(validator, what="validator") for validator in validators]
    if len(set(checksummed)) != len(checksummed):
        raise ConfigError(f"a validator is listed twice: {', '.join(checksummed)}")
    ordered = sorted(checksummed, key=str.lower)  # ascending, as Besu's documentation asks
    config: dict[str, Any] = {"chainId": parameters.chain_id}
    config.update(dict.fromkeys(_BLOCK_FORKS, 0))
    config.update(dict.fromkeys(_time_forks(parameters.resolved_evm_version()), 0))
    config["zeroBaseFee"] = True
    config["qbft"] = {
        "blockperiodseconds": parameters.block_period,
        "epochlength": parameters.epoch_length,
        "requesttimeoutseconds": parameters.request_timeout,
    }
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(timestamp),
        "extraData": qbft_extra_data(ordered),
        "gasLimit": hex(parameters.gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "baseFeePerGas": "0x0",
        "alloc": {
            checksum_address(account, what="funded account"): {"balance": hex(wei)}
            for account, wei in (balances or {}).items()
        },
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }


def _time_forks(evm_version: str) -> tuple[str, ...]:
    try:
        return _TIME_FORKS[evm_version]
    except KeyError:
        supported = ", ".join(_TIME_FORKS)
        raise ConfigError(
            f"cannot build a QBFT genesis for EVM version {evm_version!r}; compile the contracts "
            f"for one of {supported} (solidity.evm_version in ape-config.yaml)",
            detail={"evm_version": evm_version},
        ) from None


def _rlp(item: bytes | list[Any]) -> bytes:
    """The RLP encoding of `item`: a byte string, or a (nested) list of them."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _rlp_length(len(item), 0x80) + item
    payload = b"".join(_rlp(element) for element in item)
    return _rlp_length(len(payload), 0xC0) + payload


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded
