"""The log-sized figures: every view's rebuild and `verify`, beside a raw read plus a COPY.

The raw limit of a rebuild is what any view of the log must at least do: read every stored
event in order, and write one row per event. It is measured here with a server-side cursor and
`COPY ... FROM STDIN` into a fresh table, in the same run and on the same database. Rebuilds
and `verify` run as the operator runs them, as `psvs-ledger` subprocesses, so their peak
resident memory is theirs alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import psycopg

from api.runtime import open_runtime
from api.settings import Settings
from bench.logs import build_log
from bench.report import Figure
from projections.catalog import VIEWS


def raw_read_and_copy(url: str) -> tuple[int, float]:
    """Events, and events/s, of reading the whole log and COPYing one row per event."""
    started = time.perf_counter()
    count = 0
    with psycopg.connect(url) as writer, psycopg.connect(url) as reader:
        writer.execute("CREATE TABLE bench_copy (position bigint PRIMARY KEY, id uuid, doc jsonb)")
        with reader.cursor(name="log") as cursor, writer.cursor() as out:
            cursor.itersize = 5000
            cursor.execute("SELECT notification_id, originator_id, state FROM ledger_events"
                           " ORDER BY notification_id")
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
    process = subprocess.Popen([sys.executable, "-m", "api.cli", *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
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


def figures(url: str, data_dir: Path, *, systems: int) -> list[Figure]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_DATA_DIR": str(data_dir),
           "LEDGER_LOG_LEVEL": "warning"}
    runtime = open_runtime(Settings(database_url=url, data_dir=data_dir), projections=False)
    try:
        started = time.perf_counter()
        head = build_log(runtime.ledger, systems=systems, batch=50)
        build_rate = head / (time.perf_counter() - started)
    finally:
        runtime.close()
    events, raw_rate = raw_read_and_copy(url)
    print(f"log: {events:,} events ({head:,} positions), built at {build_rate:,.0f} events/s;"
          f" raw read + COPY {raw_rate:,.0f} events/s", file=sys.stderr)
    result = [Figure("log built through the domain (events/s)", build_rate, raw_rate,
                     "events/s")]
    for name in VIEWS:
        seconds, peak, _ = _timed(["projections", "rebuild", name], env)
        result.append(Figure(f"rebuild {name} (events/s)", events / seconds, raw_rate,
                             "events/s"))
        result.append(Figure(f"rebuild {name} peak RSS (MB)", peak / 1e6, peak / 1e6, "MB"))
    seconds, peak, _ = _timed(["verify"], env)
    result.append(Figure("verify (events/s)", events / seconds, raw_rate, "events/s"))
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_total_relation_size('ledger_events')").fetchone()
    size = int(row[0]) if row else 0
    result.append(Figure("disk bytes per event (ledger_events)", size / events, size / events,
                         "bytes"))
    return result
