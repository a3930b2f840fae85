"""Reading the audit view: pages of events in log order, filtered and scoped.

The same reader serves `GET /v1/audit` and can serve the feed: both are the audit rows after a
position, in the caller's scope. The `hash` of each event comes from the chain view's stable
read table `chain_links` when that view exists, and is None until it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from ledger.access import Reach
from projections.audit import AuditView
from projections.scope import event_reach_sql

CHAIN_LINKS = "chain_links"


@dataclass(frozen=True)
class AuditFilters:
    """What a caller asks for; `recorded_from` is inclusive, `recorded_to` exclusive."""

    actor: str | None = None
    unit_uscc: str | None = None
    system_id: UUID | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None


def _filter_sql(filters: AuditFilters) -> tuple[list[Composable], list[Any]]:
    where: list[Composable] = []
    params: list[Any] = []
    for column, value in (
        ("actor_account_id", filters.actor),
        ("unit_uscc", filters.unit_uscc),
        ("system_id", filters.system_id),
    ):
        if value is not None:
            where.append(SQL("i.{c} = %s").format(c=Identifier(column)))
            params.append(value)
    if filters.recorded_from is not None:
        where.append(SQL("i.recorded_at >= %s"))
        params.append(filters.recorded_from)
    if filters.recorded_to is not None:
        where.append(SQL("i.recorded_at < %s"))
        params.append(filters.recorded_to)
    return where, params


def has_chain(curs: Cursor[DictRow]) -> bool:
    """Whether the chain view's stable read table exists yet."""
    curs.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (CHAIN_LINKS,))
    row = curs.fetchone()
    return bool(row and row["present"])


def read_audit(
    reads: PostgresDatastore,
    *,
    scope: Reach,
    filters: AuditFilters,
    after: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of audit items after position `after`, in log order, and the position to
    continue after (None when this page is the last)."""
    scope_where, scope_params = event_reach_sql(scope, alias="i")
    filter_where, filter_params = _filter_sql(filters)
    where = [SQL("i.position > %s"), *scope_where, *filter_where]
    params = [after, *scope_params, *filter_params, limit + 1]
    with reads.transaction(commit=False) as curs:
        chain = has_chain(curs)
        query = SQL(
            "SELECT i.*, {h} AS hash FROM {t} i {j} WHERE {w} ORDER BY i.position LIMIT %s"
        ).format(
            h=SQL("c.hash") if chain else SQL("NULL::text"),
            t=AuditView.read_table("items"),
            j=SQL("LEFT JOIN chain_links c ON c.position = i.position") if chain else SQL(""),
            w=SQL(" AND ").join(where),
        )
        curs.execute(query, params)
        rows = curs.fetchall()
    page = rows[:limit]
    next_after = page[-1]["position"] if len(rows) > limit else None
    return [audit_item(row) for row in page], next_after


def audit_item(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the contract's item: the history shape plus where it belongs."""
    return {**item_head(row), "data": row["data"], "diff": row["diff"]}


def item_head(row: dict[str, Any]) -> dict[str, Any]:
    """Every field of an item but `data` and `diff` (the feed splices those in as stored)."""
    effective_on = row["effective_on"]
    return {
        "position": row["position"],
        "event_id": str(row["event_id"]),
        "seq": row["seq"],
        "type": row["type"],
        "system_id": str(row["system_id"]) if row["system_id"] is not None else None,
        "unit_uscc": row["unit_uscc"],
        "division_code": row["division_code"],
        "recorded_at": row["recorded_at"].astimezone(UTC).isoformat(),
        "effective_on": effective_on.isoformat() if effective_on is not None else None,
        "actor": {
            "account_id": row["actor_account_id"],
            "role": row["actor_role"],
            "name": row["actor_name"],
        },
        "on_behalf_of": row["on_behalf_of"],
        "channel": row["channel"],
        "hash": row["hash"],
    }
