"""Two (or more) sovereign services on one chain, as the exchange tests run them: each a real
``python -m kpchain serve`` process with its own SQLite database, hosting one participant (its
authority and admin keys) and keeping its own port across restarts, so the endpoint it
registered stays its address. And certificates issued straight on chain, whose signed documents
the tests hold, to deliver good and bad envelopes by hand."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from helpers.documents import document
from kpchain.certificates.conversions import new_salt, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.chain.transactions import TransactionSender
from kpchain.config import Settings
from kpchain.contracts.encoding import participant_code
from kpchain.devnet import service as devnet_service
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.exchange.envelope import Envelope, seal_envelope
from kpchain.signing import LocalSigner
from support_api import Party, start_sovereign_service
from support_chain import Devnet


def party_settings(
    directory: Path, rpc_url: str, chain: Devnet, code: str, *, index_poll_interval: float = 0.2
) -> Settings:
    """A service hosting only `code` (its devnet authority and admin keys), http allowed."""
    files = devnet_service.ServiceFiles(directory)
    devnet_service.write_signers(files, [code])
    return Settings(
        rpc_url=rpc_url,
        chain_id=DEVNET_CHAIN_ID,
        registry_address=chain.address,
        deployment_file=directory / "no-deployment.json",
        database_url=f"sqlite:///{directory / 'kpchain.db'}",
        signers_file=files.signers,
        development=True,
        exchange_allow_http=True,
        exchange_max_backoff=2,
        receipt_timeout=30,
        reconcile_interval=0.5,
        index_poll_interval=index_poll_interval,
    )


def start_party(
    directory: Path, rpc_url: str, chain: Devnet, code: str, *, index_poll_interval: float = 0.2
) -> Party:
    """`code`'s own service, started, with a key of each role (its index following the chain
    every `index_poll_interval` seconds)."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = party_settings(
        directory, rpc_url, chain, code, index_poll_interval=index_poll_interval
    )
    return start_sovereign_service(directory, settings, code)


@dataclass
class Direct:
    """Certificates issued straight on chain by an extra BW authority (not through BW's
    service, which therefore never delivers them), with their signed documents."""

    chain: Devnet
    authority: LocalAccount = field(default_factory=Account.create)

    def __post_init__(self) -> None:
        call = self.chain.contract.functions.addAuthority(
            participant_code("BW"), self.authority.address
        )
        self.chain.sender("BW", "admin").transact(call)

    @property
    def signer(self) -> LocalSigner:
        return LocalSigner(self.authority)

    def issue(self, cert_no: str, importing: str = "AE") -> dict[str, Any]:
        """Issues `cert_no` from BW to `importing`; returns its signed document (the JSON of
        GET /v1/certificates/{cert_no}/document)."""
        doc = CertificateDocument.model_validate(document(cert_no, "BW", importing))
        exporter_salt, importer_salt = new_salt(), new_salt()
        cert = to_contract(doc, exporter_salt=exporter_salt, importer_salt=importer_salt)
        data = typed_data(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=self.chain.address)
        signature = self.signer.sign_typed_data(data)
        call = self.chain.contract.functions.issue(cert.to_abi(), self.authority.address, signature)
        # The account holds no ether and needs none: the devnet's gas price is zero.
        TransactionSender(self.chain.w3, self.signer, chain_id=DEVNET_CHAIN_ID).transact(call)
        digest = document_hash(
            cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=self.chain.address
        )
        return {
            "document": doc.model_dump(mode="json"),
            "exporter_salt": "0x" + exporter_salt.hex(),
            "importer_salt": "0x" + importer_salt.hex(),
            "signature": "0x" + signature.hex(),
            "signer": self.authority.address,
            "doc_hash": "0x" + digest.hex(),
        }

    def seal(
        self,
        signed: dict[str, Any],
        recipient_key: str,
        *,
        signer: LocalSigner | None = None,
        recipient: str = "AE",
        sent_at: int | None = None,
    ) -> Envelope:
        """The envelope BW's service would send for `signed`, sealed to `recipient_key`."""
        return seal_envelope(
            signed,
            sender="BW",
            recipient=recipient,
            recipient_key=recipient_key,
            signer=signer or self.signer,
            chain_id=DEVNET_CHAIN_ID,
            registry=self.chain.address,
            sent_at=int(time.time()) if sent_at is None else sent_at,
        )
