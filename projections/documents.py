"""A system's public state as a JSON document, folded from its events.

The status view stores these; the API renders the same shape from the aggregate itself (see
`system_document`), so a list item and a single read never disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledger.systems import VideoSystem
from projections.reading import Fact, fact_of_event
from projections.reading.facts import (
    CorrectionOrdered,
    SystemCancelled,
    SystemChanged,
    SystemDiscovered,
    SystemFiled,
    SystemInspected,
    SystemMoved,
)

_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:  # most values; the checks below cost more than they do
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if hasattr(value, "hex") and type(value).__name__ == "UUID":
        return str(value)
    return value


def system_document(system: VideoSystem) -> dict[str, Any]:
    """The stored state of a system (rules-derived fields such as due dates are added on read)."""
    fields = _plain(system.fields)
    return {
        **fields,
        "system_id": str(system.id),
        "filing_number": system.filing_number,
        "status": str(system.status),
        "channel": str(system.channel) if system.channel else None,
        "filed_at": _plain(system.filed_at),
        "filed_on": _plain(system.filed_on),
        "cancelled_on": _plain(system.cancelled_on),
        "camera_count": system.camera_count,
        "devices": [_plain(d.as_dict()) for d in system.devices.values()],
        "warnings": _plain(system.warnings),
        "version": system.version,
        "recorded_at": system.modified_on.isoformat(),
        "discovered": system.discovered_by is not None,
        "correction_orders": [
            {"order_id": order_id, **_plain(order)}
            for order_id, order in system.correction_orders.items()
        ],
        "open_correction_orders": system.open_correction_orders,
        "last_inspection": _plain(system.last_inspection),
    }


def _filing(doc: dict[str, Any], fact: SystemFiled) -> dict[str, Any]:
    assert fact.effective_on is not None
    return {
        **doc,
        **fact.fields,
        "status": "filed",
        "channel": fact.channel,
        "filed_at": fact.timestamp.isoformat(),
        "filed_on": fact.effective_on.isoformat(),
        "devices": list(fact.devices),
        "camera_count": len(fact.devices),
        "warnings": list(fact.warnings),
    }


def _meet_orders(doc: dict[str, Any], fact: Fact) -> dict[str, Any]:
    """The open correction orders the event meets, by the ledger's rule."""
    orders = []
    for order in doc.get("correction_orders", []):
        if order["met_on"] is None:
            met_on = fact.meets_order_on(date.fromisoformat(order["ordered_on"]))
            order = {**order, "met_on": _plain(met_on)}
        orders.append(order)
    open_orders = sum(1 for order in orders if order["met_on"] is None)
    return {**doc, "correction_orders": orders, "open_correction_orders": open_orders}


def _first_document(system_id: Any) -> dict[str, Any]:
    """A system's document before its first event."""
    return {
        "system_id": str(system_id),
        "filing_number": None,
        "status": "unfiled",
        "channel": None,
        "filed_at": None,
        "filed_on": None,
        "cancelled_on": None,
        "camera_count": 0,
        "devices": [],
        "warnings": [],
        "discovered": False,
        "correction_orders": [],
        "open_correction_orders": 0,
        "last_inspection": None,
    }


def fold(doc: dict[str, Any] | None, event: Fact | Any) -> dict[str, Any]:
    """The document after an event (its fact, or the domain event itself) given the one
    before it (None before the system's first event)."""
    fact = fact_of_event(event)
    base = doc or _first_document(fact.originator_id)
    if isinstance(fact, SystemFiled):
        base = _filing(base, fact)
    elif isinstance(fact, SystemDiscovered):
        base = {**base, **fact.fields, "discovered": True}
    elif isinstance(fact, SystemChanged):
        removed = set(fact.devices_removed)
        devices = [d for d in base["devices"] if d["key"] not in removed]
        devices += list(fact.devices_added)
        base = {
            **base,
            **fact.fields,
            "devices": devices,
            "camera_count": len(devices),
            "warnings": base["warnings"] + list(fact.warnings),
        }
    elif isinstance(fact, SystemMoved):
        base = {**base, **fact.fields}
    elif isinstance(fact, SystemCancelled):
        assert fact.effective_on is not None
        base = {**base, "status": "cancelled", "cancelled_on": fact.effective_on.isoformat()}
    elif isinstance(fact, CorrectionOrdered):
        assert fact.effective_on is not None
        order = {
            "order_id": fact.order_id,
            "due_on": fact.due_on.isoformat(),
            "reason": fact.reason,
            "ordered_on": fact.effective_on.isoformat(),
            "met_on": None,
        }
        base = {**base, "correction_orders": [*base.get("correction_orders", []), order]}
    elif isinstance(fact, SystemInspected):
        assert fact.effective_on is not None
        last = base.get("last_inspection")
        if last is None or fact.effective_on >= date.fromisoformat(last["on"]):
            last = {"on": fact.effective_on.isoformat(), "result": fact.result}
        base = {**base, "last_inspection": last}
    else:
        return base
    base = _meet_orders(base, fact)
    base["version"] = fact.originator_version
    base["recorded_at"] = fact.timestamp.isoformat()
    return base
