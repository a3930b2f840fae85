"""The snapshot: every system's current state as of one log position, read in one transaction.

The first line is `{"position": N}`; then one line per system, in filing order, shaped as
`GET /v1/systems/{system_id}` answers it. Everything is read in one REPEATABLE READ transaction:
the status view's rows and its tracking position commit together, so the rows are exactly the
state after event N, and a consumer that loads them and follows `GET /v1/feed?after=N` holds
the live state. The change duties in each system's obligations come from the overdue view in
the same transaction, only those of events up to N.

The views are brought up to the log's head first (safely beside a running server: a batch
commits only where the view stands, see projections/runner.py), so the snapshot is fresh even
when no server keeps them. `psvs-ledger export snapshot FILE` (api/cli/snapshot.py) writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import psycopg
from psycopg import Cursor, IsolationLevel
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Identifier

from api.core.runtime import Runtime
from api.queries.render import system_public
from api.queries.views import views_reached
from api.schemas.systems import SystemPublic
from ledger.rules import rules_from_text
from projections.base import physical_prefix
from projections.duty_reads import change_duties_in
from projections.runner import BatchRunner
from projections.status import StatusView

CHUNK = 500
ATTEMPTS = 5
WAIT_SECONDS = 10.0


class OverdueBehind(Exception):
    """The overdue view has not reached the status view's position yet."""

    def __init__(self, position: int) -> None:
        super().__init__(f"the overdue view is behind position {position}")
        self.position = position


def _view_at(curs: Cursor[DictRow], name: str, app_name: str) -> tuple[int, str]:
    """A view's position and rules, as this transaction sees them."""
    curs.execute("SELECT generation, rules_toml FROM projection_registry WHERE name = %s", (name,))
    row = curs.fetchone()
    assert row is not None, f"the {name} view has no registry row"
    tracking = Identifier(f"{physical_prefix(name, row['generation'])}_tracking")
    curs.execute(
        SQL("SELECT max(notification_id) AS at FROM {t} WHERE application_name = %s").format(
            t=tracking
        ),
        (app_name,),
    )
    at = curs.fetchone()
    return int(at["at"] or 0) if at else 0, str(row["rules_toml"])


def _docs(conn: psycopg.Connection[DictRow]) -> Iterator[list[dict[str, Any]]]:
    """The status view's documents in filing order, a chunk at a time (a server-side cursor)."""
    with conn.cursor(name="snapshot_systems") as rows:
        rows.execute(
            SQL("SELECT doc FROM {t} ORDER BY first_position").format(
                t=StatusView.read_table("systems")
            )
        )
        while chunk := rows.fetchmany(CHUNK):
            yield [row["doc"] for row in chunk]


def write_snapshot(rt: Runtime, out: TextIO, *, today: date) -> tuple[int, int]:
    """Writes the snapshot to `out`; returns its position and how many systems it holds."""
    with psycopg.connect(rt.url, row_factory=dict_row) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction(), conn.cursor() as curs:
            position, _ = _view_at(curs, "status", rt.ledger.name)
            overdue_at, rules_toml = _view_at(curs, "overdue", rt.ledger.name)
            if overdue_at < position:
                raise OverdueBehind(position)
            rules = rules_from_text(rules_toml, source="the overdue view")
            out.write(json.dumps({"position": position}) + "\n")
            count = 0
            for docs in _docs(conn):
                duties = change_duties_in(curs, [d["system_id"] for d in docs], upto=position)
                for doc in docs:
                    body = system_public(
                        doc, rules, today=today, changes=duties.get(doc["system_id"], ())
                    )
                    line = SystemPublic.model_validate(body).model_dump(mode="json")
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    count += 1
    return position, count


def catch_up(rt: Runtime, names: tuple[str, ...] = ("status", "overdue")) -> None:
    """Brings the named views up to the log's head from this process."""
    for name in names:
        BatchRunner(app=rt.ledger, slot=rt.slots[name], conninfo=lambda: rt.url).catch_up()


def snapshot_to(rt: Runtime, path: Path, *, today: date) -> tuple[int, int]:
    """Writes the snapshot file (replacing it only once complete)."""
    catch_up(rt)
    partial = path.with_name(path.name + ".partial")
    for _ in range(ATTEMPTS):
        try:
            with partial.open("w", encoding="utf-8") as out:
                result = write_snapshot(rt, out, today=today)
        except OverdueBehind as behind:  # a server moved the status view on meanwhile
            views_reached(rt, ("overdue",), position=behind.position, timeout=WAIT_SECONDS)
            continue
        partial.replace(path)
        return result
    partial.unlink(missing_ok=True)
    raise RuntimeError("the overdue view did not reach the status view's position")
