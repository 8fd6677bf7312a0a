"""The kpchain exception tree: one root, a branch per area, and `ErrorCode`, the codes they
answer with.

Messages are built from typed arguments and say what to do next. The chain layer
(`kpchain.chain.errors`) is the only place that turns web3/RPC failures and reverts into these;
the API layer (`kpchain.api.errors`) is the only place that turns these into HTTP responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum, unique
from pathlib import Path
from typing import Any, NamedTuple


@unique
class ErrorCode(StrEnum):
    """Every error code kpchain answers with or names: the `code` of the one error shape.

    A member is its wire value (a `str`), so a typo in a name is a type error and the JSON stays
    as it was. A contract revert's code is its custom error's name in snake_case
    (`ContractRevertError`); the ones kpchain also raises itself, before the chain would refuse
    (or names, to explain them), are members too and marked "contract": their values must stay
    the contract's.
    """

    # --- the kinds: each exception class's own code ---
    KPCHAIN_ERROR = "kpchain_error"
    CONFIG_ERROR = "config_error"
    DATABASE_IN_USE = "database_in_use"
    TOOLCHAIN_ERROR = "toolchain_error"
    COMPILE_ERROR = "compile_error"
    CHAIN_ERROR = "chain_error"
    CHAIN_UNAVAILABLE = "chain_unavailable"
    CHAIN_ID_MISMATCH = "chain_id_mismatch"
    TRANSACTION_FAILED = "transaction_failed"
    NONCE_TOO_LOW = "nonce_too_low"
    TRANSACTION_PENDING = "transaction_pending"
    INDEXER_ERROR = "indexer_error"
    CURSOR_INVALID = "cursor_invalid"
    DEPLOYMENT_ERROR = "deployment_error"
    SIGNING_ERROR = "signing_error"
    DOCUMENT_INVALID = "document_invalid"
    SERVICE_ERROR = "service_error"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID_REQUEST = "invalid_request"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_REQUESTS = "too_many_requests"

    # --- the API's own answers (no kpchain error behind them) ---
    BAD_REQUEST = "bad_request"
    HTTP_ERROR = "http_error"
    INTERNAL_ERROR = "internal_error"
    INVALID_DOCUMENT = "invalid_document"
    MALFORMED_JSON = "malformed_json"
    METHOD_NOT_ALLOWED = "method_not_allowed"

    # --- API keys, roles, dashboard sessions, streams ---
    API_KEY_INVALID = "api_key_invalid"
    API_KEY_MISSING = "api_key_missing"
    CSRF_INVALID = "csrf_invalid"
    GOVERNANCE_NOT_DEPLOYED = "governance_not_deployed"
    PARTICIPANT_KEY_REQUIRED = "participant_key_required"
    PARTICIPANT_MISMATCH = "participant_mismatch"
    PARTICIPANT_NOT_ALLOWED = "participant_not_allowed"
    PARTICIPANT_NOT_HOSTED = "participant_not_hosted"
    PARTICIPANT_REQUIRED = "participant_required"
    ROLE_INSUFFICIENT = "role_insufficient"
    ROLE_INVALID = "role_invalid"
    SESSION_EXPIRED = "session_expired"
    SESSION_MISSING = "session_missing"
    TOO_MANY_STREAMS = "too_many_streams"

    # --- writes: idempotency, batches ---
    BATCH_DUPLICATE = "batch_duplicate"
    BATCH_EMPTY = "batch_empty"
    BATCH_TOO_LARGE = "batch_too_large"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    OPERATION_IN_PROGRESS = "operation_in_progress"

    # --- certificates, participants, authorities ---
    AUTHORITY_ALREADY_REGISTERED = "authority_already_registered"  # contract
    AUTHORITY_NOT_REGISTERED = "authority_not_registered"  # contract
    CERTIFICATE_ALREADY_EXISTS = "certificate_already_exists"  # contract
    CERTIFICATE_EXPIRED = "certificate_expired"  # contract
    CERTIFICATE_NOT_FOUND = "certificate_not_found"  # contract
    CERTIFICATE_STATUS_INVALID = "certificate_status_invalid"  # contract
    CERTIFICATE_VALIDITY_TOO_LONG = "certificate_validity_too_long"  # contract
    CONFIRMATION_INVALID = "confirmation_invalid"  # contract
    DOCUMENT_NOT_HELD = "document_not_held"
    PARTICIPANT_NOT_ACTIVE = "participant_not_active"  # contract
    PARTICIPANT_NOT_FOUND = "participant_not_found"  # contract
    RECEIPT_DATE_BEFORE_SHIPPING = "receipt_date_before_shipping"
    RECEIPT_DATE_IN_FUTURE = "receipt_date_in_future"  # contract

    # --- drafts (maker-checker) ---
    DRAFT_ALREADY_EXISTS = "draft_already_exists"
    DRAFT_NOT_FOUND = "draft_not_found"
    DRAFT_STATUS_INVALID = "draft_status_invalid"
    DRAFT_VERSION_MISMATCH = "draft_version_mismatch"
    FOUR_EYES_REQUIRED = "four_eyes_required"

    # --- governance ---
    ADMIN_OF_ANOTHER_PARTICIPANT = "admin_of_another_participant"  # contract
    GOVERNOR_ALREADY_CAST_VOTE = "governor_already_cast_vote"  # contract
    ORIGIN_RESTRICTION_UNCHANGED = "origin_restriction_unchanged"
    ORIGIN_ZONE_UNCHANGED = "origin_zone_unchanged"
    PARTICIPANT_ADMIN_UNCHANGED = "participant_admin_unchanged"
    PARTICIPANT_ALREADY_ADMITTED = "participant_already_admitted"  # contract
    PARTICIPANT_STATUS_UNCHANGED = "participant_status_unchanged"  # contract
    PROPOSAL_ALREADY_EXECUTED = "proposal_already_executed"
    PROPOSAL_ALREADY_EXISTS = "proposal_already_exists"
    PROPOSAL_NOT_ACTIVE = "proposal_not_active"
    PROPOSAL_NOT_EXECUTABLE = "proposal_not_executable"
    PROPOSAL_NOT_FOUND = "proposal_not_found"
    PROPOSAL_NOT_READY = "proposal_not_ready"
    VALIDATOR_ALREADY_ADDED = "validator_already_added"  # contract
    VALIDATOR_NOT_FOUND = "validator_not_found"  # contract

    # --- the document exchange: envelopes in, deliveries out ---
    DOCUMENT_CONFLICT = "document_conflict"
    DOCUMENT_HASH_MISMATCH = "document_hash_mismatch"
    DOCUMENT_SIGNER_INVALID = "document_signer_invalid"
    ENCRYPTION_KEY_INVALID = "encryption_key_invalid"
    ENCRYPTION_KEY_UNKNOWN = "encryption_key_unknown"
    ENDPOINT_INSECURE = "endpoint_insecure"
    ENDPOINT_MISSING = "endpoint_missing"
    ENDPOINT_UNREACHABLE = "endpoint_unreachable"
    ENDPOINT_URL_INVALID = "endpoint_url_invalid"
    ENVELOPE_EXPIRED = "envelope_expired"
    ENVELOPE_FROM_FUTURE = "envelope_from_future"
    ENVELOPE_SIGNATURE_INVALID = "envelope_signature_invalid"
    ENVELOPE_UNDECRYPTABLE = "envelope_undecryptable"
    EXCHANGE_PARTIES_MISMATCH = "exchange_parties_mismatch"
    EXCHANGE_PASSPHRASE_MISSING = "exchange_passphrase_missing"
    EXCHANGE_SENDER_UNKNOWN = "exchange_sender_unknown"
    RECIPIENT_NOT_HOSTED = "recipient_not_hosted"

    # --- verification ---
    CERT_NO_INVALID = "cert_no_invalid"
    DOC_HASH_INVALID = "doc_hash_invalid"
    DOCUMENT_FILE_INVALID = "document_file_invalid"
    PRESENTED_TWICE = "presented_twice"
    SIGNATURE_INVALID = "signature_invalid"

    # --- the audit trail ---
    AUDIT_RANGE_INVALID = "audit_range_invalid"
    AUDIT_UNAVAILABLE = "audit_unavailable"

    # --- reports ---
    OUTLIER_FACTOR_INVALID = "outlier_factor_invalid"
    OVERDUE_DAYS_INVALID = "overdue_days_invalid"
    PARTICIPANT_INVALID = "participant_invalid"
    PERIOD_INVALID = "period_invalid"
    YEAR_INVALID = "year_invalid"


@unique
class SigningReason(StrEnum):
    """Why a signer refused or failed (`SigningError.detail["reason"]`); only
    `INVALID_REQUEST` is final."""

    UNAVAILABLE = "unavailable"  # not reached, timed out, HTTP 5xx
    HTTP_ERROR = "http_error"  # credentials refused
    RPC_ERROR = "rpc_error"  # it refused, e.g. no longer holds the key
    NOT_HELD = "not_held"  # it does not hold the key asked for
    MISBEHAVING = "misbehaving"  # its answer failed the checks
    INVALID_REQUEST = "invalid_request"  # kpchain asked for something no signer can sign


class KpchainError(Exception):
    """Root of every error kpchain raises on purpose.

    `retryable` says whether the same request may succeed later without change: a node or a
    signer that is away, a transaction not mined yet. A write that meets a retryable error stays
    open (a retry or the reconciler finishes it); any other error is its final answer, stored and
    returned again to every retry with the same Idempotency-Key.
    """

    code: str = ErrorCode.KPCHAIN_ERROR
    retryable: bool = False

    def __init__(self, message: str, *, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = dict(detail or {})


# --- configuration and toolchain ---------------------------------------------------------------


class ConfigError(KpchainError):
    """Settings are missing or contradict each other."""

    code = ErrorCode.CONFIG_ERROR


class ConfigProblem(NamedTuple):
    """One problem of a configuration file: where it is (the setting's dotted path, "(top)" for
    the whole file), its line (1-based) when known, and what is wrong."""

    where: str
    line: int | None
    message: str


class ConfigFileError(ConfigError):
    """A configuration file (the signers, founders or webhooks file, a member's public parts)
    cannot be read, does not parse, or breaks its documented shape; `kpchain.configfile` raises
    it, through `unreadable` or `invalid`.

    The message names the file and each problem with its line when known. `detail` holds the
    file under ``<what>_file`` ("signers_file") and the first problem's ``line``.
    """

    def __init__(
        self,
        message: str,
        *,
        what: str,
        path: Path | str,
        line: int | None = None,
        problems: Sequence[ConfigProblem] = (),
    ) -> None:
        detail: dict[str, Any] = {what.replace(" ", "_"): str(path)}
        if line is not None:
            detail["line"] = line
        super().__init__(message, detail=detail)
        self.what = what
        self.path = Path(path)
        self.line = line
        self.problems = list(problems)

    @classmethod
    def unreadable(
        cls,
        what: str,
        path: Path | str,
        reason: str,
        *,
        line: int | None = None,
        hint: str | None = None,
    ) -> ConfigFileError:
        """The file cannot be read or parsed: "cannot read signers file <path>: <reason>"."""
        message = f"cannot read {what} {path}: {reason}" + (f"; {hint}" if hint else "")
        return cls(message, what=what, path=path, line=line)

    @classmethod
    def invalid(
        cls,
        what: str,
        path: Path | str,
        problems: Sequence[ConfigProblem],
        *,
        headline: str = "is malformed",
    ) -> ConfigFileError:
        """The file parses, but some settings break its shape: "signers file <path> is
        malformed: participants.BW.address: <problem> (line 3); …"."""
        rendered = "; ".join(
            f"{problem.where}: {problem.message}"
            + (f" (line {problem.line})" if problem.line is not None else "")
            for problem in problems
        )
        lines = [problem.line for problem in problems if problem.line is not None]
        return cls(
            f"{what} {path} {headline}: {rendered}",
            what=what,
            path=path,
            line=lines[0] if lines else None,
            problems=problems,
        )


class DatabaseInUseError(ConfigError):
    """Another kpchain process owns the database this one was given."""

    code = ErrorCode.DATABASE_IN_USE

    def __init__(self, *, database: str) -> None:
        super().__init__(
            f"another kpchain process (a service or an indexer) is using the database "
            f"{database}; one process owns a database: stop the other, or give this one a "
            "KPCHAIN_DATABASE_URL of its own",
            detail={"database": database},
        )


class ToolchainError(KpchainError):
    """solc or anvil cannot be found or run."""

    code = ErrorCode.TOOLCHAIN_ERROR


class CompileError(ToolchainError):
    """solc reported errors for the contracts."""

    code = ErrorCode.COMPILE_ERROR


# --- chain -------------------------------------------------------------------------------------


class ChainError(KpchainError):
    """Something went wrong talking to the chain."""

    code: str = ErrorCode.CHAIN_ERROR  # a revert's is its custom error's name (snake_case)


class ChainUnavailableError(ChainError):
    """The JSON-RPC endpoint cannot be reached or does not answer."""

    code = ErrorCode.CHAIN_UNAVAILABLE
    retryable = True


class ChainIdMismatchError(ChainError):
    """The node serves another chain than the one configured."""

    code = ErrorCode.CHAIN_ID_MISMATCH

    def __init__(self, *, expected: int, actual: int, rpc_url: str) -> None:
        super().__init__(
            f"{rpc_url} serves chain id {actual}, but chain id {expected} is configured; "
            "point KPCHAIN_RPC_URL at the right network or fix KPCHAIN_CHAIN_ID",
            detail={"expected": expected, "actual": actual},
        )
        self.expected = expected
        self.actual = actual


class TransactionFailedError(ChainError):
    """A transaction was mined but failed without a decodable reason, or was never mined."""

    code = ErrorCode.TRANSACTION_FAILED


class TransactionRefusedError(TransactionFailedError):
    """The node answered a request with an error of its own (a full pool, an internal error, a
    rule of its configuration): nothing was mined, and the same request may pass later."""

    retryable = True


class ContractRevertError(ChainError):
    """A contract reverted with a custom error; `code` is its snake_case name.

    `error_name` is the Solidity name (`CertificateNotFound`) and `args` its arguments by name.
    """

    def __init__(self, error_name: str, args: Mapping[str, Any]) -> None:
        rendered = {key: _render(value) for key, value in args.items()}
        arguments = ", ".join(f"{key}={value}" for key, value in rendered.items())
        super().__init__(f"{error_name}({arguments})", detail={"error": error_name, **rendered})
        self.error_name = error_name
        self.args_by_name: dict[str, Any] = dict(args)
        self.code = _snake_case(error_name)


class NonceTooLowError(TransactionFailedError):
    """The node has already seen a transaction of this account with this nonce."""

    code = ErrorCode.NONCE_TOO_LOW
    retryable = True


class TransactionPendingError(ChainError):
    """A transaction was sent but is not mined yet; it may still be, so the write stays open."""

    code = ErrorCode.TRANSACTION_PENDING
    retryable = True


# --- index -------------------------------------------------------------------------------------


class IndexerError(KpchainError):
    """The index cannot follow the chain or answer a query."""

    code = ErrorCode.INDEXER_ERROR


class CursorInvalidError(IndexerError):
    """A pagination cursor was not one this index handed out."""

    code = ErrorCode.CURSOR_INVALID


# --- deployment and signing --------------------------------------------------------------------


class DeploymentError(KpchainError):
    """Contracts could not be deployed, or a deployments file is missing or wrong."""

    code = ErrorCode.DEPLOYMENT_ERROR


class SigningError(KpchainError):
    """A signer could not be opened or refused to sign. Never carries key material.

    `detail["reason"]` says why (a `SigningReason`). Only ``invalid_request`` is final: the
    others are the signer's or its operator's to fix, and nothing was signed, so the same request
    may pass later.
    """

    code = ErrorCode.SIGNING_ERROR

    def __init__(self, message: str, *, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retryable = self.detail.get("reason") != SigningReason.INVALID_REQUEST


# --- certificates ------------------------------------------------------------------------------


class DocumentInvalidError(KpchainError, ValueError):
    """A certificate value does not fit the document's rules or units (a carat weight with three
    decimals, a date before 1970, an on-chain certificate no document can express, …).

    Also a ValueError, so code that converts values may treat it like any other bad value.
    """

    code = ErrorCode.DOCUMENT_INVALID


# --- the authority service --------------------------------------------------------------------


class ServiceError(KpchainError):
    """A request to the authority service cannot be served as asked.

    Subclasses say which kind of refusal it is (the API maps each kind to one HTTP status);
    `code` names the exact case (`certificate_not_found`, `idempotency_key_reused` …).
    """

    code: str = ErrorCode.SERVICE_ERROR  # the client's ApiError keeps the one it was sent

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        if code is not None:
            self.code = code


class AuthenticationError(ServiceError):
    """No API key, or one the service does not know (or has revoked)."""

    code = ErrorCode.UNAUTHENTICATED


class PermissionDeniedError(ServiceError):
    """The API key is valid but its participant or role may not do this."""

    code = ErrorCode.FORBIDDEN


class NotFoundError(ServiceError):
    """The certificate, participant or operation does not exist (here or on chain)."""

    code = ErrorCode.NOT_FOUND


class ConflictError(ServiceError):
    """The request clashes with the current state: a duplicate, a wrong status, a reused key."""

    code = ErrorCode.CONFLICT


class InvalidRequestError(ServiceError):
    """The request is well-formed JSON but breaks a rule of the certificate domain."""

    code = ErrorCode.INVALID_REQUEST


class PayloadTooLargeError(ServiceError):
    """The request's body is larger than the service accepts for its path."""

    code = ErrorCode.PAYLOAD_TOO_LARGE


class TooManyRequestsError(ServiceError):
    """The caller holds as many of a limited resource (open event streams) as it may."""

    code = ErrorCode.TOO_MANY_REQUESTS


# --- stored errors -----------------------------------------------------------------------------


def error_record(error: KpchainError) -> dict[str, Any]:
    """A JSON form of `error` from which `restore_error` rebuilds an equal one: a failed write
    keeps it, and a retry with the same Idempotency-Key raises it again."""
    record: dict[str, Any] = {
        "class": type(error).__name__,
        "code": error.code,
        "message": error.message,
        "detail": error.detail,
    }
    if isinstance(error, ContractRevertError):
        record["error_name"] = error.error_name
    return record


def restore_error(record: Mapping[str, Any]) -> KpchainError:
    """The error `error_record` stored."""
    detail = dict(record.get("detail") or {})
    if record.get("class") == ContractRevertError.__name__:
        detail.pop("error", None)
        return ContractRevertError(str(record["error_name"]), detail)
    cls = _RESTORABLE.get(str(record.get("class")), KpchainError)
    error = cls.__new__(cls)
    KpchainError.__init__(error, str(record["message"]), detail=detail)
    error.code = str(record["code"])
    return error


_RESTORABLE: dict[str, type[KpchainError]] = {
    cls.__name__: cls
    for cls in (
        KpchainError,
        ConfigError,
        ConfigFileError,
        DatabaseInUseError,
        ToolchainError,
        CompileError,
        ChainError,
        ChainUnavailableError,
        ChainIdMismatchError,
        TransactionFailedError,
        TransactionRefusedError,
        NonceTooLowError,
        TransactionPendingError,
        IndexerError,
        CursorInvalidError,
        DeploymentError,
        SigningError,
        DocumentInvalidError,
        ServiceError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        InvalidRequestError,
        PayloadTooLargeError,
        TooManyRequestsError,
    )
}
"""The classes `restore_error` rebuilds, by the name `error_record` stores: every class of this
module (ContractRevertError is rebuilt from its error's name). Stored records outlive a release:
a class renamed here keeps its old name as a key too. A name it does not know comes back as a
KpchainError with the stored code, message and detail."""


def _snake_case(name: str) -> str:
    out = [name[0].lower()]
    for char in name[1:]:
        out.append(f"_{char.lower()}" if char.isupper() else char)
    return "".join(out)


def _render(value: Any) -> Any:
    """A JSON-friendly form of a decoded ABI value: bytes as 0x-hex, tuples as lists."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_render(item) for item in value]
    return value
