"""The envelope a certificate's signed document travels in, from the exporter's service to the
importer's (as ePhyto's Hub carries a phytosanitary certificate in an envelope).

An envelope is JSON: a clear header (which certificate, from which participant to which, the
document's on-chain hash, the recipient key it is encrypted to, when it was sent), the document
encrypted with HPKE to that key (`kpchain.exchange.crypto`), and the sender's EIP-712 signature
over the header and the ciphertext's hash. The header is also the ciphertext's associated data,
and the HPKE context is bound to the chain and the registry, so nothing in an envelope can be
changed, or moved to another certificate, recipient, key or deployment, without the
signature or the decryption failing.

The signer is an authority (or the admin) of the sending participant, which the receiver checks
against the registry; the document inside carries its own signature, by an authority of the
exporter, which the registry checked at issue.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from kpchain.certificates.fields import Address, Hex32, ParticipantCode
from kpchain.chain.signer import Signer
from kpchain.contracts.encoding import cert_number, participant_code
from kpchain.exchange.crypto import KeyPair, seal
from kpchain.verification.checks import recover_signer
from kpchain.vocabulary import CERT_NO_MAX_LENGTH, CERT_NO_TEXT_PATTERN

VERSION = 1
INFO = b"kpchain document exchange v1"
DOMAIN_NAME = "KP Document Exchange"
DOMAIN_VERSION = "1"
MAX_CIPHERTEXT_CHARS = 200_000
"""Base64 characters of an envelope's ciphertext: a document at every field's maximum takes
about 26 KiB of JSON (2.6 MiB for the batch of 100), so this leaves room and no more."""

ENVELOPE_FIELDS = [
    {"name": "certNo", "type": "bytes32"},
    {"name": "sender", "type": "bytes2"},
    {"name": "recipient", "type": "bytes2"},
    {"name": "docHash", "type": "bytes32"},
    {"name": "recipientKey", "type": "bytes32"},
    {"name": "enc", "type": "bytes32"},
    {"name": "ciphertextHash", "type": "bytes32"},
    {"name": "sentAt", "type": "uint64"},
]
_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Envelope": ENVELOPE_FIELDS,
}

_CertNo = Annotated[
    str,
    Field(
        min_length=1,
        max_length=CERT_NO_MAX_LENGTH,
        pattern=CERT_NO_TEXT_PATTERN,
        examples=["BW-2026-000123"],
    ),
]
_Base64 = Annotated[
    str,
    Field(min_length=4, max_length=MAX_CIPHERTEXT_CHARS, pattern=r"^[A-Za-z0-9+/]+={0,2}$"),
]
_Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class Envelope(BaseModel):
    """`POST /v1/exchange/envelopes`: one certificate's signed document, encrypted to its
    importer's registered key and signed by the exporter's service.

    Attributes:
        version: the envelope format, 1.
        cert_no: the certificate the document is of.
        sender: the exporting participant, whose service sends it.
        recipient: the importing participant, whose service it is for.
        doc_hash: the document's EIP-712 hash, the certificate's docHash on chain.
        recipient_key: the recipient's X25519 public key it is encrypted to (registered on
            chain).
        enc: HPKE's encapsulated key (the sender's ephemeral X25519 public key).
        ciphertext: the document (the JSON of `GET /v1/certificates/{cert_no}/document`),
            sealed with AES-256-GCM, in base64.
        sent_at: when the sender signed it, Unix seconds.
        signer: the account that signed the envelope: an authority or the admin of `sender`.
        signature: its EIP-712 signature over the header and the ciphertext's keccak256.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    cert_no: _CertNo
    sender: ParticipantCode
    recipient: ParticipantCode
    doc_hash: Hex32
    recipient_key: Hex32
    enc: Hex32
    ciphertext: _Base64
    sent_at: int = Field(ge=0, le=2**40)
    signer: Address
    signature: _Signature


def typed_data(
    envelope: Envelope | dict[str, Any], *, chain_id: int, registry: str
) -> dict[str, Any]:
    """The EIP-712 typed data an envelope's signature is over (`envelope` may be the header
    before it is signed: every field but `signer` and `signature`)."""
    fields = envelope.model_dump() if isinstance(envelope, Envelope) else envelope
    message = {
        "certNo": cert_number(fields["cert_no"]),
        "sender": participant_code(fields["sender"]),
        "recipient": participant_code(fields["recipient"]),
        "docHash": _bytes(fields["doc_hash"]),
        "recipientKey": _bytes(fields["recipient_key"]),
        "enc": _bytes(fields["enc"]),
        "ciphertextHash": bytes(keccak(_ciphertext(fields["ciphertext"]))),
        "sentAt": int(fields["sent_at"]),
    }
    return {
        "types": _TYPES,
        "primaryType": "Envelope",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": registry,
        },
        "message": message,
    }


def seal_envelope(
    signed_document: dict[str, Any],
    *,
    sender: str,
    recipient: str,
    recipient_key: str,
    signer: Signer,
    chain_id: int,
    registry: str,
    sent_at: int,
) -> Envelope:
    """Encrypts `signed_document` (the JSON of GET /v1/certificates/{cert_no}/document) to
    `recipient_key` and signs the envelope with `signer`.

    Raises:
        ValueError: `recipient_key` is not a valid X25519 public key.
    """
    cert_no = str(signed_document["document"]["cert_no"])
    doc_hash = str(signed_document["doc_hash"])
    header = {
        "version": VERSION,
        "cert_no": cert_no,
        "sender": sender,
        "recipient": recipient,
        "doc_hash": doc_hash,
        "recipient_key": recipient_key,
    }
    plaintext = json.dumps(signed_document, sort_keys=True, separators=(",", ":")).encode()
    enc, ciphertext = seal(
        _bytes(recipient_key),
        plaintext,
        info=_info(chain_id, registry),
        aad=associated_data(cert_no, sender, recipient, doc_hash, recipient_key),
    )
    unsigned = {
        **header,
        "enc": "0x" + enc.hex(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "sent_at": sent_at,
    }
    signature = signer.sign_typed_data(typed_data(unsigned, chain_id=chain_id, registry=registry))
    return Envelope.model_validate(
        {**unsigned, "signer": signer.address, "signature": "0x" + bytes(signature).hex()}
    )


def recovered_signer(envelope: Envelope, *, chain_id: int, registry: str) -> str | None:
    """The account the envelope's signature recovers to, or None when it is not a valid key
    signature."""
    signable = encode_typed_data(
        full_message=typed_data(envelope, chain_id=chain_id, registry=registry)
    )
    digest = bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))
    try:
        return recover_signer(digest, _bytes(envelope.signature))
    except ValueError:
        return None


def open_envelope(
    envelope: Envelope, key_pair: KeyPair, *, chain_id: int, registry: str
) -> dict[str, Any]:
    """The signed document inside `envelope`, decrypted with the recipient's `key_pair`.

    Raises:
        kpchain.exchange.crypto.DecryptionError: it does not open.
        ValueError: it opens, but to something other than a JSON object.
    """
    plaintext = key_pair.open(
        _bytes(envelope.enc),
        _ciphertext(envelope.ciphertext),
        info=_info(chain_id, registry),
        aad=associated_data(
            envelope.cert_no,
            envelope.sender,
            envelope.recipient,
            envelope.doc_hash,
            envelope.recipient_key,
        ),
    )
    document = json.loads(plaintext)
    if not isinstance(document, dict):
        raise ValueError("the envelope holds no JSON object")
    return document


def associated_data(
    cert_no: str, sender: str, recipient: str, doc_hash: str, recipient_key: str
) -> bytes:
    """The header bytes AES-GCM authenticates with the ciphertext."""
    return (
        INFO
        + cert_number(cert_no)
        + participant_code(sender)
        + participant_code(recipient)
        + _bytes(doc_hash)
        + _bytes(recipient_key)
    )


def _info(chain_id: int, registry: str) -> bytes:
    """HPKE's `info`: binds every key it derives to the chain and the registry."""
    return INFO + chain_id.to_bytes(32, "big") + _bytes(registry)


def _bytes(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value.removeprefix("0x"))


def _ciphertext(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the ciphertext is not base64") from None
