"""Wakes every feed follower when the views move on: one thread for the whole process.

A follower of `GET /v1/feed?follow=true` is a coroutine waiting on an asyncio future; it holds
no database connection and no transaction while it waits. One `FeedHub` thread per process
watches the position up to which the views the feed reads (audit, chain, status) are all
complete, and resolves every waiting future when it grows; each follower then reads its next
page in a short transaction of its own.

Where the position comes from: with projection runners in this process (`serve`), the runners'
own conditions, notified whenever a runner commits a batch (no polling). Without them (`serve
--no-projections`, another process keeps the views) one shared poller reads the views'
positions while anyone is waiting: one poller, however many followers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from api.core.logs import log
from projections.runner import BatchRunner

# How long the hub thread waits in one go before it checks whether it should stop.
TICK_SECONDS = 0.5
# How often the shared poller reads the views' positions when there are no runners here.
POLL_SECONDS = 0.1


class PositionSource(Protocol):
    def position(self) -> int:
        """The position up to which every view the feed reads is complete."""
        ...

    def wait_beyond(self, position: int, timeout: float) -> int:
        """Blocks until the position passes `position` or `timeout` ends; returns it."""
        ...


class RunnerSource:
    """The views' runners in this process: the lowest of their positions. A runner that
    stands by while another process keeps its view (see `BatchRunner.leading`) waits by
    watching the database; its position is then read from there (`read_position`)."""

    def __init__(
        self,
        runners: Sequence[BatchRunner],
        read_position: Callable[[str], int],
        stop: threading.Event,
    ) -> None:
        self.runners = list(runners)
        self._read = read_position
        self._stop = stop

    def position(self) -> int:
        return min(
            r.state.position if getattr(r, "leading", True) else self._read(r.name)
            for r in self.runners
        )

    def wait_beyond(self, position: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        for runner in self.runners:
            if not runner.wait(position + 1, max(deadline - time.monotonic(), 0.0)):
                if runner.state.error is not None:
                    # A failed view never moves again (readiness reports it): don't spin.
                    self._stop.wait(max(deadline - time.monotonic(), 0.0))
                break
        return self.position()


class PollingSource:
    """Views kept by another process: their positions read from the database, shared."""

    def __init__(self, read_position: Callable[[], int], stop: threading.Event) -> None:
        self._read = read_position
        self._stop = stop

    def position(self) -> int:
        return self._read()

    def wait_beyond(self, position: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            current = self._read()
            if current > position or time.monotonic() >= deadline:
                return current
            self._stop.wait(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))


def _resolve(future: asyncio.Future[int], position: int) -> None:
    if not future.done():
        future.set_result(position)


class FeedHub:
    """The feed's position in this process, and the followers waiting for it to move."""

    def __init__(self, make_source: Callable[[threading.Event], PositionSource]) -> None:
        self._stop = threading.Event()
        self._source = make_source(self._stop)
        self._lock = threading.Lock()
        self._waiters: dict[asyncio.Future[int], asyncio.AbstractEventLoop] = {}
        self._someone_waits = threading.Event()
        self._position = 0
        self._thread: threading.Thread | None = None

    @property
    def position(self) -> int:
        return self._position

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    @property
    def waiting(self) -> int:
        """How many followers wait now (for tests and metrics)."""
        return len(self._waiters)

    def start(self) -> None:
        self._position = self._source.position()
        self._thread = threading.Thread(target=self._run, name="feed-hub", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the thread and releases every follower (their streams then end)."""
        self._stop.set()
        self._someone_waits.set()
        self._publish(self._position)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._someone_waits.wait(TICK_SECONDS):
                continue  # nobody follows: read nothing
            try:
                moved = self._source.wait_beyond(self._position, TICK_SECONDS)
            except Exception as error:  # the database went away: keep the followers waiting
                log.warning("feed_position_unavailable", error=type(error).__name__)
                self._stop.wait(TICK_SECONDS)
                continue
            if moved > self._position:
                self._publish(moved)

    def _publish(self, position: int) -> None:
        with self._lock:
            self._position = max(self._position, position)
            waiters, self._waiters = self._waiters, {}
            self._someone_waits.clear()
        for future, loop in waiters.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future, self._position)

    async def wait_beyond(self, position: int, timeout: float) -> int:
        """The feed's position once it passes `position`, or as it stands after `timeout`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self._position > position or self.closed:
                return self._position
            self._waiters[future] = loop
            self._someone_waits.set()
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                return await future
        except TimeoutError:
            return self._position
        finally:
            with self._lock:
                self._waiters.pop(future, None)
