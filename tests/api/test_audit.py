"""The audit trail over HTTP (issue 15): every request that changed or tried to change anything
leaves one record naming who (key id, role, label), when, from where and how it ended; only
auditors read it (`GET /v1/audit`, `/v1/audit.csv`), each its own participant's records; and
the records live outside the index, so an index rebuild keeps them."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_checks import assert_error, todays_receipt
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.app import create_app
from kpchain.audit.tables import AuditRecord
from kpchain.audit.trail import AuditTrail, Entry
from kpchain.cli import main
from kpchain.config import AUDIT_MIN_RETENTION_DAYS
from kpchain.devnet.anvil import AnvilNode
from kpchain.indexer.tables import Certificate
from kpchain.service.keys import create_key, revoke_key
from kpchain.service.tables import Operation
from kpchain.store import create_engine, migrate, session_factory
from support_api import Service, create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess, environment

pytestmark = pytest.mark.anvil

TODAY = datetime.now(UTC).date()


def _labelled_key(database_url: str, participant: str, role: str, label: str) -> str:
    engine = create_engine(database_url)
    migrate(engine)
    try:
        with session_factory(engine)() as session:
            token = create_key(session, participant=participant, role=role, label=label).token
            session.commit()
    finally:
        engine.dispose()
    return token


def _bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def _key_id(token: str) -> str:
    return token.split("_")[1]


def _trail(service: Service, code: str = "BW", **params: Any) -> list[dict[str, Any]]:
    """Every record `code`'s auditor sees, page after page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = service.client.get(
            "/v1/audit", params=query, headers=service.headers(code, "auditor")
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_every_changing_request_of_a_lifecycle_leaves_one_record_naming_its_key(
    service_on: Service,
) -> None:
    service = service_on
    url = service.settings.database_url
    bw = _labelled_key(url, "BW", "officer", "Kgosi Molefe, export desk")
    ae = _labelled_key(url, "AE", "officer", "Aisha Rahman, import desk")
    cert_no = "BW-2026-000701"

    issued = service.client.post(
        "/v1/certificates",
        json=document(cert_no),
        headers=_bearer(bw, **{"Idempotency-Key": "issue-701", "X-Request-Id": "req-701"}),
    )
    assert issued.status_code == 201, issued.text
    # Reads are not recorded.
    assert service.client.get(f"/v1/certificates/{cert_no}", headers=_bearer(bw)).status_code == 200
    shipped = service.client.post(
        f"/v1/certificates/{cert_no}/ship", json={"seal_ref": "S-1"}, headers=_bearer(bw)
    )
    assert shipped.status_code == 200, shipped.text
    received = service.client.post(
        f"/v1/certificates/{cert_no}/receive", json=todays_receipt(), headers=_bearer(ae)
    )
    assert received.status_code == 200, received.text

    bw_trail = _trail(service, "BW")
    assert [(r["method"], r["path"], r["status"]) for r in bw_trail] == [
        ("POST", "/v1/certificates", 201),
        ("POST", f"/v1/certificates/{cert_no}/ship", 200),
    ]
    for record in bw_trail:
        assert record["key_id"] == _key_id(bw)
        assert (record["role"], record["participant"]) == ("officer", "BW")
        assert record["label"] == "Kgosi Molefe, export desk"
        assert record["client"] == "testclient"  # the TestClient's peer address
        assert record["subject"] == cert_no
        assert record["outcome"] == "done"
        assert record["error_code"] is None
        assert record["finished_at"] >= record["at"]
        assert TODAY.isoformat() in record["at"]
    assert (bw_trail[0]["idempotency_key"], bw_trail[0]["request_id"]) == ("issue-701", "req-701")
    assert bw_trail[1]["idempotency_key"] is None

    (ae_record,) = _trail(service, "AE")
    assert ae_record["path"] == f"/v1/certificates/{cert_no}/receive"
    assert (ae_record["key_id"], ae_record["label"]) == (_key_id(ae), "Aisha Rahman, import desk")
    assert (ae_record["status"], ae_record["subject"]) == (200, cert_no)


def test_drafts_from_saving_to_approval_are_recorded_with_each_persons_key(
    service: Service,
) -> None:
    url = service.settings.database_url
    clerk = _labelled_key(url, "BW", "clerk", "Neo, data entry")
    maker = _labelled_key(url, "BW", "officer", "Mpho, officer")
    checker = _labelled_key(url, "BW", "officer", "Kabo, senior officer")
    cert_no, own = "BW-2026-000740", "BW-2026-000741"

    saved = service.client.post("/v1/drafts", json=document(cert_no), headers=_bearer(clerk))
    assert saved.status_code == 201, saved.text
    draft = saved.json()["id"]
    by_clerk = service.client.post(f"/v1/drafts/{draft}/approve", headers=_bearer(clerk))
    assert_error(by_clerk, 403, "role_insufficient")
    returned = service.client.post(
        f"/v1/drafts/{draft}/return", json={"comment": "check the carats"}, headers=_bearer(maker)
    )
    assert returned.status_code == 200, returned.text
    patched = service.client.patch(
        f"/v1/drafts/{draft}", json={"issuing_authority": "Diamond Hub"}, headers=_bearer(clerk)
    )
    assert patched.status_code == 200, patched.text
    approved = service.client.post(f"/v1/drafts/{draft}/approve", headers=_bearer(checker))
    assert approved.status_code == 201, approved.text
    mine = service.client.post("/v1/drafts", json=document(own), headers=_bearer(maker)).json()
    four_eyes = service.client.post(f"/v1/drafts/{mine['id']}/approve", headers=_bearer(maker))
    assert_error(four_eyes, 403, "four_eyes_required")
    invalid = service.client.post(
        "/v1/drafts", json=document("BW-2026-000742", carats="-1"), headers=_bearer(clerk)
    )
    assert_error(invalid, 422, "invalid_document")

    records = _trail(service, "BW")
    assert [
        (r["method"], r["path"], r["status"], r["error_code"], r["label"], r["subject"])
        for r in records
    ] == [
        ("POST", "/v1/drafts", 201, None, "Neo, data entry", f"{cert_no},draft {draft}"),
        (
            "POST",
            f"/v1/drafts/{draft}/approve",
            403,
            "role_insufficient",
            "Neo, data entry",
            str(draft),
        ),
        ("POST", f"/v1/drafts/{draft}/return", 200, None, "Mpho, officer", str(draft)),
        ("PATCH", f"/v1/drafts/{draft}", 200, None, "Neo, data entry", str(draft)),
        (  # the certificate the approval issued, beside the draft
            "POST",
            f"/v1/drafts/{draft}/approve",
            201,
            None,
            "Kabo, senior officer",
            f"{draft} ({cert_no})",
        ),
        ("POST", "/v1/drafts", 201, None, "Mpho, officer", f"{own},draft {mine['id']}"),
        (
            "POST",
            f"/v1/drafts/{mine['id']}/approve",
            403,
            "four_eyes_required",
            "Mpho, officer",
            str(mine["id"]),
        ),
        ("POST", "/v1/drafts", 422, "invalid_document", "Neo, data entry", None),
    ]
    assert [r["role"] for r in records] == [
        "clerk",
        "clerk",
        "officer",
        "clerk",
        "officer",
        "officer",
        "officer",
        "clerk",
    ]


def test_governance_and_participant_admin_requests_are_recorded(service: Service) -> None:
    admin = _labelled_key(service.settings.database_url, "BW", "admin", "Lesedi, registry admin")
    account = "0x" + "ab" * 20
    proposal = service.client.post(
        "/v1/governance/proposals",
        json={"action": "suspend", "participant": "CA", "description": "Suspend CA"},
        headers=_bearer(admin),
    )
    assert proposal.status_code == 201, proposal.text
    service.chain.later(1)  # the vote opens the second after the snapshot
    proposal_id = proposal.json()["id"]
    voted = service.client.post(
        f"/v1/governance/proposals/{proposal_id}/votes",
        json={"support": "approve"},
        headers=service.headers("AE", "admin"),
    )
    assert voted.status_code == 201, voted.text
    added = service.client.post(
        "/v1/participants/BW/authorities", json={"account": account}, headers=_bearer(admin)
    )
    assert added.status_code == 201, added.text
    revoked = service.client.delete(
        f"/v1/participants/BW/authorities/{account}", headers=_bearer(admin)
    )
    assert revoked.status_code == 200, revoked.text
    endpoint = service.client.put(
        "/v1/participants/BW/endpoint",
        json={"url": "https://kp.bw.example"},
        headers=_bearer(admin),
    )
    assert endpoint.status_code == 200, endpoint.text
    elsewhere = service.client.post(
        "/v1/participants/AE/authorities", json={"account": account}, headers=_bearer(admin)
    )
    assert_error(elsewhere, 403, "participant_mismatch")

    records = _trail(service, "BW")
    assert [(r["method"], r["path"], r["status"], r["error_code"]) for r in records] == [
        ("POST", "/v1/governance/proposals", 201, None),
        ("POST", "/v1/participants/BW/authorities", 201, None),
        ("DELETE", f"/v1/participants/BW/authorities/{account}", 200, None),
        ("PUT", "/v1/participants/BW/endpoint", 200, None),
        ("POST", "/v1/participants/AE/authorities", 403, "participant_mismatch"),
    ]
    assert {(r["key_id"], r["role"], r["label"]) for r in records} == {
        (_key_id(admin), "admin", "Lesedi, registry admin")
    }
    assert records[0]["subject"] == proposal_id
    assert records[2]["subject"] == f"code=BW,account={account}"
    (vote,) = _trail(service, "AE")
    assert (vote["path"], vote["status"], vote["role"]) == (
        f"/v1/governance/proposals/{proposal_id}/votes",
        201,
        "admin",
    )
    assert vote["subject"] == proposal_id


def test_refused_requests_are_recorded_with_their_status_and_error_code(service: Service) -> None:
    url = service.settings.database_url
    officer = _labelled_key(url, "BW", "officer", "Officer One")
    clerk = _labelled_key(url, "BW", "clerk", "Clerk Two")
    revoked = _labelled_key(url, "BW", "officer", "Left in March")
    engine = create_engine(url)
    with session_factory(engine)() as session:
        assert revoke_key(session, _key_id(revoked))
        session.commit()
    engine.dispose()
    cert_no = "BW-2026-000702"
    service.issue(cert_no)

    wrong_secret = officer[:-2] + ("aa" if not officer.endswith("aa") else "bb")
    attempts = [
        (service.client.post(f"/v1/certificates/{cert_no}/ship", headers=_bearer(revoked)), 401),
        (
            service.client.post(f"/v1/certificates/{cert_no}/ship", headers=_bearer(wrong_secret)),
            401,
        ),
        (service.client.post(f"/v1/certificates/{cert_no}/ship", headers=_bearer(clerk)), 403),
        (
            service.client.post("/v1/certificates", json={"cert_no": 1}, headers=_bearer(officer)),
            422,
        ),
        (
            service.client.post(
                "/v1/certificates", json=document(cert_no), headers=_bearer(officer)
            ),
            409,
        ),
        (
            service.client.post("/v1/certificates/BW-2026-999999/ship", headers=_bearer(officer)),
            404,
        ),
    ]
    assert [response.status_code for response, _ in attempts] == [s for _, s in attempts]

    records = _trail(service, "BW")[-len(attempts) :]
    assert [(r["status"], r["error_code"], r["outcome"]) for r in records] == [
        (401, "api_key_invalid", "refused"),
        (401, "api_key_invalid", "refused"),
        (403, "role_insufficient", "refused"),
        (422, "invalid_document", "refused"),
        (409, "certificate_already_exists", "refused"),
        (404, "certificate_not_found", "refused"),
    ]
    assert [(r["key_id"], r["role"], r["label"]) for r in records] == [
        (_key_id(revoked), "officer", "Left in March"),
        (_key_id(officer), "officer", "Officer One"),  # the key claimed, its secret wrong
        (_key_id(clerk), "clerk", "Clerk Two"),
        (_key_id(officer), "officer", "Officer One"),
        (_key_id(officer), "officer", "Officer One"),
        (_key_id(officer), "officer", "Officer One"),
    ]
    assert [r["subject"] for r in records] == [
        cert_no,
        cert_no,
        cert_no,
        None,  # refused before its document was read
        cert_no,  # the body's certificate number
        "BW-2026-999999",
    ]


def test_requests_of_no_known_key_are_recorded_but_shown_to_no_participant(
    service: Service,
) -> None:
    unknown = "kp_000000000000_" + "x" * 43
    answers = [
        service.client.post("/v1/certificates", json=document("BW-2026-000703")),
        service.client.post("/v1/certificates", headers=_bearer(unknown)),
        service.client.post("/v1/no-such-route", headers=_bearer(unknown)),
        service.client.put("/v1/certificates", headers=_bearer(unknown)),
    ]
    assert [a.status_code for a in answers] == [401, 401, 404, 405]

    assert service.client.app.state.audit.flush()  # type: ignore[attr-defined]
    engine = create_engine(service.settings.database_url)
    with session_factory(engine)() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
    engine.dispose()
    assert [(r.method, r.path, r.status, r.error_code, r.key_id) for r in rows] == [
        ("POST", "/v1/certificates", 401, "api_key_missing", None),
        ("POST", "/v1/certificates", 401, "api_key_invalid", "000000000000"),
        ("POST", "/v1/no-such-route", 404, "not_found", "000000000000"),
        ("PUT", "/v1/certificates", 405, "method_not_allowed", "000000000000"),
    ]
    assert all(r.participant is None for r in rows)
    assert _trail(service, "BW") == []


def test_a_path_holding_nul_is_answered_and_recorded(service_on: Service) -> None:
    service = service_on
    officer = service.headers("BW", "officer")
    response = service.client.post("/v1/certificates/BW-2026%00X/ship", headers=officer)
    assert response.status_code in (404, 422), response.text  # not the 500 audit_unavailable

    (record,) = _trail(service, "BW")
    assert record["path"] == "/v1/certificates/BW-2026\ufffdX/ship"
    assert (record["status"], record["role"]) == (response.status_code, "officer")
    assert record["error_code"] == response.json()["error"]["code"]


def test_a_body_too_large_is_recorded_as_refused(service: Service) -> None:
    limit = service.settings.max_body_bytes
    response = service.client.post(
        "/v1/certificates/BW-2026-000704/ship",
        content=b"x" * (limit + 1),
        headers=service.headers("BW", "officer") | {"Content-Type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")

    (record,) = _trail(service, "BW")
    assert (record["status"], record["error_code"]) == (413, "payload_too_large")
    assert (record["role"], record["subject"]) == ("officer", None)  # refused before routing


@pytest.mark.parametrize("role", ["officer", "clerk", "admin", "governor"])
def test_only_auditors_read_the_trail(service: Service, role: str) -> None:
    for path in ("/v1/audit", "/v1/audit.csv"):
        response = service.client.get(path, headers=service.headers("BW", role))
        assert_error(response, 403, "role_insufficient")
        assert_error(service.client.get(path), 401, "api_key_missing")


def test_from_and_to_select_the_records_of_a_period_in_json_and_csv(service: Service) -> None:
    officer = service.keys["BW"]["officer"]
    for number in range(3):
        cert_no = f"BW-2026-00071{number}"
        service.client.post("/v1/certificates", json=document(cert_no), headers=_bearer(officer))
    today, tomorrow = TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat()
    yesterday = (TODAY - timedelta(days=1)).isoformat()

    everything = _trail(service, "BW")
    assert len(everything) == 3
    assert _trail(service, "BW", **{"from": today, "to": today}) == everything
    assert _trail(service, "BW", **{"from": yesterday}) == everything
    assert _trail(service, "BW", **{"from": tomorrow}) == []
    assert _trail(service, "BW", to=yesterday) == []
    # Datetimes: `from` included, `to` excluded.
    second = everything[1]["at"]
    assert _trail(service, "BW", **{"from": second}) == everything[1:]
    assert _trail(service, "BW", to=second) == everything[:1]
    # One at a time, in order.
    assert _trail(service, "BW", limit=1) == everything

    auditor = service.headers("BW", "auditor")
    for bad in ({"from": "yesterday"}, {"to": "2026-13-01"}, {"from": tomorrow, "to": today}):
        assert_error(
            service.client.get("/v1/audit", params=bad, headers=auditor), 422, "audit_range_invalid"
        )
        assert_error(
            service.client.get("/v1/audit.csv", params=bad, headers=auditor),
            422,
            "audit_range_invalid",
        )
    assert_error(
        service.client.get("/v1/audit", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auditor),
        422,
        "cursor_invalid",
    )

    exported = service.client.get(
        "/v1/audit.csv", params={"from": today, "to": today}, headers=auditor
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(row["id"]) for row in rows] == [record["id"] for record in everything]
    assert [row["subject"] for row in rows] == [record["subject"] for record in everything]
    assert {row["key_id"] for row in rows} == {_key_id(officer)}
    assert {(row["status"], row["outcome"], row["role"]) for row in rows} == {
        ("201", "done", "officer")
    }
    empty = service.client.get("/v1/audit.csv", params={"from": tomorrow}, headers=auditor)
    assert empty.text.splitlines() == [empty.text.splitlines()[0]]  # the header alone
    assert empty.text.startswith("id,at,finished_at,outcome,")


@pytest.mark.usefixtures("clean_settings")
def test_records_survive_an_index_rebuild(
    tmp_path: Path, anvil: AnvilNode, chain: Devnet, sqlite_url: str
) -> None:
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url)
    _, keys = create_keys(sqlite_url)
    auditor = _bearer(keys["BW"]["auditor"])
    cert_no = "BW-2026-000720"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        issued = client.post(
            "/v1/certificates", json=document(cert_no), headers=_bearer(keys["BW"]["officer"])
        )
        assert issued.status_code == 201, issued.text
        before = client.get("/v1/audit", headers=auditor).json()["items"]
    assert [record["subject"] for record in before] == [cert_no]

    rebuilt = CliRunner(mix_stderr=False).invoke(
        main, ["index", "rebuild"], env=environment(settings), catch_exceptions=False
    )
    assert rebuilt.exit_code == 0, rebuilt.output

    engine = create_engine(sqlite_url)
    migrate(engine)
    with session_factory(engine)() as session:
        assert session.get(Certificate, cert_no) is not None  # the index was rebuilt
    engine.dispose()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        after = client.get("/v1/audit", headers=auditor).json()["items"]
    assert after == before


def test_a_write_whose_process_is_killed_stays_recorded_as_incomplete(
    tmp_path: Path, anvil: AnvilNode, chain: Devnet, sqlite_url: str
) -> None:
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url)
    officer = _labelled_key(sqlite_url, "BW", "officer", "Night shift")
    auditor = _labelled_key(sqlite_url, "BW", "auditor", "Auditor")
    service = ServiceProcess(settings, tmp_path).start()
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    try:
        chain.rpc("evm_setAutomine", False)  # the write waits for its block: kill it then

        def issue() -> httpx.Response:
            with service.client(officer) as client:
                return client.post(
                    "/v1/certificates",
                    json=document("BW-2026-000730"),
                    headers={"Idempotency-Key": "killed-730"},
                )

        def signed() -> bool:
            with sessions() as session:
                status = session.scalar(
                    select(Operation.status).where(Operation.idempotency_key == "killed-730")
                )
            return status == "signed"

        with ThreadPoolExecutor(max_workers=1) as pool:
            request = pool.submit(issue)
            wait_until(signed, timeout=30, what="the write's transaction signed")
            service.kill()
            with pytest.raises(httpx.TransportError):
                request.result(timeout=30)
        chain.rpc("evm_setAutomine", True)

        service.start()
        with service.client(auditor) as client:
            (record,) = client.get("/v1/audit").json()["items"]
    finally:
        service.stop()
        engine.dispose()
    assert (record["outcome"], record["status"], record["finished_at"]) == (
        "incomplete",
        None,
        None,
    )
    assert (record["method"], record["path"]) == ("POST", "/v1/certificates")
    assert (record["key_id"], record["role"], record["label"]) == (
        _key_id(officer),
        "officer",
        "Night shift",
    )
    assert (record["participant"], record["idempotency_key"]) == ("BW", "killed-730")
    assert record["client"] == "127.0.0.1"


def test_forwarded_for_is_ignored_unless_it_comes_from_a_trusted_proxy(
    tmp_path: Path, anvil: AnvilNode, chain: Devnet, sqlite_url: str
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    seen: list[str | None] = []
    keys = create_keys(sqlite_url)[1]["BW"]
    for trusted in ("", "127.0.0.1"):
        settings = service_settings(
            tmp_path, anvil.rpc_url, chain, sqlite_url, trusted_proxies=trusted
        )
        service = ServiceProcess(settings, tmp_path).start()
        try:
            with service.client(keys["clerk"]) as client:
                assert client.post("/v1/certificates", headers=forwarded).status_code == 403
            with service.client(keys["auditor"]) as client:
                seen.append(client.get("/v1/audit").json()["items"][-1]["client"])
        finally:
            service.stop()
    assert seen == ["127.0.0.1", "203.0.113.9"]


def test_the_service_purges_records_past_the_retention_when_it_starts(
    tmp_path: Path, anvil: AnvilNode, chain: Devnet, sqlite_url: str
) -> None:
    days = AUDIT_MIN_RETENTION_DAYS
    settings = service_settings(
        tmp_path, anvil.rpc_url, chain, sqlite_url, audit_retention_days=days
    )
    _, keys = create_keys(sqlite_url)
    engine = create_engine(sqlite_url)
    audit = AuditTrail(engine)
    now = datetime.now(UTC)
    for path, at in (
        ("past the retention", now - timedelta(days=days, hours=1)),
        ("within it", now - timedelta(days=days - 1)),
    ):
        entry = Entry(at=at, method="POST", path=path, key_id=_key_id(keys["BW"]["officer"]))
        audit.finish(entry, status=200)
    engine.dispose()

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        kept = client.get("/v1/audit", headers=_bearer(keys["BW"]["auditor"])).json()["items"]

    assert [record["path"] for record in kept] == ["within it"]
