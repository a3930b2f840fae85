"""What the officer pages read: the API's own reads (api/queries), with the same scopes, waits
and cursors, so a page and the API never disagree about a number. Only what a page adds lives
here: its page size, and a Chinese message for an export too large to make."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from api.core.runtime import Runtime
from api.queries import overdue, scope, systems, units
from api.queries.paging import MAX_EXPORT_ROWS, TooMany
from api.queries.views import caught_up
from api.web.errors import PageError
from ledger.accounts import Account

PAGE_SIZE = 50
PENDING_UNITS = 200  # the dashboard's work list


def _too_many() -> PageError:
    return PageError(413, f"超过 {MAX_EXPORT_ROWS} 行，请缩小范围。")


def overdue_page(
    rt: Runtime,
    caller: Account,
    *,
    as_of: date,
    kind: str | None,
    cursor: str | None,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an overdue list, exactly as GET /v1/overdue gives it."""
    page = overdue.overdue_page(
        rt, caller, as_of=as_of, division_code=None, kind=kind, cursor=cursor, limit=limit
    )
    return page["items"], page["next_cursor"]


def overdue_all(
    rt: Runtime, caller: Account, *, as_of: date, kind: str | None
) -> list[dict[str, Any]]:
    """Every item of a list (for exports), as GET /v1/overdue/export reads it."""
    reach = scope.police_reach(caller)
    caught_up(rt, overdue.VIEWS)
    try:
        return overdue.all_overdue(
            rt, as_of=as_of, rules=rt.rules, reach=reach, division_code=None, kind=kind
        )
    except TooMany:
        raise _too_many() from None


def overdue_counts(rt: Runtime, caller: Account, *, as_of: date) -> dict[str, int]:
    """How many items each list has as of a day: the lengths of the API's lists."""
    try:
        return overdue.overdue_counts(rt, caller, as_of=as_of)
    except TooMany:
        raise _too_many() from None


def systems_page(
    rt: Runtime,
    caller: Account,
    *,
    filters: dict[str, Any],
    cursor: str | None,
    today: date,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of systems in filing order, exactly as GET /v1/systems gives it."""
    page = systems.systems_page(
        rt, caller, filters=systems.system_filters(**filters), cursor=cursor, limit=limit,
        today=today,
    )  # fmt: skip
    return page["items"], page["next_cursor"]


def systems_all(
    rt: Runtime, caller: Account, *, filters: dict[str, Any], today: date
) -> list[dict[str, Any]]:
    """Every system a search finds (for exports), as GET /v1/systems/export reads it."""
    caught_up(rt, ("status",))
    try:
        return systems.all_systems(
            rt, reach=scope.reach(caller), filters=systems.system_filters(**filters), today=today
        )
    except TooMany:
        raise _too_many() from None


def system_detail(
    rt: Runtime, caller: Account, system_id: UUID, *, today: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The system now (as GET /v1/systems/{id}) and its timeline (as its /history)."""
    system = systems.find_system(rt, caller, system_id)
    return systems.system_body(rt, system, today=today), systems.system_history(
        rt, caller, system_id
    )


def unit_detail(rt: Runtime, caller: Account, uscc: str) -> dict[str, Any]:
    """The unit as GET /v1/units/{uscc} shows it to this caller."""
    return units.unit_detail(rt, caller, uscc)


def pending_units(rt: Runtime, caller: Account) -> list[dict[str, Any]]:
    """The units registered by agents and not yet decided, in the caller's reach, as
    GET /v1/units?verification=pending gives them."""
    return units.units_list(rt, caller, verification="pending", limit=PENDING_UNITS)
