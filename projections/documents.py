"""A system's public state as a JSON document, folded from its events.

The status view stores these; the API renders the same shape from the aggregate itself (see
`system_document`), so a list item and a single read never disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledger.systems import VideoSystem
from ledger.values import Device


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
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
    else:
        return base
    base["version"] = event.originator_version
    base["recorded_at"] = event.timestamp.isoformat()
    return base
