"""The well-known development keys: which they are, how they are derived, and how to spot them.

Every key here comes from a public mnemonic, so anyone can derive it; an account holding one
belongs to everyone. Signers refuse them outside development mode (see `is_development_address`).

Two families, both under BIP-32/BIP-44 paths of `DEV_MNEMONIC`:

- anvil's (and Hardhat's, and ape's test) pre-funded accounts ``m/44'/60'/0'/0/{i}``, i < 20;
  the first one is also the devnet governor (`GOVERNOR_PATH`);
- the devnet participants' keys ``m/44'/60'/2021'/{n}/{role}`` (`PARTICIPANT_PATH`), where
  ``n = 26 * (X - 'A') + (Y - 'A')`` for participant code ``XY`` and ``role`` is 0 for the
  participant's admin and 1 for its first authority.

These constants live here rather than in `kpchain.devnet` because signing sits below the devnet:
the devnet derives its keys from them, and the signers check against them without importing the
devnet (and its contracts and web3 machinery).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from kpchain.errors import SigningError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The mnemonic anvil, Hardhat and ape's test chains fund by default; public, development only."""

DEV_ACCOUNT_COUNT = 20
"""How many of the mnemonic's ``m/44'/60'/0'/0/i`` accounts count as anvil's."""

GOVERNOR_PATH = "m/44'/60'/0'/0/0"
"""Derivation path of the devnet governor and deployer (anvil's first account)."""

PARTICIPANT_ACCOUNT_PATH = "m/44'/60'/2021'"
"""The BIP-44 account under which every devnet participant key lives (2021: the devnet chain)."""

PARTICIPANT_PATH = PARTICIPANT_ACCOUNT_PATH + "/{participant}/{role}"
"""Derivation path of a participant's devnet key; see the module docstring."""

DevRole = Literal["admin", "authority"]
ROLE_INDEX: dict[DevRole, int] = {"admin": 0, "authority": 1}
"""The last path index of each devnet role."""

_PARTICIPANT_SLOTS = 26 * 26  # every two-letter code, not only the demo dozen
_HARDENED = 2**31
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def participant_index(code: str) -> int:
    """The path index ``n`` of participant `code` ("BW" -> 48, "EU" -> 124).

    Raises:
        ValueError: `code` is not two upper-case ASCII letters.
    """
    if len(code) != 2 or not all("A" <= char <= "Z" for char in code):
        raise ValueError(f"participant code must be two upper-case letters, got {code!r}")
    return 26 * (ord(code[0]) - ord("A")) + (ord(code[1]) - ord("A"))


def participant_path(code: str, role: DevRole) -> str:
    """The derivation path of participant `code`'s devnet `role` key.

    Raises:
        ValueError: `code` is not two upper-case ASCII letters.
    """
    return PARTICIPANT_PATH.format(participant=participant_index(code), role=ROLE_INDEX[role])


@cache
def development_account(path: str) -> LocalAccount:
    """The account at derivation `path` of `DEV_MNEMONIC` (a development key)."""
    account: LocalAccount = Account.from_key(key_from_seed(_seed(), path))
    return account


def governor_account() -> LocalAccount:
    """The devnet governor and deployer (development key: anvil's first account)."""
    return development_account(GOVERNOR_PATH)


def participant_account(code: str, role: DevRole) -> LocalAccount:
    """The devnet key of participant `code`'s admin or authority (a development key).

    Raises:
        ValueError: `code` is not two upper-case ASCII letters.
    """
    return development_account(participant_path(code, role))


@cache
def development_addresses() -> tuple[str, ...]:
    """Checksummed addresses of anvil's accounts 0..19 (``m/44'/60'/0'/0/i``), in order."""
    return tuple(
        str(development_account(f"m/44'/60'/0'/0/{index}").address)
        for index in range(DEV_ACCOUNT_COUNT)
    )


@cache
def devnet_participant_addresses() -> frozenset[str]:
    """Lower-case addresses of the admin and authority keys of every two-letter participant code.

    All 676 codes, not only the demo participants: a devnet may admit others, and their keys are
    just as public. Deriving 1,352 keys path by path through eth-account takes most of a second;
    deriving each participant's node once from the shared account node, and reusing the parent
    public keys, takes a fraction of that, once per process.
    """
    key, chain = _master(_seed())
    for index in (44, 60, 2021):
        key, chain = _child(key, chain, index + _HARDENED)
    account_point = _point(key)
    addresses = set()
    for participant in range(_PARTICIPANT_SLOTS):
        p_key, p_chain = _child(key, chain, participant, account_point)
        p_point = _point(p_key)
        for role in ROLE_INDEX.values():
            role_key, _ = _child(p_key, p_chain, role, p_point)
            addresses.add(PrivateKey(role_key).public_key.to_address())
    return frozenset(addresses)


@cache
def _development_addresses_lower() -> frozenset[str]:
    return frozenset(a.lower() for a in development_addresses()) | devnet_participant_addresses()


def is_development_address(address: str) -> bool:
    """Whether `address` holds a well-known development key: one of anvil's accounts, the devnet
    governor, or a devnet participant's admin or authority (any two-letter code)."""
    return address.lower() in _development_addresses_lower()


def refuse_development_key(
    address: str, *, holder: str, development: bool, detail: Mapping[str, Any] | None = None
) -> None:
    """Raises unless `address` is safe to act as: not a development key, or development mode.

    Args:
        address: the account the signer acts as.
        holder: what holds the key, for the message ("keystore /path/gov.json").
        development: whether development mode (`KPCHAIN_DEVELOPMENT`) is on.
        detail: more context for the error's `detail` (the keystore, the signer's URL).

    Raises:
        SigningError: `address` is a well-known development key outside development mode.
    """
    if not development and is_development_address(address):
        raise SigningError(
            f"{holder} holds {address}, a well-known development account whose private key is "
            "public; use your own key, or set KPCHAIN_DEVELOPMENT=true on a throwaway devnet",
            detail={**(detail or {}), "address": address},
        )


@cache
def _seed() -> bytes:
    return bytes(seed_from_mnemonic(DEV_MNEMONIC, ""))


# BIP-32 private derivation, as eth-account's hdaccount does it, but keeping chain codes and
# parent points so that siblings share the work. tests/signing/test_devkeys.py checks the result
# against eth-account's own derivation.


def _master(seed: bytes) -> tuple[bytes, bytes]:
    digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
    return digest[:32], digest[32:]


def _point(key: bytes) -> bytes:
    """The compressed public key of `key` (BIP-32's ser_P(point(k)))."""
    return bytes(PrivateKey(key).public_key.to_compressed_bytes())


def _child(key: bytes, chain: bytes, index: int, point: bytes | None = None) -> tuple[bytes, bytes]:
    """CKDpriv: child `index` of the extended private key (`key`, `chain`); `point` is `key`'s
    compressed public key (computed when None), needed for a non-hardened child."""
    if index >= _HARDENED:
        data = b"\x00" + key + index.to_bytes(4, "big")
    else:
        data = (point if point is not None else _point(key)) + index.to_bytes(4, "big")
    digest = hmac.new(chain, data, hashlib.sha512).digest()
    tweak = int.from_bytes(digest[:32], "big")
    child = (tweak + int.from_bytes(key, "big")) % _SECP256K1_N
    if tweak >= _SECP256K1_N or child == 0:
        # BIP-32: an invalid child (probability below 2**-127) moves on to the next index, as
        # eth-account does.
        return _child(key, chain, index + 1, point)
    return child.to_bytes(32, "big"), digest[32:]
