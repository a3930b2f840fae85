"""Correction orders (责令限期改正) and inspections: who may record them, what they check, when an
order counts as met, and retries under an Idempotency-Key or a lost race."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger.accounts import Account
from ledger.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    SystemClosed,
    ValidationFailed,
)
from ledger.services.application import Ledger, Outcome, RequestKey
from ledger.systems import VideoSystem
from ledger.values import Channel, Role
from projections.documents import fold, system_document
from tests.support.codes import NANAN, YUZHONG
from tests.support.factories import (
    TODAY,
    auditor,
    device,
    discovery_facts,
    file_online,
    head,
    make_ledger,
    officer,
    system_fields,
    unit_with_owner,
)

DUE = TODAY + timedelta(days=15)
KEY = "police-retry-1"


@pytest.fixture
def app() -> Ledger:
    return make_ledger()


@pytest.fixture
def clerk(app: Ledger) -> Account:
    return officer(app)


@pytest.fixture
def filed(app: Ledger) -> tuple[VideoSystem, Account]:
    """A system filed online by its unit's legal-person account; returns (system, owner)."""
    uscc, owner = unit_with_owner(app)
    return file_online(app, owner, uscc), owner


def order(
    app: Ledger,
    caller: Account,
    system_id: UUID,
    *,
    due_on: date = DUE,
    today: date = TODAY,
    request: RequestKey | None = None,
) -> VideoSystem:
    outcome: Outcome = app.order_correction(
        caller=caller,
        system_id=system_id,
        reason="设备数量与备案不符",
        due_on=due_on,
        today=today,
        request=request,
    )
    system: VideoSystem = outcome.aggregate
    return system


def inspect(
    app: Ledger,
    caller: Account,
    system_id: UUID,
    *,
    inspected_on: date = TODAY,
    result: str = "consistent",
    request: RequestKey | None = None,
) -> VideoSystem:
    outcome: Outcome = app.record_inspection(
        caller=caller,
        system_id=system_id,
        inspected_on=inspected_on,
        result=result,
        note="现场核查",
        today=TODAY,
        request=request,
    )
    system: VideoSystem = outcome.aggregate
    return system


def last_event(app: Ledger, caller: Account, system_id: UUID) -> Any:
    return app.system_events(caller, system_id)[-1]


def only_order(system: VideoSystem) -> Mapping[str, Any]:
    [found] = system.correction_orders.values()
    return found


# --- recording ---------------------------------------------------------------------------------


def test_an_officer_orders_a_correction_that_stays_open_until_answered(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed

    ordered = order(app, clerk, system.id)

    event = last_event(app, clerk, system.id)
    assert isinstance(event, VideoSystem.CorrectionOrdered)
    assert (event.reason, event.due_on, event.effective_on) == ("设备数量与备案不符", DUE, TODAY)
    assert (event.actor.account_id, event.actor.role, event.channel) == (
        str(clerk.id),
        Role.OFFICER,
        "offline",
    )
    assert UUID(event.order_id).version == 4
    assert ordered.correction_orders == {
        event.order_id: {
            "due_on": DUE,
            "reason": "设备数量与备案不符",
            "ordered_on": TODAY,
            "met_on": None,
        }
    }
    assert app.system_for(clerk, system.id).open_correction_orders == 1


def test_an_officer_records_an_inspection_with_its_result_and_day(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    day = TODAY - timedelta(days=2)

    inspected = inspect(app, clerk, system.id, inspected_on=day, result="discrepancy")

    event = last_event(app, clerk, system.id)
    assert isinstance(event, VideoSystem.Inspected)
    assert (event.result, event.note, event.effective_on, event.channel) == (
        "discrepancy",
        "现场核查",
        day,
        "offline",
    )
    assert event.actor.role is Role.OFFICER
    assert UUID(event.inspection_id).version == 4
    assert inspected.inspections == 1
    assert inspected.last_inspection == {"on": day, "result": "discrepancy"}


def test_the_last_inspection_is_the_latest_made_not_the_latest_recorded(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    inspect(app, clerk, system.id, inspected_on=TODAY, result="consistent")

    later = inspect(
        app, clerk, system.id, inspected_on=TODAY - timedelta(days=5), result="discrepancy"
    )

    assert later.inspections == 2
    assert later.last_inspection == {"on": TODAY, "result": "consistent"}


def test_an_unfiled_discovered_system_can_be_ordered_and_inspected(
    app: Ledger, clerk: Account
) -> None:
    discovered = app.discover_system(
        caller=clerk, facts=discovery_facts(), note="巡查发现", today=TODAY
    ).aggregate

    order(app, clerk, discovered.id)
    inspected = inspect(app, clerk, discovered.id, result="discrepancy")

    assert inspected.open_correction_orders == 1
    assert inspected.version == 3


# --- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("due_on", [TODAY, TODAY - timedelta(days=1)])
def test_a_correction_order_must_fall_due_after_the_day_it_is_ordered(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account], due_on: date
) -> None:
    system, _owner = filed
    before = head(app)

    with pytest.raises(ValidationFailed) as rejected:
        order(app, clerk, system.id, due_on=due_on)

    assert [e.loc for e in rejected.value.errors] == [("body", "due_on")]
    assert head(app) == before


def test_an_inspection_cannot_be_dated_after_today(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    before = head(app)

    with pytest.raises(ValidationFailed) as rejected:
        inspect(app, clerk, system.id, inspected_on=TODAY + timedelta(days=1))

    assert [e.loc for e in rejected.value.errors] == [("body", "inspected_on")]
    assert head(app) == before


def test_an_inspection_result_outside_the_vocabulary_is_rejected_by_name(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed

    with pytest.raises(ValidationFailed) as rejected:
        inspect(app, clerk, system.id, inspected_on=TODAY + timedelta(days=1), result="ok")

    assert {e.loc for e in rejected.value.errors} == {
        ("body", "inspected_on"),
        ("body", "result"),
    }


def test_nothing_is_ordered_or_inspected_after_a_cancellation(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, owner = filed
    app.cancel_system(
        caller=owner,
        system_id=system.id,
        expected_version=1,
        effective_on=TODAY,
        reason="拆除",
        today=TODAY,
    )
    before = head(app)

    with pytest.raises(SystemClosed):
        order(app, clerk, system.id)
    with pytest.raises(SystemClosed):
        inspect(app, clerk, system.id)

    assert head(app) == before


# --- who may ------------------------------------------------------------------------------------


def test_an_officer_of_another_district_is_told_the_system_does_not_exist(
    app: Ledger, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    stranger = officer(app, YUZHONG)
    before = head(app)

    with pytest.raises(NotFound):
        order(app, stranger, system.id)
    with pytest.raises(NotFound):
        inspect(app, stranger, system.id)

    assert head(app) == before


def test_a_unit_account_is_forbidden_on_its_own_system(
    app: Ledger, filed: tuple[VideoSystem, Account]
) -> None:
    system, owner = filed

    with pytest.raises(Forbidden):
        order(app, owner, system.id)
    with pytest.raises(Forbidden):
        inspect(app, owner, system.id)


def test_a_unit_account_is_told_another_units_system_does_not_exist(
    app: Ledger, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    _other_uscc, other_owner = unit_with_owner(app)

    with pytest.raises(NotFound):
        order(app, other_owner, system.id)
    with pytest.raises(NotFound):
        inspect(app, other_owner, system.id)


def test_auditors_and_admins_who_see_the_system_are_forbidden_to_write(
    app: Ledger, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    admin = app.open_account(token_sha256="a" * 64, role=Role.ADMIN, name="管理员", today=TODAY)

    for reader in (auditor(app, "5001"), admin):
        with pytest.raises(Forbidden):
            order(app, reader, system.id)
        with pytest.raises(Forbidden):
            inspect(app, reader, system.id)


def test_an_auditor_outside_its_prefix_is_told_the_system_does_not_exist(
    app: Ledger, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed

    with pytest.raises(NotFound):
        order(app, auditor(app, "5101"), system.id)


def test_an_unknown_system_is_not_found(app: Ledger, clerk: Account) -> None:
    with pytest.raises(NotFound):
        order(app, clerk, UUID(int=7))


# --- when an order is met -----------------------------------------------------------------------


def test_a_change_meets_open_orders_on_the_day_it_was_filed_not_the_day_it_took_effect(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, owner = filed
    order(app, clerk, system.id)

    changed = app.change_system(
        caller=owner,
        system_id=system.id,
        expected_version=2,
        effective_on=TODAY - timedelta(days=20),
        reason="更正设备数量",
        changes={"name": "南坪商场视频监控系统（更正）"},
        today=TODAY,
    )

    event = last_event(app, owner, system.id)
    assert isinstance(event, VideoSystem.Changed)
    assert only_order(changed)["met_on"] == event.filed_on == TODAY
    assert only_order(changed)["met_on"] != event.effective_on
    assert changed.open_correction_orders == 0


def test_a_cancellation_meets_open_orders(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, owner = filed
    order(app, clerk, system.id)

    cancelled = app.cancel_system(
        caller=owner,
        system_id=system.id,
        expected_version=2,
        effective_on=TODAY,
        reason="拆除",
        today=TODAY,
    )

    assert only_order(cancelled)["met_on"] == TODAY


def test_filing_a_discovered_system_meets_the_order_to_file_it(app: Ledger, clerk: Account) -> None:
    uscc, owner = unit_with_owner(app)
    discovered = app.discover_system(
        caller=clerk, facts=discovery_facts(unit_uscc=uscc), note="巡查发现", today=TODAY
    ).aggregate
    order(app, clerk, discovered.id)

    filed_now = app.file_system(
        caller=owner,
        fields=system_fields(uscc),
        devices=[device()],
        today=TODAY,
        discovered_system_id=discovered.id,
    ).aggregate

    assert filed_now.channel is Channel.ONLINE
    assert only_order(filed_now)["met_on"] == TODAY


def test_a_consistent_inspection_meets_only_orders_made_on_or_before_the_day_inspected(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    order(app, clerk, system.id)

    earlier = inspect(app, clerk, system.id, inspected_on=TODAY - timedelta(days=3))
    assert only_order(earlier)["met_on"] is None

    same_day = inspect(app, clerk, system.id, inspected_on=TODAY)
    assert only_order(same_day)["met_on"] == TODAY
    assert same_day.open_correction_orders == 0


def test_a_discrepancy_meets_no_order(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    order(app, clerk, system.id)

    inspected = inspect(app, clerk, system.id, result="discrepancy")

    assert only_order(inspected)["met_on"] is None
    assert inspected.open_correction_orders == 1


def test_a_met_order_keeps_the_day_it_was_first_met(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    order(app, clerk, system.id, today=TODAY - timedelta(days=10), due_on=TODAY)
    inspect(app, clerk, system.id, inspected_on=TODAY - timedelta(days=4))

    again = inspect(app, clerk, system.id, inspected_on=TODAY)

    assert only_order(again)["met_on"] == TODAY - timedelta(days=4)


def test_the_status_document_folded_from_the_events_equals_the_one_built_from_the_system(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, owner = filed
    order(app, clerk, system.id)
    order(app, clerk, system.id, due_on=DUE + timedelta(days=1))
    inspect(app, clerk, system.id, inspected_on=TODAY - timedelta(days=1))
    inspect(app, clerk, system.id, result="discrepancy")
    app.change_system(
        caller=owner,
        system_id=system.id,
        expected_version=5,
        effective_on=TODAY,
        reason="更正",
        changes={"storage_days": 60},
        today=TODAY,
    )
    order(app, clerk, system.id)

    doc: dict[str, Any] | None = None
    for event in app.system_events(clerk, system.id):
        doc = fold(doc, event)

    current = app.system_for(clerk, system.id)
    assert doc == system_document(current)
    assert doc["open_correction_orders"] == 1
    assert doc["last_inspection"] == {"on": TODAY.isoformat(), "result": "discrepancy"}
    assert [o["met_on"] is None for o in doc["correction_orders"]] == [False, False, True]


# --- retries -----------------------------------------------------------------------------------


def test_an_order_retried_with_its_key_returns_the_first_result_and_writes_nothing(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    request = RequestKey(KEY, "digest-of-the-order")
    first = order(app, clerk, system.id, request=request)
    after_first = head(app)

    retried = app.order_correction(
        caller=clerk,
        system_id=system.id,
        reason="设备数量与备案不符",
        due_on=DUE,
        today=TODAY,
        request=request,
    )

    assert retried.replayed
    assert retried.aggregate.version == first.version == 2
    assert retried.aggregate.correction_orders == first.correction_orders
    assert head(app) == after_first


def test_an_inspection_retried_with_its_key_returns_the_first_result(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    request = RequestKey(KEY, "digest-of-the-inspection")
    first = inspect(app, clerk, system.id, request=request)
    order(app, clerk, system.id)  # the system moves on; the retry still gets the first answer

    retried = app.record_inspection(
        caller=clerk,
        system_id=system.id,
        inspected_on=TODAY,
        result="consistent",
        note="现场核查",
        today=TODAY,
        request=request,
    )

    assert retried.replayed
    assert retried.aggregate.version == first.version == 2
    assert len(app.system_events(clerk, system.id)) == 3


def test_a_key_reused_with_another_request_is_refused(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account]
) -> None:
    system, _owner = filed
    order(app, clerk, system.id, request=RequestKey(KEY, "first"))
    before = head(app)

    with pytest.raises(IdempotencyKeyReused):
        order(app, clerk, system.id, request=RequestKey(KEY, "second"))
    with pytest.raises(IdempotencyKeyReused):
        inspect(app, clerk, system.id, request=RequestKey(KEY, "first"))

    assert head(app) == before


def test_an_order_that_loses_a_race_for_the_next_version_is_retried_not_lost(
    app: Ledger, clerk: Account, filed: tuple[VideoSystem, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between this order's read and its save another officer's inspection is saved: the
    store refuses the stale save, and the command re-reads and records the order anyway."""
    system, _owner = filed
    other = officer(app, NANAN)
    read = app._police_target
    reads = 0

    def racing_read(caller: Account, system_id: UUID) -> VideoSystem:
        nonlocal reads
        reads += 1
        stale = read(caller, system_id)
        if reads == 1:
            monkeypatch.setattr(app, "_police_target", read)
            inspect(app, other, system_id)
            monkeypatch.setattr(app, "_police_target", racing_read)
        return stale

    monkeypatch.setattr(app, "_police_target", racing_read)

    ordered = order(app, clerk, system.id)

    assert reads == 2
    assert ordered.version == 3
    assert [type(e).__name__ for e in app.system_events(clerk, system.id)] == [
        "Filed",
        "Inspected",
        "CorrectionOrdered",
    ]
