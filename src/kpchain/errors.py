"""The kpchain exception tree: one root, a branch per area.

Messages are built from typed arguments and say what to do next. The chain layer is the only
place that turns web3/RPC failures and reverts into these; the API layer is the only place that
turns these into HTTP responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple


class KpchainError(Exception):
    """Root of every error kpchain raises on purpose.

    `retryable` says whether the same request may succeed later without change: a node or a
    signer that is away, a transaction not mined yet. A write that meets a retryable error stays
    open (a retry or the reconciler finishes it); any other error is its final answer, stored and
    returned again to every retry with the same Idempotency-Key.
    """

    code: str = "kpchain_error"
    retryable: bool = False

    def __init__(self, message: str, *, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = dict(detail or {})


# --- configuration and toolchain ---------------------------------------------------------------


class ConfigError(KpchainError):
    """Settings are missing or contradict each other."""

    code = "config_error"


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

    code = "database_in_use"

    def __init__(self, *, database: str) -> None:
        super().__init__(
            f"another kpchain process (a service or an indexer) is using the database "
            f"{database}; one process owns a database: stop the other, or give this one a "
            "KPCHAIN_DATABASE_URL of its own",
            detail={"database": database},
        )


class ToolchainError(KpchainError):
    """solc or anvil cannot be found or run."""

    code = "toolchain_error"


class CompileError(ToolchainError):
    """solc reported errors for the contracts."""

    code = "compile_error"


# --- chain -------------------------------------------------------------------------------------


class ChainError(KpchainError):
    """Something went wrong talking to the chain."""

    code = "chain_error"


class ChainUnavailableError(ChainError):
    """The JSON-RPC endpoint cannot be reached or does not answer."""

    code = "chain_unavailable"
    retryable = True


class ChainIdMismatchError(ChainError):
    """The node serves another chain than the one configured."""

    code = "chain_id_mismatch"

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

    code = "transaction_failed"


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

    code = "nonce_too_low"
    retryable = True


class TransactionPendingError(ChainError):
    """A transaction was sent but is not mined yet; it may still be, so the write stays open."""

    code = "transaction_pending"
    retryable = True


# --- index -------------------------------------------------------------------------------------


class IndexerError(KpchainError):
    """The index cannot follow the chain or answer a query."""

    code = "indexer_error"


class CursorInvalidError(IndexerError):
    """A pagination cursor was not one this index handed out."""

    code = "cursor_invalid"


# --- deployment and signing --------------------------------------------------------------------


class DeploymentError(KpchainError):
    """Contracts could not be deployed, or a deployments file is missing or wrong."""

    code = "deployment_error"


class SigningError(KpchainError):
    """A signer could not be opened or refused to sign. Never carries key material.

    `detail["reason"]` says why: ``unavailable`` (not reached, timed out, HTTP 5xx),
    ``http_error`` (credentials refused), ``rpc_error`` (it refused, e.g. no longer holds the
    key), ``misbehaving`` (its answer failed the checks), ``invalid_request`` (kpchain asked for
    something no signer can sign). Only the last is final: the others are the signer's or its
    operator's to fix, and nothing was signed, so the same request may pass later.
    """

    code = "signing_error"

    def __init__(self, message: str, *, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retryable = self.detail.get("reason") != "invalid_request"


# --- certificates ------------------------------------------------------------------------------


class DocumentInvalidError(KpchainError, ValueError):
    """A certificate value does not fit the document's rules or units (a carat weight with three
    decimals, a date before 1970, an on-chain certificate no document can express, …).

    Also a ValueError, so code that converts values may treat it like any other bad value.
    """

    code = "document_invalid"


# --- the authority service --------------------------------------------------------------------


class ServiceError(KpchainError):
    """A request to the authority service cannot be served as asked.

    Subclasses say which kind of refusal it is (the API maps each kind to one HTTP status);
    `code` names the exact case (`certificate_not_found`, `idempotency_key_reused` …).
    """

    code = "service_error"

    def __init__(
        self, message: str, *, code: str | None = None, detail: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        if code is not None:
            self.code = code


class AuthenticationError(ServiceError):
    """No API key, or one the service does not know (or has revoked)."""

    code = "unauthenticated"


class PermissionDeniedError(ServiceError):
    """The API key is valid but its participant or role may not do this."""

    code = "forbidden"


class NotFoundError(ServiceError):
    """The certificate, participant or operation does not exist (here or on chain)."""

    code = "not_found"


class ConflictError(ServiceError):
    """The request clashes with the current state: a duplicate, a wrong status, a reused key."""

    code = "conflict"


class InvalidRequestError(ServiceError):
    """The request is well-formed JSON but breaks a rule of the certificate domain."""

    code = "invalid_request"


class PayloadTooLargeError(ServiceError):
    """The request's body is larger than the service accepts for its path."""

    code = "payload_too_large"


class TooManyRequestsError(ServiceError):
    """The caller holds as many of a limited resource (open event streams) as it may."""

    code = "too_many_requests"


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
    cls = globals().get(str(record.get("class")))
    if not (isinstance(cls, type) and issubclass(cls, KpchainError)):
        cls = KpchainError
    error = cls.__new__(cls)
    KpchainError.__init__(error, str(record["message"]), detail=detail)
    error.code = str(record["code"])
    return error


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
