"""The audit trail (issue 15): one record per request that changed, or tried to change,
anything: who (API key id, role, label, participant), when (UTC), from where (the client's
address), what (method, path, subject, Idempotency-Key) and how it ended (HTTP status, error
code), refused requests included.

It lives in a table of its own (`audit_records`, migration 0010_audit), outside the index, so
that rebuilding the index never touches it; records are kept at least five years
(`KPCHAIN_AUDIT_RETENTION_DAYS`, `kpchain audit purge`).

`kpchain.audit.trail` records (the API's middleware drives it, and the code that learns who
is calling or what a request is about notes it there); `kpchain.audit.queries` reads.
"""
