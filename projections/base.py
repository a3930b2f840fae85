"""What every view shares: generation tables, stable read names, and one batch per transaction.

A view named `overdue` keeps its rows in tables of one *generation*, `overdue_g3_<table>`, with
its position in `overdue_g3_tracking`. Readers never name a generation: they query the stable
names `overdue_<table>`, PostgreSQL views that the registry points at the live generation, so a
rebuild fills generation 4 beside the live one and switches every reader in one transaction.

The runner (projections/runner.py) opens the transaction, checks under an advisory lock that the
view still stands where the batch starts (so two processes can never apply the same events
twice), calls `apply`, and records the batch's last position in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import orjson
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.rules import Rules
from projections.reading import Fact, Facts, event_class

__all__ = ["Batch", "ViewRecorder", "copy_rows", "event_class", "json_text", "physical_prefix"]

GENERATION_MARK = "_g"


def physical_prefix(name: str, generation: int) -> str:
    """The table prefix of one generation of a view: `status_g2`."""
    return f"{name}{GENERATION_MARK}{generation}"


class Batch:
    """A page of the log: the view's position before it, the stored notifications, and their
    facts (`projections.reading`: each read once, the first time a view asks for it).
    Positions only grow and may skip numbers."""

    __slots__ = ("facts", "notifications", "start")

    def __init__(
        self, start: int, notifications: Sequence[Notification], facts: Sequence[Fact]
    ) -> None:
        self.start = start
        self.notifications = notifications
        self.facts = facts

    @classmethod
    def read(
        cls, *, start: int, notifications: Sequence[Notification], mapper: Mapper[Any]
    ) -> Batch:
        """The batch of `notifications`, read with the application's `mapper`."""
        return cls(start, notifications, Facts(notifications, mapper))

    @property
    def last(self) -> int:
        return self.notifications[-1].id if self.notifications else self.start

    def __len__(self) -> int:
        return len(self.notifications)

    def of(self, *classes: type[Any]) -> Iterator[Fact]:
        """The fact of each notification whose event class is one of `classes` (or a
        subclass), in log order; the others are not read."""
        facts = self.facts
        for index, notification in enumerate(self.notifications):
            if issubclass(event_class(notification.topic), classes):
                yield facts[index]


def json_text(value: object) -> str:
    """A jsonb column's text for COPY (orjson: the same JSON as the standard library's encoder
    for the plain values a view writes, several times faster)."""
    return orjson.dumps(value).decode("utf-8")


def copy_rows(
    curs: Cursor[DictRow], table: Identifier, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Writes new rows with one COPY: far cheaper for the server than a statement a row."""
    if not rows:
        return
    statement = SQL("COPY {t} ({c}) FROM STDIN").format(
        t=table, c=SQL(", ").join(Identifier(c) for c in columns)
    )
    with curs.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


class ViewRecorder(PostgresTrackingRecorder):
    """Base of every view. Subclasses set `name`, `tables` (suffix -> column DDL) and `indexes`
    (index suffix -> `(table suffix, column list)`), and implement `apply`."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]
    # index suffix -> (table suffix, column list) or (table suffix, column list, WHERE predicate)
    indexes: ClassVar[dict[str, tuple[str, ...]]] = {}
    unique_indexes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = self.tracking_table_name.removesuffix("_tracking")
        generation = self.prefix.removeprefix(self.name + GENERATION_MARK)
        self.generation = int(generation) if generation.isdigit() else 0
        self.rules: Rules | None = None
        for suffix, columns in self.tables.items():
            self.sql_create_statements.append(
                SQL("CREATE TABLE IF NOT EXISTS {t} (" + columns + ")").format(t=self.table(suffix))
            )
        for index, (suffix, columns, *where) in self.indexes.items():
            unique = SQL("UNIQUE ") if index in self.unique_indexes else SQL("")
            partial = " WHERE " + where[0] if where else ""
            self.sql_create_statements.append(
                SQL("CREATE {u}INDEX IF NOT EXISTS {i} ON {t} (" + columns + ")" + partial).format(
                    u=unique, i=Identifier(f"{self.prefix}_{index}"), t=self.table(suffix)
                )
            )

    # --- names ------------------------------------------------------------------------------
    def table(self, suffix: str) -> Identifier:
        """This generation's table (the write side)."""
        return Identifier(f"{self.prefix}_{suffix}")

    @classmethod
    def read_table(cls, suffix: str) -> Identifier:
        """The stable name readers use; it always shows the live generation."""
        return Identifier(f"{cls.name}_{suffix}")

    @classmethod
    def read_views(cls) -> list[str]:
        """The stable names readers use, one per table."""
        return [f"{cls.name}_{suffix}" for suffix in cls.tables]

    @classmethod
    def physical_tables(cls, generation: int) -> list[str]:
        """Every table of one generation, its tracking table included."""
        prefix = physical_prefix(cls.name, generation)
        return [f"{prefix}_{suffix}" for suffix in cls.tables] + [f"{prefix}_tracking"]

    def bind_readers(self) -> list[Composed]:
        """Statements that point the stable read names at this generation."""
        statements: list[Composed] = []
        for suffix in self.tables:
            statements.append(SQL("DROP VIEW IF EXISTS {v}").format(v=self.read_table(suffix)))
            statements.append(
                SQL("CREATE VIEW {v} AS SELECT * FROM {t}").format(
                    v=self.read_table(suffix), t=self.table(suffix)
                )
            )
        return statements

    # --- writing ----------------------------------------------------------------------------
    def apply(self, curs: Cursor[DictRow], batch: Batch) -> None:
        """Writes the rows of one batch inside the runner's transaction. Must be idempotent
        only in the sense that the runner never hands the same events twice."""
        raise NotImplementedError

    def position_lock(self, curs: Cursor[DictRow], application_name: str) -> int:
        """Takes this generation's writer lock for the transaction; returns its position."""
        curs.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self.tracking_table_name,)
        )
        curs.execute(self.max_tracking_id_statement, (application_name,))
        row = curs.fetchone()
        return int(row["max"] or 0) if row else 0
