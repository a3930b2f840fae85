"""Builds realistic ledger logs quickly, through the domain's own aggregates and `Ledger.save`.

Filing one system per request runs at about 950 events/s on this machine (one transaction per
save); a benchmark that needs 200,000 events saves a few hundred systems, with their filing
sequence, per transaction instead. The events are exactly those the write path records.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from ledger.sequence import FilingSequence
from ledger.services.application import Ledger
from ledger.systems import VideoSystem
from ledger.values import Actor, Channel, Role

DIVISION = "500108"
UNIT = "91500108MA00000014"  # a valid USCC; the bench files without registering the unit
SERVER = os.environ.get("LEDGER_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def scratch_database(prefix: str = "psvs_bench", *, embedded: bool = False) -> Iterator[str]:
    """A new empty database on the bench server (the machine's PostgreSQL), dropped
    afterwards; an embedded server in a temporary directory when asked or when none answers."""
    try:
        if embedded:
            raise psycopg.OperationalError("an embedded server was asked for")
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.OperationalError:
        yield from _embedded()
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = SERVER.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _embedded() -> Iterator[str]:
    from api.core.embedded import start_embedded_postgres, stop_embedded_postgres

    base = Path(tempfile.mkdtemp(prefix="psvs-bench-pg-"))
    try:
        yield start_embedded_postgres(base / "postgres")
    finally:
        stop_embedded_postgres(base / "postgres")
        shutil.rmtree(base, ignore_errors=True)


def _devices(count: int) -> list[dict[str, object]]:
    return [
        {
            "device_id": f"{DIVISION}0000131{n:07d}",
            "name": f"出入口{n}号摄像机",
            "address": "重庆市南岸区南坪西路1号",
            "longitude": 106.57,
            "latitude": 29.53,
            "device_type": "fixed_bullet",
            "indoor": False,
            "face_capture": False,
            "storage_days": 90,
        }
        for n in range(1, count + 1)
    ]


def build_log(ledger: Ledger, *, systems: int, batch: int = 250, devices: int = 10) -> int:
    """Files `systems` systems (every other one changed once, every tenth filed late) and
    returns the log's head position."""
    actor = Actor(
        account_id=str(uuid.uuid4()),
        role=Role.LEGAL_PERSON,
        name="单位",
        on_behalf_of=UNIT,
        division_code=None,
    )
    rules = ledger.field_rules(date(2025, 12, 31))
    sequence = FilingSequence.start(division_code=DIVISION, year=2025)
    device_rows = _devices(devices)
    done = 0
    while done < systems:
        aggregates: list[VideoSystem] = []
        for n in range(done, min(done + batch, systems)):
            system_id = uuid.uuid4()
            commissioned = date(2025, 4, 1) + timedelta(days=n % 200)
            filed_on = commissioned + timedelta(days=45 if n % 10 == 0 else 20)
            system = VideoSystem.file(
                system_id=system_id,
                filing_number=sequence.issue(system_id),
                fields={
                    "unit_uscc": UNIT,
                    "name": f"视频监控系统{n}",
                    "place_category": 2,
                    "place_type": "shopping_centre",
                    "address": f"南坪西路{n}号",
                    "division_code": DIVISION,
                    "longitude": 106.57,
                    "latitude": 29.53,
                    "commissioned_on": commissioned,
                    "storage_days": 90,
                    "collection_area": "出入口",
                    "outsourced_to": None,
                },
                devices=device_rows,
                rules=rules,
                actor=actor,
                channel=Channel.ONLINE,
                effective_on=filed_on,
                request_digest="",
            )
            if n % 2 == 0:
                system.change(
                    reason="更名",
                    changes={"name": f"视频监控系统{n}（更名）"},
                    devices_added=[],
                    devices_removed=[],
                    rules=rules,
                    actor=actor,
                    channel=Channel.ONLINE,
                    effective_on=filed_on + timedelta(days=10),
                    filed_on=filed_on + timedelta(days=30 + n % 20),
                )
            aggregates.append(system)
        ledger.save(sequence, *aggregates)
        done += len(aggregates)
    return ledger.recorder.max_notification_id() or 0


def plain_select_rate(url: str) -> tuple[int, float]:
    """Events, and events/s, of a server-side cursor reading every stored event in log order:
    what no reader of the log can beat."""
    started, rows = time.perf_counter(), 0
    with psycopg.connect(url) as conn, conn.cursor(name="all_events") as cursor:
        cursor.itersize = 5000
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM ledger_events ORDER BY notification_id"
        )
        for _ in cursor:
            rows += 1
    return rows, rows / (time.perf_counter() - started)
