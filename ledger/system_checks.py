"""The rules behind the video system's verbs, kept apart so `VideoSystem` stays small.

The checks of a filing, a change, a correction order and an inspection take what they check as
arguments and either return the values the event will carry or raise `ValidationFailed` naming
every bad field. `AnswersOrders` and `correction_met_on` state when a correction order counts as
met; the aggregate, the status document and the overdue view all apply that one rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from ledger.errors import ValidationFailed
from ledger.items import LocationWarning, SystemFields, as_system_fields
from ledger.validation import FieldRules, device_errors, location_warnings, system_field_errors
from ledger.values import CHANGEABLE_FIELDS, Device, FieldError

# The calendar every deadline is counted in (docs/contract.md, "Deadlines and obligations").
LEDGER_CALENDAR = ZoneInfo("Asia/Shanghai")

INSPECTION_RESULTS = ("consistent", "discrepancy")


def recorded_on(timestamp: datetime) -> date:
    """The calendar day (Asia/Shanghai) on which an event was recorded."""
    return timestamp.astimezone(LEDGER_CALENDAR).date()


class AnswersOrders:
    """Mixed into the events that may meet a system's open correction orders (责令限期改正).

    The rule: an order stays open until the first event after it that answers it. A filing
    action on the system (the filing of a discovered system, a change, a cancellation) meets
    every open order on the day it was filed (the edge's "today" when it reached the ledger),
    whatever date a change took effect. An inspection with result "consistent" meets every open
    order made on or before the day inspected, on that day; a "discrepancy" meets nothing. An
    order met after its `due_on` was met late; one still open after it is overdue.
    """

    def mutate(self, aggregate: Any) -> Any:
        mutated = super().mutate(aggregate)  # type: ignore[misc]
        mutated.meet_orders(self)
        return mutated

    def meets_order_on(self, ordered_on: date) -> date | None:
        """The day this event meets an open order made on `ordered_on` (None: it does not).
        By default the event's `effective_on`, the filing day of a discovered system's filing."""
        return cast(date, cast(Any, self).effective_on)


class RecordsFilingDay:
    """Mixed into the events that carry `filed_on`, the day the act was filed (the edge's
    today), since their version 2; it is also the day they meet open correction orders."""

    filed_on: date

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 had no `filed_on`: it was the day recorded (Asia/Shanghai)."""
        state["filed_on"] = recorded_on(state["timestamp"])

    def meets_order_on(self, ordered_on: date) -> date | None:
        return self.filed_on


def correction_met_on(answer: Any, *, ordered_on: date) -> date | None:
    """The day `answer` (an event recorded while the order made on `ordered_on` was open) meets
    that order, or None: the rule of `AnswersOrders`, for views that fold events themselves."""
    return answer.meets_order_on(ordered_on) if isinstance(answer, AnswersOrders) else None


def keyed_device(key: str, data: Mapping[str, Any]) -> Device:
    return Device.from_dict({**data, "key": key})


@dataclass(frozen=True)
class PreparedFiling:
    """What a checked filing's event records besides its fields: the keyed devices (by their
    GB/T 28181 ID, else "D0001", ... in the order sent) and the Art. 8 warnings."""

    devices: list[Device]
    warnings: list[LocationWarning]


def prepare_filing(
    *,
    fields: Mapping[str, Any],
    devices: Sequence[Mapping[str, Any]],
    rules: FieldRules,
) -> PreparedFiling:
    """Checks a filing's fields and devices; returns the keyed devices and the warnings."""
    errors = system_field_errors(fields, rules) + device_errors(devices, rules)
    if not devices:
        errors.append(FieldError(("body", "devices"), "a system has at least one device"))
    if errors:
        raise ValidationFailed(errors)
    keyed = [
        keyed_device(d.get("device_id") or f"D{i:04d}", d) for i, d in enumerate(devices, start=1)
    ]
    return PreparedFiling(keyed, location_warnings(fields, devices, rules))


@dataclass(frozen=True)
class PreparedChange:
    """What a checked change records: only the values that differ, the keyed new devices."""

    changes: SystemFields
    devices_added: list[Device]
    devices_removed: list[str]
    warnings: list[LocationWarning]


def prepare_change(
    *,
    fields: Mapping[str, Any],
    devices: Mapping[str, Device],
    next_device_no: int,
    changes: Mapping[str, Any],
    devices_added: Sequence[Mapping[str, Any]],
    devices_removed: Sequence[str],
    rules: FieldRules,
) -> PreparedChange:
    """Checks a change against the system as filed (`fields`, `devices`)."""
    errors = change_errors(
        fields=fields,
        devices=devices,
        changes=changes,
        devices_added=devices_added,
        devices_removed=devices_removed,
        rules=rules,
    )
    if errors:
        raise ValidationFailed(errors)
    added = [
        keyed_device(data.get("device_id") or f"D{next_no:04d}", data)
        for next_no, data in enumerate(devices_added, start=next_device_no)
    ]
    effective = as_system_fields({k: v for k, v in changes.items() if fields.get(k) != v})
    if not effective and not added and not devices_removed:
        raise ValidationFailed(
            [FieldError(("body", "changes"), "nothing changes: every value is already filed")]
        )
    warnings = location_warnings(
        effective,
        devices_added,
        rules,
        loc=("body", "changes"),
        devices_loc=("body", "devices_added"),
    )
    return PreparedChange(effective, added, list(devices_removed), warnings)


def change_errors(
    *,
    fields: Mapping[str, Any],
    devices: Mapping[str, Device],
    changes: Mapping[str, Any],
    devices_added: Sequence[Mapping[str, Any]],
    devices_removed: Sequence[str],
    rules: FieldRules,
) -> list[FieldError]:
    """Every bad field of a change, reported at the keys the caller sent."""
    errors = [
        FieldError(("body", "changes", name), f"'{name}' cannot be changed")
        for name in changes
        if name not in CHANGEABLE_FIELDS
    ]
    merged = {**fields, **changes}
    # Re-check the fields as they will stand, reported at the keys the caller sent.
    for error in system_field_errors(merged, rules):
        name = error.loc[-1]
        if name in changes or (name == "place_type" and "place_category" in changes):
            errors.append(FieldError(("body", "changes", *error.loc[1:]), error.msg))
    errors += device_errors(devices_added, rules, loc=("body", "devices_added"))
    for index, key in enumerate(devices_removed):
        if key not in devices:
            errors.append(
                FieldError(("body", "devices_removed", index), f"no device '{key}' is filed")
            )
    for index, data in enumerate(devices_added):
        device_id = data.get("device_id")
        if device_id and device_id in devices and device_id not in devices_removed:
            errors.append(
                FieldError(("body", "devices_added", index, "device_id"), "already filed")
            )
    removed = {key for key in devices_removed if key in devices}
    remaining = len(devices) - len(removed) + len(devices_added)
    if remaining < 1:
        errors.append(FieldError(("body", "devices_removed"), "a system keeps one device"))
    return errors


def check_correction_order(*, due_on: date, today: date) -> None:
    if errors := correction_order_errors(due_on=due_on, today=today):
        raise ValidationFailed(errors)


def check_inspection(*, inspected_on: date, result: str, today: date) -> None:
    if errors := inspection_errors(inspected_on=inspected_on, result=result, today=today):
        raise ValidationFailed(errors)


def correction_order_errors(*, due_on: Any, today: date) -> list[FieldError]:
    """A correction order (责令限期改正) gives the unit time: it falls due after the day it is
    ordered."""
    if isinstance(due_on, date) and due_on <= today:
        return [FieldError(("body", "due_on"), f"must be after the day it is ordered ({today})")]
    return []


def inspection_errors(*, inspected_on: Any, result: Any, today: date) -> list[FieldError]:
    """An inspection is recorded after it happened, with one of the known results."""
    errors = []
    if isinstance(inspected_on, date) and inspected_on > today:
        errors.append(FieldError(("body", "inspected_on"), f"may not be after today ({today})"))
    if isinstance(result, str) and result not in INSPECTION_RESULTS:
        errors.append(
            FieldError(("body", "result"), f"must be one of {', '.join(INSPECTION_RESULTS)}")
        )
    return errors
