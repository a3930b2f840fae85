"""A rebuild folds thousands of events per page, decoding only what each view needs; catch-up
folds a handful. Both must write the very same rows: here a log with every kind of event is
applied to a fresh generation of each view one event per page and all in one page, and the
tables compared row by row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from psycopg.sql import SQL

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from ledger.systems import VideoSystem
from projections.base import DecodedOnDemand, ViewRecorder, event_class
from projections.catalog import VIEWS
from projections.chain import ChainView
from projections.documents import fold, fold_stored
from projections.event_items import describe, fields_after, recorded_at
from projections.runner import BatchRunner, ViewSlot
from projections.stored_items import describe_stored
from tests.integration.districts import SHAPINGBA, District
from tests.integration.test_audit_view import _tell

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


def test_reading_the_stored_json_gives_what_the_decoded_event_gives(runtime: Runtime) -> None:
    """The status and audit views read common system events straight from the stored JSON;
    for every such event of the log that must equal what the decoded event gives, and the
    shortcut must actually be taken (not always fall back)."""
    _every_kind_of_event(runtime)
    mapper = runtime.ledger.mapper
    names = DecodedOnDemand([], mapper).json_transcodings
    assert names is not None, "the ledger stores plain JSON"
    docs: dict[UUID, dict[str, Any] | None] = {}
    fields: dict[UUID, dict[str, Any]] = {}
    taken: set[type[Any]] = set()
    described_taken: set[type[Any]] = set()
    for notification in runtime.ledger.recorder.select_notifications(0, 10_000):
        cls = event_class(notification.topic)
        if not issubclass(cls, VideoSystem.Event):
            continue
        event: Any = mapper.to_domain_event(notification)
        sid = event.originator_id
        state = json.loads(bytes(notification.state))
        common = {
            "cls": cls, "originator_id": sid, "originator_version": event.originator_version,
            "state": state, "names": names,
        }  # fmt: skip
        expected_doc = fold(docs.get(sid), event)
        doc = fold_stored(docs.get(sid), **common)
        if doc is not None:
            assert doc == expected_doc
            taken.add(cls)
        described = describe_stored(fields.get(sid, {}), **common)
        expected_item = describe(event, fields.get(sid, {}))
        expected_fields = fields_after(event, fields.get(sid, {}))
        if described is not None:
            assert json.dumps(described.item, ensure_ascii=False) == json.dumps(
                expected_item, ensure_ascii=False
            )  # the same members in the same order: the API shows items as they are
            assert described.fields == expected_fields
            assert described.recorded_at == recorded_at(event)
            assert described.effective_on == event.effective_on
            described_taken.add(cls)
        docs[sid], fields[sid] = expected_doc, expected_fields
    # (the status view folds a discovered system's filing from the decoded event)
    assert taken >= {VideoSystem.Filed, VideoSystem.Discovered, VideoSystem.Changed}
    assert described_taken >= {
        VideoSystem.Filed, VideoSystem.Discovered, VideoSystem.DiscoveredFiled,
        VideoSystem.Changed, VideoSystem.Inspected, VideoSystem.CorrectionOrdered,
        VideoSystem.Cancelled,
    }  # fmt: skip
