"""The log-sized figures: every view's rebuild and `verify`, beside a raw read plus a COPY.

    python -m bench.log_phase --database URL [--data-dir DIR]   # on a prebuilt log

The raw limit of a rebuild is what any view of the log must at least do: read every stored
event in order, and write one row per event. It is measured here with a server-side cursor and
`COPY ... FROM STDIN` into a fresh table, in the same run and on the same database. Rebuilds
and `verify` run as the operator runs them, as `psvs-ledger` subprocesses, so their peak
resident memory is theirs alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import psycopg

from api.core.runtime import open_runtime
from api.core.settings import Settings
from bench.logs import build_log
from bench.report import Figure, write
from projections.catalog import VIEWS


def raw_read_and_copy(url: str) -> tuple[int, float]:
    """Events, and events/s, of reading the whole log and COPYing one row per event."""
    started = time.perf_counter()
    count = 0
    with psycopg.connect(url) as writer, psycopg.connect(url) as reader:
        writer.execute("DROP TABLE IF EXISTS bench_copy")  # left by an interrupted run
        writer.execute("CREATE TABLE bench_copy (position bigint PRIMARY KEY, id uuid, doc jsonb)")
        with reader.cursor(name="log") as cursor, writer.cursor() as out:
            cursor.itersize = 5000
            cursor.execute(
                "SELECT notification_id, originator_id, state FROM ledger_events"
                " ORDER BY notification_id"
            )
            with out.copy("COPY bench_copy (position, id, doc) FROM STDIN") as copy:
                for position, originator_id, state in cursor:
                    copy.write_row((position, originator_id, bytes(state).decode()))
                    count += 1
        writer.commit()
        writer.execute("DROP TABLE bench_copy")
        writer.commit()
    return count, count / (time.perf_counter() - started)


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Runs `psvs-ledger args`; returns seconds, peak RSS in bytes, and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, psutil.Process(process.pid).memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate(timeout=7200)
    done.set()
    return time.perf_counter() - started, peak, out


def log_size(url: str) -> dict[str, int]:
    """Events and systems in the log (a system is created by a filing or a discovery)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE originator_version = 1 AND topic IN"
            " ('ledger.systems:VideoSystem.Filed', 'ledger.systems:VideoSystem.Discovered'))"
            " FROM ledger_events"
        ).fetchone()
    assert row is not None
    return {"events": int(row[0]), "systems": int(row[1])}


def disk_bytes(url: str) -> tuple[int, int]:
    """Bytes of `ledger_events` (with its indexes and TOAST), and of every table of the
    database outside the system catalogs (the views' tables and the snapshots too)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_total_relation_size('ledger_events'),"
            " (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm')"
            "  AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            "  AND n.nspname NOT LIKE 'pg_toast%')"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def figures(url: str, data_dir: Path, *, systems: int | None) -> list[Figure]:
    """The figures on `url`; with `systems`, on a log of that many systems built first
    (and its build rate), without, on the log the database already holds."""
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": url,
        "LEDGER_DATA_DIR": str(data_dir),
        "LEDGER_LOG_LEVEL": "warning",
    }
    result: list[Figure] = []
    build_rate = 0.0
    if systems:
        runtime = open_runtime(Settings(database_url=url, data_dir=data_dir), projections=False)
        try:
            started = time.perf_counter()
            head = build_log(runtime.ledger, systems=systems, batch=50)
            build_rate = head / (time.perf_counter() - started)
        finally:
            runtime.close()
    events, raw_rate = raw_read_and_copy(url)
    built = f", built at {build_rate:,.0f} events/s" if systems else " (prebuilt)"
    print(
        f"log: {events:,} events{built}; raw read + COPY {raw_rate:,.0f} events/s", file=sys.stderr
    )
    if systems:
        result.append(
            Figure("log built through the domain (events/s)", build_rate, raw_rate, "events/s")
        )
    for name in VIEWS:
        seconds, peak, _ = _timed(["projections", "rebuild", name], env)
        print(f"rebuild {name}: {seconds:,.1f} s, peak RSS {peak / 1e6:,.0f} MB", file=sys.stderr)
        result.append(Figure(f"rebuild {name} (events/s)", events / seconds, raw_rate, "events/s"))
        result.append(Figure(f"rebuild {name} peak RSS (MB)", peak / 1e6, peak / 1e6, "MB"))
    seconds, peak, _ = _timed(["verify"], env)
    result.append(Figure("verify (events/s)", events / seconds, raw_rate, "events/s"))
    result.append(Figure("verify peak RSS (MB)", peak / 1e6, peak / 1e6, "MB"))
    events_bytes, all_bytes = disk_bytes(url)
    result.append(
        Figure(
            "disk bytes per event (ledger_events)",
            events_bytes / events,
            events_bytes / events,
            "bytes",
        )
    )
    result.append(
        Figure("disk bytes per event (all tables)", all_bytes / events, all_bytes / events, "bytes")
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a prebuilt ledger to measure")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var"),
        help="the data directory the log was built with (its keys)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    result = figures(args.database, args.data_dir, systems=None)
    write(
        "log_phase",
        result,
        context={**log_size(args.database), "took": f"{time.monotonic() - started:.0f} s"},
    )


if __name__ == "__main__":
    main()
