"""Signers: who holds the keys. The rest of kpchain only sees the `Signer` protocol."""

from kpchain.signing.base import Signer
from kpchain.signing.keystore import KeystoreSigner, create_keystore
from kpchain.signing.local import LocalSigner
from kpchain.signing.remote import RemoteSigner

__all__ = ["KeystoreSigner", "LocalSigner", "RemoteSigner", "Signer", "create_keystore"]
