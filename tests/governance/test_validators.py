"""The service's part in a validator decision: its node votes as the ValidatorSet says, against a
stand-in for Besu's admin listener (tests/consortium/fake_besu.py: Besu cannot run here) and a
real anvil, index and database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from consortium.fake_besu import FakeBesu
from helpers.polling import wait_until
from kpchain.app import create_app
from kpchain.chain.connection import endpoint
from kpchain.errors import ConfigError
from kpchain.governance.validators import ValidatorVoter, VoteCall
from kpchain.indexer import Indexer
from support_api import service_settings
from support_chain import Devnet

pytestmark = pytest.mark.anvil

GENESIS = [Account.create().address for _ in range(3)]


def _decide(devnet: Devnet, function: str, validator: str) -> None:
    devnet.govern(getattr(devnet.governance("ValidatorSet").functions, function)(validator))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_node_votes_as_the_consortium_decided_once_and_discards_its_vote_once_in_effect(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    new = Account.create().address
    node = FakeBesu(validators=GENESIS)
    voter = ValidatorVoter(sessions, node.url)
    indexer = make_indexer()
    with node.running():
        indexer.sync()
        assert voter.reconcile() == []  # no decision yet: the genesis validators are left alone
        _decide(devnet, "addValidator", new)
        indexer.sync()

        proposed = voter.reconcile()
        again = voter.reconcile()
        node.validators.append(new.lower())  # the validators voted it in
        discarded = voter.reconcile()
        settled = voter.reconcile()

        _decide(devnet, "removeValidator", new)
        indexer.sync()
        removal = voter.reconcile()
        node.validators.remove(new.lower())
        removed = voter.reconcile()

    assert proposed == [VoteCall("qbft_proposeValidatorVote", new, True)]
    assert again == []  # its vote is pending: nothing to send twice
    assert discarded == [VoteCall("qbft_discardValidatorVote", new, True)]
    assert settled == []
    assert removal == [VoteCall("qbft_proposeValidatorVote", new, False)]
    assert removed == [VoteCall("qbft_discardValidatorVote", new, False)]
    assert node.pending_votes == {}
    votes = ("qbft_proposeValidatorVote", "qbft_discardValidatorVote")
    sent = [(method, params) for method, params in node.requests if method in votes]
    assert sent == [
        ("qbft_proposeValidatorVote", [new, True]),
        ("qbft_discardValidatorVote", [new]),
        ("qbft_proposeValidatorVote", [new, False]),
        ("qbft_discardValidatorVote", [new]),
    ]
    assert set(map(str.lower, GENESIS)) <= set(node.validators)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_node_vote_replaces_an_opposite_pending_vote_and_leaves_an_agreeing_one(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    added, other = Account.create().address, Account.create().address
    _decide(devnet, "addValidator", added)
    _decide(devnet, "addValidator", other)
    make_indexer().sync()
    node = FakeBesu(pending_votes={added.lower(): False, other.lower(): True})

    with node.running():
        calls = ValidatorVoter(sessions, node.url).reconcile()

    assert calls == [VoteCall("qbft_proposeValidatorVote", added, True)]
    assert node.pending_votes == {added.lower(): True, other.lower(): True}


def test_voter_refuses_an_admin_url_that_is_not_a_websocket_listener(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(ConfigError, match="admin listener"):
        ValidatorVoter(sessions, "http://127.0.0.1:8545")


def test_service_with_a_node_admin_url_votes_in_the_validator_its_consortium_decided(
    tmp_path: Path, devnet: Devnet, sqlite_url: str
) -> None:
    new = Account.create().address
    node = FakeBesu(validators=GENESIS)
    settings = service_settings(
        tmp_path,
        endpoint(devnet.w3),
        devnet,
        sqlite_url,
        node_admin_url=node.url,
        reconcile_interval=0.2,
    )
    with node.running(), TestClient(create_app(settings)):
        _decide(devnet, "addValidator", new)

        wait_until(
            lambda: node.pending_votes.get(new.lower()) is True,
            timeout=30,
            what="the service to propose the validator vote on its node",
        )
