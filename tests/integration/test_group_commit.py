"""Group commit on PostgreSQL: concurrent filings share transactions, and each is still told
its own truth (ledger/storage/group_commit.py)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ledger.errors import ValidationFailed
from ledger.services.application import Ledger, Outcome, RequestKey
from ledger.systems import VideoSystem
from tests.support.codes import NANAN
from tests.support.factories import TODAY, device, file_online, system_fields, unit_with_owner
from tests.support.postgres import open_ledger


@pytest.fixture
def app(postgres_ledger: Ledger) -> Ledger:
    return postgres_ledger


def _numbers(app: Ledger) -> list[str]:
    """Every filing number in the log, from the systems' own Filed events."""
    numbers = []
    position = 0
    while page := app.recorder.select_notifications(
        start=position, limit=1000, inclusive_of_start=False
    ):
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            if isinstance(event, VideoSystem.Filed):
                numbers.append(event.filing["filing_number"])
        position = page[-1].id
    return sorted(numbers)


def _expected(count: int) -> list[str]:
    return [f"{NANAN}-2025-{n:06d}" for n in range(1, count + 1)]


def _together(count: int, work: Callable[[int], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(work, range(count)))


def test_concurrent_filings_share_transactions_and_take_consecutive_numbers(app: Ledger) -> None:
    uscc, owner = unit_with_owner(app)

    systems = _together(48, lambda n: file_online(app, owner, uscc, name=f"系统{n}"))

    assert sorted(s.filing_number for s in systems) == _expected(48)
    assert _numbers(app) == _expected(48)
    # Each request got its own system back, with its own name.
    assert sorted(s.fields["name"] for s in systems) == sorted(f"系统{n}" for n in range(48))
    assert app.filings.batched == 48
    assert app.filings.batches < 48  # some were saved together


def test_two_processes_filing_in_one_division_never_share_or_skip_a_number(
    app: Ledger, database_url: str
) -> None:
    uscc, owner = unit_with_owner(app)
    other = open_ledger(database_url)  # another API process: its own committer and cache
    try:
        ledgers = [app, other]
        systems = _together(40, lambda n: file_online(ledgers[n % 2], owner, uscc, name=f"系统{n}"))
        conflicts = app.filings.conflicts + other.filings.conflicts
    finally:
        other.close()

    assert sorted(s.filing_number for s in systems) == _expected(40)
    assert _numbers(app) == _expected(40)
    # They took turns on the division's sequence (an advisory lock) instead of colliding.
    assert conflicts == 0


def test_one_idempotency_key_sent_at_once_files_one_system(app: Ledger) -> None:
    uscc, owner = unit_with_owner(app)
    key = RequestKey(key="same-key", digest="d1")

    def file(_: int) -> Outcome:
        return app.file_system(
            caller=owner, fields=system_fields(uscc), devices=[device()], today=TODAY, request=key
        )

    outcomes = _together(12, file)

    assert len({o.aggregate.id for o in outcomes}) == 1
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 11
    assert _numbers(app) == _expected(1)


def test_a_filing_that_fails_while_batched_is_answered_and_leaves_no_gap(
    app: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    uscc, owner = unit_with_owner(app)
    real_file = VideoSystem.file.__func__  # type: ignore[attr-defined]

    def file(cls: type[VideoSystem], **kwargs: Any) -> VideoSystem:
        if kwargs["fields"]["name"] == "坏系统":
            raise ValidationFailed([])
        return real_file(cls, **kwargs)

    monkeypatch.setattr(VideoSystem, "file", classmethod(file))  # type: ignore[arg-type]

    def work(n: int) -> VideoSystem | Exception:
        try:
            return file_online(app, owner, uscc, name="坏系统" if n % 5 == 0 else f"系统{n}")
        except ValidationFailed as error:
            return error

    results = _together(30, work)

    assert sum(isinstance(r, ValidationFailed) for r in results) == 6
    assert _numbers(app) == _expected(24)


def test_a_closed_ledger_still_files_one_at_a_time(database_url: str) -> None:
    ledger = open_ledger(database_url)
    uscc, owner = unit_with_owner(ledger)
    ledger.filings.close()
    try:
        system = file_online(ledger, owner, uscc)
    finally:
        ledger.close()
    assert system.filing_number == _expected(1)[0]
    assert ledger.filings.batched == 0
