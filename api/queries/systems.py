"""Reading systems: one system (now or as of an instant), its history, and the systems list.

The API's routes, the officer pages, the exports and the command line all read systems through
these functions, so a page, a file and an answer never disagree about a system.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from api.core.runtime import Runtime
from api.queries import cursors, scope
from api.queries.paging import EXPORT_PAGE, MAX_EXPORT_ROWS, Page, every_page
from api.queries.render import change_duties_of, history, system_public
from api.queries.views import caught_up, views_reached
from api.schemas.systems import SystemPublic
from ledger.access import Reach
from ledger.accounts import Account
from ledger.systems import VideoSystem
from projections.chain import chain_hashes
from projections.documents import system_document
from projections.duty_reads import change_duties
from projections.status import list_systems

LIST = "systems"  # the list's name in its cursors
# The views the systems list reads: the documents (status) and their change duties (overdue).
LIST_VIEWS = ("status", "overdue")
FILTERS = ("division_code", "unit_uscc", "status", "place_category", "q")


def system_filters(**values: Any) -> dict[str, Any]:
    """The list's filters (`FILTERS`), each None unless given."""
    return {name: values.get(name) for name in FILTERS}


def find_system(
    rt: Runtime, caller: Account, system_id: UUID, *, as_of: datetime | None = None
) -> VideoSystem:
    """The system in the caller's reach, now or exactly as the ledger knew it at `as_of`
    (NotFound out of reach, or before it existed)."""
    if as_of is None:
        return rt.ledger.system_for(caller, system_id)
    return rt.ledger.system_as_of(caller, system_id, as_of)


def system_body(
    rt: Runtime, system: VideoSystem, *, today: date, unit_verification: bool = False
) -> dict[str, Any]:
    """A system's body (`SystemPublic`, as JSON) from the aggregate itself.

    Its change duties come from its own state (its events up to this version), by the overdue
    view's rules: a write's answer and a read as of an instant need no view to catch up, and
    the view, which keeps only the present, could not say what was known at an instant. With
    `unit_verification` (a filing's answer) it says whether its unit is still pending."""
    rules = rt.rules
    changes = change_duties_of(system, rules)
    public = system_public(system_document(system), rules, today=today, changes=changes)
    content = SystemPublic.model_validate(public).model_dump(mode="json")
    if unit_verification:
        unit = rt.ledger.find_unit(system.unit_uscc) if system.unit_uscc else None
        content["unit_verification"] = None if unit is None else str(unit.verification)
    return content


def system_history(rt: Runtime, caller: Account, system_id: UUID) -> list[dict[str, Any]]:
    """Every event of the system in order, each with its link in the hash chain (`hash`,
    `prev_hash`; None while the chain view has not reached it)."""
    events = rt.ledger.system_events(caller, system_id)
    views_reached(rt, ("chain",))  # the links of the latest events, if they come in time
    links = chain_hashes(rt.reads, system_id)
    items = history(events, lambda event: links.get(event.originator_version, (None, None))[0])
    for item in items:
        item["prev_hash"] = links.get(item["seq"], (None, None))[1]
    return items


def systems_page(
    rt: Runtime,
    caller: Account,
    *,
    filters: dict[str, Any],
    cursor: str | None,
    limit: int,
    today: date,
) -> Page:
    """A page of the systems in the caller's reach, in filing order, after every earlier
    write; the duties of the page's changes come from the overdue view, in one query."""
    after = cursors.after_number(LIST, cursor)
    caught_up(rt, LIST_VIEWS)
    docs, next_after = list_systems(
        rt.reads, reach=scope.reach(caller), filters=filters, after=after, limit=limit
    )
    rules = rt.rules
    duties = change_duties(rt.reads, [doc["system_id"] for doc in docs])
    items = [
        system_public(doc, rules, today=today, changes=duties.get(doc["system_id"], ()))
        for doc in docs
    ]
    return {"items": items, "next_cursor": cursors.of_number(LIST, next_after)}


def all_systems(
    rt: Runtime,
    *,
    reach: Reach,
    filters: dict[str, Any],
    today: date,
    cap: int = MAX_EXPORT_ROWS,
) -> list[dict[str, Any]]:
    """Every system in `reach` matching `filters`, in filing order (for the exports: their
    columns need no change duties); TooMany past `cap`. The caller waits for the views."""
    rules = rt.rules

    def read(after: int | None) -> tuple[list[dict[str, Any]], int | None]:
        docs, next_after = list_systems(
            rt.reads, reach=reach, filters=filters, after=after or 0, limit=EXPORT_PAGE
        )
        return [system_public(doc, rules, today=today) for doc in docs], next_after

    return every_page(read, first=0, cap=cap)
