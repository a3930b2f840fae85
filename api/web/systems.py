"""Finding systems, and the pages of one system and one unit."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.core.logs import security_event
from api.http.deps import today
from api.sheets.exports import SYSTEM_COLUMNS, system_rows
from api.web import reads
from api.web.dashboard import Format, export_response
from api.web.errors import FormErrors
from api.web.site import Officer, PageRoute, is_htmx, render, runtime_of
from ledger import codes
from ledger.access import may_verify_unit

router = APIRouter(route_class=PageRoute)
SearchText = Annotated[str, Query(max_length=100)]
STATUSES = ("filed", "cancelled", "unfiled")


def search_filters(
    q: str, unit_uscc: str, status: str, place_category: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The list filters of a search form (bad values are dropped) and the form's values."""
    values = {
        "q": q.strip(),
        "unit_uscc": unit_uscc.strip(),
        "status": status if status in STATUSES else "",
        "place_category": place_category if place_category in ("1", "2", "3", "4", "5") else "",
    }
    filters = {
        "q": values["q"] or None,
        "unit_uscc": codes.normalise_uscc(values["unit_uscc"]) if values["unit_uscc"] else None,
        "status": values["status"] or None,
        "place_category": int(values["place_category"]) if values["place_category"] else None,
        "division_code": None,
    }
    return filters, values


@router.get("/systems")
def search(
    request: Request,
    account: Officer,
    q: SearchText = "",
    unit_uscc: SearchText = "",
    status: SearchText = "",
    place_category: SearchText = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Systems by name or address, unit, status and place category; a fragment for htmx."""
    filters, values = search_filters(q, unit_uscc, status, place_category)
    items, next_cursor = reads.systems_page(
        runtime_of(request), account, filters=filters, cursor=cursor, today=today()
    )
    context = {"items": items, "next_cursor": next_cursor, "values": values, "cursor": cursor}
    template = "_systems_table.html" if is_htmx(request) else "systems.html"
    return render(request, template, context, account=account)


@router.get("/systems/export")
def systems_export(
    request: Request,
    account: Officer,
    format: Format = "xlsx",
    q: SearchText = "",
    unit_uscc: SearchText = "",
    status: SearchText = "",
    place_category: SearchText = "",
) -> Response:
    """Every system the search finds, as a spreadsheet."""
    filters, _values = search_filters(q, unit_uscc, status, place_category)
    rows = reads.systems_all(runtime_of(request), account, filters=filters, today=today())
    security_event("export", what="systems", account_id=str(account.id), role=str(account.role),
                   rows=len(rows), format=format, via="pages")  # fmt: skip
    return export_response(system_rows(rows), SYSTEM_COLUMNS, format, "systems")


def system_page(
    request: Request,
    account: Any,
    system_id: UUID,
    *,
    forms: dict[str, tuple[FormErrors | None, dict[str, Any]]] | None = None,
    status: int = 200,
) -> Response:
    """A system's page; `forms` re-shows a rejected form with its values and errors."""
    system, timeline = reads.system_detail(runtime_of(request), account, system_id, today=today())
    forms = forms or {}
    context = {
        "system": system,
        "timeline": timeline,
        "saved": request.query_params.get("saved"),
        "correction": forms.get("correction", (None, {})),
        "inspection": forms.get("inspection", (None, {})),
    }
    return render(request, "system.html", context, account=account, status=status)


@router.get("/systems/{system_id}")
def system(request: Request, account: Officer, system_id: UUID) -> Response:
    """Current data, devices, obligations and the timeline, with the police-side forms."""
    return system_page(request, account, system_id)


@router.get("/units/{uscc}")
def unit(
    request: Request,
    account: Officer,
    uscc: Annotated[str, Path(max_length=32)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """A unit and its systems."""
    rt = runtime_of(request)
    found = reads.unit_detail(rt, account, uscc)
    filters = {"unit_uscc": found["uscc"]}
    items, next_cursor = reads.systems_page(
        rt, account, filters=filters, cursor=cursor, today=today()
    )
    may_decide = found["verification"] == "pending" and may_verify_unit(
        account, uscc=found["uscc"], division_code=found["division_code"]
    )
    context = {
        "unit": found,
        "items": items,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "may_decide": may_decide,
        "saved": request.query_params.get("saved"),
    }
    return render(request, "unit.html", context, account=account)
