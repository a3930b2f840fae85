"""Renders systems, units and histories for the API, adding what the rules in force derive."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger import codes
from ledger.accounts import Account
from ledger.rules import Rules, is_late, registration_deadline
from ledger.systems import VideoSystem
from ledger.units import Unit
from ledger.values import Role

EVENT_TYPES = {
    "Filed": "filed",
    "DiscoveredFiled": "filed",
    "Discovered": "discovered",
    "Changed": "changed",
    "Cancelled": "cancelled",
    "CorrectionOrdered": "correction_ordered",
    "Inspected": "inspected",
}


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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return _jsonable(value.as_dict())
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value) if not hasattr(value, "isoformat") else value.isoformat()


def history(events: list[Any], event_hash: Any) -> list[dict[str, Any]]:
    """Every event of one system, in order, with the diff of each change."""
    items = []
    state: dict[str, Any] = {}
    for event in events:
        kind = type(event).__name__
        data = {
            k: _jsonable(v)
            for k, v in event.__dict__.items()
            if k
            not in {
                "originator_id",
                "originator_version",
                "timestamp",
                "originator_topic",
                "actor",
                "channel",
                "effective_on",
                "request_digest",
            }
        }
        diff = None
        if isinstance(event, VideoSystem.Changed):
            diff = {
                name: {"old": _jsonable(state.get(name)), "new": _jsonable(value)}
                for name, value in event.changes.items()
            }
            if event.devices_added or event.devices_removed:
                diff["devices"] = {
                    "old": None,
                    "new": None,
                    "added": [d.key for d in event.devices_added],
                    "removed": list(event.devices_removed),
                }
            state.update(event.changes)
        elif isinstance(event, VideoSystem.Filed | VideoSystem.DiscoveredFiled):
            state.update(event.filing)
        elif isinstance(event, VideoSystem.Discovered):
            state.update(event.facts)
        actor = event.actor
        items.append(
            {
                "seq": event.originator_version,
                "type": EVENT_TYPES.get(kind, kind),
                "recorded_at": event.timestamp.isoformat(),
                "effective_on": event.effective_on,
                "actor": {
                    "account_id": actor.account_id,
                    "role": str(actor.role),
                    "name": actor.name,
                },
                "on_behalf_of": actor.on_behalf_of,
                "channel": str(event.channel),
                "data": data,
                "diff": diff,
                "hash": event_hash(event),
            }
        )
    return items
