"""NatSpec of the interfaces in contracts/interfaces: every function, event and error they
declare has a @notice, a @param for each named parameter and a @return for each returned value,
as solc reads them (a tag naming a parameter that does not exist fails the compile itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTERFACES = sorted(
    (path.relative_to(ROOT).as_posix(), path.stem)
    for path in (ROOT / "contracts" / "interfaces").glob("*.sol")
)
_KIND = {"function": "methods", "event": "events", "error": "errors"}


def signature(item: dict[str, Any]) -> str:
    """The ABI item's canonical signature, the key solc gives its NatSpec under."""

    def canonical(parameter: dict[str, Any]) -> str:
        kind: str = parameter["type"]
        if kind.startswith("tuple"):
            inner = ",".join(canonical(component) for component in parameter["components"])
            return f"({inner}){kind.removeprefix('tuple')}"
        return kind

    return f"{item['name']}({','.join(canonical(p) for p in item['inputs'])})"


def undocumented(compiled: dict[str, Any]) -> list[str]:
    """What the interface's ABI items lack: "kind name: tag" for each missing tag."""
    userdoc, devdoc = compiled["userdoc"], compiled["devdoc"]
    missing = []
    for item in compiled["abi"]:
        kind = _KIND[item["type"]]
        key = signature(item)
        user, dev = _entry(userdoc, kind, key), _entry(devdoc, kind, key)
        name = f"{item['type']} {item['name']}"
        if not user.get("notice"):
            missing.append(f"{name}: @notice")
        params = dev.get("params", {})
        missing += [
            f"{name}: @param {p['name']}" for p in item["inputs"] if p["name"] not in params
        ]
        outputs = item.get("outputs", [])
        returns = dev.get("returns", {})
        missing += [
            f"{name}: @return {output['name'] or index}"
            for index, output in enumerate(outputs)
            if (output["name"] or f"_{index}") not in returns
        ]
    return missing


def _entry(doc: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
    entry = doc.get(kind, {}).get(key, {})
    # solc lists an error's NatSpec, one entry per declaration of it; ours declare each once.
    if isinstance(entry, list):
        entry = entry[0] if entry else {}
    return dict(entry)


def test_interfaces_are_found() -> None:
    assert [name for _, name in INTERFACES] == [
        "ICertificateRegistry",
        "IKPGovernor",
        "IKPSeats",
        "IParticipantRegistry",
        "IValidatorSet",
    ]


@pytest.mark.parametrize(("source", "name"), INTERFACES, ids=[name for _, name in INTERFACES])
def test_interface_documents_every_item(
    solc_output: dict[str, Any], source: str, name: str
) -> None:
    compiled = solc_output["contracts"][source][name]
    assert compiled["abi"], f"{name} declares nothing"

    assert undocumented(compiled) == []
