"""Speed of linking and verifying the hash chain, beside a plain SELECT of the same rows.

    .venv/bin/python -m bench.verify_speed [--events 100000] [--server URL | --embedded]

Builds a log of at least `--events` events in a scratch database (filings of systems with ten
cameras and their filing numbers, a few hundred systems per `Ledger.save`), links it
with the chain view exactly as `psvs-ledger projections rebuild chain` does, then runs
`psvs-ledger verify`'s check. The plain SELECT reads the same columns through a server-side
cursor in log order: what no verifier can beat. Run by hand; never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from api.embedded import start_embedded_postgres, stop_embedded_postgres
from api.runtime import open_runtime
from api.settings import Settings
from api.verification import verify
from ledger.application import Ledger
from ledger.codes import uscc_check_char
from ledger.sequence import FilingSequence
from ledger.systems import VideoSystem
from ledger.values import Actor, Channel, Role
from projections.chain import ChainView
from projections.rebuild import rebuild

SERVER = os.environ.get("LEDGER_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DIVISION = "500108"
UNIT = "91500108MA0000001" + uscc_check_char("91500108MA0000001")


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A new empty database on `server` (a URL, or "embedded": a private embedded server)."""
    if server == "embedded":
        with tempfile.TemporaryDirectory(prefix="psvs-bench-") as base:
            url = start_embedded_postgres(Path(base) / "postgres")
            try:
                yield url
            finally:
                stop_embedded_postgres(Path(base) / "postgres")
        return
    name = f"psvs_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def build_log(ledger: Ledger, *, events: int, batch: int = 50) -> int:
    """Files systems with ten cameras each until the log holds `events` events."""
    actor = Actor(account_id=str(uuid.uuid4()), role=Role.LEGAL_PERSON, name="单位",
                  on_behalf_of=UNIT, division_code=None)
    rules = ledger.field_rules(date(2025, 12, 31))
    devices = [{"device_id": f"{DIVISION}0000131{n:07d}", "name": f"出入口{n}号摄像机",
                "address": "重庆市南岸区南坪西路1号", "longitude": 106.57, "latitude": 29.53,
                "device_type": "fixed_bullet", "indoor": False, "face_capture": False,
                "storage_days": 90} for n in range(1, 11)]
    sequence = FilingSequence.start(division_code=DIVISION, year=2025)
    done = 0
    while (ledger.recorder.max_notification_id() or 0) < events:
        systems = []
        for n in range(done, done + batch):
            system_id = uuid.uuid4()
            filed_on = date(2025, 4, 1) + timedelta(days=n % 200)
            system = VideoSystem.file(
                system_id=system_id, filing_number=sequence.issue(system_id),
                fields={"unit_uscc": UNIT, "name": f"视频监控系统{n}", "place_category": 2,
                        "place_type": "shopping_centre", "address": f"南坪西路{n}号",
                        "division_code": DIVISION, "longitude": 106.57, "latitude": 29.53,
                        "commissioned_on": filed_on - timedelta(days=20), "storage_days": 90,
                        "collection_area": "出入口", "outsourced_to": None},
                devices=devices, rules=rules, actor=actor, channel=Channel.ONLINE,
                effective_on=filed_on, request_digest="",
            )
            systems.append(system)
        done += batch
        ledger.save(sequence, *systems)
    return ledger.recorder.max_notification_id() or 0


def plain_select(url: str) -> tuple[int, float]:
    """Events/s of a server-side cursor reading every stored event in log order."""
    started, rows = time.perf_counter(), 0
    with psycopg.connect(url) as conn, conn.cursor(name="all_events") as cursor:
        cursor.itersize = 5000
        cursor.execute("SELECT notification_id, originator_id, originator_version, topic, state"
                       " FROM ledger_events ORDER BY notification_id")
        for _ in cursor:
            rows += 1
    return rows, rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--server", default=SERVER, help="a maintenance URL of the server")
    parser.add_argument("--embedded", action="store_const", const="embedded", dest="server",
                        help="use a private embedded PostgreSQL instead")
    args = parser.parse_args()
    with scratch_database(args.server) as url, tempfile.TemporaryDirectory() as data:
        runtime = open_runtime(Settings(database_url=url, data_dir=Path(data)), projections=False)
        try:
            started = time.perf_counter()
            head = build_log(runtime.ledger, events=args.events)
            print(f"log of {head:,} events built in {time.perf_counter() - started:.1f} s")
            events, select = plain_select(url)
            linked = rebuild(app=runtime.ledger, registry=runtime.registry, kind=ChainView,
                             open_view=runtime.open_view, rules_toml=None)
            result = verify(runtime)
        finally:
            runtime.close()
    assert result.verified and result.events == events, result
    print(f"{'':28} {'events':>9} {'events/s':>10} {'of SELECT':>10}")
    for label, count, rate in (
        ("plain SELECT (limit)", events, select),
        ("chain view (link + sign)", linked.events, linked.events_per_second),
        ("verify (recompute + check)", result.events, result.events_per_second),
    ):
        print(f"{label:28} {count:>9,} {rate:>10,.0f} {rate / select:>10.1%}")
    print(f"checkpoints verified: {result.checkpoints.verified}/{result.checkpoints.count}")


if __name__ == "__main__":
    main()
