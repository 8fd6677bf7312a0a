"""The exception tree's vocabulary (ErrorCode) and the stored form of a failed write's error."""

from __future__ import annotations

import inspect
import re

import pytest

from kpchain import errors
from kpchain.errors import (
    ConflictError,
    ContractRevertError,
    ErrorCode,
    KpchainError,
    SigningError,
    SigningReason,
    error_record,
    restore_error,
)


def _classes() -> list[type[KpchainError]]:
    """Every KpchainError class kpchain.errors defines (ContractRevertError is rebuilt by its
    error's name instead)."""
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, KpchainError)
        and cls.__module__ == errors.__name__
        and cls is not ContractRevertError
    ]


def test_error_codes_are_snake_case_names_of_their_members() -> None:
    for member in ErrorCode:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", member.value), member
        assert member.name == member.value.upper(), member


def test_every_error_class_answers_with_a_member_of_error_code() -> None:
    for cls in _classes():
        assert isinstance(cls.code, ErrorCode), cls


@pytest.mark.parametrize("cls", _classes(), ids=lambda cls: cls.__name__)
def test_restore_error_rebuilds_the_class_of_every_stored_error(cls: type[KpchainError]) -> None:
    error = cls.__new__(cls)
    KpchainError.__init__(error, "refused", detail={"cert_no": "BW-2026-000001"})

    restored = restore_error(error_record(error))

    assert type(restored) is cls
    assert error_record(restored) == error_record(error)


def test_restore_error_rebuilds_a_contract_revert_from_its_error_name() -> None:
    error = ContractRevertError("CertificateStatusInvalid", {"status": 2, "required": 1})

    restored = restore_error(error_record(error))

    assert isinstance(restored, ContractRevertError)
    assert (restored.error_name, restored.code) == (
        "CertificateStatusInvalid",
        "certificate_status_invalid",
    )
    assert error_record(restored) == error_record(error)


def test_restore_error_keeps_code_message_and_detail_when_the_class_is_unknown() -> None:
    record = {"class": "RemovedError", "code": "removed", "message": "m", "detail": {"a": 1}}

    restored = restore_error(record)

    assert type(restored) is KpchainError
    assert (restored.code, restored.message, restored.detail) == ("removed", "m", {"a": 1})


def test_restore_error_keeps_a_service_errors_own_code() -> None:
    error = ConflictError("in progress", code=ErrorCode.OPERATION_IN_PROGRESS)

    restored = restore_error(error_record(error))

    assert type(restored) is ConflictError
    assert restored.code == ErrorCode.OPERATION_IN_PROGRESS


def test_signing_error_is_final_only_when_no_signer_could_sign_the_request() -> None:
    for reason in SigningReason:
        error = SigningError("refused", detail={"reason": reason})
        assert error.retryable is (reason is not SigningReason.INVALID_REQUEST), reason
    assert SigningError("refused").retryable
