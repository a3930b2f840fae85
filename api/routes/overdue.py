"""The police side's overdue lists: who has not filed, who filed late, whose order is overdue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.deps import Caller, QueryDate, RuntimeDep, Today
from api.queries.overdue import Kind, overdue_page
from api.routes.common import PROBLEMS

router = APIRouter(prefix="/v1", tags=["police"])


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
    page = overdue_page(
        rt,
        caller,
        as_of=as_of or today,
        division_code=division_code,
        kind=kind,
        cursor=cursor,
        limit=limit,
    )
    return dict(page)
