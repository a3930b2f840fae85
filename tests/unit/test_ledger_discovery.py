"""Systems the police discover in use unfiled, and their later filing under the same id."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from ledger.accounts import Account
from ledger.errors import Forbidden, NotFound, SystemClosed, ValidationFailed
from ledger.services.application import Ledger
from ledger.systems import VideoSystem
from ledger.values import Channel, SystemStatus
from tests.support.codes import YUZHONG
from tests.support.factories import (
    TODAY,
    device,
    discovery_facts,
    file_online,
    head,
    letter,
    make_ledger,
    officer,
    system_fields,
    unit_with_owner,
)


@pytest.fixture
def app() -> Ledger:
    return make_ledger()


@pytest.fixture
def unit(app: Ledger) -> tuple[str, Account]:
    return unit_with_owner(app)


def discover(app: Ledger, clerk: Account, **facts: Any) -> VideoSystem:
    system: VideoSystem = app.discover_system(
        caller=clerk, facts=discovery_facts(**facts), note="巡查发现未备案", today=TODAY
    ).aggregate
    return system


def file_discovered(
    app: Ledger, caller: Account, uscc: str, system_id: UUID, **kwargs: Any
) -> VideoSystem:
    system: VideoSystem = app.file_system(
        caller=caller,
        fields=system_fields(uscc),
        devices=[device()],
        today=TODAY,
        discovered_system_id=system_id,
        **kwargs,
    ).aggregate
    return system


def test_an_officer_records_a_discovered_system_as_unfiled_without_a_number(
    app: Ledger,
) -> None:
    clerk = officer(app)

    system = discover(app, clerk)

    seen = app.system_for(clerk, system.id)
    assert seen.status is SystemStatus.UNFILED
    assert seen.filing_number is None
    assert seen.discovered_by is not None
    assert seen.discovered_by.account_id == str(clerk.id)


def test_only_an_officer_records_a_discovery(app: Ledger, unit: tuple[str, Account]) -> None:
    _uscc, owner = unit

    with pytest.raises(Forbidden):
        discover(app, owner)


def test_an_officer_records_discoveries_in_the_district_only(app: Ledger) -> None:
    with pytest.raises(ValidationFailed) as rejected:
        discover(app, officer(app), division_code=YUZHONG)

    assert {e.loc for e in rejected.value.errors} == {("body", "division_code")}


def test_a_discovered_system_cannot_be_changed_before_it_is_filed(app: Ledger) -> None:
    clerk = officer(app)
    system = discover(app, clerk)

    with pytest.raises(SystemClosed):
        app.change_system(
            caller=clerk,
            system_id=system.id,
            expected_version=1,
            effective_on=TODAY,
            reason="更正",
            changes={"name": "新名称"},
            today=TODAY,
        )


def test_the_unit_files_a_discovered_system_under_the_same_id(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    discovered = discover(app, officer(app), unit_uscc=uscc)

    filed = file_discovered(app, owner, uscc, discovered.id)

    assert filed.id == discovered.id
    assert filed.status is SystemStatus.FILED
    assert filed.channel is Channel.ONLINE
    assert filed.filing_number == "500108-2025-000001"
    assert [type(e).__name__ for e in app.system_events(owner, filed.id)] == [
        "Discovered",
        "DiscoveredFiled",
    ]


def test_filing_a_discovered_system_twice_is_rejected(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    discovered = discover(app, officer(app), unit_uscc=uscc)
    file_discovered(app, owner, uscc, discovered.id)

    with pytest.raises(SystemClosed):
        file_discovered(app, owner, uscc, discovered.id)


def test_another_unit_cannot_file_a_system_discovered_for_this_unit(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit
    discovered = discover(app, officer(app), unit_uscc=uscc)
    other_uscc, other_owner = unit_with_owner(app)

    with pytest.raises(NotFound):
        file_discovered(app, other_owner, other_uscc, discovered.id)


def test_an_officer_of_another_district_cannot_file_a_system_discovered_here(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit
    discovered = discover(app, officer(app), unit_uscc=uscc)
    stranger = officer(app, YUZHONG)

    with pytest.raises(NotFound):
        app.file_system(
            caller=stranger,
            fields=system_fields(uscc, division_code=YUZHONG),
            devices=[device()],
            today=TODAY,
            discovered_system_id=discovered.id,
            paper_form_id=letter(app, stranger),
        )


def test_an_officer_of_the_district_files_a_discovered_system_offline(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, _owner = unit
    clerk = officer(app)
    discovered = discover(app, clerk)

    filed = file_discovered(app, clerk, uscc, discovered.id, paper_form_id=letter(app, clerk))

    assert (filed.id, filed.channel) == (discovered.id, Channel.OFFLINE)
    assert filed.filing_number == "500108-2025-000001"


def test_any_unit_may_file_a_discovery_that_names_no_unit(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    discovered = discover(app, officer(app))

    filed = file_discovered(app, owner, uscc, discovered.id)

    assert (filed.id, filed.unit_uscc) == (discovered.id, uscc)
    assert app.system_for(owner, filed.id).status is SystemStatus.FILED


def test_a_discovered_system_is_filed_in_the_district_it_was_found_in(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    discovered = discover(app, officer(app), unit_uscc=uscc)
    before = head(app)

    with pytest.raises(ValidationFailed) as rejected:
        app.file_system(
            caller=owner,
            fields=system_fields(uscc, division_code=YUZHONG),
            devices=[device()],
            today=TODAY,
            discovered_system_id=discovered.id,
        )

    assert {e.loc for e in rejected.value.errors} == {("body", "division_code")}
    assert head(app) == before


def test_a_system_that_was_filed_not_discovered_cannot_be_filed_as_discovered(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    filed = file_online(app, owner, uscc)

    with pytest.raises(NotFound):
        file_discovered(app, owner, uscc, filed.id)
