"""Several processes on one database: each view is kept by exactly one of them at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from projections.catalog import VIEWS
from tests.support.districts import District


@pytest.fixture
def two(settings: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    first = open_runtime(settings, projections=True)
    first.start_projections()
    _until(lambda: all(r.leading for r in first.runners))
    second = open_runtime(settings, projections=True)
    second.start_projections()
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def _until(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_each_view_is_kept_by_one_process_and_both_read_their_writes(
    two: tuple[Runtime, Runtime],
) -> None:
    first, second = two
    time.sleep(1.5)  # the second asks for the locks at least once
    assert all(r.leading for r in first.runners)
    assert not any(r.leading for r in second.runners)
    system = District(second).file(date(2025, 6, 10), filed_on=date(2025, 8, 1))
    head = second.head()
    assert second.wait_for_views(head, 10, names=tuple(VIEWS))  # a standby sees the keeper's work
    assert first.wait_for_views(head, 10, names=tuple(VIEWS))
    assert {h["position"] for h in first.health()} == {head}
    assert second.ledger.system_for(District(second).officer, system).version == 1


def test_a_standby_takes_a_view_over_when_its_keeper_stops(
    two: tuple[Runtime, Runtime],
) -> None:
    first, second = two
    first.close()  # the keeper goes away; its lock connections close with it
    _until(lambda: all(r.leading for r in second.runners))
    District(second).file(date(2025, 6, 10), filed_on=date(2025, 8, 1))
    head = second.head()
    assert second.wait_for_views(head, 10, names=tuple(VIEWS))
    assert {h["position"] for h in second.health()} == {head}
