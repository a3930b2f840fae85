"""The overdue view: every duty the ledger tracks, with its due date and the day it was met.

A duty is a system's registration (file within the deadline after it was put into use), each
change (file it within the change deadline after it took effect) and each correction order (act
by the date the officer set). Due dates are computed once, when the view is built, under the
view's own rules (stored with it, see projections/registry.py); rebuilding under other rules
recomputes them all. What is overdue "as of D" is then a query over stored dates:

- `unfiled`: a registration known to the ledger by D, due before D, not filed by D;
- `filed_late`: a registration filed by D, after its due date;
- `change_late`: a change filed by D, after its due date;
- `correction_overdue`: a correction order made by D, due before D, not met by D;
- `due_soon`: a duty known by D, not met by D, due within the rules' window from D.

"Known by D" makes a past list what the ledger could have shown that day: a system discovered
later was not on the list before its discovery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TypedDict
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.rules import Rules, change_deadline, registration_deadline
from ledger.systems import VideoSystem
from projections.base import Batch, ViewRecorder
from projections.overdue_reads import overdue_items
from projections.reading import Fact
from projections.reading.facts import (
    CorrectionOrdered,
    SystemCancelled,
    SystemChanged,
    SystemFact,
    SystemFiled,
    SystemMoved,
)

__all__ = ["KINDS", "Duty", "OverdueView", "SystemRow", "overdue_items"]

# The events that create a system, and its registration duty.
_CREATED = (VideoSystem.Filed, VideoSystem.Discovered)


class SystemRow(TypedDict, total=False):
    """A row of `overdue_systems` (its key, `system_id`, aside)."""

    filing_number: str | None
    unit_uscc: str | None
    name: str
    division_code: str
    place_category: int | None
    status: str
    commissioned_on: date


class Duty(TypedDict, total=False):
    """A row of `overdue_duties` (its key, `duty_id`, aside)."""

    system_id: UUID
    division_code: str
    kind: str
    due_on: date
    provisional: bool
    known_on: date
    met_on: date | None
    position: int
    order_id: str | None


KINDS = ("unfiled", "filed_late", "change_late", "correction_overdue", "due_soon")
_SYSTEM_COLUMNS = (
    "filing_number",
    "unit_uscc",
    "name",
    "division_code",
    "place_category",
    "status",
    "commissioned_on",
)
_DUTY_COLUMNS = (
    "system_id",
    "division_code",
    "kind",
    "due_on",
    "provisional",
    "known_on",
    "met_on",
    "position",
    "order_id",
)


class OverdueView(ViewRecorder):
    """Tables `systems` (what a list item names) and `duties` (one row per duty)."""

    name = "overdue"
    tables = {  # noqa: RUF012 - class-level schema
        "systems": "system_id uuid PRIMARY KEY, filing_number text, unit_uscc text,"
        " name text, division_code text NOT NULL, place_category int, status text NOT NULL,"
        " commissioned_on date NOT NULL",
        "duties": "duty_id text PRIMARY KEY, system_id uuid NOT NULL,"
        " division_code text NOT NULL, kind text NOT NULL,"
        " due_on date NOT NULL, provisional boolean NOT NULL, known_on date NOT NULL,"
        " met_on date, position bigint NOT NULL, order_id text",
    }
    # The lists read three small slices of the duties in due-date order (overdue_reads.py):
    # those met late, those still open, and those met after a past day being asked about.
    indexes = {  # noqa: RUF012
        "systems_division": ("systems", "division_code"),
        "duties_system": ("duties", "system_id"),
        "duties_late": ("duties", "division_code, due_on, duty_id", "met_on > due_on"),
        "duties_open": ("duties", "division_code, due_on, duty_id", "met_on IS NULL"),
        "duties_met": ("duties", "division_code, met_on"),
    }

    @property
    def _rules(self) -> Rules:
        assert self.rules is not None, "a view is opened with its rules"
        return self.rules

    def apply(self, curs: Cursor[DictRow], batch: Batch) -> None:
        shown = list(batch.of(VideoSystem.Event))
        touched = list({f.originator_id for f in shown})
        if not touched:
            return
        systems, duties = self._load(curs, touched)
        open_orders: dict[UUID, list[str]] = {}
        moved: set[UUID] = set()
        for key, duty in duties.items():
            if duty["kind"] == "correction" and duty["met_on"] is None:
                open_orders.setdefault(duty["system_id"], []).append(key)
        dirty_systems: set[UUID] = set()
        dirty_duties: set[str] = set()
        for fact in shown:
            sid = fact.originator_id
            changed = self._fold(systems, duties, open_orders, fact)
            if isinstance(fact, SystemChanged | SystemMoved) and "division_code" in fact.fields:
                moved.add(sid)
            dirty_systems.add(sid)
            dirty_duties.update(changed)
        self._write(curs, systems, dirty_systems, duties, dirty_duties)
        if moved:  # a system moved district: its earlier change duties move with it
            curs.execute(
                SQL(
                    "UPDATE {d} d SET division_code = s.division_code FROM {s} s"
                    " WHERE d.system_id = s.system_id AND d.system_id = ANY(%s)"
                ).format(d=self.table("duties"), s=self.table("systems")),
                (list(moved),),
            )

    # --- folding ----------------------------------------------------------------------------
    def _fold(
        self,
        systems: dict[UUID, SystemRow],
        duties: dict[str, Duty],
        open_orders: dict[UUID, list[str]],
        fact: Fact,
    ) -> list[str]:
        """Applies one system event to the rows in memory; returns the duties it touched."""
        sid, position = fact.originator_id, fact.position
        touched = self._meet_orders(duties, open_orders, fact)
        if issubclass(fact.kind, _CREATED) and isinstance(fact, SystemFact):
            systems[sid] = {"status": "unfiled", "filing_number": None}
            self._take_fields(systems[sid], fact)
            assert fact.effective_on is not None
            duties[f"registration:{sid}"] = {
                "system_id": sid,
                "kind": "registration",
                "known_on": fact.effective_on,
                "met_on": None,
                "position": position,
                "order_id": None,
            }
        if isinstance(fact, SystemFiled):
            self._take_fields(systems[sid], fact)
            systems[sid]["status"] = "filed"
            duties[f"registration:{sid}"]["met_on"] = fact.effective_on
        elif isinstance(fact, SystemMoved):  # no duty of the unit's
            self._take_fields(systems[sid], fact)
        elif isinstance(fact, SystemChanged):
            self._take_fields(systems[sid], fact)
            assert fact.effective_on is not None
            deadline = change_deadline(fact.effective_on, self._rules)
            key = f"change:{sid}:{fact.originator_version}"
            duties[key] = {
                "system_id": sid,
                "kind": "change",
                "due_on": deadline.due_on,
                "provisional": deadline.provisional,
                "known_on": fact.filed_on,
                "met_on": fact.filed_on,
                "position": position,
                "order_id": None,
            }
            touched.append(key)
        elif isinstance(fact, SystemCancelled):
            systems[sid]["status"] = "cancelled"
        elif isinstance(fact, CorrectionOrdered):
            assert fact.effective_on is not None
            key = f"correction:{fact.order_id}"
            duties[key] = {
                "system_id": sid,
                "kind": "correction",
                "due_on": fact.due_on,
                "provisional": False,
                "known_on": fact.effective_on,
                "met_on": None,
                "position": position,
                "order_id": fact.order_id,
            }
            touched.append(key)
            open_orders.setdefault(sid, []).append(key)
        registration = f"registration:{sid}"
        if registration in duties:
            deadline = registration_deadline(systems[sid]["commissioned_on"], self._rules)
            duties[registration]["due_on"] = deadline.due_on
            duties[registration]["provisional"] = deadline.provisional
            touched.append(registration)
        return touched

    @staticmethod
    def _take_fields(system: SystemRow, fact: SystemFact) -> None:
        source = fact.fields
        for column in _SYSTEM_COLUMNS:
            if column in source:
                value = fact.commissioned_on if column == "commissioned_on" else source[column]
                system[column] = value  # type: ignore[literal-required]

    @staticmethod
    def _meet_orders(
        duties: dict[str, Duty], open_orders: dict[UUID, list[str]], fact: Fact
    ) -> list[str]:
        """Meets the system's open correction orders that the event answers."""
        keys = open_orders.get(fact.originator_id)
        if not keys:
            return []
        met = []
        for key in keys:
            met_on = fact.meets_order_on(duties[key]["known_on"])
            if met_on is not None:
                duties[key]["met_on"] = met_on
                met.append(key)
        if met:
            open_orders[fact.originator_id] = [k for k in keys if k not in met]
        return met

    # --- storage ----------------------------------------------------------------------------
    def _load(
        self, curs: Cursor[DictRow], system_ids: list[UUID]
    ) -> tuple[dict[UUID, SystemRow], dict[str, Duty]]:
        curs.execute(
            SQL("SELECT * FROM {t} WHERE system_id = ANY(%s)").format(t=self.table("systems")),
            (system_ids,),
        )
        systems: dict[UUID, SystemRow] = {
            row.pop("system_id"): SystemRow(**row)  # type: ignore[typeddict-item]
            for row in curs.fetchall()
        }
        curs.execute(
            SQL(
                "SELECT * FROM {t} WHERE system_id = ANY(%s)"
                " AND (kind = 'registration' OR (kind = 'correction' AND met_on IS NULL))"
            ).format(t=self.table("duties")),
            (system_ids,),
        )
        duties: dict[str, Duty] = {
            row.pop("duty_id"): Duty(**row)  # type: ignore[typeddict-item]
            for row in curs.fetchall()
        }
        return systems, duties

    def _write(
        self,
        curs: Cursor[DictRow],
        systems: dict[UUID, SystemRow],
        dirty_systems: Iterable[UUID],
        duties: dict[str, Duty],
        dirty_duties: Iterable[str],
    ) -> None:
        system_rows = [
            (sid, *(systems[sid].get(c) for c in _SYSTEM_COLUMNS)) for sid in dirty_systems
        ]
        for key in dirty_duties:
            duties[key]["division_code"] = systems[duties[key]["system_id"]]["division_code"]
        duty_rows = [
            (key, *(duties[key].get(c) for c in _DUTY_COLUMNS)) for key in set(dirty_duties)
        ]
        for table, key, columns, rows in (
            ("systems", "system_id", _SYSTEM_COLUMNS, system_rows),
            ("duties", "duty_id", _DUTY_COLUMNS, duty_rows),
        ):
            if rows:
                curs.executemany(_upsert(self.table(table), key, columns), rows)


def _upsert(table: Identifier, key: str, columns: tuple[str, ...]) -> Composed:
    names = ", ".join((key, *columns))
    params = ", ".join(["%s"] * (len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    return SQL(
        "INSERT INTO {t} (" + names + ") VALUES (" + params + ")"
        " ON CONFLICT (" + key + ") DO UPDATE SET " + updates
    ).format(t=table)
