"""Reading the overdue lists as of a day: three index-ordered slices of the duties, merged.

A duty is on a list as of D when it was met late by D (filed_late, change_late), or when it was
known by D and not met by D and is due by D + the due-soon window (unfiled, correction_overdue,
due_soon). The second kind splits in two: still open today (a small partial index), and met
after D (only when D is in the past). Each slice is read in (due_on, duty_id) order from its own
index and PostgreSQL merges them, so a page costs about `limit` rows whatever the size of the
district; only then are the page's systems joined in.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg.sql import SQL, Identifier

from ledger.access import Reach
from ledger.rules import Rules
from projections.scope import reach_condition

# The stable read names of projections.overdue.OverdueView (this module must not import the
# view: the view's module re-exports `overdue_items` for its readers).
_DUTIES = Identifier("overdue_duties")
_SYSTEMS = Identifier("overdue_systems")

_OPEN_KIND = (
    "CASE WHEN d.due_on >= %(as_of)s THEN 'due_soon'"
    " WHEN d.kind = 'registration' THEN 'unfiled' ELSE 'correction_overdue' END"
)
_LATE_KIND = "CASE d.kind WHEN 'registration' THEN 'filed_late' ELSE 'change_late' END"
_LATE = ("filed_late", "change_late")
_OPEN = ("unfiled", "correction_overdue", "due_soon")
# (the list kind of a row, the kinds it can be, its condition)
_SLICES = (
    # met late, by the day asked about
    (_LATE_KIND, _LATE, "d.met_on > d.due_on AND d.met_on <= %(as_of)s AND d.kind <> 'correction'"),
    # open now
    (
        _OPEN_KIND,
        _OPEN,
        "d.met_on IS NULL AND d.known_on <= %(as_of)s AND d.due_on <= %(as_of)s + %(soon)s",
    ),
    # open on a past day, met since
    (
        _OPEN_KIND,
        _OPEN,
        "d.met_on > %(as_of)s AND d.known_on <= %(as_of)s AND d.due_on <= %(as_of)s + %(soon)s",
    ),
)
# What a list of one kind adds, in terms an index can use (the slices' order is by due_on).
_KIND_CONDITION = {
    "filed_late": "d.kind = 'registration'",
    "change_late": "d.kind = 'change'",
    "unfiled": "d.kind = 'registration' AND d.due_on < %(as_of)s",
    "correction_overdue": "d.kind = 'correction' AND d.due_on < %(as_of)s",
    "due_soon": "d.due_on >= %(as_of)s",
}


def overdue_items(
    reads: Any,
    *,
    as_of: date,
    rules: Rules,
    reach: Reach,
    division_code: str | None,
    kind: str | None,
    after: tuple[date, str] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[date, str] | None]:
    """One page of the lists as of a day, by due date; and the cursor of the next page."""
    params: dict[str, Any] = {"as_of": as_of, "soon": rules.due_soon_days, "limit": limit + 1}
    scope = [reach_condition(reach, division_column="d.division_code", params=params)]
    if division_code:
        scope.append("d.division_code = %(division)s")
        params["division"] = division_code
    if after:
        scope.append("(d.due_on, d.duty_id) > (%(after_due)s, %(after_id)s)")
        params["after_due"], params["after_id"] = after
    # Each slice is limited on its own, in its index's order: the page is among the first
    # `limit` rows of each (a plan that sorted every late duty of a district of 100,000
    # systems took 190 ms; these take a few). A list of one kind reads only the slices that
    # hold it, with a condition the index can use.
    extra = [_KIND_CONDITION[kind]] if kind else []
    union = " UNION ALL ".join(
        f"(SELECT d.*, {list_kind} AS list_kind FROM {{duties}} d WHERE "
        + " AND ".join([*scope, condition, *extra])
        + " ORDER BY d.due_on, d.duty_id LIMIT %(limit)s)"
        for list_kind, kinds, condition in _SLICES
        if kind is None or kind in kinds
    )
    query = SQL(
        "SELECT k.*, s.filing_number, s.unit_uscc, s.name, s.place_category, s.status"
        " FROM (SELECT * FROM (" + union + ") k"
        " ORDER BY k.due_on, k.duty_id LIMIT %(limit)s) k"
        " JOIN {systems} s USING (system_id) ORDER BY k.due_on, k.duty_id"
    ).format(duties=_DUTIES, systems=_SYSTEMS)
    with reads.transaction(commit=False) as curs:
        curs.execute(query, params)
        rows = curs.fetchall()
    page = [_item(row, as_of, rules) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return page, (last["due_on"], last["duty_id"]) if last else None


def _item(row: dict[str, Any], as_of: date, rules: Rules) -> dict[str, Any]:
    kind = row["list_kind"]
    if kind in ("filed_late", "change_late"):
        days = (row["met_on"] - row["due_on"]).days
    elif kind == "due_soon":
        days = 0
    else:
        days = (as_of - row["due_on"]).days
    return {
        "system_id": str(row["system_id"]),
        "filing_number": row["filing_number"],
        "unit_uscc": row["unit_uscc"],
        "name": row["name"],
        "division_code": row["division_code"],
        "place_category": row["place_category"],
        "status": row["status"],
        "kind": kind,
        "duty": row["kind"],
        "order_id": row["order_id"],
        "due_on": row["due_on"],
        "met_on": row["met_on"] if row["met_on"] and row["met_on"] <= as_of else None,
        "days_overdue": days,
        "days_left": (row["due_on"] - as_of).days if kind == "due_soon" else None,
        "provisional": row["provisional"],
        "as_of": as_of,
        "rules_version": rules.version,
    }
