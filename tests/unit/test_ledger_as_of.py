"""Reading a system as the ledger knew it at an instant, chosen from its events' timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import pytest
from eventsourcing.domain import Aggregate

from ledger.accounts import Account
from ledger.errors import NotFound
from ledger.services.application import Ledger
from ledger.systems import VideoSystem
from ledger.values import SystemStatus
from tests.support.factories import TODAY, file_online, make_ledger, unit_with_owner

TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class History:
    """A system filed as "旧名称", renamed "新名称", then cancelled, and when each was recorded."""

    owner: Account
    system: VideoSystem
    filed_at: datetime
    changed_at: datetime
    cancelled_at: datetime


@pytest.fixture
def app() -> Ledger:
    return make_ledger()


@pytest.fixture
def history(app: Ledger) -> History:
    uscc, owner = unit_with_owner(app)
    system = file_online(app, owner, uscc, name="旧名称")
    app.change_system(
        caller=owner,
        system_id=system.id,
        expected_version=1,
        effective_on=TODAY,
        reason="改名",
        changes={"name": "新名称"},
        today=TODAY,
    )
    app.cancel_system(
        caller=owner,
        system_id=system.id,
        expected_version=2,
        effective_on=TODAY,
        reason="拆除",
        today=TODAY,
    )
    filed, changed, cancelled = (
        cast(Aggregate.Event, e).timestamp for e in app.events.get(system.id)
    )
    assert filed < changed < cancelled  # the instants the tests pick fall between them
    return History(owner, system, filed, changed, cancelled)


def test_before_the_filing_the_system_is_not_found(app: Ledger, history: History) -> None:
    with pytest.raises(NotFound):
        app.system_as_of(history.owner, history.system.id, history.filed_at - TICK)


def test_between_filing_and_change_the_system_has_its_old_name(
    app: Ledger, history: History
) -> None:
    at_filing = app.system_as_of(history.owner, history.system.id, history.filed_at)
    just_before_change = app.system_as_of(
        history.owner, history.system.id, history.changed_at - TICK
    )

    assert (at_filing.version, at_filing.fields["name"]) == (1, "旧名称")
    assert (just_before_change.version, just_before_change.fields["name"]) == (1, "旧名称")


def test_from_the_change_on_the_system_has_its_new_name(app: Ledger, history: History) -> None:
    changed = app.system_as_of(history.owner, history.system.id, history.changed_at)
    later = app.system_as_of(
        history.owner, history.system.id, history.cancelled_at + timedelta(days=365)
    )

    assert (changed.version, changed.fields["name"], changed.status) == (
        2,
        "新名称",
        SystemStatus.FILED,
    )
    assert (later.version, later.fields["name"], later.status) == (
        3,
        "新名称",
        SystemStatus.CANCELLED,
    )


def test_a_past_state_is_read_within_the_callers_scope(app: Ledger, history: History) -> None:
    _other_uscc, other_owner = unit_with_owner(app)

    with pytest.raises(NotFound):
        app.system_as_of(other_owner, history.system.id, history.filed_at)
