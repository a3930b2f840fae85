"""The change feed: every event of the ledger as NDJSON, from any position, and live.

Items are the audit view's rows (projections/feed_reads.py), each with its hash-chain link,
read only up to the position the audit, chain and status views have all reached, so an item
is never sent without its hash and never before every earlier one in the caller's scope.
Positions only grow and skip numbers (bookkeeping events, failed inserts); the feed never
reads a skipped number as a lost event, because it reads rows, not counts.

A follower (`follow=true`) waits on the process's one `FeedHub` between pages: no database
connection, transaction or thread is held while it is idle. A bearer token has at most
`LEDGER_FEED_FOLLOWERS_PER_TOKEN` (4) followers at once in a process; one more is 429.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from api.core.runtime import Runtime
from api.core.settings import Settings
from api.http.deps import Caller, RuntimeDep
from api.http.problems import Problem
from api.middleware.concurrency import Slots, slots_of
from api.queries.feed_hub import FeedHub, PollingSource, PositionSource, RunnerSource
from api.routes.accounts import PROBLEMS
from ledger.access import Reach, reach_of
from projections.feed_reads import read_feed

NDJSON = "application/x-ndjson"
# The views an item needs: its row (audit) and its hash (chain). Who sees it comes from the
# caller's own account (ledger/access.py), not from a view.
FEED_VIEWS = ("audit", "chain")
PAGE_SIZE = 1000
DEFAULT_HEARTBEAT_SECONDS = 10.0
FOLLOWER_RETRY_SECONDS = 10


def _views(rt: Runtime) -> list[str]:
    return [name for name in FEED_VIEWS if name in rt.slots]


def _source(rt: Runtime) -> Any:
    def make(stop: Any) -> PositionSource:
        runners = [r for name in _views(rt) if (r := rt.runner(name)) is not None]
        if runners:
            return RunnerSource(runners, rt.view_position, stop)
        return PollingSource(lambda: min(rt.view_position(n) for n in _views(rt)), stop)

    return make


@asynccontextmanager
async def feed_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the process's feed hub after the runtime is up; releases followers at the end."""
    hub = FeedHub(_source(app.state.runtime))
    await run_in_threadpool(hub.start)
    app.state.feed_hub = hub
    try:
        yield
    finally:
        await run_in_threadpool(hub.stop)


router = APIRouter(prefix="/v1", tags=["feed"], lifespan=feed_lifespan)


def _followers(settings: Settings) -> Slots:
    return Slots(per_key=settings.feed_followers_per_token, what="feed followers with this token",
                 retry_after=FOLLOWER_RETRY_SECONDS)  # fmt: skip


class Following(StreamingResponse):
    """A follower's stream, which gives its slot back however it ends (the client went away,
    the server stops, or the stream was never started)."""

    def __init__(self, content: Any, *, media_type: str, on_close: Callable[[], None]) -> None:
        super().__init__(content, media_type=media_type)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


async def _until(
    rt: Runtime, scope: Reach, *, after: int, upto: int, limit: int
) -> AsyncIterator[str]:
    """Lines for at most `limit` items in (after, upto], a page per transaction."""
    while limit > 0 and after < upto:
        lines, after = await run_in_threadpool(
            partial(read_feed, rt.reads, scope=scope, after=after, upto=upto),
            limit=min(limit, PAGE_SIZE),
        )
        limit -= len(lines)
        if lines:
            yield "".join(lines)


async def _follow(
    rt: Runtime, hub: FeedHub, scope: Reach, *, after: int, heartbeat: float
) -> AsyncIterator[str]:
    """Every item after `after` as the views have it; a heartbeat when nothing was sent for
    `heartbeat` seconds. `{"heartbeat": N}`: every item in scope up to N has been sent."""
    read_upto = after  # every item in scope up to here has been sent
    cursor = after
    last_sent = time.monotonic()
    while not hub.closed:
        ready = hub.position
        if ready > read_upto:
            lines, cursor = await run_in_threadpool(
                partial(read_feed, rt.reads, scope=scope, after=cursor, upto=ready),
                limit=PAGE_SIZE,
            )
            if lines:
                yield "".join(lines)
                last_sent = time.monotonic()
            if cursor == ready:
                read_upto = ready
            continue
        idle = time.monotonic() - last_sent
        if idle >= heartbeat:
            yield json.dumps({"heartbeat": read_upto}) + "\n"
            last_sent = time.monotonic()
            continue
        await hub.wait_beyond(read_upto, heartbeat - idle)


@router.get(
    "/feed",
    responses={
        **PROBLEMS,
        200: {"description": "one JSON object per line", "content": {NDJSON: {}}},
        503: {"description": "the views are catching up", "content": {NDJSON: {}}},
    },
)
async def feed(
    request: Request,
    rt: RuntimeDep,
    caller: Caller,
    after: Annotated[int, Query(ge=0, description="the last position already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="without follow")] = 1000,
    follow: Annotated[bool, Query(description="stay open and stream new events")] = False,
) -> StreamingResponse:
    """The ledger's events in log order after `after`, in the caller's scope (as the audit
    route). Without `follow`: at most `limit` events, ending at the head. With `follow=true`:
    every later event as soon as it is committed and in the views, and `{"heartbeat": N}`
    when idle; reconnecting with `after=<last position seen>` (or the last heartbeat's N)
    gives every later event exactly once."""
    scope = reach_of(caller)
    hub: FeedHub = request.app.state.feed_hub
    if follow:
        settings = getattr(request.app.state, "settings", None)
        heartbeat = getattr(settings, "feed_heartbeat_seconds", DEFAULT_HEARTBEAT_SECONDS)
        followers = slots_of(request.app, "feed_followers", _followers)
        token = str(getattr(request.state, "token_sha256", caller.id))
        followers.acquire(token)  # 429 past LEDGER_FEED_FOLLOWERS_PER_TOKEN
        lines = _follow(rt, hub, scope, after=after, heartbeat=heartbeat)
        return Following(lines, media_type=NDJSON, on_close=partial(followers.release, token))
    head = await run_in_threadpool(rt.head)
    ready = await run_in_threadpool(
        rt.wait_for_views, head, rt.settings_read_wait, names=_views(rt)
    )
    if not ready:
        raise Problem(
            503, "the feed's views are catching up; try again shortly", headers={"Retry-After": "1"}
        )
    return StreamingResponse(
        _until(rt, scope, after=after, upto=head, limit=limit), media_type=NDJSON
    )
