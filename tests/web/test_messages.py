"""A page's refusals and field problems in its language: by error code (with the detail's
values) and by the rule's type; unknown ones as the catalogues or the service word them, and
English pages unchanged."""

from __future__ import annotations

from kpchain.errors import ErrorCode
from kpchain.i18n import use_language
from kpchain.web.messages import problem_text, refusal_text

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


def test_a_refusal_without_its_values_or_unknown_is_shown_as_the_catalogue_or_service_has_it() -> (
    None
):
    with use_language("fr"):
        # No detail: the service's words, looked up as written (here: not in the catalogue).
        assert refusal_text(ErrorCode.FOUR_EYES_REQUIRED, FOUR_EYES) == FOUR_EYES
        assert refusal_text("no_such_code", "what was entered is not valid") == (
            "ce qui a été saisi n'est pas valide"
        )
        assert refusal_text("no_such_code", "a refusal no one translated") == (
            "a refusal no one translated"
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
