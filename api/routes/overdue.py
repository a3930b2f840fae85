"""The police side's overdue lists: who has not filed, who filed late, whose order is overdue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.http.deps import Caller, QueryDate, RuntimeDep, Today
from api.http.problems import Problem
from api.queries import cursors
from api.routes.accounts import PROBLEMS
from ledger.access import reach_of, reads_police_lists
from projections.overdue import overdue_items

router = APIRouter(prefix="/v1", tags=["police"])

Kind = Literal["unfiled", "filed_late", "change_late", "correction_overdue", "due_soon"]


@router.get("/overdue", responses=PROBLEMS)
def overdue(
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    division_code: Annotated[str | None, Query(max_length=12)] = None,
    kind: Kind | None = None,
    as_of: Annotated[QueryDate | None, Query(description="a day; today if unset")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The duties on a list as of a day, by due date; each item names its rules version."""
    if not reads_police_lists(caller):
        raise Problem(403, "the overdue lists are for officers, auditors and admins")
    after = cursors.decode("overdue", cursor, cursors.a_day_and_id)
    if not rt.wait_for_views(rt.head(), rt.settings_read_wait, names=("overdue",)):
        raise Problem(
            503, "the views are catching up; try again shortly", headers={"Retry-After": "1"}
        )
    items, last = overdue_items(
        rt.reads,
        as_of=as_of or today,
        rules=rt.rules,
        reach=reach_of(caller),
        division_code=division_code,
        kind=kind,
        after=after,
        limit=limit,
    )
    return {
        "items": items,
        "next_cursor": cursors.encode("overdue", [last[0].isoformat(), last[1]] if last else None),
    }
