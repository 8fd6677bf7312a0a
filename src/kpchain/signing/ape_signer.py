"""Adapts an ape account to kpchain's `Signer` protocol, for `ape run deploy` and friends.

ape is a developer dependency only, so nothing here imports it at module level: the service
never needs it, and importing `kpchain.signing` must not pull it in.
"""

from __future__ import annotations

from typing import Any

from eth_account.messages import encode_typed_data

from kpchain.errors import SigningError


class ApeSigner:
    """Signs with an ape account (`ape.accounts.load(alias)` or a test account).

    Transactions are converted to the ecosystem's transaction type and signed by the account
    itself, so hardware wallets and keyfile accounts (with their prompts) work as in ape.

    Args:
        account: an `ape.api.AccountAPI`.
        ecosystem: the `ape.api.EcosystemAPI` that builds transactions; the connected
            provider's ecosystem when None.
    """

    def __init__(self, account: Any, *, ecosystem: Any = None) -> None:
        self._account = account
        self._ecosystem = ecosystem

    @property
    def address(self) -> str:
        """The account's checksummed address."""
        return str(self._account.address)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        """The raw signed transaction for a web3 transaction dict.

        Raises:
            SigningError: the account declined to sign (e.g. the operator answered no).
        """
        fields = dict(transaction)
        if not fields.get("to"):
            # web3 marks a contract creation with `to: b""`; ape would read that as the zero
            # address and sign a call to it, then serialize a creation: the signature breaks.
            fields.pop("to", None)
        txn = self._resolve_ecosystem().create_transaction(**fields)
        signed = self._account.sign_transaction(txn)
        if signed is None:
            raise SigningError(f"ape account {self.address} declined to sign the transaction")
        return bytes(signed.serialize_transaction())

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """The 65-byte (r, s, v) signature over EIP-712 `typed_data`.

        Raises:
            SigningError: the account declined to sign.
        """
        signature = self._account.sign_message(encode_typed_data(full_message=typed_data))
        if signature is None:
            raise SigningError(f"ape account {self.address} declined to sign the typed data")
        return bytes(signature.encode_rsv())

    def _resolve_ecosystem(self) -> Any:
        if self._ecosystem is None:
            from ape import networks

            self._ecosystem = networks.provider.network.ecosystem
        return self._ecosystem

    def __repr__(self) -> str:
        return f"ApeSigner({self.address})"
