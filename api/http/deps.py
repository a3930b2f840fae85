"""Request-scoped helpers shared by the routes: the caller, the clock, keys and versions."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator

from api.core.runtime import Runtime
from api.http.problems import Problem
from api.identity.tokens import Authenticator, client_address
from ledger.accounts import Account
from ledger.services.application import RequestKey

SHANGHAI = ZoneInfo("Asia/Shanghai")


# The dependencies are coroutines so that FastAPI calls them on the event loop: a plain
# function dependency costs a hop to the thread pool and back, per dependency, per request.
async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


# Declared so that the OpenAPI names the scheme on every route that needs a token (Swagger UI's
# "Authorize"); it refuses nothing itself (`auto_error=False`): `caller` answers its own 401.
BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="opaque",
    description="an account's token: from POST /v1/accounts, POST /v1/accounts/oidc, or"
    " `psvs-ledger accounts create` for police-side accounts",
    auto_error=False,
)


async def caller(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> Account:
    """The account behind the bearer token; only a token not seen in the last half second
    is looked up in the ledger, and that in the thread pool. The request's log line names the
    account and its role (never the token)."""
    authenticator: Authenticator = request.app.state.authenticator
    digest, account = authenticator.cached(request)
    if account is None:
        account = await run_in_threadpool(authenticator.look_up, digest, client_address(request))
    request.state.account_id = str(account.id)
    request.state.role = str(account.role)
    request.state.token_sha256 = digest
    return account


def today() -> date:
    """The calendar date in Asia/Shanghai: deadlines are counted in that calendar."""
    return datetime.now(SHANGHAI).date()


async def _today() -> date:
    return today()


Caller = Annotated[Account, Depends(caller)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
Today = Annotated[date, Depends(_today)]


def request_key(request: Request, body: Any, key: str | None) -> RequestKey | None:
    """The Idempotency-Key with a digest of what it came with (route and canonical body)."""
    if key is None:
        return None
    if not 1 <= len(key) <= 200:
        raise Problem(400, "Idempotency-Key must be 1 to 200 characters")
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{request.url.path}\n{canonical}".encode()).hexdigest()
    return RequestKey(key=key, digest=digest)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="the same key with the same body returns the first response again",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="the ETag of the version this write is based on"),
]


def expected_version(if_match: str | None) -> int:
    """The version named by If-Match: missing is 428, unreadable or stale is 412 later."""
    if if_match is None:
        raise Problem(428, 'writes to an existing system need If-Match: "<version>"')
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise Problem(412, f"If-Match {if_match!r} names no version of this system")
    return int(text)


def etag(version: int) -> str:
    return f'"{version}"'


def _not_a_number(value: Any) -> Any:
    """Query dates and instants are ISO 8601 text: a bare number, which pydantic would read
    as a Unix time, is refused."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("an ISO 8601 date or RFC 3339 instant, e.g. 2025-05-01T12:00:00+08:00")
    return value


# A query parameter that is a day (`YYYY-MM-DD`) or an instant (RFC 3339), never a number.
QueryDate = Annotated[date, BeforeValidator(_not_a_number)]
QueryInstant = Annotated[datetime, BeforeValidator(_not_a_number)]
