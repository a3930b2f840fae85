"""The status view: every system's current state, plus which accounts act for which unit.

Rows and the tracking position are written in one transaction per batch, so a replay after a
crash changes nothing and each event counts exactly once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from ledger.access import Reach
from ledger.systems import VideoSystem
from ledger.units import Unit
from projections.base import Batch, ViewRecorder, copy_rows, json_text
from projections.documents import fold
from projections.reading.facts import UnitRegistered, VerificationDecided
from projections.scope import reach_sql

_SHOWN = (VideoSystem.Event, Unit.Registered, Unit.VerificationDecided)
_INDEXED = (
    "filing_number",
    "unit_uscc",
    "name",
    "address",
    "division_code",
    "status",
    "place_category",
)


class StatusView(ViewRecorder):
    """Every system's current document (with a few indexed columns), and every unit's
    registration and its verification (the officers' list of pending units)."""

    name = "status"
    tables = {  # noqa: RUF012 - class-level schema
        "systems": "system_id uuid PRIMARY KEY, first_position bigint NOT NULL,"
        " filing_number text, unit_uscc text, name text, address text,"
        " division_code text NOT NULL, status text NOT NULL, place_category int,"
        " doc jsonb NOT NULL",
        "units": "uscc text PRIMARY KEY, division_code text NOT NULL, name text NOT NULL,"
        " verification text NOT NULL, registered_position bigint NOT NULL,"
        " registered_at timestamptz NOT NULL",
    }
    indexes = {  # noqa: RUF012
        "systems_division": ("systems", "division_code, first_position"),
        "systems_unit": ("systems", "unit_uscc, first_position"),
        "systems_position": ("systems", "first_position"),
    }
    unique_indexes = frozenset({"systems_position"})

    def apply(self, curs: Cursor[DictRow], batch: Batch) -> None:
        """Folds the batch's system events into their documents; records units and their
        verification."""
        # Picked by the class of their topic: the others are never read.
        shown = list(batch.of(*_SHOWN))
        system_ids = list({f.originator_id for f in shown if issubclass(f.kind, VideoSystem.Event)})
        docs: dict[UUID, dict[str, Any] | None] = {}
        if system_ids:
            curs.execute(
                SQL("SELECT system_id, doc FROM {t} WHERE system_id = ANY(%s)").format(
                    t=self.table("systems")
                ),
                (system_ids,),
            )
            docs = {row["system_id"]: row["doc"] for row in curs.fetchall()}
        stored = set(docs)
        positions: dict[UUID, int] = {}
        units: list[tuple[str, str, str, str, int, Any]] = []
        decided: list[tuple[str, str]] = []
        for fact in shown:
            if issubclass(fact.kind, VideoSystem.Event):
                system_id = fact.originator_id
                docs[system_id] = fold(docs.get(system_id), fact)
                positions.setdefault(system_id, fact.position)
            elif isinstance(fact, UnitRegistered):
                units.append(
                    (fact.uscc, fact.division_code, fact.name, fact.verification,
                     fact.position, fact.timestamp)
                )  # fmt: skip
            elif isinstance(fact, VerificationDecided):
                assert fact.actor is not None and fact.actor.on_behalf_of is not None
                decided.append((fact.decision, fact.actor.on_behalf_of))
        self._write_units(curs, units, decided)
        self._write_docs(curs, docs, positions, stored)

    def _write_units(
        self,
        curs: Cursor[DictRow],
        units: list[tuple[str, str, str, str, int, Any]],
        decided: list[tuple[str, str]],
    ) -> None:
        if units:
            curs.executemany(
                SQL(
                    "INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
                ).format(t=self.table("units")),
                units,
            )
        if decided:  # rare: in log order, after this batch's registrations
            curs.executemany(
                SQL("UPDATE {t} SET verification = %s WHERE uscc = %s").format(
                    t=self.table("units")
                ),
                decided,
            )

    def _write_docs(
        self,
        curs: Cursor[DictRow],
        docs: dict[UUID, dict[str, Any] | None],
        positions: dict[UUID, int],
        stored: set[UUID],
    ) -> None:
        """Inserts the systems first seen in this batch (one COPY: the batch holds this
        generation's writer lock, so nobody else adds them meanwhile) and updates the others."""
        rows = [
            (
                system_id,
                positions[system_id],
                *(doc.get(column) for column in _INDEXED),
                json_text(doc),
            )
            for system_id, doc in docs.items()
            if doc is not None and system_id in positions
        ]
        new = [row for row in rows if row[0] not in stored]
        if new:
            copy_rows(
                curs, self.table("systems"), ("system_id", "first_position", *_INDEXED, "doc"), new
            )
        rows = [row for row in rows if row[0] in stored]
        if not rows:
            return
        columns = SQL(", ").join(Identifier(c) for c in _INDEXED)
        updates = SQL(", ").join(
            SQL("{c} = EXCLUDED.{c}").format(c=Identifier(c)) for c in (*_INDEXED, "doc")
        )
        # first_position keeps the system's first event: the list order never changes.
        curs.executemany(
            SQL(
                "INSERT INTO {t} (system_id, first_position, {columns}, doc)"
                " VALUES (%s, %s, {params}, %s)"
                " ON CONFLICT (system_id) DO UPDATE SET {updates}"
            ).format(
                t=self.table("systems"),
                columns=columns,
                params=SQL(", ").join(SQL("%s") for _ in _INDEXED),
                updates=updates,
            ),
            rows,
        )


def list_systems(
    reads: PostgresDatastore,
    *,
    reach: Reach,
    filters: dict[str, Any],
    after: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of systems in filing order, and the cursor of the next page (None at the end)."""
    where: list[Composable] = [SQL("first_position > %s")]
    params: list[Any] = [after or 0]
    scope_where, scope_params = reach_sql(
        reach, uscc_column="unit_uscc", division_columns=("division_code",)
    )
    where += scope_where
    params += scope_params
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
    ).format(t=StatusView.read_table("systems"), w=SQL(" AND ").join(where))
    params.append(limit + 1)
    with reads.transaction(commit=False) as curs:
        curs.execute(query, params)
        rows = curs.fetchall()
    page = rows[:limit]
    next_after = page[-1]["first_position"] if len(rows) > limit else None
    return [row["doc"] for row in page], next_after


def list_units(
    reads: PostgresDatastore, *, reach: Reach, verification: str | None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The units in reach, in the order registered (a verification state, if given)."""
    where, params = reach_sql(reach, uscc_column="uscc", division_columns=("division_code",))
    if verification is not None:
        where.append(SQL("verification = %s"))
        params.append(verification)
    query = SQL(
        "SELECT uscc, name, division_code, verification, registered_at FROM {t}"
        " WHERE {w} ORDER BY registered_position LIMIT %s"
    ).format(t=StatusView.read_table("units"), w=SQL(" AND ").join([SQL("TRUE"), *where]))
    with reads.transaction(commit=False) as curs:
        curs.execute(query, [*params, limit])
        return [dict(row) for row in curs.fetchall()]
