"""kpchain compile (py-solc-x) against the committed artifacts and against ape compile."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kpchain.artifacts import artifact_names, load_artifact
from kpchain.compile import CompilerConfig, compile_contracts, find_solc, solc_version
from kpchain.errors import ToolchainError

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


def _solc_on_path(directory: Path, target: Path) -> None:
    """Puts an executable `solc` in `directory` that runs `target` (a real solc)."""
    solc = directory / "solc"
    solc.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    solc.chmod(0o755)


def test_find_solc_prefers_native_solc_of_pinned_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = CompilerConfig.from_ape_config(ROOT).version
    _solc_on_path(tmp_path, find_solc(version))  # answers --version like a native solc would
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("KPCHAIN_SOLC", raising=False)

    assert find_solc(version) == tmp_path / "solc"


def test_find_solc_skips_native_solc_of_other_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = CompilerConfig.from_ape_config(ROOT).version
    adapter = find_solc(version)
    _solc_on_path(tmp_path, adapter)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")

    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("KPCHAIN_SOLC", raising=False)

    with pytest.raises(ToolchainError, match=r"solc 0\.8\.19 not found"):
        find_solc("0.8.19")  # the solc on PATH reports 0.8.28


def test_find_solc_raises_toolchain_error_when_no_solc_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    monkeypatch.delenv("KPCHAIN_SOLC", raising=False)

    with pytest.raises(ToolchainError, match=r"solc 0\.8\.19 not found"):
        find_solc("0.8.19")
