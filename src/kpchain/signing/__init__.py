"""Signers: who holds the keys. Each implements `kpchain.chain.signer.Signer`, the protocol the
transaction sender signs with; the rest of kpchain sees only that protocol."""

from kpchain.signing.keystore import KeystoreSigner, create_keystore
from kpchain.signing.local import LocalSigner
from kpchain.signing.remote import RemoteSigner

__all__ = ["KeystoreSigner", "LocalSigner", "RemoteSigner", "create_keystore"]
