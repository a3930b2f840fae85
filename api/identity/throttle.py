"""Failed sign-ins, counted in PostgreSQL so every worker process shares the count.

One row per failure in `auth_failures`: when, from which client address, for which account (when
the failure can be tied to one), of which kind (`officer_login`, `bearer_token`) and why. Once an
address, or an account, has `limit` failures in the last `window_seconds`, `retry_after` answers
the seconds until the most recent `limit`-th of them leaves the window (with exactly `limit`
failures: the oldest), and the caller refuses with `too_many` (429 and `Retry-After`) before it
verifies anything. A throttled attempt is not itself counted, so a user who waits out the window
gets in again. Each insert prunes the rows that have left the window.

The client address is the ASGI client's (`request.client.host`). Behind a reverse proxy that is
the proxy's address, and one attacker would throttle everyone: run uvicorn with
`--proxy-headers --forwarded-allow-ips=<the proxy's address>` so it is the real client's.
Times are the database's `now()`, so processes with skewed clocks agree.
"""

from __future__ import annotations

import math

from eventsourcing.postgres import PostgresDatastore

from api.core.logs import security_event
from api.http.problems import Problem

KINDS = frozenset({"officer_login", "bearer_token"})
# The same lock as the runtime's start-up (api/core/runtime.py): processes starting together would
# otherwise race to create the table, which CREATE TABLE IF NOT EXISTS does not survive.
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('psvs-ledger schema', 0))"
_CREATE = (
    """
    CREATE TABLE IF NOT EXISTS auth_failures (
        id bigserial PRIMARY KEY,
        failed_at timestamptz NOT NULL DEFAULT now(),
        address text NOT NULL,
        account_id text,
        kind text NOT NULL,
        reason text NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS auth_failures_address ON auth_failures (address, failed_at)",
    "CREATE INDEX IF NOT EXISTS auth_failures_account ON auth_failures (account_id, failed_at)"
    " WHERE account_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS auth_failures_failed_at ON auth_failures (failed_at)",
)
# The `limit`-th most recent failure in the window, and the seconds until it leaves it.
_WAIT = """
    SELECT extract(epoch FROM failed_at + make_interval(secs => %(window)s) - now()) AS wait
    FROM auth_failures
    WHERE {column} = %(key)s AND failed_at > now() - make_interval(secs => %(window)s)
    ORDER BY failed_at DESC
    OFFSET %(skip)s LIMIT 1
"""
_WAIT_BY_ADDRESS = _WAIT.format(column="address")
_WAIT_BY_ACCOUNT = _WAIT.format(column="account_id")


class Throttle:
    """Counts failures per client address and per account; shared through the database."""

    def __init__(
        self, reads: PostgresDatastore, *, limit: int = 5, window_seconds: int = 900
    ) -> None:
        self.reads = reads
        self.limit = max(limit, 1)
        self.window_seconds = max(window_seconds, 1)
        with reads.transaction(commit=True) as curs:
            curs.execute(_SCHEMA_LOCK)
            for statement in _CREATE:
                curs.execute(statement)

    def retry_after(self, *, address: str, account_id: str | None = None) -> int | None:
        """Seconds until the address (or the account) may try again; None if not throttled.

        A throttled answer is logged as a security event (`auth_throttled`)."""
        params = {"window": self.window_seconds, "skip": self.limit - 1}
        waits: list[float] = []
        with self.reads.transaction(commit=False) as curs:
            curs.execute(_WAIT_BY_ADDRESS, {**params, "key": address})
            row = curs.fetchone()
            if row is not None:
                waits.append(float(row["wait"]))
            if account_id is not None:
                curs.execute(_WAIT_BY_ACCOUNT, {**params, "key": account_id})
                row = curs.fetchone()
                if row is not None:
                    waits.append(float(row["wait"]))
        if not waits:
            return None
        seconds = max(1, math.ceil(max(waits)))
        security_event("auth_throttled", client=address, account_id=account_id, retry_after=seconds)
        return seconds

    def failed(self, *, address: str, account_id: str | None, kind: str, reason: str) -> None:
        """Records one failure (kind: 'officer_login' or 'bearer_token') and logs it as a
        security event (`auth_failure`)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind of failure: {kind!r}")
        with self.reads.transaction(commit=True) as curs:
            curs.execute(
                "DELETE FROM auth_failures WHERE failed_at <= now() - make_interval(secs => %s)",
                (self.window_seconds,),
            )
            curs.execute(
                "INSERT INTO auth_failures (address, account_id, kind, reason)"
                " VALUES (%s, %s, %s, %s)",
                (address, account_id, kind, reason),
            )
        security_event(
            "auth_failure", kind=kind, reason=reason, client=address, account_id=account_id
        )


def too_many(retry_after: int) -> Problem:
    """The 429 a throttled caller gets, with the seconds to wait in `Retry-After`."""
    seconds = max(1, int(retry_after))
    return Problem(
        429,
        f"too many failed sign-ins; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )
