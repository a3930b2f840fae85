"""The event tables are append-only, at the database: a trigger refuses any change to a row.

`protect_event_tables` runs at every start-up (api/core/runtime.py, right after the Ledger has
created its tables). It installs, idempotently, a row trigger refusing UPDATE and DELETE and a
statement trigger refusing TRUNCATE on `ledger_events` and `ledger_snapshots`. eventsourcing only
ever inserts into them, so the service never notices; anyone else, even the table's owner, gets

    ERROR:  the ledger is append-only: UPDATE on ledger_events is refused

A superuser can still disable the trigger (`ALTER TABLE ... DISABLE TRIGGER`): that is what the
hash chain (`psvs-ledger verify`) is for. Each start re-enables a disabled trigger.

`grant_statements` are what `psvs-ledger db grants --role NAME` runs as the tables' owner: the
application's role may SELECT and INSERT events, and UPDATE only because eventsourcing's insert
takes `LOCK TABLE ... IN EXCLUSIVE MODE`, which needs that privilege; the trigger is what keeps
rows unchanged. It is refused DELETE, TRUNCATE, REFERENCES and TRIGGER. The owner keeps the
event tables: run the service as the role with `LEDGER_CREATE_TABLE=n` in its environment
(eventsourcing reads it for the `Ledger` application only), because the library's own
`CREATE ... IF NOT EXISTS` statements on a table need its owner even when it exists. The views'
tables are created by, and belong to, the service's role (it is granted CREATE on the schema).
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.services.application import Ledger

FUNCTION = "ledger_refuse_change"
_LOCK = "psvs-ledger append-only triggers"

_FUNCTION_BODY = """
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'events are never changed or removed; record a new event instead';
END
"""


def event_tables(ledger: Ledger) -> list[str]:
    """The tables holding the ledger's events (and snapshots, when it takes any)."""
    recorders: list[object] = [ledger.recorder]
    if ledger.snapshots is not None:
        recorders.append(ledger.snapshots.recorder)
    return [_postgres(recorder).events_table_name for recorder in recorders]


def _postgres(recorder: object) -> PostgresAggregateRecorder:
    if not isinstance(recorder, PostgresAggregateRecorder):
        raise TypeError("the append-only triggers need the ledger on PostgreSQL")
    return recorder


def _triggers(table: str) -> dict[str, Composed]:
    """Each trigger's name and its CREATE OR REPLACE statement."""
    t = Identifier(table)
    function = Identifier(FUNCTION)
    return {
        f"{table}_append_only": SQL(
            "CREATE OR REPLACE TRIGGER {n} BEFORE UPDATE OR DELETE ON {t}"
            " FOR EACH ROW EXECUTE FUNCTION {f}()"
        ).format(n=Identifier(f"{table}_append_only"), t=t, f=function),
        f"{table}_no_truncate": SQL(
            "CREATE OR REPLACE TRIGGER {n} BEFORE TRUNCATE ON {t}"
            " FOR EACH STATEMENT EXECUTE FUNCTION {f}()"
        ).format(n=Identifier(f"{table}_no_truncate"), t=t, f=function),
    }


def _installed(curs: Cursor[DictRow], tables: list[str]) -> bool:
    """Every trigger is there and enabled, and the function is this version's."""
    names = [name for table in tables for name in _triggers(table)]
    curs.execute(
        "SELECT count(*) AS n FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'",
        (names,),
    )
    row = curs.fetchone()
    curs.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", (FUNCTION,))
    source = curs.fetchone()
    return bool(row and row["n"] == len(names) and source and source["prosrc"] == _FUNCTION_BODY)


def ledger_datastore(ledger: Ledger) -> PostgresDatastore:
    """The connection pool the ledger writes through."""
    return _postgres(ledger.recorder).datastore


def protect_event_tables(ledger: Ledger) -> None:
    """Installs (or repairs) the append-only triggers; a no-op when they are in place, so a
    role that does not own the tables can start once the owner has installed them."""
    tables = event_tables(ledger)
    datastore = ledger_datastore(ledger)
    with datastore.transaction(commit=True) as curs:
        if _installed(curs, tables):
            return
        # Concurrent starts would race on the catalog ("tuple concurrently updated").
        curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_LOCK,))
        curs.execute(
            SQL(
                "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS {body}"
            ).format(f=Identifier(FUNCTION), body=Literal(_FUNCTION_BODY))
        )
        for table in tables:
            for name, statement in _triggers(table).items():
                curs.execute(statement)
                curs.execute(
                    SQL("ALTER TABLE {t} ENABLE TRIGGER {n}").format(
                        t=Identifier(table), n=Identifier(name)
                    )
                )


def analyze_if_never_analyzed(ledger: Ledger) -> list[str]:
    """ANALYZEs each event table that PostgreSQL has no statistics for (a bulk-loaded log on a
    server without autovacuum): without them the planner guessed a hundred thousand events per
    aggregate and read one system's events with a parallel scan and JIT, 25-40 ms instead of
    a fraction of one. Returns the tables it analyzed."""
    analyzed = []
    with ledger_datastore(ledger).transaction(commit=True) as curs:
        for table in event_tables(ledger):
            curs.execute(
                "SELECT c.reltuples < 0 AS never FROM pg_class c WHERE c.oid = to_regclass(%s)",
                (table,),
            )
            row = curs.fetchone()
            if row is not None and row["never"]:
                curs.execute(SQL("ANALYZE {t}").format(t=Identifier(table)))
                analyzed.append(table)
    return analyzed


def grant_statements(ledger: Ledger, role: str) -> list[Composed]:
    """What the application's role needs on the event tables, and nothing more."""
    r = Identifier(role)
    statements: list[Composed] = [
        SQL("GRANT USAGE, CREATE ON SCHEMA public TO {r}").format(r=r),
    ]
    for table in event_tables(ledger):
        t = Identifier(table)
        statements += [
            SQL("REVOKE ALL ON {t} FROM {r}").format(t=t, r=r),
            SQL("GRANT SELECT, INSERT, UPDATE ON {t} TO {r}").format(t=t, r=r),
        ]
    sequence = Identifier(f"{event_tables(ledger)[0]}_notification_id_seq")
    statements.append(SQL("GRANT USAGE ON SEQUENCE {s} TO {r}").format(s=sequence, r=r))
    return statements
