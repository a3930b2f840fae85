"""Reading the overdue lists: a page of one or every list, or (for the exports) all of it."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from api.core.runtime import Runtime
from api.queries import cursors, scope
from api.queries.paging import EXPORT_PAGE, MAX_EXPORT_ROWS, Page, every_page
from api.queries.views import caught_up
from ledger.access import Reach
from ledger.accounts import Account
from ledger.rules import Rules
from projections.overdue_reads import overdue_items

LIST = "overdue"  # the list's name in its cursors
VIEWS = ("overdue",)
Kind = Literal["unfiled", "filed_late", "change_late", "correction_overdue", "due_soon"]
KINDS: tuple[str, ...] = get_args(Kind)


def overdue_page(
    rt: Runtime,
    caller: Account,
    *,
    as_of: date,
    division_code: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Page:
    """A page of the lists (one `kind`, or every kind) as of a day, by due date, in the
    caller's police-side reach (403 for a unit), after every earlier write."""
    reach = scope.police_reach(caller)
    after = cursors.decode(LIST, cursor, cursors.a_day_and_id)
    caught_up(rt, VIEWS)
    items, last = overdue_items(
        rt.reads,
        as_of=as_of,
        rules=rt.rules,
        reach=reach,
        division_code=division_code,
        kind=kind,
        after=after,
        limit=limit,
    )
    return {"items": items, "next_cursor": cursors.of_day_and_id(LIST, last)}


def all_overdue(
    rt: Runtime,
    *,
    as_of: date,
    rules: Rules,
    reach: Reach,
    division_code: str | None,
    kind: str | None,
    cap: int = MAX_EXPORT_ROWS,
) -> list[dict[str, Any]]:
    """Every item of the lists in `reach`, page by page; TooMany past `cap`. The caller waits
    for the views (`caught_up`), or says it did not (the command line)."""

    def read(
        after: tuple[date, str] | None,
    ) -> tuple[list[dict[str, Any]], tuple[date, str] | None]:
        return overdue_items(
            rt.reads,
            as_of=as_of,
            rules=rules,
            reach=reach,
            division_code=division_code,
            kind=kind,
            after=after,
            limit=EXPORT_PAGE,
        )

    return every_page(read, cap=cap)


def overdue_counts(rt: Runtime, caller: Account, *, as_of: date) -> dict[str, int]:
    """How many items each list has as of a day, in the caller's reach: the lengths of the
    API's lists (the officer pages' dashboard)."""
    reach = scope.police_reach(caller)
    caught_up(rt, VIEWS)
    counts = dict.fromkeys(KINDS, 0)
    items = all_overdue(rt, as_of=as_of, rules=rt.rules, reach=reach, division_code=None, kind=None)
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    return counts
