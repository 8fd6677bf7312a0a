"""The audit trail's view models (`GET /v1/audit`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kpchain.audit.tables import AuditRecord

_CONFIG = ConfigDict(extra="forbid", frozen=True)

Outcome = Literal["done", "refused", "incomplete"]


class AuditRecordView(BaseModel):
    """One request that changed, or tried to change, something."""

    model_config = _CONFIG

    id: int = Field(description="The record's number: records are numbered as they are written.")
    at: AwareDatetime = Field(description="When the request arrived (UTC).")
    finished_at: AwareDatetime | None = Field(
        description="When it was answered; null while incomplete."
    )
    outcome: Outcome = Field(
        description="`done` (a 2xx or 3xx answer), `refused` (4xx or 5xx), or `incomplete`: "
        "not answered yet, or the process stopped while serving it."
    )
    method: str = Field(
        description="The HTTP method, or `CLI` for a `kpchain keys create`/`revoke` run on the "
        "service's host (its path the command, its client the user@host that ran it).",
        examples=["POST"],
    )
    path: str = Field(examples=["/v1/certificates/BW-2026-000123/ship"])
    status: int | None = Field(description="The HTTP status it was answered with.")
    error_code: str | None = Field(
        description="The error's `code` when it was refused.", examples=["role_insufficient"]
    )
    key_id: str | None = Field(
        description="The API key's id (the part after `kp_`): the key it was authenticated "
        "as, or the one it claimed when refused."
    )
    role: str | None = Field(examples=["officer"])
    label: str | None = Field(
        description="The key's label (`kpchain keys create --label`): who holds it."
    )
    participant: str | None = Field(examples=["BW"])
    client: str | None = Field(
        description="The address the request came from (a trusted proxy's client when "
        "KPCHAIN_TRUSTED_PROXIES names the proxy)."
    )
    subject: str | None = Field(
        description="What it was about: a certificate number, a draft or proposal id, a "
        "participant code.",
        examples=["BW-2026-000123"],
    )
    idempotency_key: str | None
    request_id: str | None = Field(description="The client's `X-Request-Id` header, if sent.")

    @classmethod
    def of(cls, row: AuditRecord) -> AuditRecordView:
        status = row.status
        outcome: Outcome = "incomplete" if status is None else "done" if status < 400 else "refused"
        return cls(
            id=row.id,
            at=as_utc(row.at),
            finished_at=as_utc(row.finished_at) if row.finished_at is not None else None,
            outcome=outcome,
            method=row.method,
            path=row.path,
            status=status,
            error_code=row.error_code,
            key_id=row.key_id,
            role=row.role,
            label=row.label,
            participant=row.participant,
            client=row.client,
            subject=row.subject,
            idempotency_key=row.idempotency_key,
            request_id=row.request_id,
        )


class AuditPage(BaseModel):
    """A page of the audit trail, oldest first."""

    model_config = _CONFIG

    items: list[AuditRecordView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC time (SQLite hands stored times back without their zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
