"""kpchain.vocabulary: each name lists the members of the contract enum it names, validates as the
Literal the API always had, and each pattern takes what its shape allows and nothing else."""

from __future__ import annotations

import re
from enum import IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from kpchain.certificates.document import CertificateDocument
from kpchain.contracts.enums import (
    CertificateStatus,
    ParticipantStatus,
    RejectionReason,
    Support,
    WithdrawalReason,
)
from kpchain.contracts.governance import ProposalState
from kpchain.vocabulary import (
    ADDRESS_PATTERN,
    CERT_NO_MAX_LENGTH,
    CERT_NO_PATTERN,
    CERT_NO_TEXT_PATTERN,
    CHAIN_CERT_NO_PATTERN,
    HEX32_PATTERN,
    OPEN_STATUSES,
    ORIGIN_PATTERN,
    PARTICIPANT_CODE_PATTERN,
    CertificateStatusLabel,
    Label,
    ParticipantStatusLabel,
    ProposalStateLabel,
    RejectionReasonLabel,
    StepName,
    SupportLabel,
    WithdrawalReasonLabel,
)

# Each name -> the contract enum whose members it names (NONE is no status: it has no label).
MIRRORS: dict[type[Label], type[IntEnum]] = {
    CertificateStatusLabel: CertificateStatus,
    RejectionReasonLabel: RejectionReason,
    WithdrawalReasonLabel: WithdrawalReason,
    ParticipantStatusLabel: ParticipantStatus,
    ProposalStateLabel: ProposalState,
    SupportLabel: Support,
}


@pytest.mark.parametrize("label", MIRRORS, ids=lambda label: label.__name__)
def test_label_names_the_members_of_its_contract_enum_lower_case(label: type[Label]) -> None:
    # As sets: the API lists support as approve, object, abstain; the contract counts
    # Against (object) first.
    members = {member.name for member in MIRRORS[label] if member.name != "NONE"}

    assert {member.name for member in label} == members
    assert all(member.value == member.name.lower() for member in label)


@pytest.mark.parametrize(
    ("label", "enum"),
    [(ParticipantStatusLabel, ParticipantStatus), (ProposalStateLabel, ProposalState)],
)
def test_label_values_are_the_contract_enums_labels(
    label: type[Label], enum: type[ParticipantStatus] | type[ProposalState]
) -> None:
    assert [member.value for member in label] == [m.label for m in enum if m.name != "NONE"]


def test_support_label_values_are_the_support_labels() -> None:
    assert {member.value for member in SupportLabel} == {support.label for support in Support}


def test_steps_are_the_statuses_but_expired_and_open_statuses_are_issued_and_shipped() -> None:
    assert [step.value for step in StepName] == [
        status.value for status in CertificateStatusLabel if status != "expired"
    ]
    assert OPEN_STATUSES == ("issued", "shipped")


class _Rejection(BaseModel):
    reason: RejectionReasonLabel | None = None


def test_label_validates_as_literal_of_its_values_and_gives_the_member() -> None:
    assert _Rejection.model_validate({"reason": "seal_broken"}).reason is (
        RejectionReasonLabel.SEAL_BROKEN
    )
    assert _Rejection.model_validate_json('{"reason": "other"}').model_dump(mode="json") == {
        "reason": "other"
    }
    with pytest.raises(ValidationError) as caught:
        _Rejection.model_validate({"reason": "SEAL_BROKEN"})

    [error] = caught.value.errors()
    assert error["type"] == "literal_error"
    assert error["msg"] == (
        "Input should be 'discrepancy', 'seal_broken', 'expired', 'suspected_forgery' or 'other'"
    )


def test_label_json_schema_is_an_inline_enum_of_strings() -> None:
    schema = _Rejection.model_json_schema()

    assert "$defs" not in schema
    assert schema["properties"]["reason"]["anyOf"][0] == {
        "enum": ["discrepancy", "seal_broken", "expired", "suspected_forgery", "other"],
        "type": "string",
    }


def test_label_is_its_string() -> None:
    reason = RejectionReasonLabel.SEAL_BROKEN

    assert reason == "seal_broken"
    assert f"{reason}" == str(reason) == "seal_broken"
    assert {"seal_broken": 1}[reason] == 1


# --- patterns ----------------------------------------------------------------------------------

PATTERNS: dict[str, tuple[str, list[str], list[str]]] = {
    "participant code": (PARTICIPANT_CODE_PATTERN, ["BW", "EU"], ["bw", "B", "BWA", "B1", "BW\n"]),
    "origin": (ORIGIN_PATTERN, ["BW", "MIXED"], ["mixed", "MIX", "BWMIXED", "BW\n"]),
    "document's cert_no": (
        CERT_NO_PATTERN,
        ["BW-2026-000123", "BW-~"],
        ["BW2026", "BW-", "bw-1", "BW-a b", "B-1", "BW-é"],
    ),
    "chain's cert_no": (
        CHAIN_CERT_NO_PATTERN,
        ["BW", "BW2026", "BW-" + "9" * 29],
        ["bw-1", "B", "BW-" + "9" * 30, "BW 1"],
    ),
    "cert_no text": (CERT_NO_TEXT_PATTERN, ["bw-1", "!", "~" * 40], ["", "a b", "é", "a\n"]),
    "hex32": (HEX32_PATTERN, ["0x" + "aB" * 32], ["0x" + "a" * 63, "aB" * 32, "0x" + "g" * 64]),
    "address": (ADDRESS_PATTERN, ["0x" + "Ab" * 20], ["0x" + "a" * 39, "0x" + "a" * 42]),
}


@pytest.mark.parametrize(("pattern", "taken", "refused"), PATTERNS.values(), ids=list(PATTERNS))
def test_pattern_takes_its_shape_and_refuses_the_rest(
    pattern: str, taken: list[str], refused: list[str]
) -> None:
    assert [text for text in taken if not re.fullmatch(pattern, text)] == []
    assert [text for text in refused if re.fullmatch(pattern, text)] == []


def test_document_cert_no_is_a_chain_cert_no_which_is_a_cert_no_text() -> None:
    number = "BW-2026-000123"

    assert CertificateDocument.model_json_schema()["properties"]["cert_no"]["pattern"] == (
        CERT_NO_PATTERN
    )
    assert re.fullmatch(CERT_NO_PATTERN, number)
    assert re.fullmatch(CHAIN_CERT_NO_PATTERN, number)
    assert re.fullmatch(CERT_NO_TEXT_PATTERN, number)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7F), max_size=40))
def test_cert_no_patterns_nest_from_document_to_chain_to_text(text: str) -> None:
    fits = len(text) <= CERT_NO_MAX_LENGTH
    document = fits and re.fullmatch(CERT_NO_PATTERN, text) is not None
    chain = re.fullmatch(CHAIN_CERT_NO_PATTERN, text) is not None
    lookup = fits and re.fullmatch(CERT_NO_TEXT_PATTERN, text) is not None

    assert not document or chain
    assert not chain or lookup
