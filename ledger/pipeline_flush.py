"""A fix for psycopg's pipeline mode, which can hang forever on a large write.

The event store inserts events in psycopg's pipeline mode. psycopg's `pipeline_communicate`
(3.3.9, both its C and Python versions, and its main branch as of 2026-11) stops writing as soon
as its queue of commands is empty, even when libpq's `PQflush` says part of the last command
is still unsent (the socket's buffer was full). It then waits to read a result the server
cannot produce: the server is waiting for the rest of the command (`ClientRead` in
pg_stat_activity), the client for the server; both wait forever, the events table stays locked
and every later write waits behind it. Seen here with one filing of 5,000 devices (about 1.5 MB)
over a Unix socket, and a few MB over TCP on loopback; the embedded PostgreSQL is reached by its
Unix socket, so a device sheet at the contract's limit was enough.

`install()` replaces the generator the pipeline uses with the same loop that keeps flushing
(waiting until the socket is writable) until libpq's output buffer is empty. Everything else is
psycopg's own code, unchanged.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import psycopg
from psycopg import _pipeline_base, generators
from psycopg.pq import ExecStatus
from psycopg.waiting import Ready, Wait

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


def install() -> None:
    """Makes psycopg's pipelines (in this process) use the flushing loop above."""
    _pipeline_base.pipeline_communicate = pipeline_communicate  # type: ignore[attr-defined]
