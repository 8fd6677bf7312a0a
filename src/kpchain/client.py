"""A small HTTP client of the authority service, for `kpchain cert …`, the devnet's demo data
and the throughput benchmark.

Writes carry an Idempotency-Key (a fresh one per call unless given) and are retried with the
same key when the service or the chain is briefly unavailable, so a retry never acts twice.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from kpchain.errors import ErrorCode, ServiceError

RETRY_STATUSES = {502, 503, 504}


class ApiError(ServiceError):
    """The service answered with an error; `status` is the HTTP status, `code` its error code."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"{message} (HTTP {status})", detail=detail or {})
        self.code = code  # as the service answered: an ErrorCode's value, or a revert's code
        self.status = status


class KpchainClient:
    """The authority service at `api_url`, called with `api_key`.

    Args:
        api_url: e.g. ``http://127.0.0.1:8000``.
        api_key: a key from `kpchain keys create` (or devnet.json).
        timeout: seconds per request.
        retries: attempts for a write that meets 502/503/504 or a dropped connection.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None,
        *,
        timeout: float = 120.0,
        retries: int = 5,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http or httpx.Client(base_url=api_url, timeout=timeout)
        self._http.headers.update(headers)
        self._retries = retries

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KpchainClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- certificates ------------------------------------------------------------------------

    def issue(self, document: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
        return self._write("POST", "/v1/certificates", document, idempotency_key)

    def issue_batch(
        self, documents: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> Any:
        return self._write("POST", "/v1/certificates/batch", documents, idempotency_key)

    def ship(
        self, cert_no: str, seal_ref: str | None = None, *, idempotency_key: str | None = None
    ) -> Any:
        body = {"seal_ref": seal_ref} if seal_ref else {}
        return self._write("POST", f"/v1/certificates/{cert_no}/ship", body, idempotency_key)

    def receive(
        self,
        cert_no: str,
        *,
        parcels: int,
        carats: str,
        received_at: str,
        idempotency_key: str | None = None,
    ) -> Any:
        body = {"parcels": parcels, "carats": carats, "received_at": received_at}
        return self._write("POST", f"/v1/certificates/{cert_no}/receive", body, idempotency_key)

    def reject(
        self,
        cert_no: str,
        *,
        reason: str,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        body = {"reason": reason, "note": note}
        return self._write("POST", f"/v1/certificates/{cert_no}/reject", body, idempotency_key)

    def cancel(
        self, cert_no: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> Any:
        body = {"reason": reason}
        return self._write("POST", f"/v1/certificates/{cert_no}/cancel", body, idempotency_key)

    def withdraw(
        self,
        cert_no: str,
        *,
        reason: str,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        body = {"reason": reason, "note": note}
        return self._write("POST", f"/v1/certificates/{cert_no}/withdraw", body, idempotency_key)

    def certificate(self, cert_no: str) -> Any:
        return self._read(f"/v1/certificates/{cert_no}")

    def document(self, cert_no: str) -> Any:
        return self._read(f"/v1/certificates/{cert_no}/document")

    def certificates(self, **params: Any) -> Any:
        return self._read("/v1/certificates", params={k: v for k, v in params.items() if v})

    def participants(self) -> Any:
        return self._read("/v1/participants")

    # --- a participant's authority keys (its admin's key) ----------------------------------------

    def add_authority(self, code: str, account: str, *, idempotency_key: str | None = None) -> Any:
        """Makes `account` an authority of `code`; the participant's view once mined."""
        body = {"account": account}
        return self._write("POST", f"/v1/participants/{code}/authorities", body, idempotency_key)

    def revoke_authority(
        self, code: str, account: str, *, idempotency_key: str | None = None
    ) -> Any:
        """Revokes `account` as an authority of `code`; the participant's view once mined."""
        path = f"/v1/participants/{code}/authorities/{account}"
        return self._write("DELETE", path, None, idempotency_key)

    # --- the document exchange -----------------------------------------------------------------

    def delivery(self, cert_no: str) -> Any:
        return self._read(f"/v1/certificates/{cert_no}/delivery")

    def resend(self, cert_no: str) -> Any:
        return self._write("POST", f"/v1/certificates/{cert_no}/delivery/resend", None, None)

    def endpoint(self, code: str) -> Any:
        return self._read(f"/v1/participants/{code}/endpoint")

    def set_endpoint(
        self,
        code: str,
        *,
        url: str | None = None,
        rotate_key: bool = False,
        idempotency_key: str | None = None,
    ) -> Any:
        body = {"url": url, "rotate_key": rotate_key}
        return self._write("PUT", f"/v1/participants/{code}/endpoint", body, idempotency_key)

    # --- plumbing ----------------------------------------------------------------------------

    def _read(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self._answer(self._http.get(path, params=params))

    def _write(self, method: str, path: str, body: Any, idempotency_key: str | None) -> Any:
        key = idempotency_key or str(uuid.uuid4())
        delay = 0.5
        for attempt in range(self._retries):
            try:
                response = self._http.request(
                    method, path, json=body, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError:
                if attempt == self._retries - 1:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == self._retries - 1:
                    return self._answer(response)
            time.sleep(delay)  # same key: the service returns the first result, never acts twice
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if response.is_success:
            return response.json()
        try:
            error = response.json()["error"]
            raise ApiError(response.status_code, error["code"], error["message"], error["detail"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(
                response.status_code, ErrorCode.HTTP_ERROR, response.text[:200]
            ) from None
