"""The audit trail: every event of the ledger in recorded order, filtered and scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Caller, QueryInstant, RuntimeDep
from api.http.problems import Problem
from api.queries import cursors
from api.routes.accounts import PROBLEMS
from api.schemas.audit import AuditPage
from ledger.access import reach_of
from ledger.values import FieldError
from projections.audit_reads import AuditFilters, read_audit

router = APIRouter(prefix="/v1", tags=["audit"])


Instant = Annotated[
    QueryInstant | None,
    Query(description="an RFC 3339 instant with an offset, on recorded_at"),
]


def _cursor(position: int | None) -> str | None:
    return cursors.encode("audit", None if position is None else [position])


def _after(cursor: str | None) -> int:
    return cursors.decode("audit", cursor, cursors.a_number) or 0


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Problem(
            422,
            f"{name} needs an offset",
            errors=[FieldError(("query", name), "an RFC 3339 instant with an offset")],
        )
    return value


@router.get("/audit", response_model=AuditPage, responses=PROBLEMS)
def audit(
    rt: RuntimeDep,
    caller: Caller,
    actor: Annotated[str | None, Query(max_length=64, description="an account_id")] = None,
    unit_uscc: Annotated[str | None, Query(max_length=32)] = None,
    system_id: UUID | None = None,
    recorded_from: Annotated[Instant, Query(alias="from")] = None,
    recorded_to: Annotated[Instant, Query(alias="to", description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The ledger's events in recorded order, in the caller's scope (an out-of-scope filter
    gives an empty page). `from` is inclusive, `to` exclusive; reads every earlier write."""
    filters = AuditFilters(
        actor=actor,
        unit_uscc=unit_uscc,
        system_id=system_id,
        recorded_from=_instant(recorded_from, "from"),
        recorded_to=_instant(recorded_to, "to"),
    )
    after = _after(cursor)
    views = ["audit", *(["chain"] if "chain" in rt.slots else [])]
    if not rt.wait_for_views(rt.head(), rt.settings_read_wait, names=views):
        raise Problem(
            503, "the audit view is catching up; try again shortly", headers={"Retry-After": "1"}
        )
    items, next_after = read_audit(
        rt.reads, scope=reach_of(caller), filters=filters, after=after, limit=limit
    )
    return {"items": items, "next_cursor": _cursor(next_after)}
