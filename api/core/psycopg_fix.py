"""The one module that reaches into psycopg's internals: a fix for its pipeline mode, which can
hang forever on a large write. tests/unit/test_library_contracts.py fails loudly when psycopg
changes the names and the signature relied on here.

The event store inserts events in psycopg's pipeline mode. psycopg's `pipeline_communicate`
(3.3.9, both its C and Python versions) stops writing as soon as its queue of commands is empty,
even when libpq's `PQflush` says part of the last command is still unsent (the socket's buffer
was full). It then waits to read a result the server cannot produce: the server waits for the
rest of the command (`ClientRead` in pg_stat_activity), the client for the server; both wait
forever, the events table stays locked and every later write waits behind it. Seen here with one
filing of 5,000 devices (about 1.5 MB) over a Unix socket, and a few MB over TCP on loopback.

psycopg has no public hook for the loop that talks to the server in pipeline mode: its
`BasePipeline._communicate_gen` calls the name `pipeline_communicate` of the module
`psycopg._pipeline_base`. The composition root (api/core/runtime.py) rebinds that name, once per
process, to the loop below: psycopg's own, except that it keeps flushing (waiting until the
socket is writable) until libpq's output buffer is empty.
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
# The psycopg internals used here, checked by tests/unit/test_library_contracts.py.
PATCHED_MODULE = _pipeline_base
PATCHED_NAME = "pipeline_communicate"
consume_notifies = generators._consume_notifies


def pipeline_communicate(pgconn: Any, commands: deque[Any]) -> Any:
    """psycopg's `pipeline_communicate`, except that it returns only once every command
    has been sent and libpq's output buffer is flushed."""
    results: list[list[Any]] = []
    while True:
        while not (ready := (yield Wait.RW)):
            continue
        if ready & Ready.R:
            pgconn.consume_input()
            consume_notifies(pgconn)
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
    """Makes psycopg's pipelines (in this process) use the flushing loop above; installing it
    again changes nothing."""
    setattr(PATCHED_MODULE, PATCHED_NAME, pipeline_communicate)


def pipeline_flush_installed() -> bool:
    return getattr(PATCHED_MODULE, PATCHED_NAME) is pipeline_communicate
