"""kpchain compile (py-solc-x) against the committed artifacts and against ape compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kpchain.artifacts import artifact_names, load_artifact
from kpchain.compile import CompilerConfig, compile_contracts, find_solc, solc_version

ROOT = Path(__file__).resolve().parents[1]
DEPLOYABLE = ("CertificateRegistry", "ParticipantRegistry", "ERC1271Wallet")


@pytest.fixture(scope="module")
def fresh() -> dict[str, dict[str, Any]]:
    """Artifacts compiled now from contracts/."""
    return compile_contracts(ROOT)


def test_find_solc_returns_pinned_version() -> None:
    config = CompilerConfig.from_ape_config(ROOT)
    assert solc_version(find_solc(config.version)) == config.version == "0.8.28"


def test_committed_artifacts_match_fresh_compile(fresh: dict[str, dict[str, Any]]) -> None:
    """Fails when contracts/ changed without `kpchain compile` (artifacts are stale)."""
    assert sorted(fresh) == artifact_names()
    for name, artifact in fresh.items():
        committed = load_artifact(name)
        assert committed.abi == artifact["abi"], f"{name} ABI is stale: run `kpchain compile`"
        assert committed.bytecode == artifact["bytecode"], f"{name} bytecode is stale"
        assert committed.deployed_bytecode == artifact["deployedBytecode"]
        assert committed.compiler == artifact["compiler"]


@pytest.fixture(scope="module")
def ape_compiled(project: Any) -> dict[str, Any]:
    """Contracts compiled now by ape-solidity. The cache is bypassed: ape keys it by source
    content only, so it would not notice a change of compiler settings."""
    return dict(project.load_contracts(use_cache=False))


@pytest.mark.parametrize("name", DEPLOYABLE)
def test_ape_compile_gives_identical_runtime_bytecode(
    name: str, ape_compiled: dict[str, Any]
) -> None:
    """ape-solidity and py-solc-x, same solc and settings: byte-identical runtime code,
    metadata hash included."""
    ape_runtime = ape_compiled[name].contract_type.runtime_bytecode.bytecode
    assert ape_runtime.removeprefix("0x") == load_artifact(name).deployed_bytecode.removeprefix(
        "0x"
    )


def test_artifacts_record_compiler_settings() -> None:
    compiler = load_artifact("CertificateRegistry").compiler
    assert compiler["version"].startswith("0.8.28+commit.")
    assert compiler["settings"] == CompilerConfig.from_ape_config(ROOT).settings
