"""A system's obligations and their flags, from its document and its change duties."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.queries.render import obligations, system_public
from ledger.rules import load_rules, registration_deadline
from projections.duty_reads import ChangeDuty

RULES = load_rules()


def _doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "system_id": "00000000-0000-0000-0000-000000000001",
        "commissioned_on": "2025-05-06",
        "filed_on": None,
        "correction_orders": [],
    }
    return {**doc, **overrides}


def _flags(duty: dict[str, Any]) -> tuple[bool, bool]:
    return duty["overdue"], duty["late"]


def test_an_unmet_correction_order_past_its_day_is_overdue_and_late() -> None:
    order = {"order_id": "o1", "due_on": "2025-06-10", "met_on": None}
    doc = _doc(filed_on="2025-05-20", correction_orders=[order])
    deadline = registration_deadline(date(2025, 5, 6), RULES)

    duties = obligations(doc, deadline, [], RULES, today=date(2025, 6, 11))
    on_the_day = obligations(doc, deadline, [], RULES, today=date(2025, 6, 10))

    assert [d["kind"] for d in duties] == ["registration", "correction"]
    assert _flags(duties[0]) == (False, False)  # filed in time
    assert _flags(duties[1]) == (True, True)
    assert _flags(on_the_day[1]) == (False, False)  # the due day itself is in time


def test_a_met_order_is_late_only_when_met_after_its_day() -> None:
    orders = [
        {"order_id": "in-time", "due_on": "2025-06-10", "met_on": "2025-06-10"},
        {"order_id": "late", "due_on": "2025-06-10", "met_on": "2025-06-12"},
    ]
    doc = _doc(filed_on="2025-05-20", correction_orders=orders)
    deadline = registration_deadline(date(2025, 5, 6), RULES)

    duties = obligations(doc, deadline, [], RULES, today=date(2025, 7, 1))

    assert [(d.get("order_id"), _flags(d)) for d in duties[1:]] == [
        ("in-time", (False, False)),
        ("late", (False, True)),
    ]


def test_an_unfiled_system_is_overdue_after_its_registration_day() -> None:
    body = system_public(_doc(), RULES, today=date(2025, 7, 1))

    [registration] = body["obligations"]
    assert registration["met_on"] is None
    assert _flags(registration) == (True, True)
    assert registration["due_on"] == body["due_on"]
    assert body["filed_late"] is None


def test_change_duties_come_in_the_order_given_with_their_version() -> None:
    changes = [
        ChangeDuty(seq=2, due_on=date(2025, 6, 5), met_on=date(2025, 6, 1), provisional=False),
        ChangeDuty(seq=3, due_on=date(2025, 6, 20), met_on=date(2025, 7, 1), provisional=False),
    ]
    body = system_public(
        _doc(filed_on="2025-05-20"), RULES, today=date(2025, 7, 2), changes=changes
    )

    assert [(d["kind"], d.get("seq"), d["late"]) for d in body["obligations"]] == [
        ("registration", None, False),
        ("change", 2, False),
        ("change", 3, True),
    ]
