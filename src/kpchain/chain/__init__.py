"""Talking to the chain: connection, transaction sending, and the one place that turns web3/RPC
failures and reverts into kpchain errors."""
