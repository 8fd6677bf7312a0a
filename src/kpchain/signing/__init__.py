"""Signers: who holds the keys. The rest of kpchain only sees the `Signer` protocol."""

from kpchain.signing.base import Signer
from kpchain.signing.keystore import KeystoreSigner, create_keystore
from kpchain.signing.local import LocalSigner

__all__ = ["KeystoreSigner", "LocalSigner", "Signer", "create_keystore"]
