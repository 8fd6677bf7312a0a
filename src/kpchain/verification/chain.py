"""Verification straight from the chain, without the service or its index: what `kpchain verify
FILE` does with a signed document file.

It reads the registry's `certificateStatus` view and its events (the
certificate's own, by number; the signer's authority terms, by account) from the node, fills
the same `CertificateFacts` the index fills, and runs the same checks
(`kpchain.verification.checks`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.types import RPCEndpoint

from kpchain.artifacts import load_artifact
from kpchain.certificates.conversions import rejection_reason_label
from kpchain.chain.errors import rpc_result
from kpchain.chain.transactions import call_node
from kpchain.contracts.encoding import cert_number
from kpchain.contracts.enums import CertificateStatus
from kpchain.contracts.registry import Registry
from kpchain.deploy import DEPLOYED_CONTRACT
from kpchain.errors import (
    ChainError,
    ChainUnavailableError,
    ConfigError,
    ErrorCode,
    InvalidRequestError,
)
from kpchain.indexer.decoding import EventDecoder, code_of
from kpchain.indexer.tables import Event
from kpchain.verification.checks import (
    AuthorityTerm,
    CertificateFacts,
    DocumentDomain,
    Verification,
    evaluate,
    present,
)
from kpchain.vocabulary import MIXED

_CERTIFICATE_EVENTS = (
    "CertificateIssued",
    "CertificateShipped",
    "CertificateReceived",
    "CertificateRejected",
    "CertificateCancelled",
)
_AUTHORITY_EVENTS = ("AuthorityAdded", "AuthorityRevoked")


ERC1271_MAGIC = bytes.fromhex("1626ba7e")
"""What `isValidSignature(bytes32,bytes)` returns for a signature it accepts (its selector)."""


class ContractSignatures:
    """Asks contract accounts whether they accept a signature (ERC-1271), at a given block.

    An answer about a past block never changes, so answers are kept (up to `cache_size`): a
    certificate verified again and again costs the node two calls once.

    Args:
        w3: a node of the chain.
        cache_size: answers kept.
    """

    def __init__(self, w3: Web3, *, cache_size: int = 4096) -> None:
        self._w3 = w3
        self._cache_size = cache_size
        self._answers: OrderedDict[tuple[str, bytes, bytes, int], bool] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool:
        """Whether `signer` had code at `block` and its `isValidSignature(digest, signature)`
        returned the ERC-1271 magic value there.

        Raises:
            ChainUnavailableError: the node does not answer (no verdict either way).
        """
        key = (signer, digest, signature, block)
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        answer = self._ask(signer, digest, signature, block)
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self._cache_size:
                self._answers.popitem(last=False)
        return answer

    def _ask(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool:
        address = Web3.to_checksum_address(signer)
        if not call_node(lambda: self._w3.eth.get_code(address, block)):
            return False  # a key's account: its signature recovers, or it is not its
        data = function_signature_to_4byte_selector("isValidSignature(bytes32,bytes)") + abi_encode(
            ["bytes32", "bytes"], [digest, signature]
        )
        try:
            answer = call_node(lambda: self._w3.eth.call({"to": address, "data": data}, block))
        except ChainUnavailableError:
            raise
        except ChainError:
            return False  # the account reverted: it does not accept the signature
        return bytes(answer)[:4] == ERC1271_MAGIC


def verify_on_chain(
    registry: Registry, signed: Mapping[str, Any], *, chain_id: int, from_block: int = 0
) -> Verification:
    """Verifies a signed certificate document against the chain.

    Args:
        registry: the deployed registry, on a node of the chain.
        signed: the document file's JSON, as GET /v1/certificates/{cert_no}/document returns
            it: `document`, `exporter_salt`, `importer_salt`, `signature` (and `doc_hash`,
            `signer`, which are recomputed and read from the chain rather than trusted).
        chain_id: the chain's id (the EIP-712 domain the document is hashed in).
        from_block: the first block to read events from (the registry's deployment block).

    Raises:
        InvalidRequestError: `signed` names no certificate number, or its signature is
            malformed.
        ChainUnavailableError: the node does not answer.
        ConfigError: the certificate's issue is not in the blocks read (`from_block` too high).
    """
    cert_no = _cert_no_of(signed)
    presented = present(cert_no, document=signed, domain=DocumentDomain(chain_id, registry.address))
    reader = _ChainReader(registry, from_block)
    return evaluate(
        cert_no,
        reader.facts(cert_no),
        presented,
        terms_of=reader.authority_terms,
        contract_signatures=ContractSignatures(registry.w3),
    )


def _cert_no_of(signed: Mapping[str, Any]) -> str:
    document = signed.get("document")
    cert_no = document.get("cert_no") if isinstance(document, Mapping) else None
    if not isinstance(cert_no, str) or not cert_no:
        raise InvalidRequestError(
            'not a signed certificate document: it needs {"document": {"cert_no": …, …}, '
            '"exporter_salt", "importer_salt", "signature"}, as GET '
            "/v1/certificates/{cert_no}/document returns it",
            code=ErrorCode.DOCUMENT_FILE_INVALID,
        )
    try:
        cert_number(cert_no)
    except ValueError as error:
        raise InvalidRequestError(str(error), code=ErrorCode.CERT_NO_INVALID) from None
    return cert_no


class _ChainReader:
    """Reads what the checks need from the node, one certificate at a time."""

    def __init__(self, registry: Registry, from_block: int) -> None:
        self._registry = registry
        self._from_block = from_block
        self._decoder = EventDecoder(load_artifact(DEPLOYED_CONTRACT).abi)
        self._topics = {
            name: str(getattr(registry.contract.events, name).topic)
            for name in (*_CERTIFICATE_EVENTS, *_AUTHORITY_EVENTS)
        }

    def facts(self, cert_no: str) -> CertificateFacts | None:
        # The registry's own reading of the status, Expired included, at the chain's time.
        status = self._registry.certificate_status(cert_no)
        if status is CertificateStatus.NONE:
            return None
        number = cert_number(cert_no)
        events = {
            event.name: event for event in self._events(_CERTIFICATE_EVENTS, ["0x" + number.hex()])
        }
        issued = events.get("CertificateIssued")
        if issued is None:
            raise ConfigError(
                f"the chain has {cert_no}, but its CertificateIssued event is not in the blocks "
                f"read (from block {self._from_block}): give the registry's deployment block"
            )
        args = issued.args
        received = events.get("CertificateReceived")
        rejected = events.get("CertificateRejected")
        return CertificateFacts(
            cert_no=cert_no,
            exporting=issued.exporting or "",
            importing=issued.importing or "",
            origin=code_of(args["origin"]) or MIXED,
            status=status.name.lower(),
            issued_at=int(args["issuedAt"]),
            expires_at=int(args["expiresAt"]),
            received_at=(
                int(received.args["confirmation"]["receivedAt"]) if received is not None else None
            ),
            doc_hash=str(args["docHash"]),
            signer=str(args["signer"]),
            issued_block=issued.block_number,
            rejection_reason=(
                rejection_reason_label(int(rejected.args["reason"]))
                if rejected is not None
                else None
            ),
        )

    def authority_terms(self, address: str) -> list[AuthorityTerm]:
        """Every term of `address` as an authority, rebuilt from the registry's events."""
        account_topic = "0x" + bytes(12).hex() + address[2:].lower()
        open_terms: dict[str, int] = {}  # participant -> index of its open term
        terms: list[AuthorityTerm] = []
        for event in self._events(_AUTHORITY_EVENTS, [None, account_topic]):
            participant = event.participant or ""
            if event.name == "AuthorityAdded":
                open_terms[participant] = len(terms)
                terms.append(AuthorityTerm(participant, added_block=event.block_number))
            elif participant in open_terms:
                index = open_terms.pop(participant)
                terms[index] = AuthorityTerm(
                    participant,
                    added_block=terms[index].added_block,
                    revoked_block=event.block_number,
                    revoked_time=self._block_time(event.block_number),
                )
        return terms

    def _events(self, names: Sequence[str], topics: list[str | None]) -> list[Event]:
        """The registry's events named `names` whose topics after the first are `topics`
        (None: any), in chain order."""
        query = {
            "address": self._registry.address,
            "fromBlock": hex(self._from_block),
            "toBlock": "latest",
            "topics": [[self._topics[name] for name in names], *topics],
        }
        logs = self._request("eth_getLogs", [query])
        # Block times are read only where a message needs one (a revocation's date).
        decoded = (self._decoder.decode(log, block_time=0) for log in logs)
        events = [event for event in decoded if event is not None]
        return sorted(events, key=lambda event: (event.block_number, event.log_index))

    def _block_time(self, number: int) -> int:
        block = self._request("eth_getBlockByNumber", [hex(number), False])
        return int(block["timestamp"], 16)

    def _request(self, method: str, params: list[Any]) -> Any:
        provider = self._registry.w3.provider
        return rpc_result(
            method, call_node(lambda: provider.make_request(RPCEndpoint(method), params))
        )
