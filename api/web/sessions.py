"""The officer pages' sessions: a row per login in PostgreSQL, named by a signed cookie.

Logging in looks the bearer token up once, starts a row in `officer_sessions` and gives the
browser a cookie holding a random session id and a CSRF token, never the bearer token or the
account id. The row is keyed by the SHA-256 of the session id, so the table alone lets no one
forge a cookie. Every page behind the login checks the row (`SessionStore.check`): a session
that was ended (sign-out, a newer login on the same browser, a disabled account, its account's
tokens revoked after it began) is refused; one
idle for more than `LEDGER_OFFICER_IDLE_MINUTES` (30) is ended as `idle`, one older than
`LEDGER_OFFICER_SESSION_HOURS` (8) as `expired`. `last_seen_at` is written at most once a minute
per session. So a copied cookie stops working when its owner signs out.

The cookie is signed with `itsdangerous` under `LEDGER_SESSION_KEY`, or, when that is unset,
under a random key generated once (mode 0600) in `<LEDGER_DATA_DIR>/session.key`, the way the
chain's signing key is (api/core/keys.py), so a bare machine runs and every process of one install
shares the key. Every form carries the session's CSRF token in a hidden field; a POST whose field
does not match the cookie's is refused. Before login the cookie holds only that CSRF token, so
the login form is protected too; logging in issues a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.postgres import PostgresDatastore
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "psvs_officer"
COOKIE_PATH = "/officer"
MAX_AGE_SECONDS = 8 * 3600  # one working day
# last_seen_at is written at most this often per session (a page view is otherwise a read).
TOUCH_SECONDS = 60
# Ended and abandoned rows are kept this long (who was signed in when), then pruned at a login.
KEEP_DAYS = 30

_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('psvs-ledger schema', 0))"
_CREATE = (
    """
    CREATE TABLE IF NOT EXISTS officer_sessions (
        session_id text PRIMARY KEY,
        account_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz,
        ended_reason text
    )
    """,
    "CREATE INDEX IF NOT EXISTS officer_sessions_account ON officer_sessions (account_id)",
    "CREATE INDEX IF NOT EXISTS officer_sessions_created ON officer_sessions (created_at)",
)
_CHECK = """
    SELECT account_id, created_at, ended_at IS NOT NULL AS ended,
           created_at <= now() - make_interval(hours => %(hours)s) AS expired,
           last_seen_at <= now() - make_interval(mins => %(idle)s) AS idle,
           last_seen_at <= now() - make_interval(secs => %(touch)s) AS stale
    FROM officer_sessions WHERE session_id = %(digest)s
"""
_END = """
    UPDATE officer_sessions SET ended_at = now(), ended_reason = %s
    WHERE session_id = %s AND ended_at IS NULL
    RETURNING account_id
"""


@dataclass(frozen=True)
class Session:
    """What the cookie holds: the CSRF token and, once signed in, the session's random id."""

    csrf: str
    session_id: str | None = None


@dataclass(frozen=True)
class Checked:
    """A session's row, checked: its account when it is live; the reason it ended just now."""

    account_id: str | None
    ended_now: str | None = None
    ended_account_id: str | None = None
    created_at: datetime | None = None


def session_digest(session_id: str) -> str:
    """The row's key: the SHA-256 of the cookie's random id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_ref(session_id: str) -> str:
    """A short reference for the logs: the start of the row's key (not enough to find a cookie)."""
    return session_digest(session_id)[:12]


class SessionStore:
    """The `officer_sessions` rows, shared by every process on the database; each method is one
    short transaction. Times are the database's `now()`."""

    def __init__(
        self, reads: PostgresDatastore, *, idle_minutes: int = 30, session_hours: int = 8
    ) -> None:
        self.reads = reads
        self.idle_minutes = idle_minutes
        self.session_hours = session_hours
        with reads.transaction(commit=True) as curs:
            curs.execute(_SCHEMA_LOCK)
            for statement in _CREATE:
                curs.execute(statement)

    def start(self, account_id: str) -> str:
        """A new session of `account_id`: its random id, which only the cookie keeps."""
        session_id = secrets.token_urlsafe(32)
        with self.reads.transaction(commit=True) as curs:
            curs.execute(
                "DELETE FROM officer_sessions WHERE created_at < now() - make_interval(days => %s)",
                (KEEP_DAYS,),
            )
            curs.execute(
                "INSERT INTO officer_sessions (session_id, account_id) VALUES (%s, %s)",
                (session_digest(session_id), account_id),
            )
        return session_id

    def check(self, session_id: str) -> Checked:
        """The session's account if it is live (and seen now); an idle or too old one is ended."""
        digest = session_digest(session_id)
        with self.reads.transaction(commit=True) as curs:
            curs.execute(
                _CHECK,
                {
                    "hours": self.session_hours,
                    "idle": self.idle_minutes,
                    "touch": TOUCH_SECONDS,
                    "digest": digest,
                },
            )
            row = curs.fetchone()
            if row is None or row["ended"]:
                return Checked(None)
            reason = "expired" if row["expired"] else "idle" if row["idle"] else None
            if reason is not None:
                curs.execute(_END, (reason, digest))
                ended = curs.fetchone()
                if ended is None:  # another request ended it first (and logged it)
                    return Checked(None)
                return Checked(None, ended_now=reason, ended_account_id=row["account_id"])
            if row["stale"]:
                curs.execute(
                    "UPDATE officer_sessions SET last_seen_at = now()"
                    " WHERE session_id = %s AND ended_at IS NULL",
                    (digest,),
                )
        return Checked(str(row["account_id"]), created_at=row["created_at"])

    def end(self, session_id: str, reason: str) -> str | None:
        """Ends the session; its account's id if it was live until now, else None."""
        with self.reads.transaction(commit=True) as curs:
            curs.execute(_END, (reason, session_digest(session_id)))
            row = curs.fetchone()
        return str(row["account_id"]) if row else None


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, key: str, *, max_age_seconds: int = MAX_AGE_SECONDS) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="psvs-ledger officer session")
        self.max_age_seconds = max_age_seconds

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        sid = data.get("sid")
        return Session(csrf=data["csrf"], session_id=sid if isinstance(sid, str) else None)

    def write(self, request: Request, response: Response, session: Session) -> None:
        value = self._serializer.dumps({"csrf": session.csrf, "sid": session.session_id})
        response.set_cookie(
            COOKIE,
            value,
            max_age=self.max_age_seconds,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")


def new_session(session_id: str | None = None) -> Session:
    return Session(csrf=secrets.token_urlsafe(32), session_id=session_id)


def csrf_matches(session: Session | None, submitted: object) -> bool:
    return (
        session is not None
        and isinstance(submitted, str)
        and hmac.compare_digest(session.csrf.encode(), submitted.encode())
    )
