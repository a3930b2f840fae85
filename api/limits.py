"""Abuse limits in front of every route: body caps, rate limits, and the production gate.

One ASGI middleware, so it sees every request before any route, form parser or page does:

- a body larger than `LEDGER_MAX_BODY_BYTES` is refused with 413, whether it declares its
  length or arrives chunked without one (the chunks are counted as they arrive, and nothing
  is handed on once the cap is passed);
- `POST /v1/accounts` is rate-limited per client address, and every request that carries a
  bearer token per token (valid or not): over the limit is 429 with `Retry-After`;
- while the database does not answer, requests that need it get 503 at once (api/breaker.py);
- with `LEDGER_ENVIRONMENT=production`, `/docs`, `/redoc` and `/metrics` answer only to an
  admin's token (no token: 401; another role: 404, as if absent). `/openapi.json` stays
  public: it is part of the contract and describes nothing that is not public.

Rate limits are token buckets held in this process: several workers each keep their own, so
the effective limit is the configured one times the number of workers.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.breaker import DatabaseWatch, needs_database
from api.problem_docs import allowed_methods
from api.problems import Problem, problem_response
from api.security import add_security_headers
from api.settings import Settings
from ledger.values import FieldError, Role

# Buckets kept per limiter; past this the least recently used are forgotten (a flood of
# made-up tokens costs bounded memory, and a forgotten bucket starts full again).
MAX_BUCKETS = 50_000
ADMIN_ONLY_IN_PRODUCTION = ("/docs", "/redoc", "/metrics")


# Opening accounts without a token: by self-signup, or from an OpenID ID token.
_SIGN_UP = frozenset({"/v1/accounts", "/v1/accounts/oidc"})


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
        """503 at once while the database watch sees no database (api/breaker.py)."""
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
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            digest = hashlib.sha256(token.strip().encode()).hexdigest()
            if (wait := self.tokens.take(digest)) is not None:
                return _too_many(wait, "requests with this token")
        return None

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
