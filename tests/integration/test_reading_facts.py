"""Every view folds the facts of `projections.reading`, the one reading of the stored events.

On a log with every kind of event: the facts read from the stored JSON are the facts of the
events the library decodes (the aggregates' own reading), older class versions included (upcast
by the event classes' own methods); the status documents folded from them equal what each
aggregate's own state shows; and a rebuild in one page writes what catch-up writes event by
event, for every view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from psycopg.sql import SQL

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from ledger.system_checks import LEDGER_CALENDAR as SHANGHAI
from ledger.systems import VideoSystem
from projections.base import ViewRecorder
from projections.catalog import VIEWS
from projections.chain import ChainView
from projections.documents import fold, system_document
from projections.event_items import describe, fields_after
from projections.reading import Reader, event_class, fact_of_event
from projections.reading.facts import Fact
from projections.runner import BatchRunner, ViewSlot
from tests.integration.test_audit_view import _tell
from tests.support.codes import SHAPINGBA
from tests.support.districts import District

CHECKPOINT_EVERY = 3
# When a checkpoint row was written (the database's clock) is not part of what is compared.
UNCOMPARED = frozenset({"signed_at"})


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings, projections=False)
    try:
        yield rt
    finally:
        rt.close()


def _every_kind_of_event(rt: Runtime) -> None:
    """Accounts, a unit and its agent, uploads (`_tell`), then systems filed, discovered and
    filed after discovery, changed (one moved between districts), ordered to correct (orders
    met and not), inspected and cancelled, in two districts."""
    _tell(rt)
    nanan, shapingba = District(rt), District(rt, SHAPINGBA)
    late = nanan.file(date(2025, 4, 1), filed_on=date(2025, 6, 20))
    nanan.order(late, ordered_on=date(2025, 6, 21), due_on=date(2025, 7, 1))
    nanan.change(late, effective_on=date(2025, 6, 25), filed_on=date(2025, 6, 28))
    nanan.change(late, effective_on=date(2025, 7, 1), filed_on=date(2025, 8, 15))
    found = shapingba.discover(date(2025, 4, 20), discovered_on=date(2025, 6, 1))
    shapingba.order(found, ordered_on=date(2025, 6, 2), due_on=date(2025, 6, 30))
    rt.ledger.file_system(
        caller=shapingba.unit, fields=shapingba.fields(date(2025, 4, 20)),
        devices=[{"device_id": None, "name": "入口", "address": "东门", "device_type": "dome",
                  "indoor": True, "face_capture": True, "storage_days": 30}],
        today=date(2025, 6, 10), discovered_system_id=found,
    )  # fmt: skip
    shapingba.discover(date(2025, 5, 1), discovered_on=date(2025, 7, 1))  # never filed
    for n in range(3):
        system = nanan.file(date(2025, 5, 1 + n), filed_on=date(2025, 5, 20 + n))
        nanan.order(system, ordered_on=date(2025, 6, 1), due_on=date(2025, 6, 15 + n))
        rt.ledger.record_inspection(
            caller=nanan.officer, system_id=system, inspected_on=date(2025, 6, 2 + n),
            result="consistent", note=f"第{n}次", today=date(2025, 6, 3 + n),
        )  # fmt: skip
        if n == 1:
            rt.ledger.cancel_system(
                caller=nanan.unit, system_id=system, expected_version=3,
                effective_on=date(2025, 7, 1), reason="停用", today=date(2025, 7, 2),
            )  # fmt: skip


def _same(fact: Fact, expected: Fact) -> None:
    """Equal facts, their members in the same order (items show them in that order)."""
    assert replace(fact, position=0) == expected
    assert list(fact.state) == list(expected.state)


def test_the_facts_of_the_stored_json_are_the_facts_of_the_decoded_events(
    runtime: Runtime,
) -> None:
    _every_kind_of_event(runtime)
    mapper = runtime.ledger.mapper
    reader = Reader(mapper)
    kinds: set[type[Any]] = set()
    for notification in runtime.ledger.recorder.select_notifications(0, 10_000):
        fact = reader.read(notification)
        assert fact.position == notification.id
        assert fact.kind is event_class(notification.topic)
        _same(fact, fact_of_event(mapper.to_domain_event(notification)))
        kinds.add(fact.kind)
    assert kinds >= {
        VideoSystem.Filed, VideoSystem.Discovered, VideoSystem.DiscoveredFiled,
        VideoSystem.Changed, VideoSystem.Moved, VideoSystem.Inspected,
        VideoSystem.CorrectionOrdered, VideoSystem.Cancelled,
    }  # fmt: skip


def test_an_older_class_version_reads_upcast_by_the_event_class_itself(runtime: Runtime) -> None:
    """Version 1 of a change or a cancellation had no `filed_on` (ledger/system_checks.py):
    the reader upcasts it as the library does, and the fact is that of the decoded event."""
    _every_kind_of_event(runtime)
    mapper, reader = runtime.ledger.mapper, Reader(runtime.ledger.mapper)
    upcast = 0
    for notification in runtime.ledger.recorder.select_notifications(0, 10_000):
        if event_class(notification.topic) not in (VideoSystem.Changed, VideoSystem.Cancelled):
            continue
        state = json.loads(bytes(notification.state))
        assert state.pop("class_version") == 2
        del state["filed_on"]
        old = replace(notification, state=json.dumps(state, ensure_ascii=False).encode())
        fact = reader.read(old)
        _same(fact, fact_of_event(mapper.to_domain_event(old)))
        assert fact.state["filed_on"] == fact.timestamp.astimezone(SHANGHAI).date()
        upcast += 1
    assert upcast >= 3


def test_the_folded_documents_are_the_aggregates_own_state(runtime: Runtime) -> None:
    """The status document folded from each system's facts equals what the aggregate itself
    shows (`system_document`), correction orders met or not included; the audit's fields
    fold likewise to the aggregate's filed fields."""
    _every_kind_of_event(runtime)
    reader = Reader(runtime.ledger.mapper)
    docs: dict[UUID, dict[str, Any] | None] = {}
    fields: dict[UUID, dict[str, Any]] = {}
    for notification in runtime.ledger.recorder.select_notifications(0, 10_000):
        fact = reader.read(notification)
        if not issubclass(fact.kind, VideoSystem.Event):
            continue
        sid = fact.originator_id
        describe(fact, fields.get(sid, {}))  # every kind is described
        docs[sid] = fold(docs.get(sid), fact)
        fields[sid] = fields_after(fact, fields.get(sid, {}))
    assert len(docs) >= 6
    for sid, doc in docs.items():
        system: VideoSystem = runtime.ledger.repository.get(sid)
        assert doc == json.loads(json.dumps(system_document(system), ensure_ascii=False))
        expected = {"filing_number": system.filing_number, **system.fields}
        expected = {k: v for k, v in expected.items() if k in fields[sid] or v is not None}
        assert fields[sid] == json.loads(json.dumps(expected, default=str))


def _applied(rt: Runtime, kind: type[ViewRecorder], generation: int, page: int) -> ViewRecorder:
    """A fresh generation of `kind` with the whole log applied `page` events at a time."""
    view = rt.open_view(kind, generation, rt.rules)
    if isinstance(view, ChainView):
        view.checkpoint_every = CHECKPOINT_EVERY
    slot = ViewSlot(name=kind.name, open=lambda g, r: view, registry=rt.registry, view=view)
    runner = BatchRunner(
        app=rt.ledger, slot=slot, conninfo=lambda: rt.url, page_size=page, follow_registry=False
    )
    runner.catch_up()
    assert view.max_tracking_id(rt.ledger.name) == rt.head()
    return view


def _tables(view: ViewRecorder) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    with view.datastore.transaction(commit=False) as curs:
        for suffix in view.tables:
            curs.execute(SQL("SELECT * FROM {t} ORDER BY 1").format(t=view.table(suffix)))
            tables[suffix] = [
                {k: v for k, v in row.items() if k not in UNCOMPARED} for row in curs.fetchall()
            ]
    return tables


@pytest.mark.parametrize("name", list(VIEWS))
def test_a_rebuild_in_one_page_writes_what_catch_up_event_by_event_writes(
    runtime: Runtime, name: str
) -> None:
    _every_kind_of_event(runtime)
    kind = VIEWS[name]
    one_by_one = _applied(runtime, kind, 101, page=1)
    at_once = _applied(runtime, kind, 102, page=5000)
    try:
        expected, got = _tables(one_by_one), _tables(at_once)
        assert any(expected.values())
        if kind is ChainView:
            # A page that crosses a checkpoint also signs its own last event (the head a
            # catch-up ends on): one page signs the head beside every third event.
            head = got["checkpoints"][-1]
            assert head["position"] == runtime.head()
            got["checkpoints"] = [c for c in got["checkpoints"] if c["events"] % 3 == 0]
            assert got["checkpoints"], "the log crosses a checkpoint"
        assert got == expected
    finally:
        one_by_one.datastore.close()
        at_once.datastore.close()
