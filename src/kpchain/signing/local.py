"""A signer holding its key in process memory (eth-account)."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount


class LocalSigner:
    """Signs with a private key held in memory: devnet keys, or a keystore once decrypted.

    The key never appears in `repr`, logs or errors.
    """

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_key(cls, private_key: bytes | str) -> LocalSigner:
        return cls(Account.from_key(private_key))

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(transaction).raw_transaction)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        signable = encode_typed_data(full_message=typed_data)
        return bytes(self._account.sign_message(signable).signature)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"
