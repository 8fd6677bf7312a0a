"""Typed Python views of the contracts: the Solidity enums now; the contract bindings come later."""
