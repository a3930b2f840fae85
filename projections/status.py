"""The status view: every system's current state, plus which accounts act for which unit.

Rows and the tracking position are written in one transaction per batch, so a replay after a
crash changes nothing and each event counts exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from ledger.systems import VideoSystem
from ledger.units import Unit
from projections.documents import fold

_INDEXED = (
    "filing_number",
    "unit_uscc",
    "name",
    "address",
    "division_code",
    "status",
    "place_category",
)


class StatusView(PostgresTrackingRecorder):
    """Tables `<name>_systems` and `<name>_agents` beside the tracking table `<name>_tracking`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prefix = self.tracking_table_name.removesuffix("_tracking")
        self.systems = Identifier(f"{prefix}_systems")
        self.agents = Identifier(f"{prefix}_agents")
        self._curs: Cursor[DictRow] | None = None
        self._docs: dict[UUID, dict[str, Any] | None] = {}
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} ("
                " system_id uuid PRIMARY KEY, first_position bigint NOT NULL,"
                " filing_number text, unit_uscc text, name text, address text,"
                " division_code text NOT NULL, status text NOT NULL, place_category int,"
                " doc jsonb NOT NULL)"
            ).format(t=self.systems),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (division_code, first_position)").format(
                i=Identifier(f"{prefix}_systems_division"), t=self.systems
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (unit_uscc, first_position)").format(
                i=Identifier(f"{prefix}_systems_unit"), t=self.systems
            ),
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS {i} ON {t} (first_position)").format(
                i=Identifier(f"{prefix}_systems_position"), t=self.systems
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} ("
                " unit_uscc text NOT NULL, account_id text NOT NULL,"
                " PRIMARY KEY (account_id, unit_uscc))"
            ).format(t=self.agents),
        ]

    # --- writing, one batch per transaction -------------------------------------------------
    @contextmanager
    def batch(self, tracking: Tracking, system_ids: Sequence[UUID]) -> Iterator[None]:
        """Collects the batch's writes and commits them with `tracking` in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            self._curs = curs
            self._docs = {}
            if system_ids:
                curs.execute(
                    SQL("SELECT system_id, doc FROM {t} WHERE system_id = ANY(%s)").format(
                        t=self.systems
                    ),
                    (list(system_ids),),
                )
                self._docs = {row["system_id"]: row["doc"] for row in curs.fetchall()}
            self._positions: dict[UUID, int] = {}
            try:
                yield
                self._flush(curs)
                self._insert_tracking(curs, tracking)
            finally:
                self._curs = None

    def fold_system(self, event: Any, position: int) -> None:
        system_id = event.originator_id
        self._docs[system_id] = fold(self._docs.get(system_id), event)
        self._positions.setdefault(system_id, position)

    def add_agent(self, uscc: str, account_id: str) -> None:
        assert self._curs is not None
        self._curs.execute(
            SQL("INSERT INTO {t} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(t=self.agents),
            (uscc, account_id),
        )

    def _flush(self, curs: Cursor[DictRow]) -> None:
        rows = [
            (
                system_id,
                self._positions.get(system_id, 0),
                *(doc.get(column) for column in _INDEXED),
                json.dumps(doc, ensure_ascii=False),
            )
            for system_id, doc in self._docs.items()
            if doc is not None and system_id in self._positions
        ]
        if not rows:
            return
        columns = SQL(", ").join(Identifier(c) for c in _INDEXED)
        updates = SQL(", ").join(
            SQL("{c} = EXCLUDED.{c}").format(c=Identifier(c)) for c in (*_INDEXED, "doc")
        )
        curs.executemany(
            SQL(
                "INSERT INTO {t} (system_id, first_position, {columns}, doc)"
                " VALUES (%s, %s, {params}, %s)"
                " ON CONFLICT (system_id) DO UPDATE SET {updates}"
            ).format(
                t=self.systems,
                columns=columns,
                params=SQL(", ").join(SQL("%s") for _ in _INDEXED),
                updates=updates,
            ),
            rows,
        )


class StatusProjection(Projection[StatusView]):
    """Folds system and unit events into the status view."""

    name = "status"
    topics = ()

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events of other aggregates do not change the status view."""

    @process_event.register(VideoSystem.Filed)
    @process_event.register(VideoSystem.Discovered)
    @process_event.register(VideoSystem.DiscoveredFiled)
    @process_event.register(VideoSystem.Changed)
    @process_event.register(VideoSystem.Cancelled)
    def _system(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.fold_system(domain_event, tracking.notification_id)

    @process_event.register(Unit.Registered)
    def _unit_registered(self, domain_event: Unit.Registered, tracking: Tracking) -> None:
        if domain_event.actor.role.is_unit_side:
            self.view.add_agent(domain_event.uscc, domain_event.actor.account_id)

    @process_event.register(Unit.AgentAuthorised)
    def _agent(self, domain_event: Unit.AgentAuthorised, tracking: Tracking) -> None:
        uscc = domain_event.actor.on_behalf_of
        assert uscc is not None
        self.view.add_agent(uscc, domain_event.account_id)

    def system_ids(self, events: Sequence[Any]) -> list[UUID]:
        return [e.originator_id for e in events if isinstance(e, VideoSystem.Event)]


@dataclass(frozen=True)
class ListScope:
    """Whose systems a list may show: a unit-side account's units, or a division prefix."""

    account_id: str | None = None
    uscc: str | None = None
    division_prefix: str | None = None


def list_systems(
    view: StatusView,
    *,
    scope: ListScope,
    filters: dict[str, Any],
    after: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of systems in filing order, and the cursor of the next page (None at the end)."""
    where: list[Composable] = [SQL("first_position > %s")]
    params: list[Any] = [after or 0]
    if scope.account_id is not None:
        where.append(
            SQL(
                "(unit_uscc = %s OR unit_uscc IN (SELECT unit_uscc FROM {a} WHERE account_id = %s))"
            ).format(a=view.agents)
        )
        params += [scope.uscc, scope.account_id]
    elif scope.division_prefix:
        where.append(SQL("division_code LIKE %s"))
        params.append(scope.division_prefix.replace("%", "") + "%")
    for column in ("division_code", "unit_uscc", "status", "place_category"):
        if filters.get(column) is not None:
            where.append(SQL("{c} = %s").format(c=Identifier(column)))
            params.append(filters[column])
    if filters.get("q"):
        pattern = (
            "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        where.append(SQL("(name ILIKE %s OR address ILIKE %s)"))
        params += [pattern, pattern]
    query = SQL(
        "SELECT first_position, doc FROM {t} WHERE {w} ORDER BY first_position LIMIT %s"
    ).format(t=view.systems, w=SQL(" AND ").join(where))
    params.append(limit + 1)
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(query, params)
        rows = curs.fetchall()
    page = rows[:limit]
    next_after = page[-1]["first_position"] if len(rows) > limit else None
    return [row["doc"] for row in page], next_after
