"""Keeps views up to date with the ledger's log, a page of events per transaction.

The library's stock `ProjectionRunner` commits once per event (about 1,000 events/s here); this
runner reads the log in pages and commits each page's rows with its last position in one
transaction (about ten times faster on catch-up), then waits on the event table's NOTIFY
channel for new commits. Before each page it asks the registry which generation of its view is
live, and follows a switch made by a rebuild in another process.

Each page commits only if the view still stands where the page starts (checked under an
advisory lock in the same transaction), so a rebuild and a server, or two servers, can work on
one generation without applying any event twice. One thread per view; an error stops that view,
is kept, and is surfaced by `health()`.

Each page's transaction also announces the view's new position (`POSITIONS_CHANNEL`, delivered
on commit). A runner that only `observes` (a process whose views another process keeps: the API
beside its projection worker) never takes a view's lock and follows those announcements, so its
`wait` and `health` stay current without polling the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from ledger.rules import Rules
from projections.base import Batch, ViewRecorder
from projections.leadership import Leadership
from projections.registry import Registry
from projections.tracking import record_position

PAGE_SIZE = 1000
IDLE_WAIT_SECONDS = 1.0
# After a commit wakes a runner, it lets this long pass before reading, so that the commits
# of a busy moment are applied as one page instead of a page each (every page costs a read,
# a transaction and a position check, whatever its size). Views lag writes by about this.
GATHER_SECONDS = 0.02
# The listener checks for stop this often; short, so shutting down (and tests) stay quick.
LISTEN_POLL_SECONDS = 0.1
# A standby asks for a view's lock this often, and polls its position this often for readers.
STANDBY_SECONDS = 1.0
STANDBY_POLL_SECONDS = 0.05
# How long a reader may go on seeing the previous generation's rules after a switch; a keeping
# runner asks the registry this often too (a page on a dropped generation fails and follows).
REGISTRY_MAX_AGE_SECONDS = 1.0
# Where each committed page announces `name:generation:position` (NOTIFY, sent on commit).
POSITIONS_CHANNEL = "psvs_ledger_view_positions"
# An observer re-reads a view's position from the database at least this often while it waits
# (an announcement is lost while its listening connection is down).
OBSERVE_POLL_SECONDS = 0.25


class PositionMoved(Exception):
    """Another process applied events to this generation first; re-read and go on."""

    def __init__(self, position: int) -> None:
        super().__init__(f"the view is at {position}")
        self.position = position


def apply_batch(view: ViewRecorder, batch: Batch, application_name: str) -> None:
    """Writes one batch and its last position in one transaction, if the view is where the
    batch starts; otherwise raises PositionMoved and writes nothing."""
    with view.datastore.transaction(commit=True) as curs:
        at = view.position_lock(curs, application_name)
        if at != batch.start:
            raise PositionMoved(at)
        view.apply(curs, batch)
        record_position(view, curs, application_name, batch.last)
        curs.execute(
            "SELECT pg_notify(%s, %s)",
            (POSITIONS_CHANNEL, f"{view.name}:{view.generation}:{batch.last}"),
        )


@dataclass
class ViewSlot:
    """The live generation of one view in this process, swapped when the registry moves."""

    name: str
    open: Callable[[int, Rules], ViewRecorder]
    registry: Registry
    view: ViewRecorder
    checked_at: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rules(self) -> Rules:
        assert self.view.rules is not None
        return self.view.rules

    def refresh(self, max_age: float = 0.0) -> bool:
        """Follows a switch to another generation; True when it moved."""
        if time.monotonic() - self.checked_at < max_age:
            return False
        with self._lock:
            self.checked_at = time.monotonic()
            generation = self.registry.generation(self.name)
            if generation is None or generation == self.view.generation:
                return False
            entry = self.registry.get(self.name)
            assert entry is not None
            old, self.view = self.view, self.open(entry.generation, entry.rules)
        old.datastore.close()
        return True


@dataclass
class RunnerState:
    position: int = 0
    error: BaseException | None = None
    caught_up: threading.Event = field(default_factory=threading.Event)


class BatchRunner:
    """Keeps one view up to date with an application's log."""

    def __init__(
        self,
        *,
        app: Application[Any],
        slot: ViewSlot,
        conninfo: Callable[[], str],
        page_size: int = PAGE_SIZE,
        follow_registry: bool = True,
        exclusive: bool = False,
        observes: bool = False,
        gather_seconds: float = GATHER_SECONDS,
    ) -> None:
        self.app = app
        self.slot = slot
        self.page_size = page_size
        self.follow_registry = follow_registry
        self._conninfo = conninfo
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.state = RunnerState()
        self._advanced = threading.Condition()
        self._threads: list[threading.Thread] = []
        # A service's runners are exclusive: one process keeps each view (projections/
        # leadership.py). A rebuild's runner works on a generation nobody else keeps.
        self.leadership = Leadership(conninfo, slot.name) if exclusive else None
        # An observer never keeps the view: another process does (its projection worker).
        self.observes = observes
        self.gather_seconds = gather_seconds

    @property
    def leading(self) -> bool:
        if self.observes:
            return False
        return self.leadership is None or self.leadership.held

    @property
    def name(self) -> str:
        return self.slot.name

    @property
    def view(self) -> ViewRecorder:
        return self.slot.view

    def start(self) -> None:
        self.state.position = self.view.max_tracking_id(self.app.name) or 0
        for target in (self._listen, self._run):
            thread = threading.Thread(target=target, name=f"view-{self.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Processes every event now in the log; returns how many it processed."""
        self.state.position = self.view.max_tracking_id(self.app.name) or 0
        processed = 0
        while True:
            count = self._step()
            if count < 0:
                continue
            processed += count
            if progress is not None:
                progress(self.state.position)
            if count < self.page_size:
                return processed

    def _step(self) -> int:
        """Applies the next page; returns how many events it held, or -1 when another process
        had moved the view on (nothing written; the next step starts from there)."""
        if self.follow_registry and self.slot.refresh(max_age=REGISTRY_MAX_AGE_SECONDS):
            self._moved(self.view.max_tracking_id(self.app.name) or 0)
        notifications = self.app.recorder.select_notifications(
            start=self.state.position, limit=self.page_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        batch = Batch.read(
            start=self.state.position, notifications=notifications, mapper=self.app.mapper
        )
        try:
            apply_batch(self.view, batch, self.app.name)
        except PositionMoved as moved:
            self._moved(moved.position)
            return -1  # not idle: go round again from where the view stands
        self._moved(batch.last)
        return len(batch)

    def _moved(self, position: int) -> None:
        with self._advanced:
            self.state.position = position
            self._advanced.notify_all()

    def _run(self) -> None:
        # The database going away (a restart, a failover) is waited out, with backoff: a
        # page that failed wrote nothing, and the next one starts where the view stands.
        from eventsourcing.persistence import InterfaceError, OperationalError
        from psycopg_pool import PoolTimeout

        unavailable = (psycopg.OperationalError, OperationalError, InterfaceError, PoolTimeout)
        backoff = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if not self._lead():
                        self._stop.wait(STANDBY_SECONDS)
                        continue
                    self._wake.clear()
                    try:
                        if self._step() in (self.page_size, -1):
                            backoff = 0.0
                            continue
                    except psycopg.errors.UndefinedTable:
                        # A rebuild switched generations and dropped ours mid-page: follow it.
                        if not self.slot.refresh():
                            raise
                        continue
                except unavailable:
                    backoff = min(max(backoff * 2, 0.1), 5.0)
                    self._stop.wait(backoff)
                    continue
                backoff = 0.0
                self.state.caught_up.set()
                if self._wake.wait(IDLE_WAIT_SECONDS):
                    self._stop.wait(self.gather_seconds)
        except BaseException as error:  # kept for health(); the thread ends
            self.state.error = error
            self._stop.set()
            with self._advanced:
                self._advanced.notify_all()
        finally:
            if self.leadership is not None:
                self.leadership.release()

    def _lead(self) -> bool:
        """True when this process keeps the view; a standby follows its position instead."""
        if self.observes:
            self._follow()
            return False
        if self.leadership is None or self.leadership.held:
            return True
        if self.leadership.try_acquire():
            self.slot.refresh()
            self._moved(self.view.max_tracking_id(self.app.name) or 0)
            return True
        self._follow()
        return False

    def _follow(self) -> None:
        """Reads where the view stands (in the live generation) from the database."""
        self.slot.refresh()
        self._moved(self.view.max_tracking_id(self.app.name) or 0)

    def _announced(self, payload: str) -> None:
        """An announcement on POSITIONS_CHANNEL: this view's, in its generation, moves it."""
        name, _, rest = payload.partition(":")
        generation, _, position = rest.partition(":")
        if name != self.name or not position.isdigit():
            return
        if generation != str(self.view.generation):
            self.slot.refresh()
            return
        with self._advanced:
            if int(position) > self.state.position:
                self.state.position = int(position)
                self._advanced.notify_all()

    def _listen(self) -> None:
        """Wakes the runner on each commit to the events table (NOTIFY from the recorder); an
        observer follows the positions the keeping process announces instead."""
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        channel = POSITIONS_CHANNEL if self.observes else recorder.channel_name
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True) as conn:
                    conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
                    if self.observes:
                        self._follow()  # what was announced before listening
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=LISTEN_POLL_SECONDS, stop_after=1):
                            if self.observes:
                                self._announced(note.payload)
                            else:
                                self._wake.set()
            except psycopg.OperationalError:
                # The database went away; the runner polls meanwhile. Try again shortly.
                self._stop.wait(IDLE_WAIT_SECONDS)

    def wait(self, position: int, timeout: float) -> bool:
        """True once the view has processed `position` (it may lag behind writers)."""
        if not self.leading:
            return self._wait_standby(position, timeout)
        with self._advanced:
            return (
                self._advanced.wait_for(
                    lambda: self.state.position >= position or self.state.error is not None,
                    timeout,
                )
                and self.state.error is None
            )

    def _wait_standby(self, position: int, timeout: float) -> bool:
        """Another process keeps the view: watch its position in the database (an observer:
        wait for its announcements, reading the database now and then in case one was lost)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.observes:
                with self._advanced:
                    if self._advanced.wait_for(
                        lambda: self.state.position >= position,
                        min(OBSERVE_POLL_SECONDS, max(deadline - time.monotonic(), 0.0)),
                    ):
                        return True
            if time.monotonic() >= deadline:
                return False
            self.slot.refresh()
            at = self.view.max_tracking_id(self.app.name) or 0
            if at >= position:
                if self.observes:
                    self._moved(max(at, self.state.position))
                return True
            if time.monotonic() >= deadline:
                return False
            if not self.observes:
                time.sleep(STANDBY_POLL_SECONDS)

    def health(self) -> dict[str, Any]:
        head = self.app.recorder.max_notification_id() or 0
        rules = self.view.rules
        return {
            "name": self.name,
            "generation": self.view.generation,
            "position": self.state.position,
            "head": head,
            "lag": max(head - self.state.position, 0),
            "rules_version": rules.version if rules else None,
            "leading": self.leading,
            "error": repr(self.state.error) if self.state.error else None,
        }
