"""The participant registry over HTTP: what any key reads. No key changes it: admissions and
changes of standing are governance decisions (tests/api/test_governance.py), and the write routes
that a governor key once had are gone."""

from __future__ import annotations

from api_checks import assert_error, authority, caught_up

from kpchain.contracts.encoding import zone_id
from kpchain.devnet.seed import DEMO_PARTICIPANTS, participant_account
from support_api import Service

ADMIN = "0x1111111111111111111111111111111111111111"


def _zone(name: str) -> str:
    return "0x" + zone_id(name).hex()


def _governor(service: Service) -> dict[str, str]:
    return service.headers("", "governor")


def test_participants_show_the_seeded_registry_when_any_role_reads_them(service: Service) -> None:
    caught_up(service)  # the list is the index's: it starts empty and follows the chain
    response = service.client.get("/v1/participants", headers=service.headers("IN", "auditor"))
    assert response.status_code == 200, response.text
    participants = {p["code"]: p for p in response.json()}
    assert list(participants) == [p.code for p in DEMO_PARTICIPANTS]
    for code, view in participants.items():
        expected = "suspended" if code == "VE" else "active"
        assert view["status"] == expected, code
        assert view["admin"] == participant_account(code, "admin").address
        assert [a["address"] for a in view["authorities"]] == [authority(code)]
        assert view["authorities"][0]["revoked_block"] is None
        assert view["origin_restricted"] is (code == "CF"), code
    assert participants["CF"]["zones"] == [_zone("CF:Berberati"), _zone("CF:Carnot")]
    assert participants["BW"]["zones"] == []

    for headers in (service.headers("BW", "clerk"), _governor(service)):
        one = service.client.get("/v1/participants/CF", headers=headers)
        assert one.status_code == 200, one.text
        assert one.json() == participants["CF"]
    assert_error(
        service.client.get("/v1/participants/XX", headers=service.headers("BW")),
        404,
        "participant_not_found",
    )
    assert_error(
        service.client.get("/v1/participants/bw", headers=service.headers("BW")),
        422,
        "invalid_request",
    )


def test_registry_has_no_write_route_for_any_key(service: Service) -> None:
    body = {"code": "ZW", "admin": ADMIN}
    for headers in (_governor(service), service.headers("BW", "admin")):
        admit = service.client.post("/v1/participants", json=body, headers=headers)
        patch = service.client.patch(
            "/v1/participants/AE", json={"status": "suspended"}, headers=headers
        )
        assert_error(admit, 405, "method_not_allowed")
        assert_error(patch, 405, "method_not_allowed")
