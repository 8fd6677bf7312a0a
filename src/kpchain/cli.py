"""The `kpchain` command."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kpchain.errors import KpchainError


class _Group(click.Group):
    """Turns kpchain errors into one clear line and exit status 1, instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KpchainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """kpchain: digital Kimberley Process certificates on a consortium chain."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


@main.command("compile")
@click.option("--project", type=click.Path(path_type=Path), default=Path("."), show_default=True)
def compile_command(project: Path) -> None:
    """Compile contracts/ with py-solc-x and refresh src/kpchain/artifacts."""
    from kpchain.compile import compile_contracts, write_artifacts

    artifacts = compile_contracts(project.resolve())
    write_artifacts(artifacts)
    click.echo(f"compiled {', '.join(sorted(artifacts))}")


@main.group()
def toolchain() -> None:
    """Set up the offline compiler toolchain."""


@toolchain.command("install-solc")
@click.option("--project", type=click.Path(path_type=Path), default=Path("."), show_default=True)
def install_solc(project: Path) -> None:
    """Put solc (native, or the solc-js adapter) where py-solc-x and ape-solidity look."""
    from kpchain.compile import CompilerConfig, install_solc_adapter

    root = project.resolve()
    target = install_solc_adapter(root, CompilerConfig.from_ape_config(root).version)
    click.echo(f"solc ready at {target}")
