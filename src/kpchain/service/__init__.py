"""The authority service's core, below HTTP: hosted participants and their signers, API keys,
and the crash-safe write path (intent recorded, transaction stored, sent, mined, indexed)."""
