"""`python -m kpchain`: the `kpchain` command."""

from kpchain.cli import main

main()
