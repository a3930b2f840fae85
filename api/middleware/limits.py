"""Abuse limits in front of every route: body caps, rate limits, and the production gate.

One ASGI middleware, so it sees every request before any route, form parser or page does:

- a body larger than `LEDGER_MAX_BODY_BYTES` is refused with 413, whether it declares its
  length or arrives chunked without one (the chunks are counted as they arrive, and nothing
  is handed on once the cap is passed);
- `POST /v1/accounts` is rate-limited per client address, `POST /v1/attachments` too, and
  every request that carries a bearer token per token (valid or not): over the limit is 429
  with `Retry-After`;
- self-signup (`POST /v1/accounts`) is also limited per client address per 24 hours
  (`LEDGER_ACCOUNTS_PER_ADDRESS_PER_DAY`), counted in PostgreSQL (`SignupLimit`, table
  `signup_addresses`) so every worker shares the count; only accounts really opened count. With
  `LEDGER_SIGNUP_VERIFIER=module:callable` every self-signup must also pass that check first
  (a proof-of-work or CAPTCHA verifier: `SignupVerifier`), else 403;
- while the database does not answer, requests that need it get 503 at once
  (api/middleware/breaker.py);
- with `LEDGER_ENVIRONMENT=production`, `/docs`, `/redoc` and `/metrics` answer only to an
  admin's token (no token: 401; another role: 404, as if absent). `/openapi.json` stays
  public: it is part of the contract and describes nothing that is not public.

Rate limits are token buckets held in this process: several workers each keep their own, so
the effective limit is the configured one times the number of workers.

`UploadQuota` (table `upload_quota`) is the per-account daily quota on uploads (count and
bytes, `LEDGER_UPLOADS_PER_DAY`, `LEDGER_UPLOAD_BYTES_PER_DAY`): the upload route takes from it
once it knows the caller and the size; over it is 429 with `Retry-After`.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl

from eventsourcing.postgres import PostgresDatastore
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.settings import Settings
from api.http.problem_docs import allowed_methods
from api.http.problems import Problem, problem_response
from api.middleware.breaker import DatabaseWatch, needs_database
from api.middleware.headers import add_security_headers
from ledger.values import FieldError, Role

# Buckets kept per limiter; past this the least recently used are forgotten (a flood of
# made-up tokens costs bounded memory, and a forgotten bucket starts full again).
MAX_BUCKETS = 50_000
ADMIN_ONLY_IN_PRODUCTION = ("/docs", "/redoc", "/metrics")


# Opening accounts without a token: by self-signup, or from an OpenID ID token.
_SIGN_UP = frozenset({"/v1/accounts", "/v1/accounts/oidc"})
# Self-signup, anonymous: limited per address per day too (an OpenID sign-up names a subject).
SIGNUP = "/v1/accounts"
UPLOADS = "/v1/attachments"


class RateLimiter:
    """Token buckets by key: `burst` requests at once, refilled at `per_second`."""

    def __init__(self, *, per_second: float, burst: int, clock: Any = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = max(burst, 1)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def take(self, key: str) -> float | None:
        """None when the request may go ahead; else the seconds until it could."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            wait = None if tokens >= 1 else (1 - tokens) / self.per_second
            self._buckets[key] = (tokens - 1 if wait is None else tokens, now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        return wait


def _too_many(wait: float, what: str) -> Any:
    seconds = max(1, math.ceil(wait))
    return problem_response(
        429,
        f"too many {what}; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _too_large(limit: int) -> Any:
    return problem_response(413, f"request bodies are limited to {limit} bytes")


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.max_body = settings.max_body_bytes
        self.accounts = RateLimiter(
            per_second=settings.account_rate_per_minute / 60, burst=settings.account_burst
        )
        self.tokens = RateLimiter(
            per_second=settings.token_rate_per_second, burst=settings.token_burst
        )
        self.uploads = RateLimiter(
            per_second=settings.upload_rate_per_minute / 60, burst=settings.upload_burst
        )
        self.verifier = load_verifier(settings.signup_verifier)
        self.signups: SignupLimit | None = None
        self.watch: DatabaseWatch | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._on_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _complete_allow(scope, add_security_headers(scope, send))
        headers = Headers(scope=scope)
        refusal = (
            _nul_in_query(scope)
            or self._rate_limited(scope, headers)
            or await self._gated(scope)
            or self._database_away(scope)
        )
        if refusal is None:
            refusal, receive = await self._capped_body(headers, receive)
        if refusal is None and scope["method"] == "POST" and scope["path"].rstrip("/") == SIGNUP:
            refusal, send = await self._signup(scope, headers, send)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _on_shutdown(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"].startswith("lifespan.shutdown") and self.watch is not None:
                self.watch.stop()
            await send(message)

        return sending

    def _database_away(self, scope: Scope) -> Any:
        """503 at once while the database watch sees no database (api/middleware/breaker.py)."""
        if not needs_database(scope["path"]):
            return None
        if self.watch is None:
            runtime = getattr(scope["app"].state, "runtime", None)
            if runtime is None:
                return None
            self.watch = DatabaseWatch(runtime.url)
        if self.watch.available():
            return None
        return problem_response(
            503, "the database is unavailable; try again shortly", headers={"Retry-After": "2"}
        )

    def _rate_limited(self, scope: Scope, headers: Headers) -> Any:
        if scope["method"] == "POST" and scope["path"].rstrip("/") in _SIGN_UP:
            client = scope.get("client")
            address = client[0] if client else "unknown"
            if (wait := self.accounts.take(address)) is not None:
                return _too_many(wait, "accounts opened from this address")
        if (
            scope["method"] == "POST"
            and scope["path"].rstrip("/") == UPLOADS
            and (wait := self.uploads.take(_address(scope))) is not None
        ):
            return _too_many(wait, "uploads from this address")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            digest = hashlib.sha256(token.strip().encode()).hexdigest()
            if (wait := self.tokens.take(digest)) is not None:
                return _too_many(wait, "requests with this token")
        return None

    async def _signup(self, scope: Scope, headers: Headers, send: Send) -> tuple[Any, Send]:
        """The verifier's check, then a place in the address's daily count of sign-ups (given
        back when the account is not opened)."""
        address = _address(scope)
        if self.verifier is not None:
            reason = await run_in_threadpool(self.verifier, address, headers)
            if reason is not None:
                return problem_response(403, f"sign-up refused: {reason}"), send
        limit = self.settings.accounts_per_address_per_day
        runtime = getattr(scope["app"].state, "runtime", None)
        if limit <= 0 or runtime is None:
            return None, send
        if self.signups is None:
            self.signups = await run_in_threadpool(SignupLimit, runtime.reads, per_day=limit)
        signups = self.signups
        place, wait = await run_in_threadpool(signups.reserve, address)
        if place is None:
            seconds = max(1, math.ceil(wait or 1))
            return problem_response(
                429,
                f"at most {limit} accounts a day may be opened from one address; try again in"
                f" {seconds} s",
                headers={"Retry-After": str(seconds)},
            ), send

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not 200 <= message["status"] < 300:
                await run_in_threadpool(signups.release, place)
            await send(message)

        return None, sending

    async def _gated(self, scope: Scope) -> Any:
        """In production, the API's documentation and metrics are for admins only."""
        path: str = scope["path"]
        if self.settings.environment != "production" or not path.startswith(
            ADMIN_ONLY_IN_PRODUCTION
        ):
            return None
        authenticator = getattr(scope["app"].state, "authenticator", None)
        if authenticator is None:
            return problem_response(503, "starting", headers={"Retry-After": "1"})
        try:
            account = await run_in_threadpool(authenticator.account, Request(scope))
        except Problem as problem:
            return problem_response(problem.status, problem.detail, headers=problem.headers)
        if account.role is not Role.ADMIN:
            return problem_response(404, "Not Found")
        return None

    async def _capped_body(self, headers: Headers, receive: Receive) -> tuple[Any, Receive]:
        """413 for a body over the cap; a chunked body is read (up to the cap) and replayed."""
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body:
                return _too_large(self.max_body), receive
            return None, receive
        if "chunked" not in headers.get("transfer-encoding", "").lower():
            return None, receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None, _replay([], message, receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return _too_large(self.max_body), receive
            chunks.append(chunk)
            if not message.get("more_body", False):
                return None, _replay(chunks, None, receive)


def _complete_allow(scope: Scope, send: Send) -> Send:
    """A 405's `Allow` names every method of the path, not those of one route."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            MutableHeaders(scope=message)["Allow"] = ", ".join(allowed_methods(scope))
        await send(message)

    return sending


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that hands on the body already read, then the rest of the conversation."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replayed


def _nul_in_query(scope: Scope) -> Any:
    """422 naming each query parameter that holds a NUL character: no text the service stores
    or compares can hold one (PostgreSQL refuses it), so it is bad input, never a 500."""
    raw = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    bad = sorted({name for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
                  if "\x00" in name or "\x00" in value})  # fmt: skip
    if not bad:
        return None
    return problem_response(
        422,
        f"{len(bad)} field(s) are invalid",
        errors=[
            FieldError(("query", name.replace("\x00", "")), "must not contain a NUL character")
            for name in bad
        ],
    )


# --- sign-ups and uploads, counted in PostgreSQL --------------------------------------------
def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


# A sign-up's check on public deployments: given the client address and the request's headers
# (where a proof-of-work stamp or a CAPTCHA response travels), None to accept, or the reason to
# refuse (403). It runs in a worker thread; it may call out (a CAPTCHA provider's siteverify).
SignupVerifier = Callable[[str, Mapping[str, str]], str | None]


def load_verifier(spec: str | None) -> SignupVerifier | None:
    """The callable `module:name` names (LEDGER_SIGNUP_VERIFIER); a bad name fails the start."""
    if not spec:
        return None
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError("LEDGER_SIGNUP_VERIFIER is module:callable")
    found = getattr(importlib.import_module(module_name), name)
    if not callable(found):
        raise ValueError(f"LEDGER_SIGNUP_VERIFIER {spec} is not callable")
    return cast(SignupVerifier, found)


# The same lock as the runtime's start-up (api/core/runtime.py): see api/identity/throttle.py.
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('psvs-ledger schema', 0))"
_DAY = "make_interval(days => 1)"


def _create(reads: PostgresDatastore, statements: Sequence[str]) -> None:
    with reads.transaction(commit=True) as curs:
        curs.execute(_SCHEMA_LOCK)
        for statement in statements:
            curs.execute(statement)


def _lock(curs: Any, key: str) -> None:
    """Serialises the check-and-count of one key (an address, an account) across processes."""
    curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 17))", (key,))


class SignupLimit:
    """Self-signups per client address in any 24 hours, shared by every worker process."""

    def __init__(self, reads: PostgresDatastore, *, per_day: int) -> None:
        self.reads = reads
        self.per_day = max(per_day, 1)
        _create(
            reads,
            (
                "CREATE TABLE IF NOT EXISTS signup_addresses (id bigserial PRIMARY KEY,"
                " address text NOT NULL, opened_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX IF NOT EXISTS signup_addresses_address"
                " ON signup_addresses (address, opened_at)",
                "CREATE INDEX IF NOT EXISTS signup_addresses_opened_at"
                " ON signup_addresses (opened_at)",
            ),
        )

    def reserve(self, address: str) -> tuple[int | None, float | None]:
        """(a place, None) when the address may open one more account; else (None, seconds
        until the oldest sign-up that counts leaves the 24 hours)."""
        with self.reads.transaction(commit=True) as curs:
            _lock(curs, f"signup:{address}")
            curs.execute(f"DELETE FROM signup_addresses WHERE opened_at <= now() - {_DAY}")
            curs.execute(
                f"SELECT extract(epoch FROM opened_at + {_DAY} - now()) AS wait"
                f" FROM signup_addresses WHERE address = %s AND opened_at > now() - {_DAY}"
                " ORDER BY opened_at DESC OFFSET %s LIMIT 1",
                (address, self.per_day - 1),
            )
            row = curs.fetchone()
            if row is not None:
                return None, float(row["wait"])
            curs.execute(
                "INSERT INTO signup_addresses (address) VALUES (%s) RETURNING id", (address,)
            )
            placed = curs.fetchone()
            assert placed is not None
            return int(placed["id"]), None

    def release(self, place: int) -> None:
        """Gives back a place whose request opened no account."""
        with self.reads.transaction(commit=True) as curs:
            curs.execute("DELETE FROM signup_addresses WHERE id = %s", (place,))


class UploadQuota:
    """Uploads per account in any 24 hours, in number and in bytes, shared by every worker."""

    def __init__(self, reads: PostgresDatastore, *, per_day: int, bytes_per_day: int) -> None:
        self.reads = reads
        self.per_day = per_day
        self.bytes_per_day = bytes_per_day
        _create(
            reads,
            (
                "CREATE TABLE IF NOT EXISTS upload_quota (id bigserial PRIMARY KEY,"
                " account_id text NOT NULL, size integer NOT NULL,"
                " uploaded_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX IF NOT EXISTS upload_quota_account"
                " ON upload_quota (account_id, uploaded_at)",
                "CREATE INDEX IF NOT EXISTS upload_quota_uploaded_at ON upload_quota (uploaded_at)",
            ),
        )

    @property
    def enabled(self) -> bool:
        return self.per_day > 0 or self.bytes_per_day > 0

    def take(self, account_id: str, size: int) -> Problem | None:
        """Counts one upload of `size` bytes, or answers the 429 (nothing counted) when it
        would pass the account's count or bytes in the last 24 hours."""
        if not self.enabled:
            return None
        with self.reads.transaction(commit=True) as curs:
            _lock(curs, f"upload:{account_id}")
            curs.execute(f"DELETE FROM upload_quota WHERE uploaded_at <= now() - {_DAY}")
            curs.execute(
                f"SELECT extract(epoch FROM uploaded_at + {_DAY} - now()) AS wait, size"
                f" FROM upload_quota WHERE account_id = %s AND uploaded_at > now() - {_DAY}"
                " ORDER BY uploaded_at, id",
                (account_id,),
            )
            rows = [(float(r["wait"]), int(r["size"])) for r in curs.fetchall()]
            refusal = self._refusal(rows, size)
            if refusal is None:
                curs.execute(
                    "INSERT INTO upload_quota (account_id, size) VALUES (%s, %s)",
                    (account_id, size),
                )
        return refusal

    def _refusal(self, rows: list[tuple[float, int]], size: int) -> Problem | None:
        waits: list[float] = []
        if self.per_day > 0 and len(rows) >= self.per_day:
            # the uploads that must leave the window first: all but the newest per_day - 1
            waits.append(rows[len(rows) - self.per_day][0])
        total = sum(s for _, s in rows)
        if self.bytes_per_day > 0 and total + size > self.bytes_per_day:
            freed = 0
            wait = 86_400.0  # an upload larger than the whole daily allowance never fits
            for leaves_in, s in rows:
                freed += s
                if total - freed + size <= self.bytes_per_day:
                    wait = leaves_in
                    break
            waits.append(wait)
        if not waits:
            return None
        seconds = max(1, math.ceil(max(waits)))
        return Problem(
            429,
            f"upload quota reached: {self.per_day} uploads and {self.bytes_per_day} bytes per"
            f" account in any 24 hours; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def upload_quota(state: Any, settings: Settings, reads: PostgresDatastore) -> UploadQuota:
    """The app's `UploadQuota`, made on first use (its table created then)."""
    quota: UploadQuota | None = getattr(state, "upload_quota", None)
    if quota is None:
        quota = UploadQuota(
            reads, per_day=settings.uploads_per_day, bytes_per_day=settings.upload_bytes_per_day
        )
        state.upload_quota = quota
    return quota
