"""Stored events of an older class version still read, with the fields they lacked derived."""

from __future__ import annotations

import json
from dataclasses import replace

from eventsourcing.persistence import StoredEvent

from ledger.services.application import Ledger
from ledger.system_checks import recorded_on
from ledger.systems import VideoSystem
from tests.support.factories import TODAY, file_online, make_ledger, unit_with_owner


def _as_version_1(app: Ledger, stored: StoredEvent) -> StoredEvent:
    """The stored event as version 1 wrote it: no `filed_on`, no class_version."""
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    del state["filed_on"]
    return replace(stored, state=json.dumps(state).encode())


def test_a_version_1_change_reads_with_the_day_it_was_recorded_as_its_filing_day() -> None:
    app = make_ledger()
    uscc, owner = unit_with_owner(app)
    system = file_online(app, owner, uscc)
    app.change_system(
        caller=owner,
        system_id=system.id,
        expected_version=1,
        effective_on=TODAY,
        reason="改名",
        changes={"name": "新名字"},
        today=TODAY,
    )
    stored = app.recorder.select_events(system.id)[-1]
    old = app.mapper.to_domain_event(_as_version_1(app, stored))
    assert isinstance(old, VideoSystem.Changed)
    assert old.filed_on == recorded_on(old.timestamp)
    assert old.changes == {"name": "新名字"}
    current = app.mapper.to_domain_event(stored)
    assert isinstance(current, VideoSystem.Changed) and current.filed_on == TODAY


def test_a_version_1_cancellation_reads_with_the_day_it_was_recorded_as_its_filing_day() -> None:
    app = make_ledger()
    uscc, owner = unit_with_owner(app)
    system = file_online(app, owner, uscc)
    app.cancel_system(
        caller=owner,
        system_id=system.id,
        expected_version=1,
        effective_on=TODAY,
        reason="拆除",
        today=TODAY,
    )
    stored = app.recorder.select_events(system.id)[-1]
    old = app.mapper.to_domain_event(_as_version_1(app, stored))
    assert isinstance(old, VideoSystem.Cancelled)
    assert old.filed_on == recorded_on(old.timestamp)
