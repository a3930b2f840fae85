"""Renders systems, units and histories for the API, adding what the rules in force derive."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger import codes
from ledger.accounts import Account
from ledger.rules import Rules, is_late, registration_deadline
from ledger.units import Unit
from ledger.values import Role
from projections.event_items import describe, fields_after


def system_public(doc: dict[str, Any], rules: Rules, *, today: date) -> dict[str, Any]:
    """The contract's system body from a stored document."""
    commissioned = date.fromisoformat(doc["commissioned_on"])
    deadline = registration_deadline(commissioned, rules)
    filed_on = date.fromisoformat(doc["filed_on"]) if doc.get("filed_on") else None
    late = is_late(deadline, filed_on) if filed_on else None
    registration = {
        "kind": "registration",
        "due_on": deadline.due_on,
        "met_on": filed_on,
        "overdue": filed_on is None and today > deadline.due_on,
        "late": bool(late) if filed_on else today > deadline.due_on,
        "provisional": deadline.provisional,
        "rules_version": rules.version,
    }
    return {
        **doc,
        "due_on": deadline.due_on,
        "due_provisional": deadline.provisional,
        "filed_late": late,
        "obligations": [registration],
        "rules_version": rules.version,
    }


def unit_public(unit: Unit, caller: Account) -> dict[str, Any]:
    phone = unit.contact_phone
    if caller.role is Role.AUDITOR:
        phone = codes.mask_phone(phone)
    return {
        "uscc": unit.uscc,
        "name": unit.name,
        "unit_type": str(unit.unit_type),
        "address": unit.address,
        "division_code": unit.division_code,
        "legal_representative": unit.legal_representative,
        "contact_name": unit.contact_name,
        "contact_phone": phone,
        "channel": str(unit.channel),
        "agent_count": len(unit.agents),
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
