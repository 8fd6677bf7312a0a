"""The participant admin's page and the governance pages over HTTP on a running service: key
rotation, the exchange endpoint, proposing, voting and carrying out; each refusal (role,
participant, input, state, a stale form token) on the page at the API's status.

The module has its own anvil: the proposals it makes and the keys it revokes are its own."""

from __future__ import annotations

import pytest
from action_pages import form, has_form, refused_text, submit
from eth_account import Account
from fastapi.testclient import TestClient
from web_checks import log_in

from kpchain.contracts.encoding import participant_code
from kpchain.contracts.enums import ParticipantStatus
from kpchain.devnet.seed import DEVNET_GOVERNANCE, participant_account
from support_api import Service

pytestmark = pytest.mark.anvil

VOTING = DEVNET_GOVERNANCE.voting_period
TIMELOCK = DEVNET_GOVERNANCE.timelock_delay


def _is_authority(web: Service, code: str, account: str) -> bool:
    return bool(web.chain.contract.functions.isAuthority(participant_code(code), account).call())


def _admin(web: Service, code: str) -> TestClient:
    visitor = TestClient(web.client.app, follow_redirects=False)
    assert log_in(visitor, web.keys[code]["admin"]).status_code == 303
    return visitor


# --- the participant admin's page ----------------------------------------------------------------


def test_admin_rotates_an_authority_key(web: Service) -> None:
    admin = _admin(web, "ZA")
    page = "/dashboard/participants/ZA"
    old = participant_account("ZA", "authority").address
    new = Account.create().address

    before = admin.get(page)
    added = submit(admin, page, f"{page}/authorities", account=new)
    after_add = admin.get(added.headers["location"])
    revoke = admin.post(
        f"{page}/authorities/revoke",
        data={**form(after_add.text, f"{page}/authorities/revoke"), "account": old},
    )
    after = admin.get(revoke.headers["location"])

    assert before.status_code == 200
    assert f'data-account="{old}"' in before.text
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{page}?done=authority_added#done"
    assert "The new authority key is registered" in after_add.text
    assert revoke.status_code == 303, revoke.text
    assert "The authority key is revoked" in after.text
    assert _is_authority(web, "ZA", new)
    assert not _is_authority(web, "ZA", old)
    revoked = after.text[after.text.index("Revoked authority keys") :]
    assert old in revoked
    assert new not in revoked


def test_admin_registers_the_exchange_endpoint_and_a_new_key(web: Service) -> None:
    admin = _admin(web, "IN")
    page = "/dashboard/participants/IN"

    registered = submit(
        admin, page, f"{page}/endpoint", url="https://kp.in.example", rotate_key="yes"
    )
    first = web.client.get("/v1/participants/IN/endpoint", headers=web.headers("AE")).json()
    rotated = submit(admin, page, f"{page}/endpoint", url="https://kp.in.example", rotate_key="yes")
    after = admin.get(rotated.headers["location"])
    second = web.client.get("/v1/participants/IN/endpoint", headers=web.headers("AE")).json()

    assert registered.status_code == 303, registered.text
    assert (first["url"], len(first["history"])) == ("https://kp.in.example", 1)
    assert rotated.status_code == 303, rotated.text
    assert second["encryption_key"] != first["encryption_key"]
    assert len(second["history"]) == 2
    assert "The exchange endpoint and encryption key are registered" in after.text
    assert second["encryption_key"] in after.text
    assert 'value="https://kp.in.example"' in after.text


def test_participant_page_refuses_other_roles_and_participants(web: Service) -> None:
    officer = TestClient(web.client.app, follow_redirects=False)
    log_in(officer, web.keys["BW"]["officer"])
    admin = _admin(web, "BW")
    token = form(
        admin.get("/dashboard/participants/BW").text, "/dashboard/participants/BW/endpoint"
    )

    by_officer = officer.get("/dashboard/participants/BW")
    other_page = admin.get("/dashboard/participants/AE")
    other_post = admin.post(
        "/dashboard/participants/AE/authorities",
        data={**token, "account": Account.create().address},
    )
    api = web.client.post(
        "/v1/participants/AE/authorities",
        json={"account": Account.create().address},
        headers=web.headers("BW", "admin"),
    )

    assert by_officer.status_code == 403
    assert "a officer key cannot do this; it needs a admin key" in by_officer.text.lower()
    assert other_page.status_code == other_post.status_code == api.status_code == 403
    assert api.json()["error"]["code"] == "participant_mismatch"
    assert "Only AE&#39;s admin key manages AE&#39;s authority keys" in other_post.text


def test_participant_forms_show_bad_input_and_refusals_on_the_page(web: Service) -> None:
    admin = _admin(web, "BW")
    page = "/dashboard/participants/BW"
    current = participant_account("BW", "authority").address

    malformed = submit(admin, page, f"{page}/authorities", account="0x1234")
    again = submit(admin, page, f"{page}/authorities", account=current)
    bad_url = submit(admin, page, f"{page}/endpoint", url="ftp://kp.bw.example")
    stale = form(admin.get(page).text, f"{page}/authorities")
    admin.post("/dashboard/logout", data={"csrf_token": stale["csrf_token"]})
    log_in(admin, web.keys["BW"]["admin"])
    with_stale_token = admin.post(
        f"{page}/authorities", data={**stale, "account": Account.create().address}
    )

    assert malformed.status_code == 422
    assert "account" in refused_text(malformed.text)
    assert 'value="0x1234"' in malformed.text  # kept as typed, to correct
    assert again.status_code == 409
    assert "Refused (error 409)" in refused_text(again.text)
    assert bad_url.status_code == 422
    assert "must be an https url" in refused_text(bad_url.text).lower()
    assert with_stale_token.status_code == 403
    assert "did not come from your dashboard" in with_stale_token.text


# --- governance ----------------------------------------------------------------------------------


def test_admins_propose_vote_and_carry_out_a_proposal(web: Service) -> None:
    bw, ae, ru = _admin(web, "BW"), _admin(web, "AE"), _admin(web, "RU")
    new_admin = Account.create().address
    description = "Admit Zimbabwe (the dashboard's test), its review visit found the minimum met"

    proposed = submit(
        bw,
        "/dashboard/governance",
        "/dashboard/governance/proposals",
        action="admit",
        participant="zw",
        admin=new_admin,
        description=description,
    )
    page = proposed.headers["location"].split("?")[0]
    pending = bw.get(proposed.headers["location"])
    web.chain.later(1)  # the vote opens the second after the snapshot
    approved = submit(ae, page, f"{page}/vote", support="approve")
    ae_token = form(ae.get("/dashboard/governance").text, "/dashboard/governance/proposals")
    twice = ae.post(
        f"{page}/vote",
        data={
            "csrf_token": ae_token["csrf_token"],
            "idempotency_key": "web-ae-votes-twice",
            "support": "object",
        },
    )
    submit(ru, page, f"{page}/vote", support="approve")
    active = bw.get(page)
    web.chain.later(VOTING + 1)
    succeeded = bw.get(page)
    queued = submit(bw, page, f"{page}/execute")
    web.chain.later(TIMELOCK + 1)
    executed = submit(bw, page, f"{page}/execute")
    listed = bw.get("/dashboard/governance")

    assert proposed.status_code == 303, proposed.text
    assert "Your proposal is made" in pending.text
    assert 'data-state="pending"' in pending.text
    assert approved.status_code == 303, approved.text
    assert twice.status_code == 409  # the seat voted already: the API's refusal, on the page
    assert "voted on this proposal already" in refused_text(twice.text)
    assert 'data-state="active"' in active.text
    assert "2 approve, 0 object, 0 abstain; quorum 2 approvals." in active.text
    assert not has_form(active.text, f"{page}/execute")
    assert 'data-state="succeeded"' in succeeded.text
    assert has_form(succeeded.text, f"{page}/execute")
    assert queued.status_code == 303, queued.text
    assert executed.status_code == 303, executed.text
    final = bw.get(executed.headers["location"])
    assert 'data-state="executed"' in final.text
    assert "Done: the proposal is now executed." in final.text
    assert (
        web.chain.contract.functions.participantStatus(participant_code("ZW")).call()
        == ParticipantStatus.ACTIVE
    )
    assert "Admit a participant (ZW)" in listed.text


def test_governance_pages_refuse_other_roles_bad_proposals_and_closed_votes(
    web: Service,
) -> None:
    officer = TestClient(web.client.app, follow_redirects=False)
    log_in(officer, web.keys["BW"]["officer"])
    bw = _admin(web, "BW")

    by_officer = officer.get("/dashboard/governance")
    no_admin = submit(
        bw,
        "/dashboard/governance",
        "/dashboard/governance/proposals",
        action="admit",
        participant="ZM",
        description="Admit ZM without naming its admin",
    )
    unknown = submit(
        bw,
        "/dashboard/governance",
        "/dashboard/governance/proposals",
        action="suspend",
        participant="ZZ",
        description="Suspend a participant never admitted",
    )
    proposed = submit(
        bw,
        "/dashboard/governance",
        "/dashboard/governance/proposals",
        action="allow_zone",
        participant="CF",
        zone="CF:Carnot (the dashboard's test)",
        description="Allow a zone of CF (the dashboard's test)",
    )
    page = proposed.headers["location"].split("?")[0]
    pending = bw.get(page)
    ae = _admin(web, "AE")
    token = form(ae.get("/dashboard/governance").text, "/dashboard/governance/proposals")
    early = ae.post(
        f"{page}/vote",
        data={
            "csrf_token": token["csrf_token"],
            "idempotency_key": "web-early-vote",
            "support": "approve",
        },
    )
    missing = bw.get("/dashboard/governance/proposals/123")

    assert by_officer.status_code == 403
    assert no_admin.status_code == 422
    assert "admin" in refused_text(no_admin.text)
    assert 'value="ZM"' in no_admin.text  # the form again, as typed
    assert unknown.status_code == 404
    assert "Participant ZZ is not admitted" in refused_text(unknown.text)
    assert proposed.status_code == 303, proposed.text
    assert not has_form(pending.text, f"{page}/vote")  # pending: the vote is not open
    assert early.status_code == 409
    assert "is not open" in refused_text(early.text)
    assert missing.status_code == 404
