"""Bearer tokens: random, shown once, stored only as their SHA-256.

A token lets its account in while `ledger.access.credential_refusal` finds nothing against it
(revoked, expired, issued before its account's tokens were revoked, account disabled). A token
seen in the last half second is trusted without a database read, so a revocation, a disabled
account or a removed agent is refused within a second by every process (docs/identity.md).
Failures are counted per client address and per account (`api/identity/throttle.py`)."""

from __future__ import annotations

import hashlib
import secrets
import time
from threading import Lock
from typing import Any

from fastapi import Request

from api.core.logs import security_event
from api.http.problems import Problem
from api.identity.throttle import too_many
from ledger.accounts import Account
from ledger.services.application import Ledger

# Short enough that every process refuses a revoked token within one second.
CACHE_SECONDS = 0.5
_CACHE_LIMIT = 10_000


TOKEN_PREFIX = "psvs_"


def new_token() -> tuple[str, str]:
    """A fresh token and its hash. The prefix lets secret scanners recognise a leaked token,
    and keeps one from starting with "-" (a command line would read it as an option)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


class Authenticator:
    """Finds the account behind a token, with a cache of half a second."""

    def __init__(self, ledger: Ledger, throttle: Any = None) -> None:
        self.ledger = ledger
        self.throttle = throttle
        self._cache: dict[str, tuple[float, Account]] = {}
        self._lock = Lock()

    def account(self, request: Request) -> Account:
        digest, hit = self.cached(request)
        if hit is not None:
            return hit
        return self.look_up(digest, client_address(request))

    def cached(self, request: Request) -> tuple[str, Account | None]:
        """The token's hash, and its account when it was looked up in the last half second
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

    def look_up(self, digest: str, address: str = "unknown") -> Account:
        """The account of a token's hash, read from the ledger (and cached); 401 naming why
        not, 429 once this address or account has failed too often."""
        if self.throttle is not None:
            wait = self.throttle.retry_after(address=address)
            if wait is not None:
                raise too_many(wait)
        account, refusal = self.ledger.token_holder(digest)
        if refusal is not None or account is None:
            account_id = None if account is None else str(account.id)
            if self.throttle is not None:  # it logs the failure as a security event
                self.throttle.failed(
                    address=address, account_id=account_id, kind="bearer_token",
                    reason=refusal or "unknown",
                )  # fmt: skip
            else:
                security_event("auth_failure", kind="bearer_token", reason=refusal,
                               client=address, account_id=account_id)  # fmt: skip
            raise Problem(
                401,
                _REFUSALS.get(refusal or "unknown", "the bearer token is not valid"),
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        with self._lock:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + CACHE_SECONDS, account)
        return account

    def forget(self, digest: str) -> None:
        """Drops a token from this process's cache at once (after a rotation)."""
        with self._lock:
            self._cache.pop(digest, None)


_REFUSALS = {
    "unknown": "the bearer token is not valid",
    "revoked": "the bearer token has been revoked",
    "expired": "the bearer token has expired; ask for a new one",
    "disabled": "the account is disabled",
}
