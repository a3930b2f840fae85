"""Bearer tokens: random, shown once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import time
from threading import Lock

from fastapi import Request

from api.problems import Problem
from ledger.accounts import Account
from ledger.application import Ledger

_CACHE_SECONDS = 30.0


def new_token() -> tuple[str, str]:
    """A fresh token and its hash."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    """Finds the account behind a token; accounts never change role, so a short cache is safe."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._cache: dict[str, tuple[float, Account]] = {}
        self._lock = Lock()

    def account(self, request: Request) -> Account:
        digest, hit = self.cached(request)
        if hit is not None:
            return hit
        return self.look_up(digest)

    def cached(self, request: Request) -> tuple[str, Account | None]:
        """The token's hash, and its account when it was looked up in the last half minute
        (no database read: safe on the event loop). 401 without a bearer token."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401,
                "a bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="psvs-ledger"'},
            )
        digest = token_hash(token.strip())
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return digest, hit[1]
        return digest, None

    def look_up(self, digest: str) -> Account:
        """The account of a token's hash, read from the ledger (and cached)."""
        now = time.monotonic()
        account = self.ledger.account_for_token(digest)
        if account is None:
            raise Problem(
                401,
                "the bearer token is not valid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + _CACHE_SECONDS, account)
        return account
