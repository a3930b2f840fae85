"""Answers 503 at once while the database is away, instead of after the store's retries.

When PostgreSQL goes away, each call into the event store waits for a pooled connection
(`POSTGRES_CONNECT_TIMEOUT`) and the library retries it ten times: a request would hang for
about a minute before its 503. A watcher thread keeps one connection and asks `SELECT 1` twice
a second; while that fails, requests that need the database are answered 503 with
`Retry-After` straight away, and the pool reconnects by itself once the server is back.
Requests already inside the store when it went away still take their time.
"""

from __future__ import annotations

import contextlib
import threading

import psycopg

PROBE_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 2
# Routes that answer without the database.
WITHOUT_DATABASE = ("/livez", "/metrics", "/openapi.json", "/docs", "/redoc", "/officer/static")


class DatabaseWatch:
    """Whether the database answered its last probe; the probe starts on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.up = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._watch, name="database-watch", daemon=True
                    )
                    self._thread.start()
        return self.up

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                ) as conn:
                    while not self._stop.is_set():
                        conn.execute("SELECT 1")
                        self.up = True
                        self._stop.wait(PROBE_SECONDS)
            except psycopg.Error:
                self.up = False
                self._stop.wait(PROBE_SECONDS)
            except Exception:  # never let the watcher die: stay optimistic instead
                self.up = True
                with contextlib.suppress(Exception):
                    self._stop.wait(PROBE_SECONDS)


def needs_database(path: str) -> bool:
    return not path.startswith(WITHOUT_DATABASE)
