"""Group commit: the filings of concurrent requests saved together, in one transaction.

A filing saves its system, the next number of its division-year's `FilingSequence` and its
idempotency record in one transaction. Saved one request at a time, concurrent filings in a
division queue on the events table's lock and collide on the sequence's key: every loser
re-reads the sequence and tries again, so throughput falls as clients are added.

Here one committer thread takes every filing waiting when it is free, issues their numbers in
the order they arrived from one read of each sequence, and saves them all in one transaction.
It never waits for company: a lone request is saved at once, and a batch forms only from the
requests that arrived while the previous one was being saved. Several API processes take
turns on a division-year (`hold`: an advisory lock per division-year on PostgreSQL) instead of
building batches on the same numbers, only for all but one of them to be refused.

The numbers stay gapless and unique (the sequence's key still decides), and each request is
told its own truth: its system, or, when the batch cannot be saved (another process took the
same numbers three times, or a retried Idempotency-Key collided), what saving it on its own
answers, exactly as before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger.sequence import FilingSequence

# Filings, and their devices, saved in one transaction at most; the rest wait for the next.
MAX_BATCH = 128
MAX_BATCH_DEVICES = 20_000
# Tries of a whole batch (each re-reading its sequences) before its filings go one by one.
BATCH_ATTEMPTS = 3


@dataclass(eq=False)
class Filing:
    """One request's filing, as the committer needs it.

    `build` creates (or, for a discovered system, re-reads and files) the system, taking its
    number from the sequence it is given; it may be called again with a fresher sequence.
    `records` are what must be saved with the built system (its idempotency record).
    `alone` files it the one-at-a-time way, with that path's own retries and replays.
    `key` identifies its Idempotency-Key (None without one), so that two requests with the
    same key never share a batch; `devices` is its size."""

    division_code: str
    year: int
    build: Callable[[FilingSequence], Aggregate]
    records: Callable[[Aggregate], Sequence[Aggregate]]
    alone: Callable[[], Any]
    key: object = None
    devices: int = 1
    result: Future[Any] = field(default_factory=Future)


_STOP = object()


class GroupCommitter:
    """Saves concurrent filings in shared transactions from one thread; `submit` blocks its
    caller until its own filing is saved (or has failed) and returns what it produced."""

    def __init__(
        self,
        save: Callable[..., Any],
        sequence: Callable[[str, int], FilingSequence],
        outcome: Callable[[Aggregate], Any],
        hold: Callable[[Sequence[tuple[str, int]]], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self._save = save
        self._hold = hold or (lambda places: nullcontext())
        self._sequence = sequence
        self._outcome = outcome
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Transactions saved, filings in them, and batches refused by the store's keys
        # (another process took the same numbers first); the tests read them.
        self.batches = 0
        self.batched = 0
        self.conflicts = 0

    def submit(self, filing: Filing) -> Any:
        with self._lock:
            if self._closed:
                return filing.alone()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ledger-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(filing)
        return filing.result.result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    # --- the committer thread ------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[Filing] = [first]
            devices = first.devices
            stop = False
            while len(batch) < MAX_BATCH and devices < MAX_BATCH_DEVICES:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
                devices += more.devices
            try:
                self._commit(batch)
            except BaseException as error:
                for filing in batch:
                    if not filing.result.done():
                        filing.result.set_exception(error)
            if stop:
                return

    def _commit(self, batch: list[Filing]) -> None:
        keys: set[object] = set()
        together: list[Filing] = []
        apart: list[Filing] = []
        for filing in batch:
            if filing.key is not None and filing.key in keys:
                apart.append(filing)  # the same key twice: the second is a retry of the first
            else:
                keys.add(filing.key)
                together.append(filing)
        attempts = 0
        places = sorted({(filing.division_code, filing.year) for filing in together})
        with self._hold(places):
            while together and attempts < BATCH_ATTEMPTS:
                built = self._build(together)
                if built is None:
                    continue  # a filing failed to build and was answered; build the rest again
                systems, sequences, records = built
                try:
                    self._save(*systems, *sequences, *records)
                except IntegrityError:
                    attempts += 1
                    self.conflicts += 1
                    continue
                self._done(together, systems)
                together = []
        for filing in [*together, *apart]:
            _answer(filing, filing.alone)

    def _done(self, together: list[Filing], systems: list[Aggregate]) -> None:
        self.batches += 1
        self.batched += len(together)
        for filing, system in zip(together, systems, strict=True):
            filing.result.set_result(self._outcome(system))

    def _build(
        self, batch: list[Filing]
    ) -> tuple[list[Aggregate], list[FilingSequence], list[Aggregate]] | None:
        """Every filing built on fresh sequences; None after answering (and dropping from
        `batch`) one whose build raised, since its number was taken from the sequence."""
        sequences: dict[tuple[str, int], FilingSequence] = {}
        systems: list[Aggregate] = []
        records: list[Aggregate] = []
        for filing in batch:
            place = (filing.division_code, filing.year)
            if place not in sequences:
                sequences[place] = self._sequence(*place)
            try:
                system = filing.build(sequences[place])
                records += filing.records(system)
            except Exception as error:
                batch.remove(filing)
                filing.result.set_exception(error)
                return None
            systems.append(system)
        return systems, list(sequences.values()), records


def _answer(filing: Filing, run: Callable[[], Any]) -> None:
    try:
        filing.result.set_result(run())
    except Exception as error:
        filing.result.set_exception(error)
