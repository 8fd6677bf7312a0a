"""Shapes the API answers with that belong to the API itself (the error body, a page of
certificates, health), and the error responses each route declares in the OpenAPI document.

Every error the service can answer is declared on the route that can answer it, with the one
error shape, so that a client generated from `/openapi.json` knows every status it may meet.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_CONFIG = ConfigDict(extra="forbid", frozen=True)


class ErrorObject(BaseModel):
    """What went wrong: a stable `code` to branch on, a `message` for people, and `detail`."""

    model_config = _CONFIG

    code: str = Field(
        description="snake_case: certificate_not_found, idempotency_key_reused, a custom error "
        "of the registry (certificate_status_invalid), …",
        examples=["certificate_not_found"],
    )
    message: str = Field(description="What happened and what to do next.")
    detail: dict[str, Any] = Field(
        description="The case's arguments (the certificate number, the contract error's "
        "arguments, `errors` of a request that failed validation, …)."
    )


class ErrorResponse(BaseModel):
    """The one error shape of every error response."""

    model_config = _CONFIG

    error: ErrorObject


_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON.",
    401: "No API key, or one that is unknown or revoked.",
    403: "The key's participant or role may not do this.",
    404: "No such certificate or participant (or the resource is not served here).",
    409: "The state does not allow it: a duplicate, a wrong status, a reused Idempotency-Key.",
    413: "The body is larger than this path accepts.",
    422: "The request breaks a rule: each field's problem is in `detail.errors`.",
    429: "The key holds as many event streams as it may; `Retry-After` says when to retry.",
    502: "The chain or the signer answered unexpectedly.",
    503: "The chain or the signer cannot be reached, or the write is not mined yet: retry "
    "with the same Idempotency-Key.",
}

READ = (401, 403, 404, 422)
"""What every authenticated read of a participant's data may answer."""
CHAIN = (502, 503)
"""What a request that may reach the chain (a write, or a read that catches the index up)
may answer besides."""
WRITE = (400, 401, 403, 404, 409, 413, 422, *CHAIN)
"""What every write may answer."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error statuses, in the one error shape."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in sorted(set(statuses))
    }


class Health(BaseModel):
    """The process is up."""

    model_config = _CONFIG

    status: Literal["ok"]


class ChainCheck(BaseModel):
    """Whether the node answers, and its latest block."""

    model_config = _CONFIG

    ok: bool
    block: int | None = None
    error: str | None = None
    message: str | None = None


class IndexCheck(BaseModel):
    """How far the index has got, and how far behind the chain it is (past the confirmation
    depth)."""

    model_config = _CONFIG

    ok: bool
    block: int | None
    lag: int | None


class ReadinessChecks(BaseModel):
    model_config = _CONFIG

    chain_id: int
    chain: ChainCheck
    index: IndexCheck


class Readiness(BaseModel):
    """Ready (200) when the node answers on the configured chain and the index has caught up;
    not ready (503) otherwise."""

    model_config = _CONFIG

    status: Literal["ready", "not_ready"]
    checks: ReadinessChecks
