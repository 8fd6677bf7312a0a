"""Checks the API tests share: the one error shape, on-chain facts behind a view, the event
stream's wire format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from httpx import Response

from helpers.polling import wait_until
from kpchain.contracts.encoding import cert_number
from kpchain.contracts.enums import CertificateStatus
from kpchain.devnet.seed import participant_account
from support_api import Service


def authority(code: str) -> str:
    """The checksummed address of participant `code`'s devnet authority (the service's signer)."""
    return str(participant_account(code, "authority").address)


def todays_receipt(**fields: Any) -> dict[str, Any]:
    """A confirmation of receipt dated today (UTC), as an importer sends it once the shipment has
    arrived: the service refuses one dated before the shipping day or after today."""
    today = datetime.now(UTC).date().isoformat()
    return {"parcels": 3, "carats": "1234.56", "received_at": today, **fields}


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    """Asserts the one error shape, `status` and `code`; returns the error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "detail"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert isinstance(error["detail"], dict), error
    return error


def assert_error_shape(response: Response) -> dict[str, Any]:
    """Asserts a 4xx answer in the one error shape, whatever its code."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    error = assert_error(response, response.status_code, response.json()["error"]["code"])
    return error


def error_fields(error: dict[str, Any]) -> set[str]:
    """The field paths a validation error names (`detail.errors[].field`)."""
    return {str(item["field"]) for item in error["detail"]["errors"]}


def nonce(service: Service, code: str) -> int:
    """How many transactions participant `code`'s authority has had mined."""
    return int(service.chain.w3.eth.get_transaction_count(authority(code)))  # type: ignore[arg-type]


def assert_step(service: Service, step: dict[str, Any], *, sender: str) -> dict[str, Any]:
    """Asserts that a view's step names a successful registry transaction of `sender`, in the
    block and at the time it says; returns the transaction."""
    w3 = service.chain.w3
    receipt = w3.eth.get_transaction_receipt(step["tx_hash"])
    assert receipt["status"] == 1
    assert receipt["blockNumber"] == step["block_number"]
    assert receipt["from"] == sender
    assert receipt["to"] == service.chain.address
    assert step["authority"] == sender
    block = w3.eth.get_block(step["block_number"])
    at = datetime.fromtimestamp(block["timestamp"], UTC).isoformat().replace("+00:00", "Z")
    assert step["at"] == at
    return dict(w3.eth.get_transaction(step["tx_hash"]))


def chain_status(service: Service, cert_no: str) -> CertificateStatus:
    """The certificate's status as the registry reads it now (Expired included)."""
    call = service.chain.contract.functions.certificateStatus(cert_number(cert_no))
    return CertificateStatus(call.call())


def events(response: Response) -> list[dict[str, Any]]:
    """The events of a finished `text/event-stream` response: `{"id", "event", "data"}` each."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    parsed = []
    for block in response.text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "event" in fields:
            parsed.append(
                {
                    "id": int(fields["id"]),
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return parsed


def caught_up(service: Service) -> dict[str, Any]:
    """Waits until the service's index has every block of the chain (it starts behind, and
    follows the chain in the background); returns the readiness answer."""

    def probe() -> dict[str, Any] | None:
        response = service.client.get("/readyz")
        body: dict[str, Any] = response.json()
        return body if body["checks"]["index"]["lag"] == 0 else None

    return wait_until(probe, timeout=20, what="the index to catch up with the chain")
