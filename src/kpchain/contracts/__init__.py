"""Typed Python views of the contracts: their bindings (`registry`, `governance`), mirrors of
their Solidity enums (`enums`) and the encodings of the identifiers they take (`encoding`).

The domain (`kpchain.certificates`) builds on these; nothing here imports it.
"""
