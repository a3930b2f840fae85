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

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, overload

from eventsourcing.persistence import JSONTranscoder, Mapper, Notification, Transcoding
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.utils import resolve_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.rules import Rules

GENERATION_MARK = "_g"


def physical_prefix(name: str, generation: int) -> str:
    """The table prefix of one generation of a view: `status_g2`."""
    return f"{name}{GENERATION_MARK}{generation}"


@lru_cache(maxsize=256)
def event_class(topic: str) -> type[Any]:
    """The domain event class a stored topic names (what the mapper would decode it to)."""
    cls: type[Any] = resolve_topic(topic)
    return cls


class DecodedOnDemand(Sequence[Any]):
    """The events of a page, each decoded the first time a view asks for it.

    Decoding is most of a view's work, and most views want only some events (the chain none:
    it hashes the stored state), so a view picks the ones it needs by `event_class` of their
    topic first, and only those are turned into domain objects."""

    def __init__(self, notifications: Sequence[Notification], mapper: Mapper[Any]) -> None:
        self._notifications = notifications
        self._decode: Callable[[Notification], Any] = mapper.to_domain_event
        self._decoded: dict[int, Any] = {}
        # The stored state is the transcoder's JSON as it is, unless compressed or encrypted.
        plain = mapper.cipher is None and mapper.compressor is None
        transcoder = mapper.transcoder
        self.json_transcodings: Mapping[str, Transcoding] | None = (
            transcoder.names if plain and isinstance(transcoder, JSONTranscoder) else None
        )

    def __len__(self) -> int:
        return len(self._notifications)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        try:
            return self._decoded[index]
        except KeyError:
            event = self._decoded[index] = self._decode(self._notifications[index])
            return event

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))


_JSON_IN = json.JSONDecoder()


@dataclass(frozen=True)
class Batch:
    """A page of the log: the view's position before it, the stored notifications and the
    same events decoded (on demand, see `DecodedOnDemand`). Positions only grow and may skip
    numbers."""

    start: int
    notifications: Sequence[Notification]
    events: Sequence[Any]

    @property
    def last(self) -> int:
        return self.notifications[-1].id if self.notifications else self.start

    def __len__(self) -> int:
        return len(self.notifications)

    @property
    def json_transcodings(self) -> Mapping[str, Transcoding] | None:
        """The transcodings by name when each stored state is plain JSON of the application's
        JSON transcoder (a view may then read it without decoding the event); else None."""
        return getattr(self.events, "json_transcodings", None)

    def stored_json(self, index: int) -> Any:
        """The parsed JSON of the `index`th notification's stored state (read it only when
        `json_transcodings` says the states are plain JSON)."""
        return _JSON_IN.decode(bytes(self.notifications[index].state).decode("utf-8"))

    def of(self, *classes: type[Any]) -> Iterator[tuple[Notification, Any]]:
        """Each notification whose event is an instance of `classes`, with that event, in log
        order; the others are not decoded."""
        events = self.events
        for index, notification in enumerate(self.notifications):
            if issubclass(event_class(notification.topic), classes):
                yield notification, events[index]


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

    def position_lock(self, curs: Cursor[DictRow]) -> int:
        """Takes this generation's writer lock for the transaction; returns its position."""
        curs.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self.tracking_table_name,)
        )
        curs.execute(self.max_tracking_id_statement, ("Ledger",))
        row = curs.fetchone()
        return int(row["max"] or 0) if row else 0
