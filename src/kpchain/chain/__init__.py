"""Talking to the chain: connection, transaction sending (with the `Signer` protocol it signs
with), a node's admin listener, and the one place that turns web3/RPC failures and reverts into
kpchain errors."""
