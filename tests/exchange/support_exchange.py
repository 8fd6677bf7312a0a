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

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from kpchain.certificates import models
from kpchain.certificates.typed_data import document_hash, participant_code, typed_data
from kpchain.chain.transactions import TransactionSender
from kpchain.config import Settings
from kpchain.devnet import service as devnet_service
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, free_port
from kpchain.exchange.envelope import Envelope, seal_envelope
from kpchain.service.keys import create_key
from kpchain.signing import LocalSigner
from kpchain.store import create_engine, migrate, session_factory
from support_api import document
from support_chain import Devnet
from support_service import ServiceProcess, wait_until

ROLES = ("officer", "clerk", "admin")
WAIT = 90.0  # seconds a test waits for a delivery (two services and an indexer on 2 cores)


@dataclass
class Party:
    """One participant's own service, with its API keys."""

    code: str
    service: ServiceProcess
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.service.url

    def client(self, role: str = "officer") -> httpx.Client:
        return self.service.client(self.keys[role])

    def get(self, path: str, role: str = "officer") -> httpx.Response:
        with self.client(role) as client:
            return client.get(path)

    def post(self, path: str, body: Any = None, role: str = "officer") -> httpx.Response:
        with self.client(role) as client:
            return client.post(path, json=body)

    def issue(self, cert_no: str, importing: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/certificates", document(cert_no, self.code, importing, **fields))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def register_endpoint(self, *, rotate_key: bool = False) -> dict[str, Any]:
        with self.client("admin") as client:
            response = client.put(
                f"/v1/participants/{self.code}/endpoint",
                json={"url": self.url, "rotate_key": rotate_key},
            )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def delivery(self, cert_no: str) -> dict[str, Any]:
        response = self.get(f"/v1/certificates/{cert_no}/delivery")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_delivery(self, cert_no: str, state: str, code: str | None = None) -> dict[str, Any]:
        """Waits until this (exporting) service's delivery of `cert_no` is in `state` (with
        error `code`, when given)."""

        def reached() -> dict[str, Any] | None:
            view = self.delivery(cert_no)
            if view["state"] != state:
                return None
            if code is not None and (view["error"] or {}).get("code") != code:
                return None
            return view

        return wait_until(reached, timeout=WAIT, what=f"{cert_no} {state} ({code}) at {self.code}")

    def envelope(self, envelope: Envelope | dict[str, Any]) -> httpx.Response:
        """POSTs an envelope to this service, as another service would (no API key)."""
        body = envelope.model_dump(mode="json") if isinstance(envelope, Envelope) else envelope
        return httpx.post(f"{self.url}/v1/exchange/envelopes", json=body, timeout=60)


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
    """`code`'s own service, started, with an officer, a clerk and an admin key (its index
    following the chain every `index_poll_interval` seconds)."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = party_settings(
        directory, rpc_url, chain, code, index_poll_interval=index_poll_interval
    )
    engine = create_engine(settings.database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        keys = {role: create_key(session, participant=code, role=role).token for role in ROLES}
        session.commit()
    engine.dispose()
    service = ServiceProcess(settings, directory, port=free_port()).start(timeout=90)
    return Party(code, service, keys)


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
        doc = models.CertificateDocument.model_validate(document(cert_no, "BW", importing))
        exporter_salt, importer_salt = models.new_salt(), models.new_salt()
        cert = models.to_contract(doc, exporter_salt=exporter_salt, importer_salt=importer_salt)
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
