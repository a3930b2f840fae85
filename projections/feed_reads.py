"""Reading the feed: the audit view's rows in log order, each as one ready NDJSON line.

The items are the audit route's (`projections.audit_reads.audit_item`), scoped by the same SQL
(`projections.scope.event_reach_sql`, so the two can never disagree on who sees what). What
differs is speed: an event's `data` and `diff` go from the view's jsonb to the line as
PostgreSQL writes them as text, never decoded into Python objects and encoded again; that round
trip was most of the cost of a page (a filing with its devices is a few kilobytes of JSON).
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL

from ledger.access import Reach
from projections.audit import AuditView
from projections.audit_reads import CHAIN_LINKS, has_chain, item_head
from projections.scope import event_reach_sql

_COLUMNS = (
    "i.position, i.event_id, i.seq, i.type, i.system_id, i.unit_uscc, i.division_code,"
    " i.actor_account_id, i.actor_role, i.actor_name, i.on_behalf_of, i.channel,"
    " i.recorded_at, i.effective_on, i.data::text AS data, i.diff::text AS diff"
)


def feed_line(row: dict[str, Any]) -> str:
    """One item as a line: the audit item's fields, `data` and `diff` spliced in as stored."""
    head = item_head(row)
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return f'{text[:-1]},"data":{row["data"]},"diff":{row["diff"] or "null"}}}\n'


def read_feed(
    reads: PostgresDatastore, *, scope: Reach, after: int, upto: int, limit: int
) -> tuple[list[str], int]:
    """The caller's lines in (after, upto], at most `limit`, in one short transaction; the
    position the next page starts after: the last line's when the page is full, else `upto`
    (every line up to it has been read)."""
    scope_where, scope_params = event_reach_sql(scope, alias="i")
    where = SQL(" AND ").join([SQL("i.position > %s"), SQL("i.position <= %s"), *scope_where])
    with reads.transaction(commit=False) as curs:
        chain = has_chain(curs)
        curs.execute(
            SQL(
                "SELECT " + _COLUMNS + ", {h} AS hash FROM {t} i {j}"
                " WHERE {w} ORDER BY i.position LIMIT %s"
            ).format(
                h=SQL("c.hash") if chain else SQL("NULL::text"),
                t=AuditView.read_table("items"),
                j=SQL("LEFT JOIN " + CHAIN_LINKS + " c ON c.position = i.position")
                if chain
                else SQL(""),
                w=where,
            ),
            [after, upto, *scope_params, limit],
        )
        rows = curs.fetchall()
    lines = [feed_line(row) for row in rows]
    next_after = rows[-1]["position"] if len(rows) == limit else upto
    return lines, next_after
