"""`admit_at_node`: a later member at one validator's node, step by step, against `FakeBesu`
(tests/consortium/fake_besu.py), a real WebSocket JSON-RPC server answering as Besu's admin
listener does: what it sends in which state, and answers it refuses to guess about."""

from __future__ import annotations

import pytest
from eth_account import Account
from fake_besu import METHOD_NOT_ENABLED, NODES_NOT_ENABLED, FakeBesu
from support_consortium import make_member

from kpchain.consortium.admission import admission_calls, admit_at_node
from kpchain.errors import ChainError, ChainUnavailableError, ConfigError

ZA = make_member("ZA", 7, host="za-node.example")
VALIDATOR = ZA.validator.lower()


def _outcomes(node: FakeBesu, *, dry_run: bool = False) -> list[tuple[str, str]]:
    admission = admit_at_node(node.url, ZA, dry_run=dry_run)
    assert admission.node == node.url
    return [(step.method, step.outcome) for step in admission.steps]


def test_a_new_member_is_allowlisted_and_dialled_but_not_voted_in_until_a_peer() -> None:
    with FakeBesu().running() as node:
        outcomes = _outcomes(node)

    assert outcomes == [
        ("perm_addNodesToAllowlist", "done"),
        ("admin_addPeer", "done"),
        ("qbft_proposeValidatorVote", "waiting"),
    ]
    assert node.nodes_allowlist == [ZA.enode]
    assert node.added_peers == [ZA.enode]
    assert node.pending_votes == {}


def test_a_connected_member_is_voted_in() -> None:
    with FakeBesu(nodes_allowlist=[ZA.enode]).running() as node:
        node.connect(ZA.enode)
        outcomes = _outcomes(node)

    assert outcomes == [
        ("perm_addNodesToAllowlist", "held"),
        ("admin_addPeer", "held"),
        ("qbft_proposeValidatorVote", "done"),
    ]
    assert node.pending_votes == {VALIDATOR: True}
    assert node.added_peers == []


def test_once_a_validator_this_nodes_vote_is_withdrawn_and_then_nothing_is_sent() -> None:
    with FakeBesu(nodes_allowlist=[ZA.enode], validators=[ZA.validator]).running() as node:
        node.connect(ZA.enode)
        node.pending_votes[VALIDATOR] = True
        first = _outcomes(node)
        second = _outcomes(node)

    assert first[-2:] == [
        ("qbft_proposeValidatorVote", "held"),
        ("qbft_discardValidatorVote", "done"),
    ]
    assert second == [
        ("perm_addNodesToAllowlist", "held"),
        ("admin_addPeer", "held"),
        ("qbft_proposeValidatorVote", "held"),
    ]
    assert node.pending_votes == {}


def test_a_dry_run_only_looks() -> None:
    with FakeBesu().running() as node:
        node.connect(ZA.enode)  # already a peer, not yet allowlisted on this node
        outcomes = _outcomes(node, dry_run=True)

    assert outcomes == [
        ("perm_addNodesToAllowlist", "would"),
        ("admin_addPeer", "held"),
        ("qbft_proposeValidatorVote", "would"),
    ]
    assert (node.nodes_allowlist, node.pending_votes) == ([], {})
    assert {method for method, _ in node.requests} == {
        "perm_getNodesAllowlist",
        "admin_peers",
        "qbft_getValidatorsByBlockNumber",
    }


def test_an_allowlist_entry_with_a_discovery_port_or_upper_case_id_counts_as_the_member() -> None:
    node_id = ZA.node_public_key
    entry = f"enode://{node_id.upper()}@za-node.example:{ZA.p2p_port}?discport=30399"

    with FakeBesu(nodes_allowlist=[entry]).running() as node:
        outcomes = _outcomes(node, dry_run=True)

    assert outcomes[0] == ("perm_addNodesToAllowlist", "held")


def test_an_allowlist_entry_at_another_address_does_not() -> None:
    moved = ZA.enode.replace("za-node.example", "10.9.9.9")

    with FakeBesu(nodes_allowlist=[moved]).running() as node:
        outcomes = _outcomes(node)

    assert outcomes[0] == ("perm_addNodesToAllowlist", "done")
    assert node.nodes_allowlist == [moved, ZA.enode]


def test_a_node_without_node_allowlisting_is_refused_clearly() -> None:
    with (
        FakeBesu(nodes_enabled=False).running() as node,
        pytest.raises(ChainError, match=NODES_NOT_ENABLED),
    ):
        admit_at_node(node.url, ZA)


def test_a_listener_without_the_qbft_api_says_to_enable_it() -> None:
    with (
        FakeBesu(apis=("ADMIN", "PERM")).running() as node,
        pytest.raises(ChainError, match=f"{METHOD_NOT_ENABLED}; the listener needs QBFT"),
    ):
        admit_at_node(node.url, ZA)

    assert node.pending_votes == {}


def test_an_answer_besu_does_not_give_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeBesu(validators=[Account.create().address]).running() as node:
        monkeypatch.setattr(node, "_qbft", lambda method, params: {"not": "a list"})
        with pytest.raises(ChainError, match="answered qbft_getValidatorsByBlockNumber with"):
            admit_at_node(node.url, ZA)


def test_an_http_url_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ConfigError, match="is not a node's admin listener"):
        admit_at_node("http://127.0.0.1:8545", ZA)


def test_a_node_that_does_not_answer_is_unavailable() -> None:
    with FakeBesu().running() as node:
        url = node.url
    with pytest.raises(ChainUnavailableError, match="cannot reach the admin listener"):
        admit_at_node(url, ZA, timeout=2)


def test_the_calls_by_hand_are_the_three_changes_in_order() -> None:
    assert admission_calls(ZA) == [
        ("perm_addNodesToAllowlist", ([ZA.enode],)),
        ("admin_addPeer", (ZA.enode,)),
        ("qbft_proposeValidatorVote", (ZA.validator, True)),
    ]
