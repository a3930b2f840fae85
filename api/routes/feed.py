"""The change feed: every event of the ledger as NDJSON, from any position, and live.

What is read, and up to where, is api/queries/feed.py. A follower (`follow=true`) waits on the
process's one `FeedHub` between pages: no database connection, transaction or thread is held
while it is idle. A bearer token has at most `LEDGER_FEED_FOLLOWERS_PER_TOKEN` (4) followers at
once in a process; one more is 429.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from api.core.settings import Settings
from api.http.deps import Caller, RuntimeDep
from api.middleware.concurrency import Slots, slots_of
from api.queries import scope
from api.queries.feed import feed_follow, feed_head, feed_until, position_source
from api.queries.feed_hub import FeedHub
from api.routes.common import PROBLEMS

NDJSON = "application/x-ndjson"
DEFAULT_HEARTBEAT_SECONDS = 10.0
FOLLOWER_RETRY_SECONDS = 10


@asynccontextmanager
async def feed_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the process's feed hub after the runtime is up; releases followers at the end."""
    hub = FeedHub(position_source(app.state.runtime))
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
    reach = scope.reach(caller)
    hub: FeedHub = request.app.state.feed_hub
    if follow:
        settings = getattr(request.app.state, "settings", None)
        heartbeat = getattr(settings, "feed_heartbeat_seconds", DEFAULT_HEARTBEAT_SECONDS)
        followers = slots_of(request.app, "feed_followers", _followers)
        token = str(getattr(request.state, "token_sha256", caller.id))
        followers.acquire(token)  # 429 past LEDGER_FEED_FOLLOWERS_PER_TOKEN
        lines = feed_follow(rt, hub, reach, after=after, heartbeat=heartbeat)
        return Following(lines, media_type=NDJSON, on_close=partial(followers.release, token))
    head = await run_in_threadpool(feed_head, rt)  # 503 while the views catch up
    return StreamingResponse(
        feed_until(rt, reach, after=after, upto=head, limit=limit), media_type=NDJSON
    )
