"""The Signer protocol: an account that signs transactions and EIP-712 typed data.

The transaction sender (`kpchain.chain.transactions`) signs with it, so the protocol lives here,
beside its consumer; `kpchain.signing` implements it (in memory, encrypted keystore, Web3Signer)
without the chain layer knowing any of them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Signer(Protocol):
    """An account kpchain acts as. Implementations never expose key material."""

    @property
    def address(self) -> str:
        """The checksummed account address."""
        ...

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        """The raw signed transaction for `transaction` (a web3 transaction dict)."""
        ...

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """The 65-byte signature over EIP-712 `typed_data` (eth_signTypedData_v4 shape)."""
        ...
