"""Response schemas of `GET /v1/audit` (the history item shape plus where each event belongs)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class AuditActor(BaseModel):
    account_id: str | None
    role: str | None
    name: str | None


class AuditItem(BaseModel):
    position: int
    event_id: UUID
    seq: int
    type: str
    system_id: UUID | None
    unit_uscc: str | None
    division_code: str | None
    recorded_at: str
    effective_on: date | None
    actor: AuditActor
    on_behalf_of: str | None
    channel: str | None
    data: dict[str, Any]
    diff: dict[str, Any] | None
    hash: str | None


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_cursor: str | None
