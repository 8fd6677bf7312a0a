"""kpchain: digital Kimberley Process certificates on a permissioned EVM chain."""

import importlib.util
import os

__version__ = "0.1.0"

# keccak256 through safe-pysha3 (a C extension: 2.7 against 5.9 us a hash here, and it keeps
# the GIL, where pycryptodome's three ctypes calls a hash each let other threads in). eth-hash
# would take pycryptodome, a dependency of its own here, first. It chooses at its first hash,
# so this comes before any; an explicit ETH_HASH_BACKEND wins.
if importlib.util.find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
