"""Liveness, readiness and Prometheus metrics: public, no key."""

from __future__ import annotations

import contextlib
import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from kpchain.api.deps import RuntimeDep
from kpchain.api.schemas import Health, Readiness
from kpchain.chain.transactions import call_node
from kpchain.errors import AuthenticationError, ChainError, ErrorCode, NotFoundError

router = APIRouter(tags=["health"])

MAX_INDEX_LAG = 5
"""Blocks the index may trail the node (past the confirmation depth) and still be ready."""


@router.get("/healthz", response_model=Health)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the checks say why."}},
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready when the node answers on the configured chain and the index has caught up."""
    checks: dict[str, Any] = {"chain_id": runtime.settings.chain_id}
    ready = True
    try:
        head = int(call_node(lambda: runtime.w3.eth.block_number))
        checks["chain"] = {"ok": True, "block": head}
    except ChainError as exc:
        head = None
        ready = False
        checks["chain"] = {"ok": False, "error": exc.code, "message": exc.message}
    indexed = runtime.indexer.head
    lag = (
        None if head is None or indexed is None else head - runtime.settings.confirmations - indexed
    )
    index_ok = lag is not None and lag <= MAX_INDEX_LAG
    checks["index"] = {"ok": index_ok, "block": indexed, "lag": lag}
    ready = ready and index_ok
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus exposition, for the bearer of `KPCHAIN_METRICS_KEY`; not served without one."""
    _require_metrics_key(request, runtime.settings.metrics_key)
    collected = request.app.state.metrics
    if runtime.indexer.head is not None:
        collected.index_head.set(runtime.indexer.head)
    # On a chain error the gauge keeps its last value; /readyz reports the outage.
    with contextlib.suppress(ChainError):
        collected.chain_head.set(int(call_node(lambda: runtime.w3.eth.block_number)))
    response: Response = collected.render()
    return response


def _require_metrics_key(request: Request, key: SecretStr | None) -> None:
    if key is None:
        raise NotFoundError(
            "metrics are not served here; the operator enables them with KPCHAIN_METRICS_KEY",
            code=ErrorCode.NOT_FOUND,
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise AuthenticationError(
            "metrics need `Authorization: Bearer <KPCHAIN_METRICS_KEY>`",
            code=ErrorCode.API_KEY_INVALID,
        )
