"""The refusals a page shows, in the page's language.

The service words its refusals in English for the REST API, often with values in them ("draft 7
was created or edited with this key (k1)…"), and a form's field problems come from the
document's rules and from pydantic ("Field required"). A page translates them by what they are,
not by their English: a refusal by its error code (with the values of its detail, or in words
that need none), a field's problem by its rule's type.

Every code a page can show has its words here; `NOT_ON_PAGES` names the others (the REST API's,
the CLI's, the exchange between services), and a test holds the two to every code of `ErrorCode`
and of the contracts' custom errors. A code that reaches a page all the same is said to be a
refusal, with the code, in the page's language.

In English the pages show the service's words unchanged, except a contract's revert
(``VoterWithoutSeat(voter=0x…, proposalId=3)``), worded for a person in every language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kpchain.contracts.enums import CertificateStatus
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


# A refusal by its code in words that need no values: the page around it names the certificate,
# draft, proposal or account. Several codes saying one thing share one text.
_KEY_REFUSED_ON_CHAIN = mark(
    "The chain refused this key for this operation: it is not the account the contract expects "
    "(it may have been revoked meanwhile)."
)
_PROPOSAL_STATE = mark(
    "The proposal is not in a state that allows this: open the proposal again to see where it "
    "stands."
)
_NO_PROPOSAL = mark("There is no such proposal.")
_ORIGIN_INVALID = mark(
    "The origin is not valid: a mixed origin needs its provenance, and only a mixed origin has one."
)
_SENTENCES: dict[str, str] = {
    # --- the kinds: a refusal with no code of its own ---
    ErrorCode.UNAUTHENTICATED: mark("Please log in."),
    ErrorCode.FORBIDDEN: mark("This key may not do this."),
    ErrorCode.NOT_FOUND: mark("What this page asks for does not exist."),
    ErrorCode.CONFLICT: mark(
        "This is not possible in the current state: open the page again to see where things stand."
    ),
    ErrorCode.INVALID_REQUEST: mark("The request is not valid: check what you entered."),
    ErrorCode.BAD_REQUEST: mark("The request could not be read."),
    ErrorCode.METHOD_NOT_ALLOWED: mark("This address does not take this kind of request."),
    ErrorCode.PAYLOAD_TOO_LARGE: mark("What was sent is too large."),
    ErrorCode.TOO_MANY_REQUESTS: mark("Too many requests: wait a moment and try again."),
    ErrorCode.DOCUMENT_INVALID: mark("The certificate is not valid: check what you entered."),
    ErrorCode.INVALID_DOCUMENT: mark("The certificate is not valid: check each field marked."),
    # --- the chain and the signer away or misbehaving (502, 503: the error page tells them) ---
    ErrorCode.CHAIN_ERROR: mark("The chain answered unexpectedly; please try again later."),
    ErrorCode.CHAIN_UNAVAILABLE: mark(
        "The chain cannot be reached right now; please try again in a moment."
    ),
    ErrorCode.CHAIN_ID_MISMATCH: mark(
        "The node this service talks to is on another chain than its contracts; tell the "
        "service's operator."
    ),
    ErrorCode.TRANSACTION_FAILED: mark(
        "The chain did not carry out the transaction; please try again later."
    ),
    ErrorCode.NONCE_TOO_LOW: mark(
        "The chain has seen another transaction of this key in the meantime; please try again."
    ),
    ErrorCode.TRANSACTION_PENDING: mark(
        "The transaction is sent but not confirmed yet; open the page again in a moment."
    ),
    ErrorCode.SIGNING_ERROR: mark(
        "The signing key could not sign right now; please try again later, or tell the "
        "service's operator."
    ),
    # --- API keys, roles, dashboard sessions ---
    ErrorCode.API_KEY_INVALID: mark("This API key is not valid (it may have been revoked)."),
    ErrorCode.API_KEY_MISSING: mark("log in to see the dashboard"),
    ErrorCode.SESSION_MISSING: mark("log in to see the dashboard"),
    ErrorCode.SESSION_EXPIRED: mark("your dashboard session has ended; log in again"),
    ErrorCode.CSRF_INVALID: mark(
        "This form did not come from your page, or your session changed: open the page again "
        "and send the form once more."
    ),
    ErrorCode.GOVERNANCE_NOT_DEPLOYED: mark(
        "This service knows no governance contracts, so it has no proposals to show."
    ),
    ErrorCode.PARTICIPANT_KEY_REQUIRED: mark(
        "This needs a participant's key: a governor key acts for no participant."
    ),
    ErrorCode.PARTICIPANT_MISMATCH: mark(
        "This key belongs to another participant than the one this needs."
    ),
    ErrorCode.PARTICIPANT_NOT_HOSTED: mark(
        "This service holds no signing key for this participant: its own service must do this."
    ),
    ErrorCode.ROLE_INSUFFICIENT: mark("This key's role cannot do this."),
    # --- writes ---
    ErrorCode.IDEMPOTENCY_KEY_REUSED: mark(
        "This form was sent already for another request: open the page again and send it once more."
    ),
    ErrorCode.OPERATION_IN_PROGRESS: mark(
        "The same operation is being carried out now: open the page again in a moment."
    ),
    # --- certificates, participants, authorities ---
    ErrorCode.AUTHORITY_ALREADY_REGISTERED: mark(
        "This account is an authority already: an account acts for one participant at a time "
        "(its admin revokes it first)."
    ),
    ErrorCode.AUTHORITY_NOT_REGISTERED: mark(
        "This account is not an authority of this participant."
    ),
    ErrorCode.CERTIFICATE_ALREADY_EXISTS: mark(
        "A certificate with this number exists already: choose another number."
    ),
    ErrorCode.CERTIFICATE_NOT_FOUND: mark("There is no certificate with this number."),
    ErrorCode.CERTIFICATE_VALIDITY_TOO_LONG: mark(
        "The certificate would be valid for longer than this service allows: give an earlier "
        "expiry date."
    ),
    ErrorCode.DOCUMENT_NOT_HELD: mark(
        "This service does not hold the certificate's document: the exporting authority's "
        "service delivers it to the importer's."
    ),
    ErrorCode.PARTICIPANT_NOT_FOUND: mark(
        "This participant is not admitted to the Kimberley Process on this chain."
    ),
    ErrorCode.RECEIPT_DATE_BEFORE_SHIPPING: mark(
        "The date of receipt is before the shipment was shipped: give the date it arrived."
    ),
    ErrorCode.RECEIPT_DATE_IN_FUTURE: mark(
        "The date of receipt is after today: a receipt is confirmed once the shipment has arrived."
    ),
    "account_zero": mark("The account may not be the zero address."),
    "certificate_dates_invalid": mark("The expiry date must be after the date of issue."),
    "certificate_issue_date_in_future": mark("The date of issue is after today."),
    "certificate_line_invalid": mark(
        "A line of the certificate is not valid: check its HS code, parcels and carats."
    ),
    "certificate_lines_empty": mark("A certificate needs at least one line."),
    "certificate_number_invalid": mark(
        "The certificate number must start with the exporting participant's code and a hyphen."
    ),
    "certificate_origin_invalid": _ORIGIN_INVALID,
    "line_origin_invalid": _ORIGIN_INVALID,
    "document_signature_invalid": mark(
        "The chain refused the certificate's signature: its key is not an authority of the "
        "exporting participant."
    ),
    "unauthorized_authority": mark(
        "The signing key is not an authority of this participant on the chain."
    ),
    "participant_admin_unauthorized": mark("This key is not the participant's admin on the chain."),
    "encryption_key_zero": mark("The document encryption key may not be empty."),
    "origin_zone_not_allowed": mark(
        "The origin does not allow this zone: exports of this origin come from its allowed zones "
        "only."
    ),
    "line_origin_zone_not_allowed": mark("A line names a zone its origin does not allow."),
    "origin_zone_zero": mark("This origin is restricted to its allowed zones: name the zone."),
    "participant_code_invalid": mark('A participant\'s code is two capital letters, such as "BW".'),
    "participants_identical": mark(
        "The importing participant must differ from the exporting one: a participant does not "
        "export to itself."
    ),
    "importer_still_active": mark(
        "The importing participant is active: it confirms or rejects the shipment itself, so the "
        "exporter may not withdraw it."
    ),
    "replacement_invalid": mark(
        "Only a cancelled or rejected certificate of the same exporter, not replaced yet, can be "
        "replaced."
    ),
    "service_endpoint_url_empty": mark("Give the endpoint's URL."),
    "service_endpoint_url_too_long": mark("The endpoint's URL is too long."),
    "max_validity_invalid": mark("The longest validity must be at least one day."),
    # --- drafts (the words with the detail's values are `_REFUSALS`') ---
    ErrorCode.FOUR_EYES_REQUIRED: mark(
        "This draft was created or edited with this key: another officer's key must approve it "
        "(four eyes)."
    ),
    ErrorCode.DRAFT_ALREADY_EXISTS: mark(
        "A draft with this certificate number is open: edit that draft or choose another number."
    ),
    ErrorCode.DRAFT_VERSION_MISMATCH: mark(
        "The draft was edited since it was opened; review it again."
    ),
    ErrorCode.DRAFT_NOT_FOUND: mark("There is no such draft."),
    ErrorCode.DRAFT_STATUS_INVALID: mark(
        "The draft is not in a state that allows this: open it again to see where it stands."
    ),
    # --- the exchange endpoint (the participant admin's page) ---
    ErrorCode.ENDPOINT_URL_INVALID: mark(
        "The endpoint's URL is not valid: give an https URL (http only where this service "
        "allows it, in development)."
    ),
    ErrorCode.EXCHANGE_PASSPHRASE_MISSING: mark(
        "This service has no exchange passphrase, so it cannot keep a new document encryption "
        "key: tell the service's operator."
    ),
    # --- governance ---
    ErrorCode.ADMIN_OF_ANOTHER_PARTICIPANT: mark(
        "This account is the admin of another participant: one account is the admin of one "
        "participant."
    ),
    ErrorCode.GOVERNOR_ALREADY_CAST_VOTE: mark(
        "Your participant has voted on this proposal already."
    ),
    ErrorCode.ORIGIN_RESTRICTION_UNCHANGED: mark(
        "The origin's restriction is already as proposed."
    ),
    ErrorCode.ORIGIN_ZONE_UNCHANGED: mark("This zone of the origin is already as proposed."),
    ErrorCode.PARTICIPANT_ADMIN_UNCHANGED: mark("This account is the participant's admin already."),
    ErrorCode.PARTICIPANT_ALREADY_ADMITTED: mark("This participant is admitted already."),
    ErrorCode.PARTICIPANT_STATUS_UNCHANGED: mark("The participant has this status already."),
    ErrorCode.PROPOSAL_ALREADY_EXECUTED: mark("This proposal has been carried out already."),
    ErrorCode.PROPOSAL_ALREADY_EXISTS: mark(
        "The same proposal (its actions and description) was made already: describe the new one "
        "differently."
    ),
    ErrorCode.PROPOSAL_NOT_ACTIVE: mark("The vote on this proposal is not open."),
    ErrorCode.PROPOSAL_NOT_EXECUTABLE: mark(
        "This proposal was not adopted, or was cancelled: there is nothing to carry out."
    ),
    ErrorCode.PROPOSAL_NOT_FOUND: _NO_PROPOSAL,
    ErrorCode.PROPOSAL_NOT_READY: mark(
        "This proposal cannot be carried out yet: its vote must end, and an adopted proposal "
        "waits for the timelock's delay."
    ),
    ErrorCode.VALIDATOR_ALREADY_ADDED: mark("This node is a validator already."),
    ErrorCode.VALIDATOR_NOT_FOUND: mark(
        "This node is not a validator of the consortium's validator set."
    ),
    "voter_is_subject": mark("A participant does not vote on a proposal about itself."),
    "voter_without_seat": mark(
        "Your participant had no seat when the vote on this proposal opened, so it cannot vote "
        "on it."
    ),
    "proposal_subjects_mixed": mark("A proposal concerns one participant only."),
    "quorum_too_low": mark("The quorum is below the smallest one the consortium allows."),
    "emergency_threshold_invalid": mark(
        "The emergency threshold must be a share between 0 and 100 %."
    ),
    "voting_period_zero": mark("The voting period may not be zero."),
    "validator_zero": mark("Give the validator's address."),
    "emergency_suspension_not_in_effect": mark(
        "There is no emergency suspension in effect to lift."
    ),
    "governor_nonexistent_proposal": _NO_PROPOSAL,
    "governor_insufficient_proposer_votes": mark(
        "Your participant has no seat to make proposals with."
    ),
    "governor_invalid_proposal_length": mark("The proposal's actions do not fit together."),
    "governor_invalid_vote_type": mark("Choose Approve, Object or Abstain."),
    "access_control_unauthorized_account": _KEY_REFUSED_ON_CHAIN,
    "ownable_unauthorized_account": _KEY_REFUSED_ON_CHAIN,
    "governor_only_executor": _KEY_REFUSED_ON_CHAIN,
    "governor_restricted_proposer": _KEY_REFUSED_ON_CHAIN,
    "timelock_unauthorized_caller": _KEY_REFUSED_ON_CHAIN,
    "governor_already_queued_proposal": _PROPOSAL_STATE,
    "governor_not_queued_proposal": _PROPOSAL_STATE,
    "governor_unable_to_cancel": _PROPOSAL_STATE,
    "governor_unexpected_proposal_state": _PROPOSAL_STATE,
    "timelock_unexecuted_predecessor": _PROPOSAL_STATE,
    "timelock_unexpected_operation_state": _PROPOSAL_STATE,
    # --- the verify page ---
    ErrorCode.CERT_NO_INVALID: mark(
        "A certificate number is a participant's code then printable characters without spaces, "
        'at most 32, such as "BW-2026-000123".'
    ),
    ErrorCode.DOC_HASH_INVALID: mark("The document hash must be 0x and 64 hexadecimal digits."),
    ErrorCode.DOCUMENT_FILE_INVALID: mark(
        "This file is not a signed certificate document, as the dashboard or the API gives it."
    ),
}

NOT_ON_PAGES: frozenset[str] = frozenset(
    {
        # 500s: the page says something went wrong on our side, without the internals.
        ErrorCode.KPCHAIN_ERROR,
        ErrorCode.CONFIG_ERROR,
        ErrorCode.DATABASE_IN_USE,
        ErrorCode.TOOLCHAIN_ERROR,
        ErrorCode.COMPILE_ERROR,
        ErrorCode.INDEXER_ERROR,
        ErrorCode.DEPLOYMENT_ERROR,
        ErrorCode.SERVICE_ERROR,
        ErrorCode.INTERNAL_ERROR,
        ErrorCode.AUDIT_UNAVAILABLE,
        ErrorCode.HTTP_ERROR,  # the Python client's, of another service's answer
        # The CLI's (`kpchain keys create`).
        ErrorCode.ROLE_INVALID,
        ErrorCode.PARTICIPANT_NOT_ALLOWED,
        ErrorCode.PARTICIPANT_REQUIRED,
        # The REST API's only: JSON bodies, batches, streams, cursors, the audit and reports'
        # parameters (the pages' own parameters are checked by their routes).
        ErrorCode.MALFORMED_JSON,
        ErrorCode.BATCH_DUPLICATE,
        ErrorCode.BATCH_EMPTY,
        ErrorCode.BATCH_TOO_LARGE,
        "batch_invalid",
        ErrorCode.TOO_MANY_STREAMS,
        ErrorCode.CURSOR_INVALID,
        ErrorCode.AUDIT_RANGE_INVALID,
        ErrorCode.OUTLIER_FACTOR_INVALID,
        ErrorCode.OVERDUE_DAYS_INVALID,
        ErrorCode.PARTICIPANT_INVALID,
        ErrorCode.PERIOD_INVALID,
        ErrorCode.YEAR_INVALID,
        # The exchange between services: envelopes in, deliveries out, no person waiting.
        ErrorCode.DOCUMENT_CONFLICT,
        ErrorCode.DOCUMENT_HASH_MISMATCH,
        ErrorCode.DOCUMENT_SIGNER_INVALID,
        ErrorCode.ENCRYPTION_KEY_INVALID,
        ErrorCode.ENCRYPTION_KEY_UNKNOWN,
        ErrorCode.ENDPOINT_INSECURE,
        ErrorCode.ENDPOINT_MISSING,
        ErrorCode.ENDPOINT_UNREACHABLE,
        ErrorCode.ENVELOPE_EXPIRED,
        ErrorCode.ENVELOPE_FROM_FUTURE,
        ErrorCode.ENVELOPE_SIGNATURE_INVALID,
        ErrorCode.ENVELOPE_UNDECRYPTABLE,
        ErrorCode.EXCHANGE_PARTIES_MISMATCH,
        ErrorCode.EXCHANGE_SENDER_UNKNOWN,
        ErrorCode.RECIPIENT_NOT_HOSTED,
        # The verification's checks, worded by the checks themselves (`verification.checks`).
        ErrorCode.PRESENTED_TWICE,
        ErrorCode.SIGNATURE_INVALID,
        # The governance's own plumbing, which no request of the service's provokes.
        "caller_not_governor",
        "relay_target_forbidden",
        # OpenZeppelin's that kpchain's requests do not provoke (`chain.errors.REVERTS`).
        "access_control_bad_confirmation",
        "address_empty_code",
        "checkpoint_unordered_insertion",
        "failed_call",
        "governor_disabled_deposit",
        "governor_invalid_signature",
        "governor_invalid_vote_params",
        "governor_invalid_voting_period",
        "governor_queue_not_implemented",
        "invalid_account_nonce",
        "invalid_short_string",
        "ownable_invalid_owner",
        "safe_cast_overflowed_uint_downcast",
        "string_too_long",
        "timelock_insufficient_delay",
        "timelock_invalid_operation_length",
    }
)
"""The codes no page shows a person; each other code has its words here (a test holds both to
every code of `ErrorCode` and of the contracts' custom errors). Should one reach a page all the
same, the page says that the service refused, with the code, in its language."""


def worded_codes() -> frozenset[str]:
    """The codes this module words (a page shows them in its language)."""
    return (
        frozenset(_REFUSALS)
        | frozenset(_SENTENCES)
        | frozenset(_CHAIN_WORDS)
        | {ErrorCode.CERTIFICATE_STATUS_INVALID}
    )


WORDED_IN = "worded_in"
"""The detail's key under which a page's own refusal names the language its message is already
written in (the page wrote it with `gettext`), so that it is shown as written."""


def page_worded(detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`detail` for a refusal a page words itself, in the page's language."""
    return {**(detail or {}), WORDED_IN: current_language()}


def refusal_text(code: str, message: str, detail: Mapping[str, Any] | None = None) -> str:
    """The refusal `code` (worded `message` by the service) in the page's language.

    In English a page shows the service's words, except a contract's revert
    (``VoterWithoutSeat(voter=0x…, proposalId=3)``), which is worded for a person in every
    language.
    """
    detail = detail or {}
    if detail.get(WORDED_IN) == current_language():
        return message
    reverted = _is_revert(message, detail)
    if current_language() == DEFAULT_LANGUAGE and not reverted:
        return message
    words = _REFUSALS.get(code)
    if words is not None and not reverted:
        try:
            return words(detail)
        except (KeyError, TypeError, ValueError):
            pass  # a detail without the values: the code's plain words, below
    plain = chain_refusal(code, detail)
    if plain is not None:
        return plain
    translated = gettext(message)
    if translated != message:
        return translated  # the service's own words, marked for the catalogues
    sentence = _SENTENCES.get(code)
    if sentence is not None:
        return gettext(sentence)
    if current_language() == DEFAULT_LANGUAGE:
        return message
    return gettext("The service refused this request (%(code)s).") % {"code": code}


def _is_revert(message: str, detail: Mapping[str, Any]) -> bool:
    """Whether the refusal is a contract's revert as the chain words it (its custom error and
    arguments), not the service's sentence."""
    error = detail.get("error")
    return isinstance(error, str) and message.startswith(f"{error}(")


def chain_refusal(code: str, detail: Mapping[str, Any]) -> str | None:
    """The chain's refusal `code` in words, for the refusals a dashboard action meets; None for
    another code. Every language, English included, shows these words: they say what to do,
    where the service's message says what the contract refused."""
    if code == ErrorCode.CERTIFICATE_STATUS_INVALID:
        try:
            now = gettext(CertificateStatus(int(detail["status"])).name.lower())
            needed = gettext(CertificateStatus(int(detail["required"])).name.lower())
        except (KeyError, TypeError, ValueError):
            now, needed = gettext("in another state"), gettext("another")
        return gettext(
            "The certificate is %(now)s, and this needs it %(needed)s: it may have been "
            "confirmed, rejected or cancelled meanwhile. Open the dashboard again to see where it "
            "stands."
        ) % {"now": now, "needed": needed}
    plain = _CHAIN_WORDS.get(code)
    return None if plain is None else gettext(plain)


_CHAIN_WORDS: dict[str, str] = {
    ErrorCode.CERTIFICATE_EXPIRED: mark(
        "The certificate has expired: the chain accepts its receipt only for a shipment "
        "received by the expiry date, within the grace period after it. Otherwise reject the "
        "shipment (reason: certificate expired)."
    ),
    ErrorCode.PARTICIPANT_NOT_ACTIVE: mark(
        "A participant of this certificate is not active in the Kimberley Process (suspended or "
        "withdrawn), so the chain refuses the operation."
    ),
    ErrorCode.CONFIRMATION_INVALID: mark(
        "The chain refused the confirmation: check the parcels, carats and date of receipt."
    ),
}


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
