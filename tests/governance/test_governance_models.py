"""The governance API's request shapes: each action's fields, checked before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from kpchain.governance.models import (
    AdmitProposal,
    ProposalRequest,
    SuspendProposal,
    VoteRequest,
)

ADMIN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PROPOSAL: TypeAdapter[Any] = TypeAdapter(ProposalRequest)


def _errors(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        PROPOSAL.validate_json(json.dumps(data))
    return [(tuple(error["loc"]), error["type"]) for error in caught.value.errors()]


@pytest.mark.parametrize("given", [ADMIN, ADMIN.lower(), "0x" + ADMIN[2:].upper()])
def test_admit_checksums_the_admin_when_one_case_or_checksummed(given: str) -> None:
    request = PROPOSAL.validate_python(
        {"action": "admit", "participant": "UZ", "admin": given, "description": "Admit UZ"}
    )

    assert isinstance(request, AdmitProposal)
    assert request.admin == ADMIN


def test_suspend_is_not_an_emergency_unless_asked() -> None:
    plain = PROPOSAL.validate_python({"action": "suspend", "participant": "VE", "description": "x"})
    urgent = PROPOSAL.validate_python(
        {"action": "suspend", "participant": "VE", "emergency": True, "description": "x"}
    )

    assert isinstance(plain, SuspendProposal)
    assert (plain.emergency, urgent.emergency) == (False, True)


@pytest.mark.parametrize(
    ("changes", "loc", "kind"),
    [
        ({"admin": ADMIN.replace("F", "f", 1)}, ("admit", "admin"), "address_checksum"),
        ({"admin": ADMIN[:-1]}, ("admit", "admin"), "address_format"),
        ({"admin": "0x" + "0" * 40}, ("admit", "admin"), "address_zero"),
        ({"participant": "uz"}, ("admit", "participant"), "participant_code"),
        ({"description": ""}, ("admit", "description"), "string_too_short"),
        ({"description": "x" * 2001}, ("admit", "description"), "string_too_long"),
        ({"validity": 3}, ("admit", "validity"), "extra_forbidden"),
    ],
)
def test_admit_names_the_field_that_is_invalid(
    changes: dict[str, Any], loc: tuple[Any, ...], kind: str
) -> None:
    body = {"action": "admit", "participant": "UZ", "admin": ADMIN, "description": "x"}

    assert _errors({**body, **changes}) == [(loc, kind)]


def test_each_action_refuses_what_it_does_not_take() -> None:
    assert _errors({"action": "retire", "participant": "AE", "description": "x"}) == [
        ((), "union_tag_invalid")
    ]
    assert _errors({"action": "suspend", "participant": "AE", "emergency": 1, "description": "x"})[
        0
    ] == (("suspend", "emergency"), "bool_type")
    assert _errors({"action": "allow_zone", "participant": "CF", "description": "x"}) == [
        (("allow_zone", "zone"), "missing")
    ]
    assert _errors(
        {"action": "add_validator", "participant": "BW", "validator": ADMIN, "description": "x"}
    ) == [(("add_validator", "participant"), "extra_forbidden")]


def test_vote_is_approve_object_or_abstain() -> None:
    for support in ("approve", "object", "abstain"):
        assert VoteRequest.model_validate({"support": support}).support == support
    with pytest.raises(ValidationError):
        VoteRequest.model_validate({"support": "veto"})
