"""The request bodies of the certificate operations: what each accepts, and each refusal at the
field that has to change."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from support_certificates import (
    RECEIVE,
    errors_of,
)

from kpchain.certificates.requests import (
    CancelRequest,
    ReceiveRequest,
    RejectRequest,
    ShipRequest,
    WithdrawRequest,
)


def test_ship_request_takes_optional_seal_ref() -> None:
    assert ShipRequest.model_validate({}).seal_ref is None
    assert ShipRequest.model_validate({"seal_ref": " SEAL-0042 "}).seal_ref == "SEAL-0042"
    assert errors_of(ShipRequest, {"seal_ref": ""}) == [(("seal_ref",), "string_too_short")]
    assert errors_of(ShipRequest, {"seal": "x"}) == [(("seal",), "extra_forbidden")]


def test_receive_request_reads_design_body() -> None:
    request = ReceiveRequest.model_validate_json(json.dumps(RECEIVE))

    assert (request.parcels, request.carats) == (3, Decimal("1234.56"))
    assert request.received_at == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("changes", "loc", "kind"),
    [
        ({"parcels": 0}, ("parcels",), "greater_than_equal"),
        ({"parcels": "3"}, ("parcels",), "int_type"),
        ({"carats": 1234.56}, ("carats",), "decimal_float"),
        ({"carats": "0"}, ("carats",), "decimal_positive"),
        ({"carats": "1.001"}, ("carats",), "decimal_places"),
        ({"received_at": "01/12/2026"}, ("received_at",), "date_format"),
        ({"received_at": ...}, ("received_at",), "missing"),
    ],
)
def test_receive_request_rejects_naming_field_when_invalid(
    changes: dict[str, Any], loc: tuple[Any, ...], kind: str
) -> None:
    body = {**RECEIVE, **changes}
    body = {key: value for key, value in body.items() if value is not ...}

    assert errors_of(ReceiveRequest, body) == [(loc, kind)]


def test_reject_request_rejects_naming_field_when_invalid() -> None:
    assert errors_of(RejectRequest, {"reason": "stolen"}) == [(("reason",), "literal_error")]
    assert errors_of(RejectRequest, {"reason": "other", "note": "N" * 1001}) == [
        (("note",), "string_too_long")
    ]
    note = RejectRequest.model_validate({"reason": "other", "note": "line 1\nline 2"}).note
    assert note == "line 1\nline 2"


def test_withdraw_request_rejects_naming_field_when_invalid() -> None:
    assert errors_of(WithdrawRequest, {}) == [(("reason",), "missing")]
    assert errors_of(WithdrawRequest, {"reason": "seal_broken"}) == [(("reason",), "literal_error")]
    assert errors_of(WithdrawRequest, {"reason": "lost", "note": "N" * 1001}) == [
        (("note",), "string_too_long")
    ]


def test_cancel_request_takes_optional_reason() -> None:
    assert CancelRequest.model_validate({}).reason is None
    assert CancelRequest.model_validate({"reason": "typo in licence"}).reason == "typo in licence"
    assert errors_of(CancelRequest, {"reason": 3}) == [(("reason",), "string_type")]
