"""Fails when a requirement is pinned to a URL or a local path instead of a version.

A direct reference (``name @ file:///tmp/…whl``, ``name @ https://…``, ``git+…``, ``./wheels/…``)
installs only on the machine that has that file or can reach that address: on a fresh machine,
with nothing but the package registries, `make run` and `make test` would fail at `pip install`.
Every requirement in `constraints.txt` and `pyproject.toml` (dependencies, optional dependencies
and build requirements) must name a package by version.

    python scripts/check_requirements.py [constraints.txt] [pyproject.toml]

Exits 1 and lists each offending line when one is found; `make lint` runs it.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).resolve().parents[1]

# What a local path or an archive looks like where pip expects a requirement.
_PATH_LIKE = re.compile(r"^(\.{1,2}/|/|~|[A-Za-z]:\\)|\.(whl|zip|tar\.gz|tgz|tar\.bz2)$")
# pip options that point installs elsewhere than the registries, inside a requirements file.
_LOCATION_OPTIONS = ("-e", "--editable", "-f", "--find-links", "-i", "--index-url",
                     "--extra-index-url")  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One requirement that is not a plain versioned package."""

    source: str  # file and line (or table) it came from
    text: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.text!r}: {self.problem}"


def check_requirement(text: str, source: str) -> Finding | None:
    """The problem with one requirement string, or None when it names a package by version."""
    stripped = text.strip()
    if stripped.startswith(_LOCATION_OPTIONS):
        return Finding(source, stripped, "a pip option that installs from a location")
    if "://" in stripped or stripped.startswith("git+") or _PATH_LIKE.search(stripped):
        return Finding(source, stripped, "a URL or a local path; pin a version (name==x.y.z)")
    try:
        requirement = Requirement(stripped)
    except InvalidRequirement as exc:
        return Finding(source, stripped, f"not a requirement: {exc}")
    if requirement.url is not None:
        return Finding(source, stripped, "a direct reference (name @ …); pin a version instead")
    return None


def constraints_findings(path: Path) -> Iterator[Finding]:
    """The findings in a pip requirements/constraints file."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        content = line.split(" #", 1)[0].strip()
        if not content or content.startswith("#"):
            continue
        found = check_requirement(content, f"{path.name}:{number}")
        if found is not None:
            yield found


def pyproject_findings(path: Path) -> Iterator[Finding]:
    """The findings in `pyproject.toml`'s build, project and optional requirements."""
    data = tomllib.loads(path.read_text())
    groups: dict[str, list[str]] = {
        "build-system.requires": data.get("build-system", {}).get("requires", []),
        "project.dependencies": data.get("project", {}).get("dependencies", []),
    }
    for extra, items in data.get("project", {}).get("optional-dependencies", {}).items():
        groups[f"project.optional-dependencies.{extra}"] = items
    for group, items in groups.items():
        for item in items:
            found = check_requirement(item, f"{path.name} [{group}]")
            if found is not None:
                yield found


def main(argv: list[str]) -> int:
    constraints = Path(argv[0]) if argv else ROOT / "constraints.txt"
    pyproject = Path(argv[1]) if len(argv) > 1 else ROOT / "pyproject.toml"
    findings = [*constraints_findings(constraints), *pyproject_findings(pyproject)]
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        print(
            f"{len(findings)} requirement(s) would not install on a fresh machine",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
