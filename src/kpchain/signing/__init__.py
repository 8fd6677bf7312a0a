"""Signers: who holds the keys. The rest of kpchain only sees the `Signer` protocol."""

from kpchain.signing.base import Signer
from kpchain.signing.local import LocalSigner

__all__ = ["LocalSigner", "Signer"]
