"""The overdue view on a real PostgreSQL: each kind at its edges, lists as of past days.

Dates are 2025 dates passed to the ledger's commands as the day of filing (the edge's "today"),
so the lists are computed exactly as they would have been on those days.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.core.runtime import Runtime
from ledger.access import Reach
from projections.overdue import overdue_items
from tests.support.codes import NANAN, SHAPINGBA
from tests.support.districts import EAST_GATE, District


def listed(
    rt: Runtime, as_of: date, *, kind: str | None = None, division: str | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """The lists as of a day, keyed by (system_id, kind)."""
    runner = rt.runner("overdue")
    assert runner is not None
    runner.catch_up()
    items, _ = overdue_items(
        rt.reads,
        as_of=as_of,
        rules=rt.rules,
        reach=Reach.division(""),
        division_code=division,
        kind=kind,
        after=None,
        limit=500,
    )
    return {(item["system_id"], item["kind"]): item for item in items}


def test_filing_on_day_30_is_in_time_and_on_day_31_late(runtime: Runtime) -> None:
    district = District(runtime)
    # Put into use 2025-06-10: day 30 is Thursday 2025-07-10, a working day.
    on_time = district.file(date(2025, 6, 10), filed_on=date(2025, 7, 10))
    late = district.file(date(2025, 6, 10), filed_on=date(2025, 7, 11))
    found = listed(runtime, date(2025, 7, 20))
    assert (str(on_time), "filed_late") not in found
    item = found[(str(late), "filed_late")]
    assert item["due_on"] == date(2025, 7, 10)
    assert item["met_on"] == date(2025, 7, 11)
    assert item["days_overdue"] == 1
    assert item["rules_version"] == runtime.rules.version


def test_threshold_separates_systems_in_use_before_the_regulation(runtime: Runtime) -> None:
    district = District(runtime)
    # In use 2025-03-31: an existing system, due 2025-06-30. In use 2025-04-01: 30 days,
    # whose last day 2025-05-01 falls in the Labour Day holiday and moves to 2025-05-06.
    legacy = district.file(date(2025, 3, 31), filed_on=date(2025, 6, 30))
    new = district.file(date(2025, 4, 1), filed_on=date(2025, 6, 30))
    in_holiday = district.file(date(2025, 4, 1), filed_on=date(2025, 5, 6))
    found = listed(runtime, date(2025, 7, 1), kind="filed_late")
    assert set(found) == {(str(new), "filed_late")}
    assert found[(str(new), "filed_late")]["due_on"] == date(2025, 5, 6)
    assert (str(legacy), "filed_late") not in found
    assert (str(in_holiday), "filed_late") not in found


def test_discovered_system_is_unfiled_after_its_due_date_and_not_before_discovery(
    runtime: Runtime,
) -> None:
    district = District(runtime)
    system = district.discover(date(2025, 4, 20), discovered_on=date(2025, 6, 1))  # due 05-20
    assert listed(runtime, date(2025, 5, 25)) == {}  # the ledger did not know it yet
    item = listed(runtime, date(2025, 6, 2))[(str(system), "unfiled")]
    assert item["due_on"] == date(2025, 5, 20)
    assert item["days_overdue"] == 13
    assert item["filing_number"] is None


def test_discovered_system_is_due_soon_within_seven_days_then_unfiled(runtime: Runtime) -> None:
    district = District(runtime)
    system = district.discover(date(2025, 5, 28), discovered_on=date(2025, 6, 1))  # due 06-27
    assert listed(runtime, date(2025, 6, 10)) == {}
    soon = listed(runtime, date(2025, 6, 22))[(str(system), "due_soon")]
    assert soon["days_left"] == 5
    assert (str(system), "unfiled") in listed(runtime, date(2025, 6, 28))


def test_filing_a_discovered_system_takes_it_off_the_unfiled_list_from_that_day(
    runtime: Runtime,
) -> None:
    district = District(runtime)
    system = district.discover(date(2025, 4, 20), discovered_on=date(2025, 6, 1))
    outcome = runtime.ledger.file_system(
        caller=district.unit,
        fields=district.fields(date(2025, 4, 20)),
        devices=[dict(EAST_GATE)],
        today=date(2025, 6, 10),
        discovered_system_id=system,
    )
    assert outcome.aggregate.id == system
    assert (str(system), "unfiled") in listed(runtime, date(2025, 6, 5))
    after = listed(runtime, date(2025, 6, 12))
    assert (str(system), "unfiled") not in after
    assert after[(str(system), "filed_late")]["days_overdue"] == 21


def test_change_filed_after_the_change_deadline_is_late(runtime: Runtime) -> None:
    district = District(runtime)
    system = district.file(date(2025, 6, 10), filed_on=date(2025, 6, 20))
    district.change(system, effective_on=date(2025, 7, 1), filed_on=date(2025, 7, 20))
    district.change(system, effective_on=date(2025, 7, 1), filed_on=date(2025, 8, 15))
    found = listed(runtime, date(2025, 9, 1), kind="change_late")
    assert list(found) == [(str(system), "change_late")]
    item = found[(str(system), "change_late")]
    assert item["due_on"] == date(2025, 7, 31)
    assert item["days_overdue"] == 15
    assert listed(runtime, date(2025, 8, 14), kind="change_late") == {}


def test_correction_order_is_overdue_until_the_unit_acts(runtime: Runtime) -> None:
    district = District(runtime)
    system = district.file(date(2025, 6, 10), filed_on=date(2025, 6, 20))
    district.order(system, ordered_on=date(2025, 8, 1), due_on=date(2025, 8, 15))
    assert (str(system), "due_soon") in listed(runtime, date(2025, 8, 10))
    item = listed(runtime, date(2025, 8, 20))[(str(system), "correction_overdue")]
    assert item["days_overdue"] == 5
    assert item["order_id"]
    district.change(system, effective_on=date(2025, 8, 25), filed_on=date(2025, 8, 25))
    assert listed(runtime, date(2025, 8, 30), kind="correction_overdue") == {}
    # The past does not change: on 2025-08-20 the order was overdue.
    assert (str(system), "correction_overdue") in listed(runtime, date(2025, 8, 20))


def test_lists_filter_by_division(runtime: Runtime) -> None:
    nanan, shapingba = District(runtime, NANAN), District(runtime, SHAPINGBA)
    ours = nanan.file(date(2025, 6, 10), filed_on=date(2025, 8, 1))
    theirs = shapingba.file(date(2025, 6, 10), filed_on=date(2025, 8, 1))
    found = listed(runtime, date(2025, 9, 1), division=NANAN)
    assert (str(ours), "filed_late") in found
    assert (str(theirs), "filed_late") not in found
    assert {k[0] for k in listed(runtime, date(2025, 9, 1))} == {str(ours), str(theirs)}


def _pages(rt: Runtime, as_of: date, kind: str | None, limit: int) -> list[tuple[str, str]]:
    """Every item of the lists, read page by page with the cursor."""
    found: list[tuple[str, str]] = []
    after = None
    while True:
        items, after = overdue_items(
            rt.reads,
            as_of=as_of,
            rules=rt.rules,
            reach=Reach.division(""),
            division_code=NANAN,
            kind=kind,
            after=after,
            limit=limit,
        )
        found += [(item["system_id"], item["kind"]) for item in items]
        if after is None:
            return found


def test_each_kind_paged_is_the_whole_list_of_that_kind(runtime: Runtime) -> None:
    # Every kind at once, several of each: the lists read each slice of the duties limited
    # on its own, so a page of one kind must still hold what the whole list holds.
    district = District(runtime)
    for n in range(3):
        district.file(date(2025, 6, 10 + n), filed_on=date(2025, 8, 1 + n))  # filed late
        changed = district.file(date(2025, 6, 1), filed_on=date(2025, 6, 20))
        district.change(changed, effective_on=date(2025, 7, 1 + n), filed_on=date(2025, 8, 20))
        ordered = district.file(date(2025, 6, 1), filed_on=date(2025, 6, 20))
        district.order(ordered, ordered_on=date(2025, 8, 1), due_on=date(2025, 8, 10 + n))
        soon = district.file(date(2025, 6, 1), filed_on=date(2025, 6, 20))
        district.order(soon, ordered_on=date(2025, 8, 1), due_on=date(2025, 9, 3 + n))
        district.discover(date(2025, 5, 1 + n), discovered_on=date(2025, 7, 1))  # unfiled
    as_of = date(2025, 9, 1)
    everything = listed(runtime, as_of)
    kinds = {kind for _, kind in everything}
    assert kinds == {"filed_late", "change_late", "unfiled", "correction_overdue", "due_soon"}
    assert _pages(runtime, as_of, None, 2) == _pages(runtime, as_of, None, 500)
    for kind in kinds:
        whole = [key for key in _pages(runtime, as_of, None, 500) if key[1] == kind]
        assert len(whole) == 3
        assert _pages(runtime, as_of, kind, 1) == whole
        assert _pages(runtime, as_of, kind, 2) == whole
