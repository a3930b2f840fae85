"""The same ledger scenarios as tests/unit/test_ledger_police.py, on a real PostgreSQL, plus
officers racing to write to one system through separate connections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.accounts import Account
from ledger.services.application import Ledger
from ledger.systems import VideoSystem
from tests.support.factories import TODAY, officer
from tests.support.postgres import open_ledger
from tests.unit.test_ledger_police import *  # noqa: F403 - re-run every scenario here
from tests.unit.test_ledger_police import DUE


@pytest.fixture  # type: ignore[no-redef]  # the scenarios' `app`, on PostgreSQL
def app(postgres_ledger: Ledger) -> Ledger:
    return postgres_ledger


def test_officers_racing_on_one_system_lose_none_of_their_orders_and_inspections(
    app: Ledger, filed: tuple[VideoSystem, Account], database_url: str
) -> None:
    system, _owner = filed
    writers = 6
    ledgers = [open_ledger(database_url) for _ in range(writers)]
    officers = [officer(app) for _ in range(writers)]
    start = threading.Barrier(writers)

    def write(i: int) -> None:
        start.wait(timeout=30)
        for _ in range(3):
            if i % 2:
                ledgers[i].order_correction(
                    caller=officers[i],
                    system_id=system.id,
                    reason="限期改正",
                    due_on=DUE,
                    today=TODAY,
                )
            else:
                ledgers[i].record_inspection(
                    caller=officers[i],
                    system_id=system.id,
                    inspected_on=TODAY,
                    result="discrepancy",
                    note="",
                    today=TODAY,
                )

    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            list(pool.map(write, range(writers)))
    finally:
        for ledger in ledgers:
            ledger.close()

    events = app.system_events(officers[0], system.id)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("CorrectionOrdered") == 9
    assert kinds.count("Inspected") == 9
    assert [e.originator_version for e in events] == list(range(1, 20))
    current = app.system_for(officers[0], system.id)
    assert (len(current.correction_orders), current.inspections) == (9, 9)
