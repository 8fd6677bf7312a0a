"""One module per phase of `make bench`; each measures on chains of its own."""
