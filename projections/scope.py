"""The SQL form of the access rule: which rows of a view a caller's `Reach` covers.

`ledger.access.reach_of` decides what an account reaches; this module only writes that decision
as a WHERE clause, so the lists, the audit, the feed and the exports can never disagree with the
ledger's own checks (docs/identity.md). A unit-side reach is a set of USCCs; a police-side reach
a division prefix ("" = every row, rows without a division included); no reach, no rows.
"""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL, Composable, Identifier

from ledger.access import Reach


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def reach_sql(
    reach: Reach,
    *,
    uscc_column: str,
    division_columns: tuple[str, ...],
    actor_column: str | None = None,
    alias: str | None = None,
) -> tuple[list[Composable], list[Any]]:
    """The clauses (to AND) and their parameters that keep only the rows `reach` covers.
    `actor_column`, when given, also keeps a unit-side caller's own acts (its uploads)."""

    def column(name: str) -> Composable:
        return Identifier(alias, name) if alias else Identifier(name)

    if reach.units is not None:
        parts: list[Composable] = [SQL("{c} = ANY(%s)").format(c=column(uscc_column))]
        params: list[Any] = [sorted(reach.units)]
        if actor_column is not None:
            parts.append(SQL("{c} = %s").format(c=column(actor_column)))
            params.append(reach.account_id)
        return [SQL("(") + SQL(" OR ").join(parts) + SQL(")")], params
    if reach.division_prefix is None:
        return [SQL("FALSE")], []
    if reach.division_prefix == "":
        return [], []
    pattern = _like_prefix(reach.division_prefix)
    parts = [SQL("{c} LIKE %s").format(c=column(c)) for c in division_columns]
    return [SQL("(") + SQL(" OR ").join(parts) + SQL(")")], [pattern] * len(division_columns)


def event_reach_sql(reach: Reach, *, alias: str) -> tuple[list[Composable], list[Any]]:
    """The rule over the audit view's event rows (the audit and the feed read the same): a
    unit-side caller sees its units' events and its own acts (its uploads, its account);
    police-side a division prefix (an officer's is the whole code) on the event's district or
    the one a move left, which rows without a division never match; "" (an admin, an auditor
    for everywhere) every row; no reach, nothing."""
    return reach_sql(
        reach,
        uscc_column="unit_uscc",
        division_columns=("division_code", "previous_division_code"),
        actor_column="actor_account_id",
        alias=alias,
    )


def reach_condition(reach: Reach, *, division_column: str, params: dict[str, Any]) -> str:
    """The same rule for a query written with named parameters (the overdue lists), over a
    division column only: those lists hold police-side work, so a unit-side reach gets no
    rows; a police-side one its prefix's rows ("" = all); none, no rows. Adds `reach_prefix`
    to `params` when it needs it."""
    if reach.units is not None or reach.division_prefix is None:
        return "FALSE"
    if reach.division_prefix == "":
        return "TRUE"
    params["reach_prefix"] = _like_prefix(reach.division_prefix)
    return f"{division_column} LIKE %(reach_prefix)s"
