"""Governance over HTTP: the registry view, admission, status changes, origin restrictions."""

from __future__ import annotations

from typing import Any

from api_checks import assert_error, authority, caught_up, error_fields

from kpchain.certificates.typed_data import zone_id
from kpchain.devnet.seed import DEMO_PARTICIPANTS, participant_account
from support_api import Service, document

ADMIN = "0x1111111111111111111111111111111111111111"


def _zone(name: str) -> str:
    return "0x" + zone_id(name).hex()


def _governor(service: Service) -> dict[str, str]:
    return service.headers("", "governor")


def _patch(service: Service, code: str, body: Any) -> Any:
    return service.client.patch(f"/v1/participants/{code}", json=body, headers=_governor(service))


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


def test_participant_is_admitted_when_governor_posts_a_new_code(service: Service) -> None:
    response = service.client.post(
        "/v1/participants", json={"code": "ZW", "admin": ADMIN}, headers=_governor(service)
    )
    assert response.status_code == 201, response.text
    admitted = response.json()
    assert admitted == {
        "code": "ZW",
        "status": "active",
        "admin": ADMIN,
        "origin_restricted": False,
        "zones": [],
        "authorities": [],
    }
    got = service.client.get("/v1/participants/ZW", headers=service.headers("BW", "clerk"))
    assert got.json() == admitted
    listed = service.client.get("/v1/participants", headers=service.headers("BW", "clerk"))
    assert listed.json()[-1] == admitted

    again = service.client.post(
        "/v1/participants", json={"code": "ZW", "admin": ADMIN}, headers=_governor(service)
    )
    error = assert_error(again, 409, "participant_already_admitted")
    assert error["detail"] == {"code": "ZW"}

    # Admitted and left suspended in one request; the admin comes back checksummed.
    lower = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    response = service.client.post(
        "/v1/participants",
        json={"code": "ZM", "admin": lower, "status": "suspended"},
        headers=_governor(service),
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "suspended"
    assert response.json()["admin"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

    invalid: list[tuple[dict[str, Any], str]] = [
        ({"code": "zw", "admin": ADMIN}, "code"),
        ({"code": "ZWE", "admin": ADMIN}, "code"),
        ({"code": "ZA", "admin": "0x" + "0" * 40}, "admin"),
        ({"code": "ZA", "admin": "0x1234"}, "admin"),
        ({"code": "ZA", "admin": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267"}, "admin"),
        ({"code": "ZA", "admin": ADMIN, "status": "gone"}, "status"),
        ({"code": "ZA", "admin": ADMIN, "colour": "red"}, "colour"),
        ({"admin": ADMIN}, "code"),
    ]
    for body, field in invalid:
        response = service.client.post("/v1/participants", json=body, headers=_governor(service))
        assert field in error_fields(assert_error(response, 422, "invalid_request")), body


def test_participant_status_changes_when_governor_patches_it(service: Service) -> None:
    suspended = _patch(service, "AE", {"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    refused = service.post("/v1/certificates", "BW", document("BW-2026-000001"))
    assert_error(refused, 409, "participant_not_active")

    # Setting what is already set sends nothing and answers with the view.
    same = _patch(service, "AE", {"status": "suspended"})
    assert same.status_code == 200, same.text
    assert same.json() == suspended.json()
    empty = _patch(service, "AE", {})
    assert empty.json() == suspended.json()

    reinstated = _patch(service, "AE", {"status": "active"})
    assert reinstated.json()["status"] == "active"
    assert service.issue("BW-2026-000001")["status"] == "issued"

    withdrawn = _patch(service, "RU", {"status": "withdrawn"})
    assert withdrawn.json()["status"] == "withdrawn"
    refused = service.post("/v1/certificates", "BW", document("BW-2026-000002", "BW", "RU"))
    assert_error(refused, 409, "participant_not_active")

    assert_error(_patch(service, "XX", {"status": "active"}), 404, "participant_not_found")
    error = assert_error(_patch(service, "AE", {"status": "retired"}), 422, "invalid_request")
    assert "status" in error_fields(error)


def test_origin_restriction_applies_when_governor_restricts_and_adds_zones(
    service: Service,
) -> None:
    response = _patch(
        service, "ZA", {"origin_restricted": True, "add_zones": ["ZA:Kimberley", "ZA:Venetia"]}
    )
    assert response.status_code == 200, response.text
    restricted = response.json()
    assert restricted["origin_restricted"] is True
    assert sorted(restricted["zones"]) == sorted([_zone("ZA:Kimberley"), _zone("ZA:Venetia")])

    unzoned = service.post("/v1/certificates", "BW", document("BW-2026-000010", origin="ZA"))
    assert_error(unzoned, 422, "origin_zone_not_allowed")
    zoned = service.issue("BW-2026-000010", origin="ZA", origin_zone="ZA:Venetia")
    assert zoned["origin"] == "ZA"
    assert zoned["origin_zone"] == "ZA:Venetia"

    response = _patch(service, "ZA", {"remove_zones": ["ZA:Venetia"]})
    assert response.json()["zones"] == [_zone("ZA:Kimberley")]
    removed = service.post(
        "/v1/certificates", "BW", document("BW-2026-000011", origin="ZA", origin_zone="ZA:Venetia")
    )
    assert_error(removed, 422, "origin_zone_not_allowed")

    # CF gets a third zone next to its seeded two.
    response = _patch(service, "CF", {"add_zones": ["CF:Bangui"]})
    assert sorted(response.json()["zones"]) == sorted(
        [_zone("CF:Berberati"), _zone("CF:Carnot"), _zone("CF:Bangui")]
    )
    assert service.issue("BW-2026-000012", origin="CF", origin_zone="CF:Bangui")["status"] == (
        "issued"
    )

    lifted = _patch(service, "ZA", {"origin_restricted": False})
    assert lifted.json()["origin_restricted"] is False
    assert service.issue("BW-2026-000013", origin="ZA")["origin_zone"] is None

    conflict = _patch(service, "ZA", {"add_zones": ["ZA:X"], "remove_zones": ["ZA:X"]})
    assert "remove_zones" in error_fields(assert_error(conflict, 422, "invalid_request"))
