"""Waiting for the views: the one place a read waits until the views hold every earlier write.

A list, the audit, the feed, an export and the officer pages read the views, which follow the
log a moment behind it. Each read first waits up to `LEDGER_READ_WAIT_SECONDS` for the views it
reads to reach the log's head, so it sees every write made before it (docs/contract.md, "Lists");
past the wait the API answers 503 with `Retry-After` (the pages show their own 503 page, the
command line warns and goes on).
"""

from __future__ import annotations

from collections.abc import Iterable

from api.core.runtime import Runtime
from api.http.problems import Problem

CATCHING_UP = "the views are catching up; try again shortly"
RETRY_AFTER_SECONDS = 1


def views_reached(
    rt: Runtime,
    names: Iterable[str],
    *,
    position: int | None = None,
    timeout: float | None = None,
) -> bool:
    """True once the named views (those this install has) have processed `position` (default:
    the log's head now), waiting at most `timeout` seconds (default: the read wait)."""
    present = tuple(name for name in names if name in rt.slots)
    return rt.wait_for_views(
        rt.head() if position is None else position,
        rt.settings_read_wait if timeout is None else timeout,
        names=present,
    )


def caught_up(rt: Runtime, names: Iterable[str], *, detail: str = CATCHING_UP) -> int:
    """Waits until the named views hold every write made so far and returns that position
    (the log's head when asked); 503 with `Retry-After` when they do not within the wait."""
    head = rt.head()
    if not views_reached(rt, names, position=head):
        raise Problem(503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return head
