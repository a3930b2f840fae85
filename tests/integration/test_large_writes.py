"""Large writes finish: psycopg's pipeline used to stop flushing once its commands were queued
(ledger/pipeline_flush.py), so a write bigger than the socket's buffer hung forever."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bench.logs import build_log
from ledger.services.application import Ledger


@pytest.fixture
def app(postgres_ledger: Ledger) -> Ledger:
    return postgres_ledger


def _finishes(work: Callable[[], object], seconds: float = 90.0) -> bool:
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(seconds)


def test_a_filing_with_twenty_thousand_devices_is_saved(app: Ledger) -> None:
    # About 6 MB in one INSERT: hung over TCP on loopback as well as over a Unix socket.
    assert _finishes(lambda: build_log(app, systems=1, batch=1, devices=20_000))
    # the sequence started, its number, the filing and (every other system) a change
    assert app.recorder.max_notification_id() == 4


def test_a_batch_of_a_thousand_filings_is_saved_in_one_transaction(app: Ledger) -> None:
    assert _finishes(lambda: build_log(app, systems=1000, batch=1000, devices=10))
    assert app.recorder.max_notification_id() == 1 + 1000 + 1000 + 500
