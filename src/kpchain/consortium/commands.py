"""`kpchain consortium`: placeholder, filled in by the issue-5 work."""

from __future__ import annotations

import click


@click.group()
def consortium() -> None:
    """Configure a consortium network of Besu QBFT nodes."""
