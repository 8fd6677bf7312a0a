"""kpchain: digital Kimberley Process certificates on a permissioned EVM chain."""

__version__ = "0.1.0"
