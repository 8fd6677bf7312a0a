"""The `kpchain` command's service-side groups (keys, index, cert) against real parts: SQLite,
anvil, and a real uvicorn service for `cert`."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from eth_account import Account
from sqlalchemy import func, select

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.audit.trail import AuditTrail, Entry
from kpchain.cli import main
from kpchain.config import AUDIT_MIN_RETENTION_DAYS
from kpchain.contracts.enums import ParticipantStatus
from kpchain.indexer.tables import Certificate
from kpchain.service.keys import authenticate
from kpchain.store import create_engine, migrate, session_factory
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess, environment


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, list(args), env=env, catch_exceptions=False)


def _certificates(database_url: str) -> int:
    engine = create_engine(database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(Certificate)) or 0
    engine.dispose()
    return count


@pytest.mark.usefixtures("clean_settings")
def test_keys_create_prints_a_key_that_authenticates_when_scoped_to_a_participant(
    sqlite_url: str,
) -> None:
    env = {"KPCHAIN_DATABASE_URL": sqlite_url}

    created = _invoke("keys", "create", "--participant", "BW", "--role", "officer", env=env)
    governor = _invoke("keys", "create", "--role", "governor", "--label", "KP Chair", env=env)
    listed = _invoke("keys", "list", env=env)

    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    engine = create_engine(sqlite_url)
    with session_factory(engine)() as session:
        principal = authenticate(session, token)
    engine.dispose()
    assert (principal.participant, principal.role) == ("BW", "officer")
    assert governor.exit_code == 0
    assert principal.key_id in listed.output
    assert "KP Chair" in listed.output
    assert token.rsplit("_", 1)[1] not in listed.output  # secrets are never shown again


@pytest.mark.usefixtures("clean_settings")
def test_keys_revoke_refuses_the_key_afterwards_when_revoked(sqlite_url: str) -> None:
    env = {"KPCHAIN_DATABASE_URL": sqlite_url}
    token = _invoke("keys", "create", "--participant", "AE", "--role", "clerk", env=env).stdout
    key_id = token.strip().split("_")[1]

    revoked = _invoke("keys", "revoke", key_id, env=env)
    again = _invoke("keys", "revoke", key_id, env=env)

    assert revoked.exit_code == 0
    assert again.exit_code == 1
    assert f"no active key {key_id}" in again.stderr
    assert "revoked" in _invoke("keys", "list", env=env).output


@pytest.mark.usefixtures("clean_settings")
def test_keys_create_fails_clearly_when_officer_has_no_participant(sqlite_url: str) -> None:
    result = _invoke(
        "keys", "create", "--role", "officer", env={"KPCHAIN_DATABASE_URL": sqlite_url}
    )

    assert result.exit_code == 1
    assert "participant_required" in result.stderr


@pytest.mark.usefixtures("clean_settings")
def test_index_rebuild_indexes_the_chain_when_run(
    tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str
) -> None:
    seeded.issue(seeded.certificate("BW-2026-000001"))
    seeded.issue(seeded.certificate("BW-2026-000002"))
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, sqlite_url)

    result = _invoke("index", "rebuild", env=environment(settings))

    assert result.exit_code == 0, result.output
    assert f"index rebuilt to block {seeded.head}" in result.output
    assert _certificates(sqlite_url) == 2


@pytest.mark.usefixtures("clean_settings")
def test_index_run_follows_the_chain_until_interrupted(
    tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str
) -> None:
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, sqlite_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "kpchain", "index", "run"],
        env=environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seeded.issue(seeded.certificate("BW-2026-000003"))
        wait_until(lambda: _certificates(sqlite_url) == 1, timeout=30, what="the indexer")
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 0, output
    assert "stopped at block" in output


@pytest.fixture
def served(tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str) -> Iterator[Any]:
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, sqlite_url)
    _, keys = create_keys(sqlite_url)
    process = ServiceProcess(settings, tmp_path).start()
    try:
        yield process, keys
    finally:
        process.stop()


@pytest.mark.usefixtures("clean_settings")
def test_cert_commands_run_a_lifecycle_through_the_api_when_keys_given(
    served: Any, tmp_path: Path
) -> None:
    process, keys = served
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document("BW-2026-000009")))

    def cert(code: str, *args: str) -> Any:
        options = ["--api-url", process.url, "--api-key", keys[code]["officer"]]
        return _invoke("cert", *options, *args)

    issued = cert("BW", "issue", str(path), "--idempotency-key", "cli-1")
    retried = cert("BW", "issue", str(path), "--idempotency-key", "cli-1")
    shipped = cert("BW", "ship", "BW-2026-000009", "--seal-ref", "SEAL-9")
    received = cert(
        "AE",
        "receive",
        "BW-2026-000009",
        "--parcels",
        "3",
        "--carats",
        "1234.56",
        "--received-at",
        document("x")["issued_at"],
    )
    shown = cert("AE", "show", "BW-2026-000009")
    refused = cert("BW", "cancel", "BW-2026-000009")

    assert issued.exit_code == 0, issued.output
    assert json.loads(issued.output) == json.loads(retried.output)
    assert json.loads(shipped.output)["status"] == "shipped"
    assert json.loads(received.output)["status"] == "received"
    assert json.loads(shown.output)["confirmation"]["carats"] == "1234.56"
    assert refused.exit_code == 1
    assert "certificate_status_invalid" in refused.stderr


@pytest.mark.usefixtures("clean_settings")
def test_cert_withdraw_closes_shipment_when_importer_suspended_in_transit(
    served: Any, seeded: Devnet, tmp_path: Path
) -> None:
    process, keys = served
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document("BW-2026-000019")))

    def cert(*args: str) -> Any:
        options = ["--api-url", process.url, "--api-key", keys["BW"]["officer"]]
        return _invoke("cert", *options, *args)

    assert cert("issue", str(path)).exit_code == 0
    assert cert("ship", "BW-2026-000019").exit_code == 0
    seeded.set_status("AE", ParticipantStatus.SUSPENDED)
    unknown = cert("withdraw", "BW-2026-000019", "--reason", "stolen")
    withdrawn = cert("withdraw", "BW-2026-000019", "--reason", "seized", "--note", "at customs")

    assert unknown.exit_code == 2  # click refuses the choice before any request
    assert withdrawn.exit_code == 0, withdrawn.output
    view = json.loads(withdrawn.output)
    assert (view["status"], view["withdrawal_reason"]) == ("cancelled", "seized")
    assert set(view["steps"]) == {"issued", "shipped", "cancelled"}


@pytest.mark.usefixtures("clean_settings")
def test_authorities_commands_add_and_revoke_a_key_through_the_api_when_admin_key_given(
    served: Any, seeded: Devnet
) -> None:
    process, keys = served
    fresh = Account.create().address

    def authorities(*args: str, role: str = "admin") -> Any:
        options = ["--api-url", process.url, "--api-key", keys["BW"][role]]
        return _invoke("authorities", *options, *args)

    added = authorities("add", "BW", fresh, "--idempotency-key", "cli-add-1")
    retried = authorities("add", "BW", fresh, "--idempotency-key", "cli-add-1")
    again = authorities("add", "BW", fresh)
    officer = authorities("revoke", "BW", fresh, role="officer")
    revoked = authorities("revoke", "BW", fresh)

    assert added.exit_code == 0, added.output
    assert json.loads(retried.output) == json.loads(added.output)
    [term] = [t for t in json.loads(added.output)["authorities"] if t["address"] == fresh]
    assert term["revoked_block"] is None
    assert again.exit_code == 1
    assert "authority_already_registered" in again.stderr
    assert officer.exit_code == 1
    assert "role_insufficient" in officer.stderr
    assert revoked.exit_code == 0, revoked.output
    [term] = [t for t in json.loads(revoked.output)["authorities"] if t["address"] == fresh]
    assert term["revoked_block"] is not None
    assert seeded.contract.functions.isAuthority(b"BW", fresh).call() is False


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("command", [(), *_commands(main)], ids=lambda c: " ".join(c) or "kpchain")
def test_help_works_without_credentials_or_a_service_when_asked_for_any_command(
    command: tuple[str, ...], clean_settings: None
) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


def test_cert_command_without_an_api_key_says_how_to_give_one(clean_settings: None) -> None:
    result = CliRunner().invoke(main, ["cert", "show", "BW-2026-000001"])

    assert result.exit_code == 2
    assert "give --api-key or set KPCHAIN_API_KEY" in result.output


@pytest.mark.usefixtures("clean_settings")
def test_audit_purge_keeps_five_years_and_export_prints_the_trail_as_csv(sqlite_url: str) -> None:
    env = {"KPCHAIN_DATABASE_URL": sqlite_url}
    engine = create_engine(sqlite_url)
    migrate(engine)
    audit = AuditTrail(engine)
    now = datetime.now(UTC)
    for path, age in (("/v1/old", AUDIT_MIN_RETENTION_DAYS + 40), ("/v1/young", 30)):
        entry = Entry(at=now - timedelta(days=age), method="POST", path=path)
        audit.finish(entry, status=201)
    engine.dispose()

    too_short = _invoke("audit", "purge", "--days", "1000", env=env)
    exported_before = _invoke("audit", "export", env=env)
    purged = _invoke("audit", "purge", env=env)  # KPCHAIN_AUDIT_RETENTION_DAYS's default
    exported = _invoke(
        "audit", "export", "--from", (now - timedelta(days=31)).date().isoformat(), env=env
    )
    reversed_range = _invoke(
        "audit", "export", "--from", "2026-02-01", "--to", "2026-01-01", env=env
    )

    assert too_short.exit_code == 2
    assert "at least five years" in too_short.stderr
    assert [line.split(",")[5] for line in exported_before.stdout.splitlines()[1:]] == [
        "/v1/old",
        "/v1/young",
    ]
    assert purged.exit_code == 0, purged.output
    assert "purged 1 audit records" in purged.stdout
    lines = exported.stdout.splitlines()
    assert lines[0].startswith("id,at,finished_at,outcome,method,path,status")
    assert [line.split(",")[5] for line in lines[1:]] == ["/v1/young"]
    assert reversed_range.exit_code == 2
    assert "before" in reversed_range.stderr


@pytest.mark.usefixtures("clean_settings")
def test_keys_create_and_revoke_are_on_the_audit_trail_with_the_keys_holder(
    sqlite_url: str,
) -> None:
    env = {"KPCHAIN_DATABASE_URL": sqlite_url}
    created = _invoke(
        "keys", "create", "--participant", "BW", "--role", "officer", "--label", "Kgosi", env=env
    )
    key_id = created.stdout.strip().split("_")[1]
    assert _invoke("keys", "revoke", key_id, env=env).exit_code == 0
    assert _invoke("keys", "revoke", key_id, env=env).exit_code != 0  # nothing changed

    exported = _invoke("audit", "export", "--participant", "BW", env=env)

    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["method"], r["path"], r["outcome"]) for r in rows] == [
        ("CLI", "kpchain keys create", "done"),
        ("CLI", "kpchain keys revoke", "done"),
    ]
    for row in rows:
        assert (row["key_id"], row["subject"]) == (key_id, key_id)
        assert (row["participant"], row["role"], row["label"]) == ("BW", "officer", "Kgosi")
        assert "@" in row["client"]  # the user and host that ran it
