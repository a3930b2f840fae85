"""Reading the change feed: the audit view's rows in log order as NDJSON lines, a page at a
time or following the log.

Items are read only up to the position the views an item needs (its row in audit, its hash in
chain) have all reached, so an item is never sent without its hash and never before every
earlier one in the caller's scope. Positions only grow and skip numbers (bookkeeping events,
failed inserts); the feed never reads a skipped number as a lost event, because it reads rows,
not counts. Who sees an item comes from the caller's own account (`scope.reach`), not a view.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from functools import partial

from starlette.concurrency import run_in_threadpool

from api.core.runtime import Runtime
from api.queries.feed_hub import FeedHub, PollingSource, PositionSource, RunnerSource
from api.queries.views import caught_up
from ledger.access import Reach
from projections.feed_reads import read_feed

# The views an item needs: its row (audit) and its hash (chain).
FEED_VIEWS = ("audit", "chain")
PAGE_SIZE = 1000


def feed_views(rt: Runtime) -> list[str]:
    """The feed's views this install has."""
    return [name for name in FEED_VIEWS if name in rt.slots]


def position_source(rt: Runtime) -> Callable[[threading.Event], PositionSource]:
    """How the process's `FeedHub` learns the position every feed view has reached: from the
    runners in this process, else by polling the views' positions."""

    def make(stop: threading.Event) -> PositionSource:
        runners = [r for name in feed_views(rt) if (r := rt.runner(name)) is not None]
        if runners:
            return RunnerSource(runners, rt.view_position, stop)
        return PollingSource(lambda: min(rt.view_position(n) for n in feed_views(rt)), stop)

    return make


def feed_head(rt: Runtime) -> int:
    """The log's head once the feed's views hold it (503 past the read wait): a feed without
    `follow` ends there."""
    return caught_up(rt, FEED_VIEWS, detail="the feed's views are catching up; try again shortly")


async def feed_until(
    rt: Runtime, reach: Reach, *, after: int, upto: int, limit: int
) -> AsyncIterator[str]:
    """Lines for at most `limit` items in (after, upto], a page per transaction."""
    while limit > 0 and after < upto:
        lines, after = await run_in_threadpool(
            partial(read_feed, rt.reads, scope=reach, after=after, upto=upto),
            limit=min(limit, PAGE_SIZE),
        )
        limit -= len(lines)
        if lines:
            yield "".join(lines)


async def feed_follow(
    rt: Runtime, hub: FeedHub, reach: Reach, *, after: int, heartbeat: float
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
                partial(read_feed, rt.reads, scope=reach, after=cursor, upto=ready),
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
