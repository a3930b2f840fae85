"""Which generation of each view is live, under which rules, and which one is being rebuilt.

One row per view in `projection_registry`. The rules a generation applies are stored with it
(the TOML text itself), so every process that serves or maintains that generation applies the
same rules, whatever file it was started with. A switch updates the row and re-points the stable
read names in one transaction, then tells listeners on the `projection_registry` channel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import OperationalError
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.errors import LockNotAvailable
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.rules import Rules, rules_from_text

CHANNEL = "projection_registry"
# How long a switch waits for a lock before it backs off, and how often it tries.
LOCK_WAIT = "200ms"
SWITCH_ATTEMPTS = 100

_CREATE = """
CREATE TABLE IF NOT EXISTS projection_registry (
    name text PRIMARY KEY,
    generation int NOT NULL,
    rules_toml text NOT NULL,
    rules_version text NOT NULL,
    rules_digest text NOT NULL,
    calendar_version text NOT NULL,
    switched_at timestamptz NOT NULL DEFAULT now(),
    building int,
    building_rules_toml text,
    building_started_at timestamptz
)
"""


@dataclass(frozen=True)
class Entry:
    """A view's registry row."""

    name: str
    generation: int
    rules: Rules
    rules_toml: str
    calendar_version: str
    switched_at: Any
    building: int | None
    building_rules: Rules | None
    building_rules_toml: str | None


def _entry(row: DictRow) -> Entry:
    building_toml = row["building_rules_toml"]
    return Entry(
        name=row["name"],
        generation=row["generation"],
        rules=rules_from_text(row["rules_toml"], source=f"view {row['name']}"),
        rules_toml=row["rules_toml"],
        calendar_version=row["calendar_version"],
        switched_at=row["switched_at"],
        building=row["building"],
        building_rules=(
            rules_from_text(building_toml, source=f"rebuild of {row['name']}")
            if building_toml
            else None
        ),
        building_rules_toml=building_toml,
    )


class Registry:
    """Reads and moves the registry rows; every method is one short transaction."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (CHANNEL,))
            curs.execute(_CREATE)

    def get(self, name: str) -> Entry | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT * FROM projection_registry WHERE name = %s", (name,))
            row = curs.fetchone()
        return _entry(row) if row else None

    def all(self) -> list[Entry]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT * FROM projection_registry ORDER BY name")
            rows = curs.fetchall()
        return [_entry(row) for row in rows]

    def generation(self, name: str) -> int | None:
        """The live generation alone: the cheap check a runner makes before each batch."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT generation FROM projection_registry WHERE name = %s", (name,))
            row = curs.fetchone()
        return int(row["generation"]) if row else None

    def ensure(
        self,
        name: str,
        *,
        rules_toml: str,
        calendar_version: str,
        bind: list[Composed],
    ) -> Entry:
        """The view's row, created at generation 1 with these rules if it has none yet;
        `bind` are the statements that point its read names at generation 1."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (CHANNEL,))
            curs.execute("SELECT 1 FROM projection_registry WHERE name = %s", (name,))
            if curs.fetchone() is None:
                rules = rules_from_text(rules_toml, source="the configured rules")
                curs.execute(
                    "INSERT INTO projection_registry (name, generation, rules_toml, rules_version,"
                    " rules_digest, calendar_version) VALUES (%s, 1, %s, %s, %s, %s)",
                    (name, rules_toml, rules.version, rules.digest, calendar_version),
                )
                for statement in bind:
                    curs.execute(statement)
        entry = self.get(name)
        assert entry is not None
        return entry

    def begin_rebuild(self, name: str, *, rules_toml: str) -> tuple[int, int | None]:
        """The generation to rebuild into, and the generation of an interrupted rebuild it
        abandons (None when there is none, or when it resumes one with the same rules)."""
        with self.datastore.transaction(commit=True) as curs:
            row = self._lock_row(curs, name)
            if row["building"] is not None and row["building_rules_toml"] == rules_toml:
                return int(row["building"]), None
            abandoned = row["building"]
            generation = max(row["generation"], abandoned or 0) + 1
            curs.execute(
                "UPDATE projection_registry SET building = %s, building_rules_toml = %s,"
                " building_started_at = now() WHERE name = %s",
                (generation, rules_toml, name),
            )
            return generation, abandoned

    def switch(
        self,
        name: str,
        *,
        generation: int,
        calendar_version: str,
        views: list[str],
        bind: list[Composed],
    ) -> int:
        """Makes `generation` live for every reader at once; returns the old generation.

        Re-pointing the read `views` takes their exclusive locks. A reader joining two of them
        holds one while it waits for the other, so the switch takes them all first, waiting
        at most LOCK_WAIT each time: it backs off and tries again rather than deadlock with a
        reader (which PostgreSQL would break by failing one of the two, perhaps the reader).
        """
        for attempt in range(SWITCH_ATTEMPTS):
            try:
                return self._switch(name, generation, calendar_version, views, bind)
            except (LockNotAvailable, OperationalError) as error:
                # The library's connection wraps a lock timeout met on its way out (at COMMIT)
                # in its own OperationalError; that is the same back-off, anything else is not.
                if not isinstance(error, LockNotAvailable) and not isinstance(
                    error.__cause__, LockNotAvailable
                ):
                    raise
                time.sleep(min(0.02 * (attempt + 1), 0.5))
        raise RuntimeError(f"could not switch view {name}: its readers never let go")

    def _switch(
        self,
        name: str,
        generation: int,
        calendar_version: str,
        views: list[str],
        bind: list[Composed],
    ) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SET LOCAL lock_timeout = {}").format(Literal(LOCK_WAIT)))
            row = self._lock_row(curs, name)
            if row["building"] != generation:
                raise RuntimeError(f"view {name} is not rebuilding generation {generation}")
            curs.execute(
                "SELECT v FROM unnest(%s::text[]) AS v"
                " WHERE to_regclass(quote_ident(v)) IS NOT NULL",
                (views,),
            )
            existing = [Identifier(r["v"]) for r in curs.fetchall()]
            if existing:
                curs.execute(
                    SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(SQL(", ").join(existing))
                )
            rules = rules_from_text(row["building_rules_toml"], source=f"rebuild of {name}")
            for statement in bind:
                curs.execute(statement)
            curs.execute(
                "UPDATE projection_registry SET generation = %s, rules_toml = building_rules_toml,"
                " rules_version = %s, rules_digest = %s, calendar_version = %s,"
                " switched_at = now(), building = NULL, building_rules_toml = NULL,"
                " building_started_at = NULL WHERE name = %s",
                (generation, rules.version, rules.digest, calendar_version, name),
            )
            curs.execute(SQL("NOTIFY {c}").format(c=Identifier(CHANNEL)))
            return int(row["generation"])

    def _lock_row(self, curs: Cursor[DictRow], name: str) -> DictRow:
        curs.execute("SELECT * FROM projection_registry WHERE name = %s FOR UPDATE", (name,))
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"no view named {name}")
        return row

    def drop_tables(self, tables: list[str]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for table in tables:
                curs.execute(SQL("DROP TABLE IF EXISTS {t}").format(t=Identifier(table)))
