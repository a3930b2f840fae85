"""What the officer pages read, through the same ledger methods and view readers as the API's
routes (api/routes/overdue.py, systems.py, accounts.py), with the same scopes and waits, so a
page and the API never disagree about a number."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from api.core.runtime import Runtime
from api.http.problems import Problem
from api.queries import cursors
from api.queries.render import system_public, unit_public
from api.routes.exports import MAX_EXPORT_ROWS, TooMany, all_overdue, all_systems
from api.routes.systems import system_history
from api.web.errors import PageError
from ledger.access import reach_of
from ledger.accounts import Account
from projections.documents import system_document
from projections.overdue import KINDS, overdue_items
from projections.status import list_systems, list_units

PAGE_SIZE = 50


def _wait(rt: Runtime, names: Iterable[str]) -> None:
    if not rt.wait_for_views(rt.head(), rt.settings_read_wait, names=tuple(names)):
        raise Problem(503, "the views are catching up; try again shortly")


def overdue_page(
    rt: Runtime,
    caller: Account,
    *,
    as_of: date,
    kind: str | None,
    cursor: str | None,
    limit: int = PAGE_SIZE,
    wait: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an overdue list, exactly as GET /v1/overdue gives it."""
    if wait:
        _wait(rt, ("overdue",))
    after = cursors.decode("overdue", cursor, cursors.a_day_and_id)
    items, last = overdue_items(
        rt.reads,
        as_of=as_of,
        rules=rt.rules,
        reach=reach_of(caller),
        division_code=None,
        kind=kind,
        after=after,
        limit=limit,
    )
    return items, cursors.encode("overdue", [last[0].isoformat(), last[1]] if last else None)


def overdue_all(
    rt: Runtime, caller: Account, *, as_of: date, kind: str | None
) -> list[dict[str, Any]]:
    """Every item of a list (for counts and exports), by the export route's own reader."""
    _wait(rt, ("overdue",))
    try:
        return all_overdue(
            rt,
            as_of=as_of,
            rules=rt.rules,
            reach=reach_of(caller),
            division_code=None,
            kind=kind,
        )
    except TooMany:
        raise PageError(413, f"超过 {MAX_EXPORT_ROWS} 行，请缩小范围。") from None


def overdue_counts(rt: Runtime, caller: Account, *, as_of: date) -> dict[str, int]:
    """How many items each list has as of a day: the lengths of the API's lists."""
    counts = dict.fromkeys(KINDS, 0)
    for item in overdue_all(rt, caller, as_of=as_of, kind=None):
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    return counts


def systems_page(
    rt: Runtime,
    caller: Account,
    *,
    filters: dict[str, Any],
    cursor: str | None,
    today: date,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of systems in filing order, as GET /v1/systems gives it."""
    _wait(rt, ("status",))
    after = cursors.decode("systems", cursor, cursors.a_number)
    docs, next_after = list_systems(
        rt.reads,
        reach=reach_of(caller),
        filters=filters,
        after=after or 0,
        limit=limit,
    )
    items = [system_public(doc, rt.rules, today=today) for doc in docs]
    return items, cursors.encode("systems", [next_after] if next_after is not None else None)


def systems_all(
    rt: Runtime, caller: Account, *, filters: dict[str, Any], today: date
) -> list[dict[str, Any]]:
    """Every system a search finds (for exports), by the export route's own reader."""
    _wait(rt, ("status",))
    try:
        return all_systems(rt, reach=reach_of(caller), filters=filters, today=today)
    except TooMany:
        raise PageError(413, f"超过 {MAX_EXPORT_ROWS} 行，请缩小范围。") from None


def system_detail(
    rt: Runtime, caller: Account, system_id: UUID, *, today: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The system now (as GET /v1/systems/{id}) and its timeline (as its /history)."""
    system = rt.ledger.system_for(caller, system_id)
    public = system_public(system_document(system), rt.rules, today=today)
    # The route's own function: the page's timeline is the API's history, hash links included.
    items: list[dict[str, Any]] = system_history(system_id, rt, caller)["items"]
    return public, items


def unit_detail(rt: Runtime, caller: Account, uscc: str) -> dict[str, Any]:
    """The unit as GET /v1/units/{uscc} shows it to this caller."""
    return unit_public(rt.ledger.unit_for(caller, uscc), caller)


def pending_units(rt: Runtime, caller: Account) -> list[dict[str, Any]]:
    """The units registered by agents and not yet decided, in the caller's reach, as
    GET /v1/units?verification=pending gives them."""
    _wait(rt, ("status",))
    return list_units(rt.reads, reach=reach_of(caller), verification="pending", limit=200)
