"""Downloads: the overdue lists and system lists as xlsx or CSV (every page, same filters and
scope as the lists), and the device-sheet template."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.core.logs import security_event
from api.core.settings import Settings
from api.http.deps import Caller, QueryDate, RuntimeDep, Today
from api.http.problems import Problem
from api.middleware.concurrency import Slots, slots_of
from api.queries import scope
from api.queries.overdue import Kind, all_overdue
from api.queries.paging import MAX_EXPORT_ROWS, TooMany
from api.queries.systems import all_systems as all_systems  # the tests hold exports back here
from api.queries.systems import system_filters
from api.queries.views import caught_up
from api.routes.common import PROBLEMS
from api.sheets.devices import device_sheet_template
from api.sheets.exports import (
    MEDIA_TYPES,
    OVERDUE_COLUMNS,
    SYSTEM_COLUMNS,
    export_table,
    overdue_rows,
    system_rows,
)
from api.sheets.template import SHEET_TITLE

router = APIRouter(prefix="/v1", tags=["exports"])

EXPORT_RETRY_SECONDS = 5
Format = Literal["xlsx", "csv"]
FILE = {
    200: {
        "description": "the table as a file",
        "content": {MEDIA_TYPES["xlsx"]: {}, "text/csv": {}},
    },
    **PROBLEMS,
}


def _download(content: bytes, *, fmt: str, stem: str) -> Response:
    media_type = MEDIA_TYPES.get(fmt, MEDIA_TYPES["xlsx"])
    stem = re.sub(r"[^0-9A-Za-z_.-]", "", stem)  # it may carry a query value
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


def _exports(settings: Settings) -> Slots:
    return Slots(per_key=settings.exports_per_account, what="exports by this account",
                 retry_after=EXPORT_RETRY_SECONDS)  # fmt: skip


async def _export_slot(request: Request, caller: Caller) -> AsyncIterator[None]:
    """Holds one of the caller's export slots while the export runs (429 when none is free)."""
    with slots_of(request.app, "exports", _exports).hold(str(caller.id)):
        yield


ExportSlot = Annotated[None, Depends(_export_slot)]


def _too_many() -> Problem:
    return Problem(422, f"an export holds at most {MAX_EXPORT_ROWS:,} rows: narrow the filters")


@router.get("/overdue/export", response_class=Response, responses=FILE)
def export_overdue(
    rt: RuntimeDep,
    caller: Caller,
    _slot: ExportSlot,
    today: Today,
    format: Format = "xlsx",
    division_code: Annotated[str | None, Query(max_length=12)] = None,
    kind: Kind | None = None,
    as_of: Annotated[QueryDate | None, Query(description="a day; today if unset")] = None,
) -> Response:
    """The overdue lists (GET /v1/overdue) as one xlsx or CSV file, every page."""
    reach = scope.police_reach(caller)
    day = as_of or today
    stem = f"overdue-{division_code or caller.division_code or 'all'}-{day.isoformat()}"
    caught_up(rt, ("overdue",))
    try:
        items = all_overdue(
            rt,
            as_of=day,
            rules=rt.rules,
            reach=reach,
            division_code=division_code,
            kind=kind,
        )
    except TooMany:
        raise _too_many() from None
    content = export_table(overdue_rows(items), OVERDUE_COLUMNS, format)
    security_event("export", what="overdue", account_id=str(caller.id), role=str(caller.role),
                   rows=len(items), format=format)  # fmt: skip
    return _download(content, fmt=format, stem=stem)


@router.get("/systems/export", response_class=Response, responses=FILE)
def export_systems(
    rt: RuntimeDep,
    caller: Caller,
    _slot: ExportSlot,
    today: Today,
    format: Format = "xlsx",
    division_code: str | None = None,
    unit_uscc: str | None = None,
    status: Literal["filed", "cancelled", "unfiled"] | None = None,
    place_category: Annotated[int | None, Query(ge=1, le=5)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The systems list (GET /v1/systems) as one xlsx or CSV file, every page."""
    stem = f"systems-{division_code or caller.division_code or 'mine'}-{today.isoformat()}"
    caught_up(rt, ("status",))
    filters = system_filters(
        division_code=division_code,
        unit_uscc=unit_uscc,
        status=status,
        place_category=place_category,
        q=q,
    )
    try:
        items = all_systems(rt, reach=scope.reach(caller), filters=filters, today=today)
    except TooMany:
        raise _too_many() from None
    content = export_table(system_rows(items), SYSTEM_COLUMNS, format)
    security_event("export", what="systems", account_id=str(caller.id), role=str(caller.role),
                   rows=len(items), format=format)  # fmt: skip
    return _download(content, fmt=format, stem=stem)


@router.get("/device-sheet-template", response_class=Response, responses=FILE)
def sheet_template(caller: Caller) -> Response:
    """The device sheet (图像采集设备信息表) template: xlsx with Chinese headers, one example row
    and drop-down lists; upload it filled in and name it as `device_sheet_id` in a filing."""
    return Response(
        device_sheet_template(),
        media_type=MEDIA_TYPES["xlsx"],
        headers={
            "Content-Disposition": 'attachment; filename="device-sheet.xlsx";'
            f" filename*=UTF-8''{quote(SHEET_TITLE)}.xlsx"
        },
    )
