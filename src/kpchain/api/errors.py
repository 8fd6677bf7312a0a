"""The one place that turns kpchain errors into HTTP responses.

Every error leaves the API as ``{"error": {"code", "message", "detail"}}`` with the status that
fits: 400 malformed JSON, 401/403 auth, 404 unknown, 409 wrong state or duplicate, 413 body too
large, 422 invalid document, 429 too many open streams, 502 the chain misbehaved, 503 the chain
(or signer) is unreachable or the write is not mined yet. A contract revert keeps its custom
error's name as the code (``CertificateStatusInvalid`` -> ``certificate_status_invalid``). Routes
catch nothing.

The server-rendered pages (`kpchain.web`: /verify, /dashboard) get the same statuses, as HTML
pages: the application installs the handlers with `kpchain.web.error_pages` as its `ErrorPages`,
which answers for the pages' paths; every other path keeps the JSON shape. (The pages build on
this package, so it knows them only by that protocol.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kpchain.audit.trail import note_error
from kpchain.chain.errors import Refusal, refusal_of
from kpchain.errors import (
    AuthenticationError,
    ChainError,
    ChainUnavailableError,
    ConflictError,
    ContractRevertError,
    CursorInvalidError,
    ErrorCode,
    InvalidRequestError,
    KpchainError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SigningError,
    TooManyRequestsError,
    TransactionPendingError,
)

logger = logging.getLogger(__name__)

DRAFTS_PATH = "/v1/drafts"
"""Where a certificate draft is posted: its body is a certificate document."""

# What a contract's custom error tells the caller (the chain layer classifies every one).
_REFUSAL_STATUS: dict[Refusal, int] = {
    Refusal.NOT_FOUND: 404,
    Refusal.FORBIDDEN: 403,
    Refusal.INVALID: 422,
    Refusal.CONFLICT: 409,
}

_KIND_STATUS: list[tuple[type[KpchainError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (InvalidRequestError, 422),
    (CursorInvalidError, 422),
    (TooManyRequestsError, 429),
    (TransactionPendingError, 503),
    (ChainUnavailableError, 503),
    (SigningError, 502),
    (ChainError, 502),
]


def status_of(error: KpchainError) -> int:
    """The HTTP status for `error`, whose code it notes as the request's on the audit trail
    (`kpchain.audit`): the pages answer a refusal on their form with this status too."""
    note_error(error.code)
    if isinstance(error, ContractRevertError):
        return _REFUSAL_STATUS[refusal_of(error)]
    for kind, status in _KIND_STATUS:
        if isinstance(error, kind):
            return status
    return 500  # configuration or programming errors: the operator's to fix, not the caller's


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The one error shape."""
    return {"error": {"code": code, "message": message, "detail": jsonable_encoder(detail or {})}}


class ErrorPages(Protocol):
    """The pages' errors as pages (`kpchain.web.error_pages` is one): which requests are for a
    page, and the page that answers an error of one."""

    def is_page(self, request: Request) -> bool:
        """Whether `request` is for a page, whose errors are answered by `error_page`."""
        ...

    def error_page(
        self,
        request: Request,
        *,
        status: int,
        message: str,
        code: str = "",
        detail: Mapping[str, Any] | None = None,
        problems: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The page answering an error of status `status` (the arguments as the JSON shape's)."""
        ...


def install(app: FastAPI, *, pages: ErrorPages | None = None) -> None:
    """Registers the handlers on `app`; with `pages`, the errors of its pages are pages."""
    app.state.error_pages = pages
    app.add_exception_handler(KpchainError, _kpchain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)


async def _kpchain_error(request: Request, error: KpchainError) -> Response:
    return error_response(request, error)


def error_response(request: Request, error: KpchainError) -> Response:
    """The response to `error`: the JSON error shape, or an error page for a page's path.
    Middleware that refuses a request before the app sees it (a body too large) answers with
    this too."""
    status = status_of(error)
    if status >= 500:
        path = request.url.path
        logger.warning("%s %s: %s (%s)", request.method, path, error.code, error.message)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status in (429, 503):
        headers["Retry-After"] = "2"
    message, detail = _public(error)
    pages = _error_pages(request)
    if pages is not None:
        return pages.error_page(
            request,
            status=status,
            message=message,
            code=error.code,
            detail=detail,
            headers=headers,
        )
    return JSONResponse(
        error_body(error.code, message, detail), status_code=status, headers=headers
    )


def _public(error: KpchainError) -> tuple[str, dict[str, Any]]:
    """What a caller is told of `error`. A signer's error names the signer's internal address
    (and what it answered): the log keeps that for the operator, the caller learns only why."""
    if isinstance(error, SigningError):
        reason = str(error.detail.get("reason", "unavailable"))
        return (
            f"the service's signer could not sign ({reason.replace('_', ' ')}); "
            + ("try again shortly" if error.retryable else "this request cannot be signed")
            + ", and tell the service's operator if it persists (the log has the details)",
            {"reason": reason},
        )
    return error.message, error.detail


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    problems = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"),
            "message": item.get("msg", ""),
            "type": item.get("type", ""),
        }
        for item in error.errors()
    ]
    pages = _error_pages(request)
    if pages is not None:
        note_error(ErrorCode.INVALID_REQUEST)
        return pages.error_page(
            request, status=422, message="what was entered is not valid", problems=problems
        )
    if any(problem["type"] == "json_invalid" for problem in problems):
        note_error(ErrorCode.MALFORMED_JSON)
        return JSONResponse(
            error_body(
                ErrorCode.MALFORMED_JSON, "the body is not valid JSON", {"errors": problems}
            ),
            status_code=400,
        )
    where = request.url.path
    code = (
        ErrorCode.INVALID_DOCUMENT
        if where.startswith("/v1/certificates")
        or (where == DRAFTS_PATH and request.method == "POST")  # a document's body
        else ErrorCode.INVALID_REQUEST
    )
    note_error(code)
    summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems[:5])
    return JSONResponse(
        error_body(code, summary or "the request is invalid", {"errors": problems}),
        status_code=422,
    )


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    codes = {
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
        400: ErrorCode.BAD_REQUEST,
    }
    note_error(codes.get(error.status_code, ErrorCode.HTTP_ERROR))
    pages = _error_pages(request)
    if pages is not None:
        return pages.error_page(
            request,
            status=error.status_code,
            message=str(error.detail),
            headers=getattr(error, "headers", None),
        )
    return JSONResponse(
        error_body(codes.get(error.status_code, ErrorCode.HTTP_ERROR), str(error.detail)),
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


async def _unexpected_error(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    pages = _error_pages(request)
    if pages is not None:
        return pages.error_page(request, status=500, message="")
    return JSONResponse(
        error_body(
            ErrorCode.INTERNAL_ERROR, "an unexpected error occurred; the operator has the log"
        ),
        status_code=500,
    )


def _error_pages(request: Request) -> ErrorPages | None:
    """The application's error pages when `request` is for one of its pages, else None."""
    pages: ErrorPages | None = request.app.state.error_pages
    return pages if pages is not None and pages.is_page(request) else None
