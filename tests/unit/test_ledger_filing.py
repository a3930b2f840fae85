"""The ledger's filing rules on the in-memory store: units, filings, numbers, changes, scope."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.accounts import Account
from ledger.errors import (
    AlreadyExists,
    Forbidden,
    NotFound,
    StaleVersion,
    SystemClosed,
    ValidationFailed,
    WrongChannel,
)
from ledger.ids import filing_sequence_id
from ledger.sequence import FilingSequence
from ledger.services.application import Ledger
from ledger.systems import VideoSystem
from ledger.values import Channel, SystemStatus
from tests.support.codes import JINJIANG, NANAN, YUZHONG, make_device_id, make_uscc
from tests.support.factories import (
    TODAY,
    auditor,
    device,
    file_online,
    head,
    legal_person,
    letter,
    make_ledger,
    officer,
    person,
    system_fields,
    unit_fields,
    unit_with_owner,
)


@pytest.fixture
def app() -> Ledger:
    return make_ledger()


@pytest.fixture
def unit(app: Ledger) -> tuple[str, Account]:
    return unit_with_owner(app)


def locs(error: ValidationFailed) -> set[tuple[str | int, ...]]:
    return {e.loc for e in error.errors}


def change(app: Ledger, caller: Account, system: VideoSystem, **kwargs: Any) -> VideoSystem:
    arguments: dict[str, Any] = {
        "expected_version": system.version,
        "effective_on": TODAY,
        "reason": "改造",
        "changes": {},
        "today": TODAY,
    }
    arguments.update(kwargs)
    return app.change_system(caller=caller, system_id=system.id, **arguments)


def cancel(app: Ledger, caller: Account, system: VideoSystem, **kwargs: Any) -> VideoSystem:
    arguments: dict[str, Any] = {
        "expected_version": system.version,
        "effective_on": TODAY,
        "reason": "拆除",
        "today": TODAY,
    }
    arguments.update(kwargs)
    return app.cancel_system(caller=caller, system_id=system.id, **arguments)


def file_offline(app: Ledger, clerk: Account, uscc: str, **overrides: Any) -> VideoSystem:
    system: VideoSystem = app.file_system(
        caller=clerk,
        fields=system_fields(uscc, **overrides),
        devices=[device()],
        today=TODAY,
        paper_form_id=letter(app, clerk),
    ).aggregate
    return system


# --- units -----------------------------------------------------------------------------------


def test_legal_person_account_registers_its_own_unit_without_a_letter(app: Ledger) -> None:
    uscc = make_uscc()
    owner = legal_person(app, uscc)

    outcome = app.register_unit(caller=owner, fields=unit_fields(uscc), today=TODAY)

    assert outcome.replayed is False
    assert outcome.aggregate.uscc == uscc
    assert app.unit_for(owner, uscc).authorization_letter_id is None


def test_person_account_registering_a_unit_without_a_letter_is_rejected_and_writes_nothing(
    app: Ledger,
) -> None:
    agent = person(app)
    uscc = make_uscc()
    before = head(app)

    with pytest.raises(ValidationFailed) as rejected:
        app.register_unit(caller=agent, fields=unit_fields(uscc), today=TODAY)

    assert locs(rejected.value) == {("body", "authorization_letter_id")}
    assert head(app) == before
    assert app.find_unit(uscc) is None


def test_person_account_with_a_letter_registers_a_unit_and_may_file_for_it(app: Ledger) -> None:
    agent = person(app)
    uscc = make_uscc()
    fields = unit_fields(uscc, authorization_letter_id=letter(app, agent))

    app.register_unit(caller=agent, fields=fields, today=TODAY)
    system = file_online(app, agent, uscc)

    assert system.status is SystemStatus.FILED
    assert app.system_for(agent, system.id).id == system.id


def test_letter_uploaded_by_someone_else_does_not_authorise_a_person(app: Ledger) -> None:
    agent, stranger = person(app), person(app, "赵六")
    fields = unit_fields(make_uscc(), authorization_letter_id=letter(app, stranger))

    with pytest.raises(ValidationFailed) as rejected:
        app.register_unit(caller=agent, fields=fields, today=TODAY)

    assert locs(rejected.value) == {("body", "authorization_letter_id")}


def test_legal_person_account_cannot_register_another_unit(app: Ledger) -> None:
    owner = legal_person(app, make_uscc())

    with pytest.raises(ValidationFailed) as rejected:
        app.register_unit(caller=owner, fields=unit_fields(make_uscc()), today=TODAY)

    assert ("body", "uscc") in locs(rejected.value)


def test_registering_the_same_uscc_twice_is_rejected_and_writes_nothing(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    before = head(app)

    with pytest.raises(AlreadyExists):
        app.register_unit(caller=owner, fields=unit_fields(uscc), today=TODAY)

    assert head(app) == before


def test_an_authorised_agent_may_file_for_the_unit(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    agent = person(app)
    with pytest.raises(NotFound):
        file_online(app, agent, uscc)

    app.authorise_agent(
        caller=owner,
        uscc=uscc,
        account_id=agent.id,
        authorization_letter_id=letter(app, owner),
        today=TODAY,
    )

    agent = app.get_account(agent.id)  # the link is recorded on the account
    assert file_online(app, agent, uscc).filing_number == f"{NANAN}-2025-000001"


# --- filing numbers --------------------------------------------------------------------------


def test_filing_numbers_count_up_from_000001_in_the_division_and_year(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit

    first = file_online(app, owner, uscc)
    second = file_online(app, owner, uscc)

    assert first.filing_number == "500108-2025-000001"
    assert second.filing_number == "500108-2025-000002"


def test_each_division_and_each_year_has_its_own_filing_sequence(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit

    nanan_2025 = [file_online(app, owner, uscc).filing_number for _ in range(2)]
    yuzhong_2025 = file_online(app, owner, uscc, division_code=YUZHONG).filing_number
    nanan_2026 = file_online(app, owner, uscc, today=date(2026, 1, 5)).filing_number

    assert nanan_2025 == ["500108-2025-000001", "500108-2025-000002"]
    assert yuzhong_2025 == "500103-2025-000001"
    assert nanan_2026 == "500108-2026-000001"


def test_numbers_stay_consecutive_past_the_sequence_snapshot(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    interval = Ledger.snapshotting_intervals[FilingSequence]

    numbers = [file_online(app, owner, uscc).filing_number for _ in range(interval + 2)]

    assert numbers == [f"500108-2025-{n:06d}" for n in range(1, interval + 3)]
    assert app.snapshots is not None
    assert list(app.snapshots.get(filing_sequence_id(NANAN, 2025)))


def test_a_filing_that_read_a_stale_sequence_takes_the_next_free_number(
    app: Ledger, unit: tuple[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    uscc, owner = unit
    file_online(app, owner, uscc)
    # A racing filing read the sequence before the first one committed.
    stale: FilingSequence = app.repository.get(filing_sequence_id(NANAN, 2025), version=1)
    fresh = app._sequence
    reads = iter([stale])
    monkeypatch.setattr(app, "_sequence", lambda d, y: next(reads, None) or fresh(d, y))
    before = head(app) or 0

    second = file_online(app, owner, uscc)

    assert second.filing_number == "500108-2025-000002"
    # The system's Filed and one NumberIssued (positions may skip: a refused insert on
    # PostgreSQL consumes sequence values, so count events, not positions).
    written = app.recorder.select_notifications(start=before, limit=100, inclusive_of_start=False)
    assert len(written) == 2


# --- what a filing must hold -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "devices", "loc"),
    [
        ({"storage_days": 20}, [device()], ("body", "storage_days")),
        ({}, [device(storage_days=20)], ("body", "devices", 0, "storage_days")),
    ],
    ids=["system", "device"],
)
def test_storage_under_30_days_is_rejected_and_writes_nothing(
    app: Ledger,
    unit: tuple[str, Account],
    overrides: dict[str, Any],
    devices: list[dict[str, Any]],
    loc: tuple[str | int, ...],
) -> None:
    uscc, owner = unit
    before = head(app)

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, uscc, devices=devices, **overrides)

    assert locs(rejected.value) == {loc}
    assert head(app) == before


def test_storage_of_exactly_30_days_is_accepted(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit

    system = file_online(app, owner, uscc, storage_days=30, devices=[device(storage_days=30)])

    assert system.fields["storage_days"] == 30


def test_place_type_outside_its_category_is_rejected(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, uscc, place_category=2, place_type="airport")

    assert locs(rejected.value) == {("body", "place_type")}


def test_invalid_device_id_is_rejected_naming_the_device(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    devices = [device(), device(device_id="5001080000131000001")]  # 19 digits

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, uscc, devices=devices)

    assert locs(rejected.value) == {("body", "devices", 1, "device_id")}


def test_a_device_id_of_a_non_camera_type_is_rejected(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    devices = [device(device_id=make_device_id(1, camera_type="118"))]  # an NVR

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, uscc, devices=devices)

    assert locs(rejected.value) == {("body", "devices", 0, "device_id")}


def test_repeated_device_id_is_rejected_naming_the_repeat(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    same = make_device_id(7)
    devices = [device(device_id=same), device(), device(device_id=same)]

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, uscc, devices=devices)

    assert locs(rejected.value) == {("body", "devices", 2, "device_id")}


def test_every_bad_field_is_reported_at_once(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    same = make_device_id(3)
    devices = [
        device(device_id="123"),
        device(device_id=same, storage_days=7),
        device(device_id=same, longitude=200.0),
    ]

    with pytest.raises(ValidationFailed) as rejected:
        file_online(
            app,
            owner,
            uscc,
            devices=devices,
            storage_days=20,
            place_type="airport",
            division_code="500100",
            commissioned_on=date(2025, 6, 1),
        )

    assert locs(rejected.value) == {
        ("body", "storage_days"),
        ("body", "place_type"),
        ("body", "division_code"),
        ("body", "commissioned_on"),
        ("body", "devices", 0, "device_id"),
        ("body", "devices", 1, "storage_days"),
        ("body", "devices", 2, "device_id"),
        ("body", "devices", 2, "longitude"),
    }


def test_a_filing_naming_a_malformed_uscc_is_rejected_naming_unit_uscc(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    wrong_check = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, wrong_check)

    assert locs(rejected.value) == {("body", "unit_uscc")}


def test_an_officers_filing_naming_a_malformed_division_is_rejected_naming_it(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit

    with pytest.raises(ValidationFailed) as rejected:
        file_offline(app, officer(app), uscc, division_code="500100")

    assert locs(rejected.value) == {("body", "division_code")}


def test_a_system_without_devices_is_rejected(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit

    with pytest.raises(ValidationFailed) as rejected:
        file_online(app, owner, uscc, devices=[])

    assert locs(rejected.value) == {("body", "devices")}


def test_camera_count_is_the_number_of_devices(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    devices = [device(), device(device_id=make_device_id(1)), device()]

    system = file_online(app, owner, uscc, devices=devices)

    assert system.camera_count == 3
    assert set(system.devices) == {"D0001", make_device_id(1), "D0003"}


def test_a_device_in_an_art8_place_is_accepted_with_a_warning(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit

    system = file_online(app, owner, uscc, devices=[device(), device(name="男卫生间")])

    assert system.status is SystemStatus.FILED
    assert system.filing_number is not None
    assert [(w["code"], w["loc"]) for w in system.warnings] == [
        ("art8_forbidden_location", ["body", "devices", 1, "name"]),
    ]


def test_an_ordinary_filing_has_no_warnings(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit

    assert file_online(app, owner, uscc).warnings == []


def test_an_auditor_cannot_file(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, _owner = unit

    with pytest.raises(Forbidden):
        file_online(app, auditor(app, "5001"), uscc)


# --- channels --------------------------------------------------------------------------------


def test_an_officer_files_offline_with_the_paper_form(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit

    system = file_offline(app, officer(app), uscc)

    assert system.channel is Channel.OFFLINE
    assert system.filing_number == "500108-2025-000001"


def test_an_offline_filing_without_the_paper_form_is_rejected(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit
    clerk = officer(app)
    before = head(app)

    with pytest.raises(ValidationFailed) as rejected:
        app.file_system(caller=clerk, fields=system_fields(uscc), devices=[device()], today=TODAY)

    assert locs(rejected.value) == {("body", "paper_form_id")}
    assert head(app) == before


def test_an_offline_filing_reports_its_field_errors_and_the_missing_paper_form_together(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit

    with pytest.raises(ValidationFailed) as rejected:
        app.file_system(
            caller=officer(app),
            fields=system_fields(uscc, storage_days=20),
            devices=[device()],
            today=TODAY,
        )

    assert locs(rejected.value) == {("body", "storage_days"), ("body", "paper_form_id")}


def test_an_officer_cannot_file_offline_for_an_unregistered_unit(app: Ledger) -> None:
    clerk = officer(app)

    with pytest.raises(ValidationFailed) as rejected:
        file_offline(app, clerk, make_uscc())

    assert locs(rejected.value) == {("body", "unit_uscc")}


def test_an_officer_cannot_file_in_another_district(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, _owner = unit

    with pytest.raises(NotFound):
        file_offline(app, officer(app, YUZHONG), uscc)


def test_the_units_account_cannot_change_an_offline_filing(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_offline(app, officer(app), uscc)
    before = head(app)

    with pytest.raises(WrongChannel):
        change(app, owner, system, changes={"name": "新名称"})
    with pytest.raises(WrongChannel):
        cancel(app, owner, system)

    assert head(app) == before


def test_the_officer_changes_an_offline_filing(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, _owner = unit
    clerk = officer(app)
    system = file_offline(app, clerk, uscc)

    changed = change(app, clerk, system, changes={"name": "新名称"})

    assert (changed.version, changed.fields["name"]) == (2, "新名称")


def test_an_officer_of_the_district_cannot_change_an_online_filing(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    with pytest.raises(WrongChannel):
        change(app, officer(app), system, changes={"name": "新名称"})


def test_an_officer_of_another_district_cannot_find_an_online_filing_to_change(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    with pytest.raises(NotFound):
        change(app, officer(app, YUZHONG), system, changes={"name": "新名称"})


# --- changes and cancellation ----------------------------------------------------------------


def test_a_change_with_a_stale_version_is_rejected_and_writes_nothing(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)
    change(app, owner, system, changes={"name": "第一次"})
    before = head(app)

    with pytest.raises(StaleVersion):
        change(app, owner, system, expected_version=1, changes={"name": "第二次"})

    assert head(app) == before
    assert app.system_for(owner, system.id).fields["name"] == "第一次"


def test_a_change_after_cancellation_is_rejected(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    cancelled = cancel(app, owner, file_online(app, owner, uscc))

    with pytest.raises(SystemClosed):
        change(app, owner, cancelled, changes={"name": "新名称"})

    assert cancelled.status is SystemStatus.CANCELLED
    assert cancelled.cancelled_on == TODAY


def test_cancelling_twice_is_rejected(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    cancelled = cancel(app, owner, file_online(app, owner, uscc))
    before = head(app)

    with pytest.raises(SystemClosed):
        cancel(app, owner, cancelled)

    assert head(app) == before


def test_a_change_that_changes_nothing_is_rejected(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    with pytest.raises(ValidationFailed) as rejected:
        change(app, owner, system, changes={"name": system.fields["name"]})

    assert locs(rejected.value) == {("body", "changes")}


def test_a_change_records_only_the_values_that_differ(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    change(app, owner, system, changes={"name": system.fields["name"], "storage_days": 90})

    changed = app.system_events(owner, system.id)[-1]
    assert changed.changes == {"storage_days": 90}


def test_a_change_is_checked_like_a_filing(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    with pytest.raises(ValidationFailed) as rejected:
        change(
            app,
            owner,
            system,
            changes={"storage_days": 20, "place_category": 3, "unit_uscc": make_uscc()},
        )

    assert locs(rejected.value) == {
        ("body", "changes", "storage_days"),
        ("body", "changes", "place_type"),
        ("body", "changes", "unit_uscc"),
    }


def test_adding_and_removing_devices_changes_the_camera_count(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    camera = make_device_id(9)
    system = file_online(app, owner, uscc, devices=[device(), device(device_id=camera)])

    grown = change(app, owner, system, devices_added=[device(), device()])
    assert grown.camera_count == 4
    assert set(grown.devices) == {"D0001", camera, "D0003", "D0004"}

    shrunk = change(app, owner, grown, devices_removed=["D0001", camera])
    assert shrunk.camera_count == 2
    assert set(shrunk.devices) == {"D0003", "D0004"}


def test_removing_an_unknown_device_is_rejected(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc, devices=[device(), device(), device()])

    with pytest.raises(ValidationFailed) as rejected:
        change(app, owner, system, devices_removed=["D0001", "D0099"])

    assert locs(rejected.value) == {("body", "devices_removed", 1)}


def test_an_unknown_device_key_does_not_count_as_a_removal(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc, devices=[device(), device()])

    with pytest.raises(ValidationFailed) as rejected:
        change(app, owner, system, devices_removed=["D0001", "D0099"])

    assert locs(rejected.value) == {("body", "devices_removed", 1)}


def test_removing_the_last_device_is_rejected(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    with pytest.raises(ValidationFailed) as rejected:
        change(app, owner, system, devices_removed=["D0001"])

    assert locs(rejected.value) == {("body", "devices_removed")}


def test_adding_a_device_id_already_filed_is_rejected(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    camera = make_device_id(5)
    system = file_online(app, owner, uscc, devices=[device(device_id=camera)])

    with pytest.raises(ValidationFailed) as rejected:
        change(app, owner, system, devices_added=[device(device_id=camera)])

    assert locs(rejected.value) == {("body", "devices_added", 0, "device_id")}


def test_an_added_device_in_an_art8_place_is_warned_about_where_it_was_sent(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    changed = change(app, owner, system, devices_added=[device(name="女更衣室")])

    assert [w["loc"] for w in changed.warnings] == [["body", "devices_added", 0, "name"]]


def test_a_renamed_system_in_an_art8_place_is_warned_about_at_the_change(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    changed = change(app, owner, system, changes={"name": "员工宿舍区监控"})

    assert changed.fields["name"] == "员工宿舍区监控"
    assert [w["loc"] for w in changed.warnings] == [["body", "changes", "name"]]


def test_an_officer_cannot_move_a_system_out_of_the_district(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit
    clerk = officer(app)
    system = file_offline(app, clerk, uscc)

    with pytest.raises(ValidationFailed) as rejected:
        change(app, clerk, system, changes={"division_code": YUZHONG})

    assert locs(rejected.value) == {("body", "changes", "division_code")}


# --- who sees what ---------------------------------------------------------------------------


def test_another_units_account_does_not_find_the_system(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)
    _other_uscc, other_owner = unit_with_owner(app)

    with pytest.raises(NotFound):
        app.system_for(other_owner, system.id)
    with pytest.raises(NotFound):
        app.system_for(person(app), system.id)


def test_an_officer_sees_the_systems_of_the_district_only(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    assert app.system_for(officer(app), system.id).id == system.id
    with pytest.raises(NotFound):
        app.system_for(officer(app, YUZHONG), system.id)


def test_an_auditor_sees_the_systems_under_the_prefix_only(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)

    assert app.system_for(auditor(app, "5001"), system.id).id == system.id
    with pytest.raises(NotFound):
        app.system_for(auditor(app, JINJIANG[:4]), system.id)


def test_an_auditor_cannot_change_or_cancel(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    system = file_online(app, owner, uscc)
    reader = auditor(app, "5001")

    with pytest.raises(Forbidden):
        change(app, reader, system, changes={"name": "新名称"})
    with pytest.raises(Forbidden):
        cancel(app, reader, system)
