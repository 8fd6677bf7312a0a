"""Governance by consensus on chain (DESIGN.md section 8): the settings and founding members a
deployment starts with, the index of proposals and votes, the service's proposals, votes and
executions for participant admins, and each service's reaction to validator decisions.

No account governs the registry: KPSeats holds its GOVERNOR_ROLE and acts only on decisions the
KPTimelock executes, which only proposals the participants' admins pass can schedule (see
contracts/interfaces/IKPGovernor.sol and IKPSeats.sol).
"""
