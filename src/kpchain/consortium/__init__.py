"""Consortium network configuration for operators: Besu QBFT genesis, nodes, permissions."""
