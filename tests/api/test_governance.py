"""Governance over HTTP, against the devnet's governance on anvil (the demo dozen as founders,
votes of 20 s, a quorum of 2, a timelock of 2 s): proposals by participant admins' keys, their
votes, and their execution through the timelock. anvil's clock is moved past each period
(`later`) instead of waiting for it.

VE is a founder suspended at the founding: it has no seat. CF's origin is restricted.
"""

from __future__ import annotations

from typing import Any

from api_checks import assert_error, caught_up
from eth_account import Account
from httpx import Response

from helpers.polling import wait_until
from kpchain.contracts.encoding import participant_code, zone_id
from kpchain.contracts.enums import ParticipantStatus
from kpchain.devnet.seed import DEVNET_GOVERNANCE, participant_account
from support_api import Service

VOTING = DEVNET_GOVERNANCE.voting_period
TIMELOCK = DEVNET_GOVERNANCE.timelock_delay


def _propose(service: Service, code: str, body: dict[str, Any], **headers: Any) -> Response:
    return service.client.post(
        "/v1/governance/proposals", json=body, headers=service.headers(code, "admin", **headers)
    )


def _proposed(service: Service, code: str, body: dict[str, Any]) -> dict[str, Any]:
    response = _propose(service, code, body)
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    service.chain.later(1)  # the vote opens the second after the snapshot
    return view


def _vote(service: Service, code: str, proposal: str, support: str, **headers: Any) -> Response:
    return service.client.post(
        f"/v1/governance/proposals/{proposal}/votes",
        json={"support": support},
        headers=service.headers(code, "admin", **headers),
    )


def _voted(service: Service, proposal: str, *votes: tuple[str, str]) -> dict[str, Any]:
    response = None
    for code, support in votes:
        response = _vote(service, code, proposal, support)
        assert response.status_code == 201, response.text
    assert response is not None
    view: dict[str, Any] = response.json()
    return view


def _execute(service: Service, code: str, proposal: str, **headers: Any) -> Response:
    return service.client.post(
        f"/v1/governance/proposals/{proposal}/execute",
        headers=service.headers(code, "admin", **headers),
    )


def _get(service: Service, proposal: str, code: str = "IN", role: str = "clerk") -> dict[str, Any]:
    response = service.client.get(
        f"/v1/governance/proposals/{proposal}", headers=service.headers(code, role)
    )
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def _status(service: Service, code: str) -> ParticipantStatus:
    raw = service.chain.contract.functions.participantStatus(participant_code(code)).call()
    return ParticipantStatus(raw)


def _participant(service: Service, code: str) -> dict[str, Any]:
    response = service.client.get(
        f"/v1/participants/{code}", headers=service.headers("BW", "clerk")
    )
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def test_proposal_passes_with_approvals_and_no_objection_and_executes_after_the_timelock(
    service: Service,
) -> None:
    caught_up(service)
    admin = Account.create().address
    description = "Admit Zimbabwe, whose review visit found the KPCS minimum requirements met"

    proposed = _proposed(
        service,
        "BW",
        {"action": "admit", "participant": "ZW", "admin": admin, "description": description},
    )
    approved = _voted(service, proposed["id"], ("AE", "approve"), ("RU", "approve"))
    abstained = _voted(service, proposed["id"], ("IN", "abstain"))
    early = _execute(service, "ZA", proposed["id"])
    service.chain.later(VOTING + 1)
    queued = _execute(service, "ZA", proposed["id"])
    too_soon = _execute(service, "ZA", proposed["id"])
    service.chain.later(TIMELOCK + 1)
    executed = _execute(service, "EU", proposed["id"])

    assert proposed["state"] == "pending"
    assert (proposed["action"], proposed["participant"]) == ("admit", "ZW")
    assert proposed["details"]["admin"] == admin
    assert proposed["description"] == description
    assert proposed["proposer"] == participant_account("BW", "admin").address
    assert proposed["votes"] == {"approve": 0, "object": 0, "abstain": 0, "quorum": 2, "by": []}
    assert proposed["eta"] is None
    assert proposed["emergency"] is None
    assert (approved["state"], approved["votes"]["approve"]) == ("active", 2)
    assert [(v["participant"], v["support"]) for v in abstained["votes"]["by"]] == [
        ("AE", "approve"),
        ("RU", "approve"),
        ("IN", "abstain"),
    ]
    assert abstained["votes"]["by"][0]["voter"] == participant_account("AE", "admin").address
    assert assert_error(early, 409, "proposal_not_ready")["detail"]["state"] == "active"
    assert queued.status_code == 200, queued.text
    assert queued.json()["state"] == "queued"
    assert queued.json()["queued"]["block_number"] > 0
    error = assert_error(too_soon, 409, "proposal_not_ready")
    assert error["detail"] == {"id": proposed["id"], "state": "queued", "eta": queued.json()["eta"]}
    assert executed.status_code == 200, executed.text
    assert executed.json()["state"] == "executed"
    assert _status(service, "ZW") == ParticipantStatus.ACTIVE
    assert _participant(service, "ZW")["admin"] == admin
    assert _get(service, proposed["id"]) == executed.json()


def test_one_objection_defeats_a_proposal(service: Service) -> None:
    body = {"action": "suspend", "participant": "CA", "description": "Suspend CA"}
    proposed = _proposed(service, "BW", body)
    _voted(service, proposed["id"], ("AE", "approve"), ("RU", "approve"), ("IN", "approve"))
    objected = _voted(service, proposed["id"], ("ZA", "object"))
    service.chain.later(VOTING + 1)

    refused = _execute(service, "BW", proposed["id"])

    assert objected["votes"]["object"] == 1
    assert assert_error(refused, 409, "proposal_not_executable")["detail"]["state"] == "defeated"
    assert wait_until(
        lambda: _get(service, proposed["id"])["state"] == "defeated" or None,
        timeout=20,
        what="the proposal to be defeated",
    )
    assert _status(service, "CA") == ParticipantStatus.ACTIVE


def test_proposal_without_its_quorum_of_approvals_is_defeated(service: Service) -> None:
    body = {"action": "restrict_origin", "participant": "AO", "description": "Restrict AO"}
    proposed = _proposed(service, "BW", body)
    _voted(service, proposed["id"], ("AE", "approve"))
    service.chain.later(VOTING + 1)

    refused = _execute(service, "BW", proposed["id"])

    assert assert_error(refused, 409, "proposal_not_executable")["detail"]["state"] == "defeated"


def test_suspended_participant_cannot_vote(service: Service) -> None:
    body = {
        "action": "allow_zone",
        "participant": "CF",
        "zone": "CF:Bozoum",
        "description": "Bozoum",
    }
    proposed = _proposed(service, "BW", body)

    refused = _vote(service, "VE", proposed["id"], "approve")

    error = assert_error(refused, 403, "voter_without_seat")
    assert error["detail"]["voter"] == participant_account("VE", "admin").address
    assert _get(service, proposed["id"])["votes"]["by"] == []


def test_participant_a_proposal_is_about_cannot_vote_on_it(service: Service) -> None:
    body = {"action": "suspend", "participant": "NA", "description": "Suspend NA"}
    proposed = _proposed(service, "BW", body)

    refused = _vote(service, "NA", proposed["id"], "object")

    assert assert_error(refused, 403, "voter_is_subject")["detail"]["participant"] == "0x4e41"


def test_vote_is_refused_before_the_vote_opens_twice_by_a_seat_and_for_unknown_proposals(
    service: Service,
) -> None:
    body = {"action": "restrict_origin", "participant": "AO", "description": "Restrict AO now"}
    early = _propose(service, "BW", body).json()
    pending = _vote(service, "AE", early["id"], "approve")
    service.chain.later(1)
    _voted(service, early["id"], ("AE", "approve"))

    twice = _vote(service, "AE", early["id"], "object")
    unknown = _vote(service, "AE", "123", "approve")
    malformed = _vote(service, "AE", "0x12", "approve")
    bad_support = _vote(service, "RU", early["id"], "veto")

    assert assert_error(pending, 409, "proposal_not_active")["detail"]["state"] == "pending"
    assert assert_error(twice, 409, "governor_already_cast_vote")["detail"]["support"] == "approve"
    assert_error(unknown, 404, "proposal_not_found")
    assert_error(malformed, 422, "invalid_request")
    assert_error(bad_support, 422, "invalid_request")


def test_proposals_the_chain_could_not_execute_are_refused_before_any_transaction(
    service: Service,
) -> None:
    caught_up(service)
    nonce = service.chain.w3.eth.get_transaction_count(participant_account("BW", "admin").address)
    bw_admin = participant_account("BW", "admin").address
    cases = [
        (
            {"action": "admit", "participant": "AE", "admin": Account.create().address},
            409,
            "participant_already_admitted",
        ),
        ({"action": "suspend", "participant": "VE"}, 409, "participant_not_active"),
        ({"action": "reinstate", "participant": "AE"}, 409, "participant_status_unchanged"),
        ({"action": "suspend", "participant": "XX"}, 404, "participant_not_found"),
        ({"action": "restrict_origin", "participant": "CF"}, 409, "origin_restriction_unchanged"),
        (
            {"action": "allow_zone", "participant": "CF", "zone": "CF:Carnot"},
            409,
            "origin_zone_unchanged",
        ),
        (
            {"action": "disallow_zone", "participant": "CF", "zone": "CF:Bangui"},
            409,
            "origin_zone_unchanged",
        ),
        (
            {"action": "set_admin", "participant": "AE", "admin": bw_admin},
            409,
            "admin_of_another_participant",
        ),
        (
            {"action": "remove_validator", "validator": Account.create().address},
            404,
            "validator_not_found",
        ),
        (
            {"action": "admit", "participant": "ZW", "admin": "0x" + "0" * 40},
            422,
            "invalid_request",
        ),
        ({"action": "veto", "participant": "ZW"}, 422, "invalid_request"),
        ({"action": "suspend", "participant": "CA", "emergency": "yes"}, 422, "invalid_request"),
        (
            {"action": "add_validator", "participant": "BW", "validator": bw_admin},
            422,
            "invalid_request",
        ),
    ]
    for body, status, code in cases:
        response = _propose(service, "BW", {**body, "description": f"case {code}"})
        assert_error(response, status, code)

    assert service.chain.w3.eth.get_transaction_count(bw_admin) == nonce


def test_only_admin_keys_propose_vote_and_execute_and_any_key_reads(service: Service) -> None:
    body = {"action": "restrict_origin", "participant": "AO", "description": "Restrict AO"}
    for role in ("officer", "clerk", "auditor"):
        refused = service.client.post(
            "/v1/governance/proposals", json=body, headers=service.headers("BW", role)
        )
        error = assert_error(refused, 403, "role_insufficient")
        assert error["detail"] == {"role": role, "required": ["admin"]}
    proposed = _proposed(service, "BW", body)
    caught_up(service)  # states are read at the chain's time, as far as the index has seen it
    for code, role in (("IN", "clerk"), ("EU", "auditor"), ("", "governor"), ("AE", "officer")):
        assert _get(service, proposed["id"], code, role)["id"] == proposed["id"]
    listed = service.client.get(
        "/v1/governance/proposals?state=active", headers=service.headers("", "governor")
    )
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [proposed["id"]]
    none = service.client.get(
        "/v1/governance/proposals?state=executed", headers=service.headers("BW", "clerk")
    )
    assert none.json() == {"items": []}


def test_emergency_suspension_takes_effect_at_its_supermajority_and_is_lifted_when_its_vote_fails(
    service: Service,
) -> None:
    body = {"action": "suspend", "participant": "CA", "emergency": True, "description": "Now"}
    proposed = _proposed(service, "BW", body)
    # Ten seats may vote (eleven Active founders, CA left out): two thirds of them is seven.
    six = [(code, "approve") for code in ("BW", "RU", "ZA", "AO", "NA", "AE")]
    before = _voted(service, proposed["id"], *six)
    seventh = _voted(service, proposed["id"], ("IN", "approve"))
    suspended = _participant(service, "CA")["status"]
    _voted(service, proposed["id"], ("EU", "object"))
    too_early = _execute(service, "US", proposed["id"])
    service.chain.later(VOTING + 1)
    lifted = _execute(service, "US", proposed["id"])
    again = _execute(service, "US", proposed["id"])

    assert proposed["action"] == "suspend"
    assert proposed["emergency"]["in_effect"] is False
    assert before["emergency"]["applied"] is None
    assert seventh["emergency"]["in_effect"] is True
    assert seventh["emergency"]["threshold"] == 7
    assert seventh["emergency"]["applied"]["block_number"] > 0
    assert suspended == "suspended"
    assert_error(too_early, 409, "proposal_not_ready")
    assert lifted.status_code == 200, lifted.text
    view = lifted.json()
    assert view["state"] == "defeated"
    assert view["emergency"]["in_effect"] is False
    assert (
        view["emergency"]["lifted"]["block_number"] > view["emergency"]["applied"]["block_number"]
    )
    assert _status(service, "CA") == ParticipantStatus.ACTIVE
    assert assert_error(again, 409, "proposal_not_executable")["detail"]["state"] == "defeated"


def test_validator_and_zone_decisions_take_effect_through_the_timelock(service: Service) -> None:
    validator = Account.create().address
    add = _proposed(
        service, "BW", {"action": "add_validator", "validator": validator, "description": "Node 4"}
    )
    zone = _proposed(
        service,
        "BW",
        {"action": "disallow_zone", "participant": "CF", "zone": "CF:Carnot", "description": "No"},
    )
    for proposal in (add, zone):
        _voted(service, proposal["id"], ("AE", "approve"), ("RU", "approve"))
    service.chain.later(VOTING + 1)
    for proposal in (add, zone):
        assert _execute(service, "IN", proposal["id"]).status_code == 200
    service.chain.later(TIMELOCK + 1)
    done = [_execute(service, "IN", proposal["id"]) for proposal in (add, zone)]

    assert [response.json()["state"] for response in done] == ["executed", "executed"]
    assert (add["action"], add["participant"], add["details"]["validator"]) == (
        "add_validator",
        None,
        validator,
    )
    assert zone["details"]["zone"] == "0x" + zone_id("CF:Carnot").hex()
    validators = service.chain.governance("ValidatorSet").functions.validators().call()
    assert validators == [validator]
    assert _participant(service, "CF")["zones"] == ["0x" + zone_id("CF:Berberati").hex()]


def test_proposal_retried_with_its_idempotency_key_is_made_once(service: Service) -> None:
    body = {"action": "withdraw", "participant": "US", "description": "US leaves"}
    first = _propose(service, "BW", body, idempotency_key="withdraw-us")
    again = _propose(service, "BW", body, idempotency_key="withdraw-us")
    other = _propose(service, "BW", {**body, "description": "other"}, idempotency_key="withdraw-us")
    duplicate = _propose(service, "BW", body)

    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert_error(other, 409, "idempotency_key_reused")
    assert_error(duplicate, 409, "proposal_already_exists")
    created = service.chain.governor.events.ProposalCreated().get_logs(from_block=0)
    assert [log["args"]["proposalId"] for log in created] == [int(first.json()["id"])]
