"""The refusals a page shows, in the page's language.

The service words its refusals in English for the REST API, often with values in them ("draft 7
was created or edited with this key (k1)…"), and a form's field problems come from the
document's rules and from pydantic ("Field required"). A page translates them by what they are,
not by their English: a refusal by its error code (with the values of its detail), a field's
problem by its rule's type. A refusal or rule this module does not know is looked up as written
in the catalogues, and shown in English when it is not there, as the API words it.

In English the pages show the service's words unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kpchain.errors import ErrorCode
from kpchain.i18n import DEFAULT_LANGUAGE, current_language, gettext, mark
from kpchain.web.rendering import status_name

# A field's problem by its rule (the "type" of pydantic's error, or of the document's rule).
_PROBLEMS: dict[str, str] = {
    "missing": mark("required"),
    "string_too_short": mark("must not be empty"),
    "string_too_long": mark("is too long"),
    "int_type": mark("must be a whole number"),
    "int_parsing": mark("must be a whole number"),
    "int_from_float": mark("must be a whole number"),
    "greater_than_equal": mark("is too small"),
    "greater_than": mark("is too small"),
    "less_than_equal": mark("is too large"),
    "literal_error": mark("is not one of the choices offered"),
    "enum": mark("is not one of the choices offered"),
    "too_short": mark("needs at least one line"),
    "date_format": mark('must be a date such as "2026-11-27"'),
    "date_parsing": mark('must be a date such as "2026-11-27"'),
    "date_from_datetime_parsing": mark('must be a date such as "2026-11-27"'),
    "date_type": mark('must be a date such as "2026-11-27"'),
    "decimal_type": mark('must be a decimal number such as "1234.56"'),
    "decimal_float": mark('must be a decimal number such as "1234.56"'),
    "decimal_format": mark('must be a decimal number such as "1234.56", with at most two decimals'),
    "decimal_places": mark("must have at most two decimal places"),
    "decimal_too_large": mark("is too large"),
    "decimal_finite": mark("must be a finite number"),
    "participant_code": mark('must be a participant\'s code: two capital letters, such as "BW"'),
    "origin_code": mark('must be a participant\'s code: two capital letters, such as "BW"'),
    "cert_no_characters": mark("must be printable ASCII characters without spaces"),
    "cert_no_too_long": mark("is too long: at most 32 characters"),
    "cert_no_prefix": mark("must start with the exporting participant's code and a hyphen"),
    "text_control_characters": mark("must not contain control characters"),
    "participants_identical": mark(
        "must differ from the exporting participant: a participant does not export to itself"
    ),
    "provenance_missing": mark(
        "a mixed origin needs its provenance: the participant the parcel was last exported from"
    ),
    "provenance_unexpected": mark("is given only for a mixed origin"),
    "expiry_not_after_issue": mark("must be after the date of issue"),
    "replaces_itself": mark("must name another certificate than this one"),
    "replaces_other_exporter": mark("must name a certificate of the same exporter"),
}

# Rules whose English has two forms (the type alone does not tell them apart).
_EXACT = (mark("must be greater than 0"), mark("must not be negative"))


def _role_refusal(detail: Mapping[str, Any]) -> str:
    required = gettext(" or ").join(status_name(str(role)) for role in detail["required"])
    return gettext("a %(role)s key cannot do this; it needs a %(required)s key") % {
        "role": status_name(str(detail["role"])),
        "required": required,
    }


def _status_refusal(detail: Mapping[str, Any]) -> str:
    required = gettext(" or ").join(status_name(str(s)) for s in detail["required"])
    return gettext("draft %(draft_id)s is %(status)s; this needs it %(required)s") % {
        "draft_id": detail["draft_id"],
        "status": status_name(str(detail["status"])),
        "required": required,
    }


def _template(text: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda detail: gettext(text) % dict(detail)


# A refusal by its code, worded with its detail's values.
_REFUSALS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    ErrorCode.FOUR_EYES_REQUIRED: _template(
        mark(
            "draft %(draft_id)s was created or edited with this key (%(key_id)s): another "
            "officer's key must approve it (four eyes)"
        )
    ),
    ErrorCode.CERTIFICATE_ALREADY_EXISTS: _template(mark("certificate %(cert_no)s already exists")),
    ErrorCode.DRAFT_ALREADY_EXISTS: _template(
        mark(
            "draft %(draft_id)s is open with the certificate number %(cert_no)s; edit that draft "
            "or choose another number"
        )
    ),
    ErrorCode.DRAFT_VERSION_MISMATCH: _template(
        mark("draft %(draft_id)s was edited since it was opened; review it again")
    ),
    ErrorCode.DRAFT_NOT_FOUND: _template(mark("there is no draft %(draft_id)s")),
    ErrorCode.DRAFT_STATUS_INVALID: _status_refusal,
    ErrorCode.ROLE_INSUFFICIENT: _role_refusal,
}


def refusal_text(code: str, message: str, detail: Mapping[str, Any] | None = None) -> str:
    """The refusal `code` (worded `message` by the service) in the page's language."""
    if current_language() == DEFAULT_LANGUAGE:
        return message
    words = _REFUSALS.get(code)
    if words is not None:
        try:
            return words(detail or {})
        except (KeyError, TypeError, ValueError):
            pass  # a detail without the values: the message as written, below
    return gettext(message)


def problem_text(problem: Mapping[str, Any]) -> str:
    """A field's problem (``{"field", "message", "type"}``, as the API's 422 lists them) in the
    page's language."""
    message = str(problem.get("message", ""))
    if current_language() == DEFAULT_LANGUAGE:
        return message
    translated = gettext(message)
    if translated != message:
        return translated
    rule = _PROBLEMS.get(str(problem.get("type", "")))
    return gettext(rule) if rule is not None else message
