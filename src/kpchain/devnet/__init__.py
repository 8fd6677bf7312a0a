"""The local devnet: an anvil node with a consortium profile, deployed and seeded."""
