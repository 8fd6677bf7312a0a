"""scripts/check_requirements.py: the lint step that keeps every requirement installable from the
package registries alone."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_requirements.py"

PYPROJECT = """
[build-system]
requires = ["setuptools>=77"]
[project]
name = "x"
dependencies = [{dependency}]
[project.optional-dependencies]
dev = ["pytest==8.4.2"]
"""


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_requirements", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check = _load()


def _run(constraints: Path, pyproject: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(constraints), str(pyproject)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_project_requirements_are_all_pinned_by_version() -> None:
    result = _run(ROOT / "constraints.txt", ROOT / "pyproject.toml")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "line",
    [
        "uharfbuzz @ file:///tmp/pd/uharfbuzz-0.57.0-cp311-abi3-manylinux2014_x86_64.whl#sha256=72",
        "web3 @ https://example.org/web3-7.16.0.tar.gz",
        "git+https://github.com/ethereum/web3.py@v7",
        "./wheels/uharfbuzz-0.57.0-cp311-abi3-manylinux2014_x86_64.whl",
        "/opt/wheels/uharfbuzz-0.57.0.tar.gz",
        "-e ../kpchain",
        "--find-links /opt/wheels",
    ],
)
def test_constraint_pinned_to_a_url_or_path_fails_the_check(tmp_path: Path, line: str) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(f"click==8.1.8\n{line}\nrlp==5.0.0\n")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT.format(dependency='"click==8.1.8"'))

    result = _run(constraints, pyproject)

    assert result.returncode == 1
    assert "constraints.txt:2" in result.stderr
    assert "1 requirement(s) would not install" in result.stderr


def test_pyproject_dependency_with_direct_reference_fails_the_check(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("click==8.1.8\n")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT.format(dependency='"fpdf2 @ file:///tmp/fpdf2.whl"'))

    result = _run(constraints, pyproject)

    assert result.returncode == 1
    assert "pyproject.toml [project.dependencies]" in result.stderr


@pytest.mark.parametrize(
    "line", ["click==8.1.8", "psycopg[binary]==3.3.9", "types-PyYAML", "setuptools>=77"]
)
def test_versioned_requirement_passes(line: str) -> None:
    assert check.check_requirement(line, "x") is None
