"""Compile contracts/ with py-solc-x, exactly as ape-solidity does, and write the artifacts.

One set of compiler settings serves both compilers: the `solidity:` section of ape-config.yaml.
Given the same source unit names and settings, solc embeds the same metadata hash, so
`kpchain compile` and `ape compile` produce byte-identical runtime code (a test checks it).

solc resolution, first match wins:
1. `KPCHAIN_SOLC`, a path to a solc executable;
2. a native `solc` on PATH that reports the pinned version;
3. `solc-v<version>` in py-solc-x's folder (`SOLCX_BINARY_PATH`, default ~/.solcx), which is
   where `install_solc_adapter` puts the solc-js adapter, and where ape-solidity looks too.
Binaries cannot be downloaded here, so `solcx.install_solc()` is never called.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
import yaml

from kpchain.errors import CompileError, ToolchainError

logger = logging.getLogger(__name__)

ARTIFACTS_DIR = Path(__file__).parent / "artifacts"
_VERSION_LINE = re.compile(r"Version:\s*(\d+\.\d+\.\d+)(\+commit\.[0-9a-f]+)?")
# What an artifact holds. solc's output selection does not change the code it generates.
ARTIFACT_OUTPUTS = (
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "devdoc",
    "userdoc",
)


@dataclass(frozen=True)
class CompilerConfig:
    """The solc version and standard-JSON settings shared with ape-solidity."""

    version: str
    settings: dict[str, Any]

    @classmethod
    def from_ape_config(cls, project_root: Path) -> CompilerConfig:
        """Reads the `solidity:` section of `project_root/ape-config.yaml`."""
        path = project_root / "ape-config.yaml"
        try:
            solidity = yaml.safe_load(path.read_text())["solidity"]
        except (OSError, KeyError, TypeError) as exc:
            raise ToolchainError(f"cannot read the solidity section of {path}: {exc}") from exc
        # The same keys and order ape-solidity writes into its standard-JSON input.
        settings: dict[str, Any] = {
            "optimizer": {
                "enabled": bool(solidity.get("optimize", True)),
                "runs": int(solidity.get("optimization_runs", 200)),
            },
            "remappings": sorted(solidity.get("import_remapping", [])),
        }
        if solidity.get("evm_version"):
            settings["evmVersion"] = solidity["evm_version"]
        if solidity.get("via_ir"):
            settings["viaIR"] = True
        return cls(version=str(solidity["version"]), settings=settings)


def find_solc(version: str) -> Path:
    """The solc executable to use for `version` (see the module docstring for the order)."""
    explicit = os.environ.get("KPCHAIN_SOLC")
    if explicit:
        return Path(explicit)
    native = shutil.which("solc")
    if native and solc_version(Path(native)) == version:
        return Path(native)
    candidate = solcx.get_solcx_install_folder() / f"solc-v{version}"
    if candidate.exists():
        return candidate
    raise ToolchainError(
        f"solc {version} not found: install a native solc {version}, or run "
        "`kpchain toolchain install-solc` (make does) to use the solc-js adapter",
        detail={"version": version},
    )


def solc_version(solc: Path) -> str | None:
    """The X.Y.Z version `solc --version` reports, or None when it does not run."""
    try:
        out = subprocess.run(
            [str(solc), "--version"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_LINE.search(out)
    return match.group(1) if match else None


def install_solc_adapter(project_root: Path, version: str) -> Path:
    """Puts `solc-v<version>` where py-solc-x and ape-solidity look for it.

    A native solc of that version is linked when one is on PATH; otherwise a small wrapper runs
    scripts/solc-adapter.js on the pinned npm `solc` package from node_modules.
    """
    folder = solcx.get_solcx_install_folder()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"solc-v{version}"
    native = shutil.which("solc")
    if target.exists() or target.is_symlink():
        target.unlink()
    if native and solc_version(Path(native)) == version:
        target.symlink_to(native)
        logger.info("linked native solc %s at %s", version, target)
        return target
    adapter = project_root / "scripts" / "solc-adapter.js"
    solcjs = project_root / "node_modules" / "solc" / "package.json"
    if not adapter.exists() or not solcjs.exists():
        raise ToolchainError(f"no solc-js in {project_root}: run `npm ci` first")
    installed = json.loads(solcjs.read_text())["version"]
    if installed != version:
        raise ToolchainError(
            f"node_modules has solc-js {installed}, but ape-config.yaml pins {version}: run npm ci"
        )
    target.write_text(f'#!/bin/sh\nexec node "{adapter}" "$@"\n')
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    logger.info("installed the solc-js %s adapter at %s", version, target)
    return target


def standard_input(
    project_root: Path, config: CompilerConfig, outputs: Sequence[str] = ARTIFACT_OUTPUTS
) -> dict[str, Any]:
    """The standard-JSON input: every .sol under contracts/, by project-relative unit name.

    Args:
        project_root: The folder holding contracts/.
        config: The compiler settings (ape-config.yaml's).
        outputs: What solc returns for each contract (standard-JSON output selection names).
    """
    contracts = project_root / "contracts"
    sources = {
        path.relative_to(project_root).as_posix(): {"content": path.read_text()}
        for path in sorted(contracts.rglob("*.sol"))
    }
    settings = {**config.settings, "outputSelection": {"*": {"*": list(outputs)}}}
    return {"language": "Solidity", "sources": sources, "settings": settings}


def compile_output(
    project_root: Path, *, outputs: Sequence[str] = ARTIFACT_OUTPUTS
) -> dict[str, Any]:
    """Compiles contracts/ with the pinned solc and returns solc's standard-JSON output.

    Args:
        project_root: The folder holding contracts/ and ape-config.yaml.
        outputs: What solc returns for each contract, e.g. `("storageLayout",)`; solc generates
            no code when none of them needs it.

    Raises:
        CompileError: solc failed or reported an error.
        ToolchainError: no solc of the pinned version, or no readable ape-config.yaml.
    """
    config = CompilerConfig.from_ape_config(project_root)
    return _compile(project_root, config, find_solc(config.version), outputs)


def compile_contracts(project_root: Path) -> dict[str, dict[str, Any]]:
    """Compiles contracts/ and returns an artifact per deployable contract, by name."""
    config = CompilerConfig.from_ape_config(project_root)
    solc = find_solc(config.version)
    output = _compile(project_root, config, solc, ARTIFACT_OUTPUTS)
    long_version = _long_version(solc)
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts_in_source in sorted(output["contracts"].items()):
        if not source_name.startswith("contracts/"):
            continue  # libraries pulled in from node_modules
        for name, compiled in sorted(contracts_in_source.items()):
            bytecode = compiled["evm"]["bytecode"]["object"]
            if not bytecode:
                continue  # interfaces and abstract contracts
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": compiled["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "devdoc": compiled.get("devdoc", {}),
                "userdoc": compiled.get("userdoc", {}),
                "compiler": {"version": long_version, "settings": config.settings},
            }
    return artifacts


def write_artifacts(artifacts: dict[str, dict[str, Any]], out_dir: Path = ARTIFACTS_DIR) -> None:
    """Writes one JSON file per contract, removing artifacts of contracts that are gone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    for name, artifact in artifacts.items():
        (out_dir / f"{name}.json").write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")


def _compile(
    project_root: Path, config: CompilerConfig, solc: Path, outputs: Sequence[str]
) -> dict[str, Any]:
    try:
        output: dict[str, Any] = solcx.compile_standard(
            standard_input(project_root, config, outputs),
            solc_binary=solc,
            base_path=str(project_root),
            allow_paths=[str(project_root)],
        )
    except solcx.exceptions.SolcError as exc:
        raise CompileError(
            f"solc failed: {exc.message}", detail={"stderr": exc.stderr_data}
        ) from exc
    diagnostics = output.get("errors", [])
    errors = [d["formattedMessage"] for d in diagnostics if d.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(errors))
    for warning in (d for d in diagnostics if d.get("severity") != "error"):
        logger.warning("%s", warning["formattedMessage"])
    return output


def _long_version(solc: Path) -> str:
    out = subprocess.run([str(solc), "--version"], capture_output=True, text=True, check=True)
    match = _VERSION_LINE.search(out.stdout)
    if not match:
        raise ToolchainError(f"{solc} --version printed no version: {out.stdout!r}")
    return match.group(1) + (match.group(2) or "")
