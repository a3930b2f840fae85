"""The status view on a real PostgreSQL: batches, exactly-once, equality with the log."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import pytest
from psycopg.sql import SQL

from api.core.runtime import Runtime
from ledger.access import Reach
from ledger.systems import VideoSystem
from projections.base import Batch
from projections.documents import system_document
from projections.runner import BatchRunner, PositionMoved, ViewSlot, apply_batch
from projections.status import StatusView, list_systems
from tests.support.districts import units_with_systems

TODAY = date(2025, 5, 6)


def _all_docs(rt: Runtime) -> list[dict[str, Any]]:
    docs, _ = list_systems(rt.reads, reach=Reach.division(""), filters={}, after=None, limit=500)
    return docs


def _table_docs(view: StatusView) -> list[dict[str, Any]]:
    """Documents straight from one generation's table, in list order."""
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(
            SQL("SELECT doc FROM {t} ORDER BY first_position").format(t=view.table("systems"))
        )
        return [row["doc"] for row in curs.fetchall()]


def test_catch_up_in_batches_gives_each_system_its_current_state(runtime: Runtime) -> None:
    systems = units_with_systems(runtime, units=3, per_unit=4)
    first = systems[0]
    owner = runtime.ledger.account_for_token("token-0")
    assert owner is not None
    runtime.ledger.change_system(
        caller=owner,
        system_id=first.id,
        expected_version=1,
        effective_on=TODAY,
        reason="改名",
        changes={"name": "新名字"},
        today=TODAY,
    )
    runner = runtime.runner("status")
    assert runner is not None
    runner.page_size = 5  # several batches for 3 units x (account, credential, unit, systems...)
    processed = runner.catch_up()
    assert processed == len(runtime.ledger.recorder.select_notifications(0, 10_000))
    assert runner.state.position == runtime.head()
    docs = {d["system_id"]: d for d in _all_docs(runtime)}
    assert len(docs) == 12
    for system in systems:
        current: VideoSystem = runtime.ledger.repository.get(system.id)
        expected = system_document(current)
        assert docs[str(system.id)] == expected
    assert docs[str(first.id)]["name"] == "新名字"


def test_a_batch_that_does_not_start_where_the_view_stands_writes_nothing(
    runtime: Runtime,
) -> None:
    units_with_systems(runtime, units=1, per_unit=2)
    runner = runtime.runner("status")
    assert runner is not None
    runner.catch_up()
    before = _all_docs(runtime)
    notifications = runtime.ledger.recorder.select_notifications(0, 10_000)
    again = Batch.read(start=0, notifications=notifications, mapper=runtime.ledger.mapper)
    with pytest.raises(PositionMoved) as moved:
        apply_batch(runtime.status_view, again, runtime.ledger.name)
    assert moved.value.position == runtime.head()
    assert _all_docs(runtime) == before


def test_a_new_generation_replayed_from_the_start_equals_the_live_one(runtime: Runtime) -> None:
    units_with_systems(runtime, units=2, per_unit=3)
    live = runtime.runner("status")
    assert live is not None
    live.catch_up()
    replay_view = cast(StatusView, runtime.open_view(StatusView, 99, runtime.rules))
    slot = ViewSlot(
        name="status", open=lambda g, r: replay_view, registry=runtime.registry, view=replay_view
    )
    replay = BatchRunner(
        app=runtime.ledger, slot=slot, conninfo=lambda: runtime.url, follow_registry=False
    )
    try:
        replay.catch_up()
        assert _table_docs(replay_view) == _table_docs(cast(StatusView, runtime.status_view))
        assert _table_docs(replay_view) == _all_docs(runtime)
        assert replay_view.max_tracking_id(runtime.ledger.name) == runtime.head()
    finally:
        replay_view.datastore.close()


def test_the_running_runner_follows_new_commits(runtime: Runtime) -> None:
    runtime.start_projections()
    systems = units_with_systems(runtime, units=1, per_unit=1)
    assert runtime.wait_for_views(runtime.head(), timeout=10)
    docs = _all_docs(runtime)
    assert [d["system_id"] for d in docs] == [str(systems[0].id)]
