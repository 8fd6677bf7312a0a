"""The one place that turns what goes wrong talking to a node into kpchain errors.

- The node does not answer (one of `UNREACHABLE`): `ChainUnavailableError` (`unreachable`).
- The node answers with an error: `ChainError` for a request sent to the provider directly
  (`rpc_result`), `TransactionRefusedError` for one through web3 or a write (`refused`).
- A contract reverts: `ContractRevertError` named after its custom error (`decode_revert`), or
  `TransactionFailedError` for Error(string), a panic or no data.

`REVERTS` classifies every custom error of the contracts' ABIs by what it tells the caller (a
`Refusal`), which the API layer answers with an HTTP status; a test fails when an ABI gains an
error the table does not classify.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum, unique
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    Web3RPCError,
)

from kpchain.artifacts import artifact_names, load_artifact
from kpchain.errors import (
    ChainError,
    ChainUnavailableError,
    ContractRevertError,
    TransactionFailedError,
    TransactionRefusedError,
)

# --- the node: no answer, or an error answer ---------------------------------------------------

UNREACHABLE: tuple[type[Exception], ...] = (RequestException, OSError)
"""What a request to a node raises when the node does not answer: `requests`' errors (web3's own
HTTPProvider) and OSError (kpchain's transport raises ConnectionError; timeouts)."""


def unreachable(
    exc: BaseException,
    *,
    rpc_url: str | None = None,
    method: str | None = None,
    hint: str | None = None,
) -> ChainUnavailableError:
    """The error for a request to the node at `rpc_url` (redacted) that failed with `exc`, one
    of `UNREACHABLE`. Only the exception's type is shown: its text may quote the request."""
    if rpc_url is None:
        return ChainUnavailableError(f"the node does not answer: {type(exc).__name__}")
    asked = f" ({method})" if method else ""
    advice = f"; {hint}" if hint else ""
    return ChainUnavailableError(
        f"cannot reach the JSON-RPC node at {rpc_url}{asked}: {type(exc).__name__}{advice}",
        detail={"rpc_url": rpc_url},
    )


def rpc_result(method: str, response: Mapping[str, Any]) -> Any:
    """The result of the JSON-RPC `response` to `method`, sent to the provider directly (which
    returns error answers instead of raising them).

    Raises:
        ChainError: the node answered with an error.
    """
    error = response.get("error")
    if error:
        message = error.get("message", error) if isinstance(error, dict) else error
        raise ChainError(f"the node refused {method}: {message}", detail={"method": method})
    return response.get("result")


def refused(error: Any) -> TransactionRefusedError:
    """The error for the node's error answer `error` (a JSON-RPC error object, or its message)
    to a request it did not act on, and may take later."""
    message = error.get("message") if isinstance(error, dict) else error
    return TransactionRefusedError(f"the node refused the request: {message}")


def from_web3_error(exc: Exception) -> ChainError | None:
    """The kpchain error for a web3 exception, or None when it is not a chain error."""
    if isinstance(exc, ContractCustomError | ContractPanicError | ContractLogicError):
        data = exc.data
        raw = bytes(HexBytes(data)) if isinstance(data, str) and data.startswith("0x") else b""
        return decode_revert(raw)
    if isinstance(exc, Web3RPCError):
        return refused(str(exc.rpc_response["error"]["message"]) if exc.rpc_response else str(exc))
    return None


# --- reverts ------------------------------------------------------------------------------------

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return str(param["type"])


@cache
def _custom_errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (name, argument names, argument types), from every committed artifact."""
    errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in artifact_names():
        for item in load_artifact(name).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(param) for param in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            errors[selector] = (item["name"], [p["name"] for p in item["inputs"]], types)
    return errors


def decode_revert(data: bytes) -> ChainError:
    """The kpchain error for revert `data` (custom error, Error(string), Panic or empty)."""
    selector, payload = data[:4], data[4:]
    if selector in _custom_errors():
        name, arg_names, arg_types = _custom_errors()[selector]
        values = [
            # eth-abi decodes addresses in lower case; kpchain shows them checksummed.
            to_checksum_address(value) if abi_type == "address" else value
            for abi_type, value in zip(arg_types, abi_decode(arg_types, payload), strict=True)
        ]
        return ContractRevertError(name, dict(zip(arg_names, values, strict=True)))
    if selector == _ERROR_STRING:
        (reason,) = abi_decode(["string"], payload)
        return TransactionFailedError(f"reverted: {reason}", detail={"reason": reason})
    if selector == _PANIC:
        (code,) = abi_decode(["uint256"], payload)
        return TransactionFailedError(f"panicked with code {code:#x}", detail={"panic": code})
    if not data:
        return TransactionFailedError("reverted without a reason (out of gas, or no contract?)")
    return TransactionFailedError(
        f"reverted with unknown data 0x{data.hex()}", detail={"data": "0x" + data.hex()}
    )


@unique
class Refusal(StrEnum):
    """What a contract's custom error tells the caller (the API answers each with one status)."""

    NOT_FOUND = "not_found"  # what the request names does not exist
    FORBIDDEN = "forbidden"  # the sender may not do this
    INVALID = "invalid"  # the request breaks a rule whatever the chain's state
    CONFLICT = "conflict"  # the chain's state refuses it now: a duplicate, a wrong status


REVERTS: Mapping[str, Refusal] = {
    # --- CertificateRegistry and ParticipantRegistry (ICertificateRegistry.sol,
    # IParticipantRegistry.sol) ---
    "CertificateNotFound": Refusal.NOT_FOUND,
    "ParticipantNotFound": Refusal.NOT_FOUND,
    "ParticipantAdminUnauthorized": Refusal.FORBIDDEN,
    "UnauthorizedAuthority": Refusal.FORBIDDEN,
    "AccountZero": Refusal.INVALID,
    "BatchInvalid": Refusal.INVALID,
    "CertificateDatesInvalid": Refusal.INVALID,
    "CertificateIssueDateInFuture": Refusal.INVALID,
    "CertificateLineInvalid": Refusal.INVALID,
    "CertificateLinesEmpty": Refusal.INVALID,
    "CertificateNumberInvalid": Refusal.INVALID,
    "CertificateOriginInvalid": Refusal.INVALID,
    "CertificateValidityTooLong": Refusal.INVALID,
    "ConfirmationInvalid": Refusal.INVALID,
    "DocumentSignatureInvalid": Refusal.INVALID,
    "EncryptionKeyZero": Refusal.INVALID,
    "LineOriginInvalid": Refusal.INVALID,
    "LineOriginZoneNotAllowed": Refusal.INVALID,
    "MaxValidityInvalid": Refusal.INVALID,
    "OriginZoneNotAllowed": Refusal.INVALID,
    "OriginZoneZero": Refusal.INVALID,
    "ParticipantCodeInvalid": Refusal.INVALID,
    "ParticipantsIdentical": Refusal.INVALID,
    "ReceiptDateInFuture": Refusal.INVALID,
    "ServiceEndpointUrlEmpty": Refusal.INVALID,
    "ServiceEndpointUrlTooLong": Refusal.INVALID,
    "AuthorityAlreadyRegistered": Refusal.CONFLICT,
    "AuthorityNotRegistered": Refusal.CONFLICT,
    "CertificateAlreadyExists": Refusal.CONFLICT,
    "CertificateExpired": Refusal.CONFLICT,
    "CertificateStatusInvalid": Refusal.CONFLICT,
    "ImporterStillActive": Refusal.CONFLICT,
    "ParticipantAlreadyAdmitted": Refusal.CONFLICT,
    "ParticipantNotActive": Refusal.CONFLICT,
    "ParticipantStatusUnchanged": Refusal.CONFLICT,
    "ReplacementInvalid": Refusal.CONFLICT,
    # --- the governance: KPGovernor, KPSeats, ValidatorSet (IKPGovernor.sol, IKPSeats.sol,
    # IValidatorSet.sol) ---
    "ValidatorNotFound": Refusal.NOT_FOUND,
    "CallerNotGovernor": Refusal.FORBIDDEN,
    "RelayTargetForbidden": Refusal.FORBIDDEN,
    "VoterIsSubject": Refusal.FORBIDDEN,
    "VoterWithoutSeat": Refusal.FORBIDDEN,
    "EmergencyThresholdInvalid": Refusal.INVALID,
    "ProposalSubjectsMixed": Refusal.INVALID,
    "QuorumTooLow": Refusal.INVALID,
    "ValidatorZero": Refusal.INVALID,
    "VotingPeriodZero": Refusal.INVALID,
    "AdminOfAnotherParticipant": Refusal.CONFLICT,
    "EmergencySuspensionNotInEffect": Refusal.CONFLICT,
    "ValidatorAlreadyAdded": Refusal.CONFLICT,
    # --- OpenZeppelin's, inherited: access control, Governor, TimelockController ---
    "AccessControlUnauthorizedAccount": Refusal.FORBIDDEN,
    "OwnableUnauthorizedAccount": Refusal.FORBIDDEN,
    "GovernorNonexistentProposal": Refusal.NOT_FOUND,
    "GovernorInsufficientProposerVotes": Refusal.FORBIDDEN,
    "GovernorOnlyExecutor": Refusal.FORBIDDEN,
    "GovernorRestrictedProposer": Refusal.FORBIDDEN,
    "TimelockUnauthorizedCaller": Refusal.FORBIDDEN,
    "GovernorInvalidProposalLength": Refusal.INVALID,
    "GovernorInvalidVoteType": Refusal.INVALID,
    "GovernorAlreadyCastVote": Refusal.CONFLICT,
    "GovernorAlreadyQueuedProposal": Refusal.CONFLICT,
    "GovernorNotQueuedProposal": Refusal.CONFLICT,
    "GovernorUnableToCancel": Refusal.CONFLICT,
    "GovernorUnexpectedProposalState": Refusal.CONFLICT,
    "TimelockUnexecutedPredecessor": Refusal.CONFLICT,
    "TimelockUnexpectedOperationState": Refusal.CONFLICT,
    # --- OpenZeppelin's that kpchain's requests do not provoke (its own checks come first, or
    # it never calls what raises them): the state conflict any other refusal would be ---
    "AccessControlBadConfirmation": Refusal.CONFLICT,
    "AddressEmptyCode": Refusal.CONFLICT,
    "CheckpointUnorderedInsertion": Refusal.CONFLICT,
    "FailedCall": Refusal.CONFLICT,
    "GovernorDisabledDeposit": Refusal.CONFLICT,
    "GovernorInvalidSignature": Refusal.CONFLICT,
    "GovernorInvalidVoteParams": Refusal.CONFLICT,
    "GovernorInvalidVotingPeriod": Refusal.CONFLICT,
    "GovernorQueueNotImplemented": Refusal.CONFLICT,
    "InvalidAccountNonce": Refusal.CONFLICT,
    "InvalidShortString": Refusal.CONFLICT,
    "OwnableInvalidOwner": Refusal.CONFLICT,
    "SafeCastOverflowedUintDowncast": Refusal.CONFLICT,
    "StringTooLong": Refusal.CONFLICT,
    "TimelockInsufficientDelay": Refusal.CONFLICT,
    "TimelockInvalidOperationLength": Refusal.CONFLICT,
}
"""Every custom error of the contracts' ABIs (src/kpchain/artifacts), by Solidity name."""


def refusal_of(error: ContractRevertError) -> Refusal:
    """What the custom error of `error` tells the caller. A name no ABI has any more (an error
    stored by an older release) is a conflict: the contract refused a well-formed request."""
    return REVERTS.get(error.error_name, Refusal.CONFLICT)
