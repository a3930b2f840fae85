"""Renders systems, units and histories for the API, adding what the rules in force derive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import Any

from ledger import codes
from ledger.accounts import Account
from ledger.rules import Deadline, Rules, change_deadline, is_late, registration_deadline
from ledger.storage.crypto import ERASED
from ledger.systems import VideoSystem
from ledger.units import PERSONAL_FIELDS, Unit
from ledger.values import Role
from projections.duty_reads import ChangeDuty
from projections.event_items import describe, fields_after, reveal


def system_public(
    doc: dict[str, Any],
    rules: Rules,
    *,
    today: date,
    changes: Sequence[ChangeDuty] = (),
) -> dict[str, Any]:
    """The contract's system body from a stored document; `changes` are the duties of its
    changes (the document does not list them: see `change_duties_of` and
    projections/duty_reads.py)."""
    commissioned = date.fromisoformat(doc["commissioned_on"])
    deadline = registration_deadline(commissioned, rules)
    filed_on = date.fromisoformat(doc["filed_on"]) if doc.get("filed_on") else None
    late = is_late(deadline, filed_on) if filed_on else None
    return {
        **doc,
        "due_on": deadline.due_on,
        "due_provisional": deadline.provisional,
        "filed_late": late,
        "obligations": obligations(doc, deadline, changes, rules, today=today),
        "rules_version": rules.version,
    }


def _duty(
    kind: str,
    *,
    due_on: date,
    met_on: date | None,
    provisional: bool,
    rules: Rules,
    today: date,
) -> dict[str, Any]:
    """One obligation: `overdue` while unmet past its day; `late` when met after it, or
    unmet past it (it can no longer be met in time)."""
    return {
        "kind": kind,
        "due_on": due_on,
        "met_on": met_on,
        "overdue": met_on is None and today > due_on,
        "late": met_on > due_on if met_on is not None else today > due_on,
        "provisional": provisional,
        "rules_version": rules.version,
    }


def obligations(
    doc: dict[str, Any],
    registration: Deadline,
    changes: Sequence[ChangeDuty],
    rules: Rules,
    *,
    today: date,
) -> list[dict[str, Any]]:
    """Every duty the ledger tracks for the system, by the overdue view's rules: its
    registration, each change (in the order filed) and each correction order (in the order
    given). The same dates as the overdue lists: registration and change deadlines by
    `ledger.rules`, an order's due day as the officer set it and met by `correction_met_on`."""
    filed_on = date.fromisoformat(doc["filed_on"]) if doc.get("filed_on") else None
    duty = partial(_duty, rules=rules, today=today)
    items = [
        duty(
            "registration",
            due_on=registration.due_on,
            met_on=filed_on,
            provisional=registration.provisional,
        )
    ]
    for change in changes:
        item = duty(
            "change",
            due_on=change["due_on"],
            met_on=change["met_on"],
            provisional=change["provisional"],
        )
        items.append({**item, "seq": change["seq"]})
    for order in doc.get("correction_orders", []):
        met_on = date.fromisoformat(order["met_on"]) if order.get("met_on") else None
        due_on = date.fromisoformat(order["due_on"])
        item = duty("correction", due_on=due_on, met_on=met_on, provisional=False)
        items.append({**item, "order_id": order["order_id"]})
    return items


def change_duties_of(system: VideoSystem, rules: Rules) -> list[ChangeDuty]:
    """The duties of a system's changes from its own state (up to its version), as the
    overdue view computes them (projections/overdue.py): due by `change_deadline` of the day
    the change took effect, met the day it was filed."""
    duties = []
    for version, effective_on, filed_on in system.changes_filed:
        deadline = change_deadline(effective_on, rules)
        duties.append(
            ChangeDuty(
                seq=version,
                due_on=deadline.due_on,
                met_on=filed_on,
                provisional=deadline.provisional,
            )
        )
    return duties


def unit_public(unit: Unit, caller: Account) -> dict[str, Any]:
    """A unit as the contract shows it. Its contact and legal representative are opened
    (they are stored sealed since names and phones were), `ERASED` once erased; an auditor
    sees the phone masked."""
    personal = {
        field: ERASED if person in unit.erased_persons else reveal(getattr(unit, field), field)
        for person, fields in PERSONAL_FIELDS.items()
        for field in fields
    }
    phone = personal["contact_phone"]
    if caller.role is Role.AUDITOR and phone != ERASED:
        phone = codes.mask_phone(phone)
    return {
        "uscc": unit.uscc,
        "name": unit.name,
        "unit_type": str(unit.unit_type),
        "address": unit.address,
        "division_code": unit.division_code,
        "legal_representative": personal["legal_representative"],
        "contact_name": personal["contact_name"],
        "contact_phone": phone,
        "channel": str(unit.channel),
        "agent_count": len(unit.agents),
        "verification": str(unit.verification),
        "registered_at": unit.created_on.isoformat(),
    }


def history(events: list[Any], event_hash: Any) -> list[dict[str, Any]]:
    """Every event of one system, in order, with the diff of each change: the same items as
    the audit view's (projections/event_items.py), so the two never disagree."""
    items = []
    fields: dict[str, Any] = {}
    for event in events:
        items.append({**describe(event, fields), "hash": event_hash(event)})
        fields = fields_after(event, fields)
    return items
