"""What the ledger needs of PostgreSQL beyond the eventsourcing library's own store: the one
module of `ledger` that speaks psycopg (pyproject.toml's import contract names it).

`advisory_locks`: API processes take turns on a division-year's filing sequence
(ledger/group_commit.py).

`install_pipeline_flush`: a fix for psycopg's pipeline mode, which can hang forever on a large
write. The event store inserts events in psycopg's pipeline mode. psycopg's
`pipeline_communicate` (3.3.9, both its C and Python versions, and its main branch as of
2026-11) stops writing as soon as its queue of commands is empty, even when libpq's `PQflush`
says part of the last command is still unsent (the socket's buffer was full). It then waits to
read a result the server cannot produce: the server is waiting for the rest of the command
(`ClientRead` in pg_stat_activity), the client for the server; both wait forever, the events
table stays locked and every later write waits behind it. Seen here with one filing of 5,000
devices (about 1.5 MB) over a Unix socket, and a few MB over TCP on loopback; the embedded
PostgreSQL is reached by its Unix socket, so a device sheet at the contract's limit was enough.
The replacement is the same loop, except that it keeps flushing (waiting until the socket is
writable) until libpq's output buffer is empty. Everything else is psycopg's own code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import _pipeline_base, generators
from psycopg.pq import ExecStatus
from psycopg.waiting import Ready, Wait

from ledger.ids import filing_sequence_id

_PIPELINE_SYNC = ExecStatus.PIPELINE_SYNC
_COPY = (ExecStatus.COPY_IN, ExecStatus.COPY_OUT, ExecStatus.COPY_BOTH)


def pipeline_communicate(pgconn: Any, commands: deque[Any]) -> Any:
    """psycopg's `pipeline_communicate`, except that it returns only once every command
    has been sent and libpq's output buffer is flushed."""
    results: list[list[Any]] = []
    while True:
        while not (ready := (yield Wait.RW)):
            continue
        if ready & Ready.R:
            pgconn.consume_input()
            generators._consume_notifies(pgconn)
            res: list[Any] = []
            while not pgconn.is_busy():
                if (r := pgconn.get_result()) is None:
                    if not res:
                        break
                    results.append(res)
                    res = []
                elif (status := r.status) == _PIPELINE_SYNC:
                    results.append([r])
                elif status in _COPY:
                    raise psycopg.NotSupportedError("COPY cannot be used in pipeline mode")
                else:
                    res.append(r)
        if ready & Ready.W:
            unsent = pgconn.flush()  # 1 while part of the output is still in libpq's buffer
            if commands:
                commands.popleft()()
            elif not unsent:
                break
    return results


def install_pipeline_flush() -> None:
    """Makes psycopg's pipelines (in this process) use the flushing loop above."""
    _pipeline_base.pipeline_communicate = pipeline_communicate  # type: ignore[attr-defined]


@contextmanager
def advisory_locks(
    datastore: Any, places: Sequence[tuple[str, int]], *, timeout_s: float = 10.0
) -> Iterator[None]:
    """PostgreSQL session advisory locks on the filing sequences of `places` (taken in sorted
    order, so two committers never wait on each other in a circle), held on a connection of
    the store's pool until the batch is saved. A lock not had within `timeout_s` is gone
    without: the sequence's key still keeps the numbers right, only the batch may be refused."""
    with datastore.get_connection() as conn:
        conn.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
        try:
            for division_code, year in places:
                conn.execute(
                    "SELECT pg_advisory_lock(%s)", (sequence_lock_key(division_code, year),)
                )
        except psycopg.errors.LockNotAvailable:
            pass
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock_all()")
            conn.execute("RESET lock_timeout")  # the connection goes back to the pool


def sequence_lock_key(division_code: str, year: int) -> int:
    """The advisory lock key (a signed 64-bit integer) of a division-year's sequence."""
    return int.from_bytes(filing_sequence_id(division_code, year).bytes[:8], "big", signed=True)
