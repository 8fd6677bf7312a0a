"""A member admitted after the genesis, at one validator's node: its enode on the node's
allowlist, the node connected to it, and this validator's vote for it.

Besu's local permissioning and QBFT change through the node's admin listener (see
`kpchain.chain.admin`), one node at a time: every validator operator does this on their own
node's machine. Each step looks before it acts, so running it again is safe and moves on:

1. ``perm_addNodesToAllowlist`` with the member's enode, unless ``perm_getNodesAllowlist`` has
   it (Besu refuses to add an entry twice; it saves the change in the permissions file);
2. ``admin_addPeer`` with the enode, unless ``admin_peers`` lists the member's node already;
3. ``qbft_proposeValidatorVote`` for the member's validator address, once its node is a peer:
   a validator voted in while it cannot seal yet counts against the quorum from its first block;
4. once ``qbft_getValidatorsByBlockNumber latest`` lists it, ``qbft_discardValidatorVote`` if
   this node still holds its vote (a vote that is not withdrawn is cast again in every block
   this node proposes, and would count if the member were ever voted out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kpchain.chain.admin import AdminClient
from kpchain.consortium.members import Member
from kpchain.errors import ChainError

_ENODE = re.compile(r"enode://(?P<id>[0-9a-fA-F]{128})@(?P<host>[^:/?]+):(?P<port>[0-9]+)")


@dataclass(frozen=True)
class Step:
    """One step at the node.

    Attributes:
        method: the admin method that makes the change.
        params: its parameters.
        outcome: ``done`` (sent now), ``would`` (a dry run: it would be sent), ``held`` (already
            so: nothing to send) or ``waiting`` (not yet: `note` says for what).
        note: what the outcome means, for the operator.
    """

    method: str
    params: tuple[Any, ...]
    outcome: str
    note: str


@dataclass(frozen=True)
class Admission:
    """What admitting a member at one node did (or would do, on a dry run)."""

    node: str  # the admin listener's URL without credentials
    steps: tuple[Step, ...]

    @property
    def waiting(self) -> bool:
        """Whether a step waits for something: run it again later."""
        return any(step.outcome == "waiting" for step in self.steps)


def admission_calls(member: Member) -> list[tuple[str, tuple[Any, ...]]]:
    """The admin calls that admit `member` at a node, in order, for an operator to send by hand
    (the vote's withdrawal, once it is a validator, aside)."""
    return [
        ("perm_addNodesToAllowlist", ([member.enode],)),
        ("admin_addPeer", (member.enode,)),
        ("qbft_proposeValidatorVote", (member.validator, True)),
    ]


def admit_at_node(
    node_url: str, member: Member, *, dry_run: bool = False, timeout: float = 10.0
) -> Admission:
    """Admits `member` at the running node whose admin listener is `node_url` (see the module
    docstring for the steps).

    Args:
        node_url: ``ws://127.0.0.1:<admin port>``; it must serve ADMIN, PERM and QBFT.
        member: the member's public parts.
        dry_run: only look; send nothing that changes the node.
        timeout: seconds to wait for the connection and for each answer.

    Raises:
        ConfigError: `node_url` is not a ws:// or wss:// URL; nothing was sent.
        ChainUnavailableError: the node does not answer.
        ChainError: the node refused a request or answered something unexpected.
    """
    steps: list[Step] = []
    validator = member.validator.lower()
    with AdminClient(node_url, timeout=timeout) as node:

        def act(method: str, params: tuple[Any, ...], note: str) -> Step:
            if not dry_run:
                node.call(method, list(params))
            return Step(method, params, "would" if dry_run else "done", note)

        allowlist = _strings(
            node.call("perm_getNodesAllowlist", []), node.name, "perm_getNodesAllowlist"
        )
        if any(_same_enode(entry, member.enode) for entry in allowlist):
            steps.append(
                Step("perm_addNodesToAllowlist", ([member.enode],), "held", "on the allowlist")
            )
        else:
            steps.append(
                act("perm_addNodesToAllowlist", ([member.enode],), "added to the allowlist")
            )
        peers = node.call("admin_peers", [])
        connected = _is_peer(peers, member.node_public_key, node.name)
        if connected:
            steps.append(Step("admin_addPeer", (member.enode,), "held", "a peer"))
        else:
            steps.append(act("admin_addPeer", (member.enode,), "asked to connect"))
        validators = [
            address.lower()
            for address in _strings(
                node.call("qbft_getValidatorsByBlockNumber", ["latest"]),
                node.name,
                "qbft_getValidatorsByBlockNumber",
            )
        ]
        vote = (member.validator, True)
        if validator in validators:
            steps.append(Step("qbft_proposeValidatorVote", vote, "held", "a validator"))
            pending = node.call("qbft_getPendingVotes", [])
            if not isinstance(pending, dict):
                raise _unexpected(node.name, "qbft_getPendingVotes", pending)
            if validator in (address.lower() for address in pending):
                steps.append(
                    act(
                        "qbft_discardValidatorVote",
                        (member.validator,),
                        "this node's vote withdrawn",
                    )
                )
        elif connected:
            steps.append(act("qbft_proposeValidatorVote", vote, "voted in"))
        else:
            steps.append(
                Step(
                    "qbft_proposeValidatorVote",
                    vote,
                    "waiting",
                    f"{member.code}'s node is not a peer yet: start it, then run this again",
                )
            )
    return Admission(node.name, tuple(steps))


def _same_enode(entry: str, enode: str) -> bool:
    """Whether two enode URLs name the same node at the same address (Besu may add a
    ``?discport=`` query and keeps the id's case as given)."""
    ours, theirs = _ENODE.match(enode), _ENODE.match(entry)
    if ours is None or theirs is None:
        return False
    return (theirs["id"].lower(), theirs["host"].lower(), theirs["port"]) == (
        ours["id"].lower(),
        ours["host"].lower(),
        ours["port"],
    )


def _is_peer(peers: Any, public_key: str, node: str) -> bool:
    """Whether `admin_peers`' answer lists the node with `public_key` (Besu gives each peer's
    `id`, 0x and the public key, and its `enode`)."""
    if not isinstance(peers, list) or not all(isinstance(peer, dict) for peer in peers):
        raise _unexpected(node, "admin_peers", peers)
    for peer in peers:
        node_id = str(peer.get("id", "")).lower().removeprefix("0x")
        match = _ENODE.match(str(peer.get("enode", "")))
        if node_id == public_key or (match is not None and match["id"].lower() == public_key):
            return True
    return False


def _strings(answer: Any, node: str, method: str) -> list[str]:
    if not isinstance(answer, list) or not all(isinstance(item, str) for item in answer):
        raise _unexpected(node, method, answer)
    return answer


def _unexpected(node: str, method: str, answer: Any) -> ChainError:
    return ChainError(
        f"{node} answered {method} with {answer!r}, not what Besu answers",
        detail={"node": node, "method": method},
    )
