"""Which process keeps a view: the holder of a PostgreSQL advisory lock named after it.

Every process that can run a view's runner (each `serve` worker, each `projections run`) asks
for the lock; one gets it and keeps the view, the others stand by and ask again every second.
The lock is a session lock on a connection of its own, so it is released when that process dies
or loses the database, and another process takes the view over within a couple of seconds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import psycopg

# How often the holder checks, with a round trip, that its lock connection is still alive.
CHECK_SECONDS = 2.0


class Leadership:
    def __init__(self, conninfo: Callable[[], str], name: str) -> None:
        self._conninfo = conninfo
        self.name = f"psvs-ledger view {name}"
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._holding = False
        self._checked = 0.0

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (checked against the server now and then)."""
        if not self._holding or self._conn is None or self._conn.closed:
            return False
        if time.monotonic() - self._checked >= CHECK_SECONDS:
            try:
                self._conn.execute("SELECT 1")
            except psycopg.Error:
                self.release()
                return False
            self._checked = time.monotonic()
        return True

    def try_acquire(self) -> bool:
        """Takes the lock if nobody holds it; never waits."""
        if self.held:
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._conninfo(), autocommit=True)
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (self.name,)
            ).fetchone()
        except psycopg.Error:
            self.release()
            return False
        self._holding = bool(row and row[0])
        self._checked = time.monotonic()
        return self._holding

    def release(self) -> None:
        """Lets the lock go (closing its connection is enough; the server frees it)."""
        self._holding = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
