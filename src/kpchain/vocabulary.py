"""kpchain's vocabulary: the names its interfaces give the contracts' enums, and the shapes of its
codes and certificate numbers, each defined once.

Every layer takes its words from here (this module imports nothing of kpchain): the document's
validation, the API's parameters and answers, the pages' forms, the CLI's choices, the printed
certificate, the index and the reports.

The names are `StrEnum`s whose values are what the API reads and writes ("seal_broken"): a member
is that string, so it compares, hashes, formats and serialises as the string. Each has the member
names of the contract enum it names (kpchain.contracts.enums: `RejectionReasonLabel.SEAL_BROKEN`
is `RejectionReason.SEAL_BROKEN`'s label), which tests/test_vocabulary.py holds equal.

The patterns are regular expressions as JSON Schema writes them (anchored), for pydantic and
FastAPI; in Python, match them with `re.fullmatch`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from pydantic_core import core_schema

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler

# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------


class Label(StrEnum):
    """A word of the API: the base of the names below.

    pydantic validates a `Label` as the `Literal` of its values and gives back the member: the
    answers to a wrong value (`literal_error`, "Input should be 'discrepancy', … or 'other'")
    and the inline `{"enum": […], "type": "string"}` of /openapi.json are those the API had when
    these were Literals. pydantic's own enum schema would add a component to /openapi.json for
    each and answer `enum` errors instead.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.literal_schema([member.value for member in cls])
        )


class CertificateStatusLabel(Label):
    """A certificate's status (CertificateStatus but NONE). EXPIRED is derived: an issued or
    shipped certificate past its expiry."""

    ISSUED = "issued"
    SHIPPED = "shipped"
    RECEIVED = "received"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OPEN_STATUSES: Final = (CertificateStatusLabel.ISSUED, CertificateStatusLabel.SHIPPED)
"""The statuses a certificate leaves by expiring: past its expiry it reads as expired."""


class StepName(Label):
    """A lifecycle step that a transaction records: each status but EXPIRED, which time brings.
    Withdrawing a shipment is its `cancelled` step."""

    ISSUED = "issued"
    SHIPPED = "shipped"
    RECEIVED = "received"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class RejectionReasonLabel(Label):
    """Why an importing authority rejected a shipment (RejectionReason)."""

    DISCREPANCY = "discrepancy"
    SEAL_BROKEN = "seal_broken"
    EXPIRED = "expired"
    SUSPECTED_FORGERY = "suspected_forgery"
    OTHER = "other"


class WithdrawalReasonLabel(Label):
    """Why an exporting authority withdrew a shipment in transit to a participant that is no
    longer Active (WithdrawalReason)."""

    RETURNED = "returned"
    SEIZED = "seized"
    LOST = "lost"
    OTHER = "other"


class ParticipantStatusLabel(Label):
    """A participant's standing in the KP (ParticipantStatus but NONE: `ParticipantStatus.label`
    of a participant)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class ProposalStateLabel(Label):
    """A governance proposal's state (OpenZeppelin's ProposalState; `ProposalState.label`).
    EXPIRED does not occur with a timelock."""

    PENDING = "pending"
    ACTIVE = "active"
    CANCELED = "canceled"
    DEFEATED = "defeated"
    SUCCEEDED = "succeeded"
    QUEUED = "queued"
    EXPIRED = "expired"
    EXECUTED = "executed"


class SupportLabel(Label):
    """How a seat votes (Support; `Support.label`): approve (For), object (Against: one defeats
    the proposal), abstain."""

    APPROVE = "approve"
    OBJECT = "object"
    ABSTAIN = "abstain"


class Role(Label):
    """An API key's role (DESIGN.md section 4): clerk and auditor read; officer signs and submits
    its participant's operations; admin is its participant's seat in governance and keeps its
    authority keys and exchange endpoint; governor belongs to no participant and only reads."""

    CLERK = "clerk"
    OFFICER = "officer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    GOVERNOR = "governor"


class Direction(Label):
    """Which of a participant's certificates: those it imports, or those it exports."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class HsCode(Label):
    """The HS codes of rough diamonds under the KPCS. On chain, the code's digits as a number
    ("7102.31" -> 710231, `kpchain.certificates.typed_data.HS_CODES`)."""

    UNSORTED = "7102.10"
    INDUSTRIAL = "7102.21"
    NON_INDUSTRIAL = "7102.31"


# ----------------------------------------------------------------------------------------------
# Codes
# ----------------------------------------------------------------------------------------------

_CODE = "[A-Z]{2}"

PARTICIPANT_CODE_PATTERN: Final = f"^{_CODE}$"
"""A KP participant's code: ISO 3166-1 alpha-2, two upper-case letters ("BW"; "EU" for the
European Union). On chain, its two ASCII bytes (bytes2)."""

MIXED: Final = "MIXED"
"""The origin of a parcel of mixed origin (KPCS Annex I: trading centres write "mixed"); on chain
the zero bytes2, and the certificate then names a provenance."""

ORIGIN_PATTERN: Final = f"^({_CODE}|{MIXED})$"
"""A country of origin: an ISO 3166-1 alpha-2 code, or MIXED."""

# ----------------------------------------------------------------------------------------------
# Certificate numbers
# ----------------------------------------------------------------------------------------------

CERT_NO_MAX_LENGTH: Final = 32
"""The most characters a certificate number has: it is stored as bytes32, one byte a character."""

CERT_NO_CHARACTER: Final = "[!-~]"
"""One character of a certificate number: printable ASCII without spaces, 0x21 to 0x7E."""

CERT_NO_PATTERN: Final = f"^{_CODE}-{CERT_NO_CHARACTER}+$"
"""A certificate number as a document has it (with at most CERT_NO_MAX_LENGTH characters): the
exporting participant's code, a hyphen, then printable ASCII without spaces ("BW-2026-000123").
The document also requires the code to be its exporter's."""

CHAIN_CERT_NO_PATTERN: Final = f"^{_CODE}{CERT_NO_CHARACTER}{{0,{CERT_NO_MAX_LENGTH - 2}}}$"
"""A certificate number as the contract admits it: a participant's code, then printable ASCII
without spaces, CERT_NO_MAX_LENGTH characters at most (no hyphen needed). What verification
asks of a number before it looks for it."""

CERT_NO_TEXT_PATTERN: Final = f"^{CERT_NO_CHARACTER}+$"
"""Printable ASCII without spaces, the characters every certificate number is made of (with at
most CERT_NO_MAX_LENGTH of them): what the API, the pages and the document exchange take as a
number to look up. One that is no certificate's is then not found, rather than invalid."""

# ----------------------------------------------------------------------------------------------
# Hashes and accounts
# ----------------------------------------------------------------------------------------------

HEX32_PATTERN: Final = "^0x[0-9a-fA-F]{64}$"
"""32 bytes as 0x-hex in either case: a document hash, a zone id, a salt."""

ADDRESS_PATTERN: Final = "^0x[0-9a-fA-F]{40}$"
"""An account address: 0x and 40 hexadecimal digits (the EIP-55 checksum checked apart)."""
