"""A page's refusals and field problems in its language: by error code (with the detail's
values) and by the rule's type; unknown ones as the catalogues or the service word them, and
English pages unchanged; every code a page can show worded, in each language."""

from __future__ import annotations

import pytest

from kpchain.chain.errors import REVERTS
from kpchain.errors import ContractRevertError, ErrorCode
from kpchain.i18n import use_language
from kpchain.web.messages import NOT_ON_PAGES, problem_text, refusal_text, worded_codes

FOUR_EYES = "draft 7 was created or edited with this key (k1): another officer's key must ..."


def test_refusals_are_worded_by_code_with_their_details_values() -> None:
    detail = {"draft_id": 7, "key_id": "k1"}
    with use_language("fr"):
        assert refusal_text(ErrorCode.FOUR_EYES_REQUIRED, FOUR_EYES, detail) == (
            "le brouillon 7 a été créé ou modifié avec cette clé (k1) : la clé d'un autre agent "
            "habilité doit l'approuver (principe des quatre yeux)"
        )
        role = {"role": "clerk", "required": ["officer", "admin"]}
        assert refusal_text(ErrorCode.ROLE_INSUFFICIENT, "a clerk key cannot ...", role) == (
            "une clé de rôle « agent de saisie » ne le permet pas ; il faut une clé de rôle "
            "« agent habilité ou administrateur »"
        )
    with use_language("ru"):
        status = {"draft_id": 3, "status": "issued", "required": ["awaiting_approval"]}
        assert refusal_text(ErrorCode.DRAFT_STATUS_INVALID, "draft 3 is issued; ...", status) == (
            "черновик 3 в статусе «выдан»; для этого нужен статус «ожидает утверждения»"
        )


def test_a_refusal_without_its_values_is_worded_without_them_and_unknown_ones_said_refused() -> (
    None
):
    with use_language("fr"):
        # No detail: the code's words that need no values.
        assert refusal_text(ErrorCode.FOUR_EYES_REQUIRED, FOUR_EYES) == (
            "Ce brouillon a été créé ou modifié avec cette clé : la clé d'un autre agent habilité "
            "doit l'approuver (principe des quatre yeux)."
        )
        # A code no table knows: the catalogue's words for the message, else "refused".
        assert refusal_text("no_such_code", "what was entered is not valid") == (
            "ce qui a été saisi n'est pas valide"
        )
        assert refusal_text("no_such_code", "a refusal no one translated") == (
            "Le service a refusé cette demande (no_such_code)."
        )


def _codes() -> set[str]:
    """Every code a refusal can carry: kpchain's own and each custom error of the contracts'
    ABIs (a revert's code is its name in snake_case)."""
    return {str(code) for code in ErrorCode} | {
        ContractRevertError(name, {}).code for name in REVERTS
    }


def test_every_code_is_worded_for_the_pages_or_said_to_stay_off_them() -> None:
    worded = worded_codes()

    assert _codes() - worded - NOT_ON_PAGES == set()  # a new code needs its words, or a reason
    assert worded & NOT_ON_PAGES == set()
    assert NOT_ON_PAGES - _codes() == set()  # no stale entries
    assert worded - _codes() == set()


def _words(code: str) -> str:
    """The words for `code` that need no values (asked as a revert without arguments, which
    every language words)."""
    return refusal_text(code, "Unknown()", {"error": "Unknown"})


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_every_worded_refusal_has_its_translation(language: str) -> None:
    english = {code: _words(code) for code in worded_codes()}
    with use_language(language):
        translated = {code: _words(code) for code in worded_codes()}

    assert "Unknown()" not in english.values()  # each code has words of its own
    assert {code for code, words in translated.items() if words == english[code]} == set()


def test_a_contracts_revert_is_worded_for_a_person_in_english_too() -> None:
    revert = ContractRevertError("VoterWithoutSeat", {"voter": "0x" + "ab" * 20, "proposalId": 3})

    assert refusal_text(revert.code, revert.message, revert.detail) == (
        "Your participant had no seat when the vote on this proposal opened, so it cannot vote on "
        "it."
    )
    with use_language("ru"):
        assert "не было места" in refusal_text(revert.code, revert.message, revert.detail)
    # The service's own sentence for the same code stays as written in English.
    assert refusal_text(ErrorCode.CERTIFICATE_NOT_FOUND, "no certificate BW-1", {}) == (
        "no certificate BW-1"
    )


def test_field_problems_are_worded_by_their_rule() -> None:
    missing = {"field": "cert_no", "message": "Field required", "type": "missing"}
    places = {
        "field": "lines.0.carats",
        "message": "must have at most two decimal places",
        "type": "decimal_places",
    }
    positive = {"field": "x", "message": "must not be negative", "type": "decimal_positive"}
    unknown = {"field": "x", "message": "a rule no one translated", "type": "new_rule"}
    with use_language("ru"):
        assert problem_text(missing) == "обязательное поле"
        assert problem_text(places) == "допускается не более двух знаков после точки"
        assert problem_text(positive) == "не должно быть отрицательным"
        assert problem_text(unknown) == "a rule no one translated"
    with use_language("fr"):
        assert problem_text(missing) == "obligatoire"


def test_english_pages_keep_the_services_words() -> None:
    assert refusal_text(ErrorCode.FOUR_EYES_REQUIRED, FOUR_EYES, {"draft_id": 7}) == FOUR_EYES
    assert problem_text({"message": "Field required", "type": "missing"}) == "Field required"
