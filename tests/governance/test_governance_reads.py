"""Governance reads at a service whose index trails the chain: a proposal made a moment ago
(at another participant's service, straight on chain here) is found by catching the index up
once, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable

from eth_utils.crypto import keccak
from sqlalchemy.orm import Session, sessionmaker

from kpchain.contracts.encoding import participant_code, zone_id
from kpchain.contracts.governance import Governance
from kpchain.contracts.registry import Registry
from kpchain.governance.service import GovernanceService, governance_calls, governance_renderer
from kpchain.indexer import Indexer
from kpchain.service.operations import Hosting, Writer
from support_chain import Devnet


def test_proposal_made_after_the_index_last_caught_up_is_read_after_one_catch_up(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    indexer.sync()
    governance = Governance(devnet.w3, devnet.deployment.governor)
    hosting = Hosting({})
    writer = Writer(  # the reads never write: it is there because the service needs one
        sessions=sessions,
        registry=Registry(devnet.w3, devnet.address),
        hosting=hosting,
        indexer=indexer,
        calls=governance_calls(governance),
        render=governance_renderer(governance, devnet.now),
        coalesce=False,
    )
    service = GovernanceService(
        sessions=sessions,
        indexer=indexer,
        governance=governance,
        hosting=hosting,
        writer=writer,
        now=devnet.now,
    )
    call = devnet.seats.functions.setOriginZone(participant_code("CF"), zone_id("CF:Bozoum"), True)
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    description = "Allow Bozoum"
    governor = devnet.governor.functions
    devnet.sender("BW", "admin").transact(
        governor.propose([call.address], [0], [data], description)
    )
    proposal = governor.hashProposal([call.address], [0], [data], keccak(text=description)).call()

    view = service.proposal(str(proposal)).model_dump(mode="json")

    assert view["id"] == str(proposal)
    assert (view["action"], view["participant"]) == ("allow_zone", "CF")


def test_proposal_of_a_receipt_grace_period_is_read_with_its_seconds(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    governance = Governance(devnet.w3, devnet.deployment.governor)
    hosting = Hosting({})
    writer = Writer(
        sessions=sessions,
        registry=Registry(devnet.w3, devnet.address),
        hosting=hosting,
        indexer=indexer,
        calls=governance_calls(governance),
        render=governance_renderer(governance, devnet.now),
        coalesce=False,
    )
    service = GovernanceService(
        sessions=sessions,
        indexer=indexer,
        governance=governance,
        hosting=hosting,
        writer=writer,
        now=devnet.now,
    )
    call = devnet.seats.functions.setReceiptGracePeriod(14 * 86_400)
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    description = "Fourteen days' grace for late receipts"
    governor = devnet.governor.functions
    devnet.sender("BW", "admin").transact(
        governor.propose([call.address], [0], [data], description)
    )
    proposal = governor.hashProposal([call.address], [0], [data], keccak(text=description)).call()

    view = service.proposal(str(proposal)).model_dump(mode="json")

    assert (view["action"], view["participant"]) == ("set_receipt_grace_period", None)
    assert view["details"]["receipt_grace_period"] == 14 * 86_400
