"""The audit trail: every event of the ledger in recorded order, filtered and scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Caller, QueryInstant, RuntimeDep
from api.http.problems import Problem
from api.queries.audit import AuditFilters, audit_page
from api.routes.common import PROBLEMS
from api.schemas.audit import AuditPage
from ledger.values import FieldError

router = APIRouter(prefix="/v1", tags=["audit"])


Instant = Annotated[
    QueryInstant | None,
    Query(description="an RFC 3339 instant with an offset, on recorded_at"),
]


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
    return dict(audit_page(rt, caller, filters=filters, cursor=cursor, limit=limit))
