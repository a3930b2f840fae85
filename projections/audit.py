"""The audit view: one row per event of the ledger, in log order, with who, what and when.

Every act is a row: account openings, unit registrations and agent authorisations, uploads,
and every event of every system. The bookkeeping written with them (credentials, filing
sequence numbers, idempotency records) is left out (see `projections.event_items`), so the
rows' positions skip those numbers as they skip failed inserts.

Each row is scoped once, when it is written, by what the event itself knew: the system's
unit and division after it (a change that moves a system to another district also keeps the
district it left, in `previous_division_code`), a unit's division, an officer's district for
an officer's upload; an account opening, or a unit-side upload, has no division. Two small
tables of current state (a system's filed fields for the diffs of its changes, a unit's USCC
and division for its agents) are part of the view, so it rebuilds from the log alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.accounts import Account
from ledger.attachments import Attachment
from ledger.ids import event_id
from ledger.storage.crypto import ERASED
from ledger.systems import VideoSystem
from ledger.units import PERSONAL_FIELDS, Unit
from projections.base import Batch, ViewRecorder, copy_rows, event_class, json_text
from projections.event_items import AuditItem, describe, fields_after, recorded_at, shown_class
from projections.reading import Fact
from projections.reading.facts import PersonErased, UnitRegistered

ITEM_COLUMNS = (
    "position",
    "event_id",
    "seq",
    "type",
    "system_id",
    "unit_uscc",
    "division_code",
    "previous_division_code",
    "actor_account_id",
    "actor_role",
    "actor_name",
    "on_behalf_of",
    "channel",
    "recorded_at",
    "effective_on",
    "data",
    "diff",
)


@dataclass
class _SystemState:
    unit_uscc: str | None = None
    division_code: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


@dataclass(frozen=True)
class _Where:
    """Whose an event is: the columns the filters and the scoping read."""

    system_id: UUID | None = None
    unit_uscc: str | None = None
    division_code: str | None = None
    previous_division_code: str | None = None


class AuditView(ViewRecorder):
    """Rows of `audit_items` in log order, plus the state that scoping and diffs need."""

    name = "audit"
    tables = {  # noqa: RUF012 - class-level schema
        "items": "position bigint PRIMARY KEY, event_id uuid NOT NULL, seq int NOT NULL,"
        " type text NOT NULL, system_id uuid, unit_uscc text, division_code text,"
        " previous_division_code text, actor_account_id text, actor_role text,"
        " actor_name text, on_behalf_of text, channel text, recorded_at timestamptz NOT NULL,"
        " effective_on date, data jsonb NOT NULL, diff jsonb",
        "systems": "system_id uuid PRIMARY KEY, unit_uscc text, division_code text,"
        " fields jsonb NOT NULL",
        "units": "unit_id uuid PRIMARY KEY, uscc text NOT NULL, division_code text NOT NULL",
    }
    indexes = {  # noqa: RUF012
        "items_event": ("items", "event_id"),
        "items_actor": ("items", "actor_account_id, position"),
        "items_unit": ("items", "unit_uscc, position"),
        "items_system": ("items", "system_id, position"),
        "items_division": ("items", "division_code, position"),
        "items_moved": ("items", "previous_division_code, position"),
        "items_recorded": ("items", "recorded_at, position"),
    }
    unique_indexes = frozenset({"items_event"})

    def apply(self, curs: Cursor[DictRow], batch: Batch) -> None:
        """Writes a row for every shown event of the batch and folds the state it needs."""
        shown = [
            batch.facts[index]
            for index, notification in enumerate(batch.notifications)
            if shown_class(event_class(notification.topic))
        ]
        if not shown:
            return
        systems = self._systems(
            curs, {f.originator_id for f in shown if issubclass(f.kind, VideoSystem.Event)}
        )
        stored = set(systems)
        units = self._units(
            curs, {f.originator_id for f in shown if issubclass(f.kind, Unit.Event)}
        )
        new_units: dict[UUID, tuple[str, str]] = {}
        # One COPY for the rows (all new: positions only grow), written as they are made so
        # the server stores each part while the next is folded.
        with curs.copy(
            SQL("COPY {t} ({c}) FROM STDIN").format(
                t=self.table("items"), c=SQL(", ").join(Identifier(c) for c in ITEM_COLUMNS)
            )
        ) as copy:
            for fact in shown:
                if issubclass(fact.kind, VideoSystem.Event):
                    item, where = _system_item(fact, systems)
                else:
                    item, where = _other_item(fact, units, new_units)
                public_id = event_id(fact.originator_id, fact.originator_version)
                copy.write_row(_row(fact, public_id, item, where))
        self._save_state(curs, systems, stored, new_units)
        self._erase(curs, shown)

    def _erase(self, curs: Cursor[DictRow], shown: list[Fact]) -> None:
        """An erasure (`Account.Erased`, `Unit.PersonErased`) changes no event, but this view
        holds the masked forms of the erased values in the item of the account's opening or
        the unit's registration (version 1 of the same aggregate): they show as erased now."""
        for fact in shown:
            if issubclass(fact.kind, Account.Erased):
                fields: tuple[str, ...] = ("phone", "id_number")
            elif isinstance(fact, PersonErased):
                fields = PERSONAL_FIELDS[fact.person]
            else:
                continue
            target = event_id(fact.originator_id, 1)
            for name in fields:
                curs.execute(
                    SQL(
                        "UPDATE {t} SET data = jsonb_set(data, %s, to_jsonb(%s::text))"
                        " WHERE event_id = %s AND data ->> %s IS NOT NULL"
                    ).format(t=self.table("items")),
                    ([name], ERASED, target, name),
                )

    def _systems(self, curs: Cursor[DictRow], ids: set[UUID]) -> dict[UUID, _SystemState]:
        if not ids:
            return {}
        curs.execute(
            SQL("SELECT * FROM {t} WHERE system_id = ANY(%s)").format(t=self.table("systems")),
            (list(ids),),
        )
        return {
            row["system_id"]: _SystemState(row["unit_uscc"], row["division_code"], row["fields"])
            for row in curs.fetchall()
        }

    def _units(self, curs: Cursor[DictRow], ids: set[UUID]) -> dict[UUID, tuple[str, str]]:
        if not ids:
            return {}
        curs.execute(
            SQL("SELECT * FROM {t} WHERE unit_id = ANY(%s)").format(t=self.table("units")),
            (list(ids),),
        )
        return {row["unit_id"]: (row["uscc"], row["division_code"]) for row in curs.fetchall()}

    def _save_state(
        self,
        curs: Cursor[DictRow],
        systems: dict[UUID, _SystemState],
        stored: set[UUID],
        units: dict[UUID, tuple[str, str]],
    ) -> None:
        """Inserts the systems first seen in this batch with one COPY (the batch holds this
        generation's writer lock) and updates the others."""
        changed = [
            (system_id, s.unit_uscc, s.division_code, json_text(s.fields))
            for system_id, s in systems.items()
            if s.changed
        ]
        copy_rows(
            curs,
            self.table("systems"),
            ("system_id", "unit_uscc", "division_code", "fields"),
            [row for row in changed if row[0] not in stored],
        )
        changed = [row for row in changed if row[0] in stored]
        if changed:
            curs.executemany(
                SQL(
                    "INSERT INTO {t} VALUES (%s, %s, %s, %s) ON CONFLICT (system_id) DO UPDATE"
                    " SET unit_uscc = EXCLUDED.unit_uscc, division_code = EXCLUDED.division_code,"
                    " fields = EXCLUDED.fields"
                ).format(t=self.table("systems")),
                changed,
            )
        if units:
            curs.executemany(
                SQL("INSERT INTO {t} VALUES (%s, %s, %s)").format(t=self.table("units")),
                [(unit_id, uscc, division) for unit_id, (uscc, division) in units.items()],
            )


def _system_item(fact: Fact, systems: dict[UUID, _SystemState]) -> tuple[AuditItem, _Where]:
    """The item of a system's event, and where it belongs; moves the system's state past it."""
    state = systems.setdefault(fact.originator_id, _SystemState())
    item = describe(fact, state.fields)
    return item, _fold_system(state, fact.originator_id, fields_after(fact, state.fields))


def _other_item(
    fact: Fact, units: dict[UUID, tuple[str, str]], new_units: dict[UUID, tuple[str, str]]
) -> tuple[AuditItem, _Where]:
    """The item of any other event, and where it belongs; notes a unit's registration."""
    if isinstance(fact, UnitRegistered):
        units[fact.originator_id] = new_units[fact.originator_id] = (
            fact.uscc,
            fact.division_code,
        )
    return describe(fact, {}), _where_other(fact, units)


def _fold_system(state: _SystemState, system_id: UUID, fields: dict[str, Any]) -> _Where:
    """Moves a system's state to its `fields` after an event; returns where that belongs."""
    before = state.division_code
    state.fields = fields
    state.unit_uscc = state.fields.get("unit_uscc")
    state.division_code = state.fields.get("division_code")
    state.changed = True
    moved_from = before if before is not None and before != state.division_code else None
    return _Where(
        system_id=system_id,
        unit_uscc=state.unit_uscc,
        division_code=state.division_code,
        previous_division_code=moved_from,
    )


def _where_other(fact: Fact, units: dict[UUID, tuple[str, str]]) -> _Where:
    if issubclass(fact.kind, Unit.Event):
        known = units.get(fact.originator_id)
        if known is None:  # never so in a whole log; say what the event itself says
            return _Where(unit_uscc=fact.state.get("uscc"))
        return _Where(unit_uscc=known[0], division_code=known[1])
    if issubclass(fact.kind, Attachment.Uploaded) and fact.actor is not None:
        return _Where(division_code=fact.actor.division_code)
    return _Where()


def _row(fact: Fact, public_id: UUID, item: AuditItem, where: _Where) -> tuple[Any, ...]:
    actor = item["actor"]
    diff = item["diff"]
    return (
        fact.position,
        public_id,
        item["seq"],
        item["type"],
        where.system_id,
        where.unit_uscc,
        where.division_code,
        where.previous_division_code,
        actor["account_id"],
        actor["role"],
        actor["name"],
        item["on_behalf_of"],
        item["channel"],
        recorded_at(fact),
        fact.effective_on,
        json_text(item["data"]),
        json_text(diff) if diff is not None else None,
    )
