"""A system's public state as a JSON document, folded from its events.

The status view stores these; the API renders the same shape from the aggregate itself (see
`system_document`), so a list item and a single read never disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledger.system_checks import correction_met_on
from ledger.systems import VideoSystem
from ledger.values import Device

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


def _filing(doc: dict[str, Any], event: Any) -> dict[str, Any]:
    filing = _plain(dict(event.filing))
    devices: list[Device] = list(event.devices)
    return {
        **doc,
        **filing,
        "status": "filed",
        "channel": str(event.channel),
        "filed_at": event.timestamp.isoformat(),
        "filed_on": event.effective_on.isoformat(),
        "devices": [_plain(d.as_dict()) for d in devices],
        "camera_count": len(devices),
        "warnings": _plain(list(event.warnings)),
    }


def _meet_orders(doc: dict[str, Any], event: Any) -> dict[str, Any]:
    """The open correction orders `event` meets, by the ledger's rule (`correction_met_on`)."""
    orders = []
    for order in doc.get("correction_orders", []):
        if order["met_on"] is None:
            met_on = correction_met_on(event, ordered_on=date.fromisoformat(order["ordered_on"]))
            order = {**order, "met_on": _plain(met_on)}
        orders.append(order)
    open_orders = sum(1 for order in orders if order["met_on"] is None)
    return {**doc, "correction_orders": orders, "open_correction_orders": open_orders}


def fold(doc: dict[str, Any] | None, event: Any) -> dict[str, Any]:
    """The document after `event` (None before the system's first event)."""
    base = doc or {
        "system_id": str(event.originator_id),
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
    if isinstance(event, VideoSystem.Filed | VideoSystem.DiscoveredFiled):
        base = _filing(base, event)
    elif isinstance(event, VideoSystem.Discovered):
        base = {**base, **_plain(dict(event.facts)), "discovered": True}
    elif isinstance(event, VideoSystem.Changed):
        removed = set(event.devices_removed)
        devices = [d for d in base["devices"] if d["key"] not in removed]
        devices += [_plain(d.as_dict()) for d in event.devices_added]
        base = {
            **base,
            **_plain(dict(event.changes)),
            "devices": devices,
            "camera_count": len(devices),
            "warnings": base["warnings"] + _plain(list(event.warnings)),
        }
    elif isinstance(event, VideoSystem.Cancelled):
        base = {**base, "status": "cancelled", "cancelled_on": event.effective_on.isoformat()}
    elif isinstance(event, VideoSystem.CorrectionOrdered):
        order = {
            "order_id": event.order_id,
            "due_on": event.due_on.isoformat(),
            "reason": event.reason,
            "ordered_on": event.effective_on.isoformat(),
            "met_on": None,
        }
        base = {**base, "correction_orders": [*base.get("correction_orders", []), order]}
    elif isinstance(event, VideoSystem.Inspected):
        last = base.get("last_inspection")
        if last is None or event.effective_on >= date.fromisoformat(last["on"]):
            last = {"on": event.effective_on.isoformat(), "result": event.result}
        base = {**base, "last_inspection": last}
    else:
        return base
    base = _meet_orders(base, event)
    base["version"] = event.originator_version
    base["recorded_at"] = event.timestamp.isoformat()
    return base
