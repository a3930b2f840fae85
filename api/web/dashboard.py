"""The dashboard: today's overdue counts by kind, the list behind each, and their exports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.core.logs import security_event
from api.http.deps import today
from api.queries.overdue import Kind
from api.sheets.exports import MEDIA_TYPES, OVERDUE_COLUMNS, Columns, export_table, overdue_rows
from api.web import reads
from api.web.labels import OVERDUE_KINDS
from api.web.site import Officer, PageRoute, is_htmx, render, runtime_of

router = APIRouter(route_class=PageRoute)

Format = Literal["xlsx", "csv"]


def _list_context(
    request: Request, account: Any, kind: str | None, cursor: str | None, as_of: date
) -> dict[str, Any]:
    if kind is None:
        return {"kind": None, "items": [], "next_cursor": None}
    items, next_cursor = reads.overdue_page(
        runtime_of(request), account, as_of=as_of, kind=kind, cursor=cursor
    )
    return {"kind": kind, "items": items, "next_cursor": next_cursor, "cursor": cursor}


@router.get("/")
def dashboard(
    request: Request,
    account: Officer,
    kind: Kind | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The counts of every list as of today (Asia/Shanghai), the chosen list below them."""
    as_of = today()
    counts = reads.overdue_counts(runtime_of(request), account, as_of=as_of)
    context = {
        "counts": counts,
        "kinds": OVERDUE_KINDS,
        "as_of": as_of,
        "pending_units": reads.pending_units(runtime_of(request), account),
        **_list_context(request, account, kind, cursor, as_of),
    }
    return render(request, "dashboard.html", context, account=account)


@router.get("/overdue")
def overdue_list(
    request: Request,
    account: Officer,
    kind: Kind,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """One page of one list: a fragment for htmx, else the dashboard showing it."""
    if not is_htmx(request):
        return dashboard(request, account, kind=kind, cursor=cursor)
    context = {"kinds": OVERDUE_KINDS, **_list_context(request, account, kind, cursor, today())}
    return render(request, "_overdue_list.html", context, account=account)


def export_response(
    rows: list[dict[str, Any]], columns: Columns, fmt: Format, stem: str
) -> Response:
    """The rows as an xlsx or CSV download, through api/sheets/exports.py (formula-safe)."""
    return Response(
        export_table(rows, columns, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{stem}-{today().isoformat()}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/overdue/export")
def overdue_export(
    request: Request, account: Officer, format: Format = "xlsx", kind: Kind | None = None
) -> Response:
    """Every item of a list (or of all lists) as of today, as a spreadsheet."""
    rows = reads.overdue_all(runtime_of(request), account, as_of=today(), kind=kind)
    security_event("export", what="overdue", account_id=str(account.id), role=str(account.role),
                   rows=len(rows), format=format, via="pages")  # fmt: skip
    return export_response(overdue_rows(rows), OVERDUE_COLUMNS, format, f"overdue-{kind or 'all'}")
