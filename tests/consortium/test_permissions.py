"""The accounts allowlist: who is on it (from participants, and from the seeded registry on a real
anvil as authorities come and go), the permissions file, and pushing it to a node.

Besu cannot run here: pushes go to `FakeBesu` (tests/consortium/fake_besu.py), a real
WebSocket JSON-RPC server on 127.0.0.1 standing in for a node's admin listener, which answers
Besu's three account-allowlist methods as Besu's documentation and source do.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from fake_besu import METHOD_NOT_ENABLED, NOT_ENABLED, FakeBesu
from support_consortium import free_port, make_member

from kpchain.consortium.generate import NetworkOptions, create_network
from kpchain.consortium.genesis import QbftParameters
from kpchain.consortium.participants import Participant, read_registry
from kpchain.consortium.permissions import (
    AllowedAccount,
    accounts_allowlist,
    push_accounts_allowlist,
    read_permissions_file,
    replace_accounts_allowlist,
    write_permissions_file,
)
from kpchain.contracts.enums import ParticipantStatus
from kpchain.devnet.seed import DEMO_PARTICIPANTS, governor_account, participant_account
from kpchain.errors import ChainError, ChainUnavailableError, ConfigError
from support_chain import Devnet

A1, A2, B1, B2, C1, C2 = (
    to_checksum_address(f"0x{'0' * 38}{n}") for n in ["a1", "a2", "b1", "b2", "c1", "c2"]
)
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ENODE = "enode://" + "ab" * 64 + "@127.0.0.1:30303"


def _participant(
    code: str, status: ParticipantStatus, admin: str, *authorities: str
) -> Participant:
    return Participant(code=code, status=status, admin=admin, authorities=authorities)


def _by_address(allowlist: list[AllowedAccount]) -> dict[str, tuple[str, ...]]:
    return {account.address: account.reasons for account in allowlist}


def _registry_allowlist(devnet: Devnet) -> set[str]:
    participants = read_registry(devnet.w3, devnet.address)
    return {account.address for account in accounts_allowlist(participants)}


# --- who is on the list ----------------------------------------------------------------------


def test_allowlist_holds_active_authorities_admins_of_the_admitted_and_the_deployer() -> None:
    participants = {
        "BW": _participant("BW", ParticipantStatus.ACTIVE, A1, A2),
        "VE": _participant("VE", ParticipantStatus.SUSPENDED, B1, B2),
        "XK": _participant("XK", ParticipantStatus.WITHDRAWN, C1, C2),
    }

    allowlist = accounts_allowlist(participants, deployer=DEPLOYER.lower())

    assert _by_address(allowlist) == {
        A1: ("BW admin",),
        A2: ("BW authority",),
        B1: ("VE admin",),  # a suspended participant may still revoke a leaked key
        DEPLOYER: ("deployer",),
    }
    assert [account.address for account in allowlist] == sorted(
        [A1, A2, B1, DEPLOYER], key=str.lower
    )


def test_allowlist_lists_an_account_once_with_all_its_reasons() -> None:
    participants = {"BW": _participant("BW", ParticipantStatus.ACTIVE, DEPLOYER, DEPLOYER)}

    allowlist = accounts_allowlist(participants, deployer=DEPLOYER, accounts=[DEPLOYER.lower()])

    assert _by_address(allowlist) == {
        DEPLOYER: ("deployer", "BW authority", "BW admin", "--account")
    }


def test_allowlist_rejects_a_mistyped_account() -> None:
    mistyped = DEPLOYER[:-1] + "7"  # mixed case whose checksum no longer fits

    with pytest.raises(ConfigError, match="--account"):
        accounts_allowlist({}, accounts=[mistyped])


def test_registry_allowlist_holds_the_seeded_authorities_and_admins(seeded: Devnet) -> None:
    active = [p.code for p in DEMO_PARTICIPANTS if p.status == ParticipantStatus.ACTIVE]
    suspended = [p.code for p in DEMO_PARTICIPANTS if p.status == ParticipantStatus.SUSPENDED]

    allowlist = _registry_allowlist(seeded)

    assert suspended == ["VE"]
    assert allowlist == {
        participant_account(code, role).address
        for code in active
        for role in ("admin", "authority")
    } | {participant_account("VE", "admin").address}
    assert participant_account("VE", "authority").address not in allowlist
    assert governor_account().address not in allowlist  # it comes from the deployments file


def test_registry_allowlist_follows_authorities_revoked_and_added(seeded: Devnet) -> None:
    revoked = participant_account("BW", "authority").address
    added = Account.create().address
    seeded.revoke_authority("BW", revoked)
    seeded.add_authority("BW", added)

    allowlist = _registry_allowlist(seeded)

    assert revoked not in allowlist
    assert added in allowlist
    assert participant_account("BW", "admin").address in allowlist


def test_registry_allowlist_drops_a_withdrawn_participant_and_a_suspended_ones_authority(
    seeded: Devnet,
) -> None:
    seeded.set_status("RU", ParticipantStatus.WITHDRAWN)
    seeded.set_status("AE", ParticipantStatus.SUSPENDED)

    allowlist = _registry_allowlist(seeded)

    assert participant_account("RU", "admin").address not in allowlist
    assert participant_account("RU", "authority").address not in allowlist
    assert participant_account("AE", "admin").address in allowlist
    assert participant_account("AE", "authority").address not in allowlist


# --- the permissions file --------------------------------------------------------------------


def test_permissions_file_has_besus_keys_and_parses_as_toml(tmp_path: Path) -> None:
    path = tmp_path / "permissions_config.toml"

    write_permissions_file(path, accounts=[A1, B2], nodes=[ENODE])

    assert tomllib.loads(path.read_text()) == {
        "accounts-allowlist": [A1, B2],
        "nodes-allowlist": [ENODE],
    }


def test_replacing_the_accounts_allowlist_keeps_the_nodes_allowlist(tmp_path: Path) -> None:
    path = tmp_path / "permissions_config.toml"
    write_permissions_file(path, accounts=[A1, B2], nodes=[ENODE])

    replace_accounts_allowlist(path, [C2])

    assert read_permissions_file(path) == {"accounts-allowlist": [C2], "nodes-allowlist": [ENODE]}


def test_replacing_the_accounts_allowlist_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "permissions_config.toml"

    replace_accounts_allowlist(path, [A1])

    assert read_permissions_file(path) == {"accounts-allowlist": [A1]}


def test_reading_a_permissions_file_that_is_not_toml_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "permissions_config.toml"
    path.write_text("accounts-allowlist = [unterminated")

    with pytest.raises(ConfigError, match="cannot read permissions file"):
        read_permissions_file(path)


# --- pushing to a node -----------------------------------------------------------------------


@pytest.fixture
def node() -> Iterator[FakeBesu]:
    """A node that allows A1 (kept), B1 (stale) and C2 (kept, written in another case)."""
    with FakeBesu(allowlist=[A1, B1, C2]).running() as fake:
        yield fake


def test_push_adds_missing_accounts_and_removes_stale_ones(node: FakeBesu) -> None:
    change = push_accounts_allowlist(node.url, [A1, A2, C2.lower()])

    assert (change.added, change.removed) == ((A2,), (B1.lower(),))
    assert node.allowlist == [A1.lower(), C2.lower(), A2.lower()]
    assert node.methods() == [
        "perm_getAccountsAllowlist",
        "perm_addAccountsToAllowlist",
        "perm_removeAccountsFromAllowlist",
    ]


def test_push_of_the_nodes_own_list_sends_no_change(node: FakeBesu) -> None:
    change = push_accounts_allowlist(node.url, [A1, B1, C2])

    assert (change.added, change.removed) == ((), ())
    assert node.methods() == ["perm_getAccountsAllowlist"]


def test_push_dry_run_reports_the_change_and_makes_none(node: FakeBesu) -> None:
    change = push_accounts_allowlist(node.url, [A2], dry_run=True)

    assert (change.added, change.removed) == ((A2,), (A1.lower(), B1.lower(), C2.lower()))
    assert node.methods() == ["perm_getAccountsAllowlist"]
    assert node.allowlist == [A1.lower(), B1.lower(), C2.lower()]


def test_push_to_a_node_without_account_allowlisting_raises_chain_error() -> None:
    with (
        FakeBesu(enabled=False).running() as fake,
        pytest.raises(ChainError, match=NOT_ENABLED),
    ):
        push_accounts_allowlist(fake.url, [A1])


def test_push_to_a_node_that_does_not_answer_raises_chain_unavailable() -> None:
    url = f"ws://127.0.0.1:{free_port()}"

    with pytest.raises(ChainUnavailableError, match="cannot reach the admin listener"):
        push_accounts_allowlist(url, [A1], timeout=2)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_push_to_an_http_url_is_refused_before_anything_is_sent(
    node: FakeBesu, scheme: str
) -> None:
    url = node.url.replace("ws://", f"{scheme}://")

    with pytest.raises(ConfigError, match=r"not a node's admin listener.*ws://127\.0\.0\.1"):
        push_accounts_allowlist(url, [A2])

    assert (node.hosts_seen, node.requests) == ([], [])


def test_push_to_a_listener_without_the_perm_api_says_to_enable_it() -> None:
    with (
        FakeBesu(apis=("ETH", "NET", "WEB3")).running() as fake,
        pytest.raises(ChainError, match=f"{METHOD_NOT_ENABLED}; the listener needs PERM in rpc-ws"),
    ):
        push_accounts_allowlist(fake.url, [A1])


def test_push_is_refused_when_the_host_is_not_in_the_nodes_host_allowlist() -> None:
    with (
        FakeBesu(host_allowlist=("node.example",)).running() as fake,
        pytest.raises(ChainError, match="refused the WebSocket connection \\(HTTP 403\\)"),
    ):
        push_accounts_allowlist(fake.url, [A1])

    assert fake.requests == []


def test_push_reaches_the_admin_listener_a_generated_node_config_declares(
    tmp_path: Path,
) -> None:
    member = make_member("BW", admin=A1, authority=A2, admin_port=free_port())
    network = create_network(
        tmp_path,
        [member],
        NetworkOptions(parameters=QbftParameters(), deployer=DEPLOYER, rpc_host="0.0.0.0"),
    )
    (bw,) = network.nodes

    with FakeBesu.for_node(network.node_folder(bw)).running() as fake:
        change = push_accounts_allowlist(bw.admin_url, [A1, B1, DEPLOYER])

    assert fake.url == bw.admin_url
    assert fake.hosts_seen == [bw.admin_url.removeprefix("ws://")]
    assert (change.added, change.removed) == ((B1,), (A2.lower(),))
    assert fake.allowlist == [A1.lower(), DEPLOYER.lower(), B1.lower()]
