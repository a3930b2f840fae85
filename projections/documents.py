"""A system's public state as a JSON document, folded from its events.

The status view stores these; the API renders the same shape from the aggregate itself (see
`system_document`), so a list item and a single read never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Transcoding

from ledger.system_checks import correction_met_on
from ledger.systems import VideoSystem
from ledger.values import Device, DeviceType

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


def fold(doc: dict[str, Any] | None, event: Any) -> dict[str, Any]:
    """The document after `event` (None before the system's first event)."""
    base = doc or _first_document(event.originator_id)
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
    elif isinstance(event, VideoSystem.Moved):
        base = {**base, **_plain(dict(event.changes))}
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


# --- folding the stored JSON ------------------------------------------------------------------
#
# Decoding a filing (a JSON parse with a hook per object, a Device and its enum per row) and
# copying it back into plain JSON was most of a status rebuild. `fold_stored` computes what
# `fold` computes for the common events straight from the stored JSON: each `{"_type_",
# "_data_"}` value is decoded by the application's own transcoding and made plain as `fold`
# makes it, and a device row already in the shape `Device.as_dict` writes is taken as it is.
# Anything else (an older class version to upcast, an open correction order to test, a shape
# not seen here) returns None, and the caller folds the decoded event instead.

_FAST_EVENTS: dict[type[Any], str] = {
    VideoSystem.Filed: "filing",
    VideoSystem.DiscoveredFiled: "filing",
    VideoSystem.Discovered: "facts",
    VideoSystem.Changed: "changes",
}
_DEVICE_KEYS = frozenset(
    Device(
        key="", name="", address="", device_type=next(iter(DeviceType)), indoor=False,
        face_capture=False, storage_days=0,
    ).as_dict()
)  # fmt: skip
_DEVICE_TYPES = frozenset(str(t) for t in DeviceType)
_DEVICE_TRANSCODING = "device"


class Unusual(Exception):
    """The stored JSON holds something the shortcut does not handle."""


def _stored_plain(value: Any, names: Mapping[str, Transcoding]) -> Any:
    """`_plain` of what the transcoder decodes `value` (parsed stored JSON) to."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_stored_plain(v, names) for v in value]
    if kind is not dict:
        raise Unusual(kind)
    if len(value) == 2 and "_type_" in value and "_data_" in value:
        data = value["_data_"]
        if type(data) not in _SCALARS or value["_type_"] not in names:
            raise Unusual(value["_type_"])
        return _plain(names[value["_type_"]].decode(data))
    return {k: _stored_plain(v, names) for k, v in value.items()}


def stored_device(value: Any, names: Mapping[str, Transcoding]) -> dict[str, Any]:
    """`_plain(device.as_dict())` of a stored device value."""
    if type(value) is not dict or value.get("_type_") != _DEVICE_TRANSCODING or len(value) != 2:
        raise Unusual("not a device")
    row = value["_data_"]
    if (
        type(row) is dict
        and row.keys() == _DEVICE_KEYS
        and type(row["indoor"]) is bool
        and type(row["face_capture"]) is bool
        and type(row["storage_days"]) is int
        and row["device_type"] in _DEVICE_TYPES
        and _SCALARS.issuperset(map(type, row.values()))
    ):
        return dict(row)  # what Device.from_dict(row).as_dict() gives back
    transcoding = names.get(_DEVICE_TRANSCODING)
    if transcoding is None or type(row) is not dict:
        raise Unusual("device")
    device = transcoding.decode(_stored_plain(row, names))
    if not isinstance(device, Device):
        raise Unusual("device")
    plain: dict[str, Any] = _plain(device.as_dict())
    return plain


def fold_stored(
    doc: dict[str, Any] | None,
    *,
    cls: type[Any],
    originator_id: UUID,
    originator_version: int,
    state: Mapping[str, Any],
    names: Mapping[str, Transcoding],
) -> dict[str, Any] | None:
    """`fold(doc, event)` for the event stored as `state` (its parsed JSON, neither compressed
    nor encrypted) under transcodings `names`; None when only the decoded event will do."""
    what = _FAST_EVENTS.get(cls)
    if what is None or state.get("class_version", 1) != getattr(cls, "class_version", 1):
        return None
    try:
        if doc is not None and any(o["met_on"] is None for o in doc["correction_orders"]):
            return None  # whether the event meets an order is the ledger's rule, on the event
        return _fold_stored(doc, cls, what, originator_id, originator_version, state, names)
    except (Unusual, AttributeError, KeyError, TypeError, ValueError):
        return None


def _fold_stored(
    doc: dict[str, Any] | None,
    cls: type[Any],
    what: str,
    originator_id: UUID,
    originator_version: int,
    state: Mapping[str, Any],
    names: Mapping[str, Transcoding],
) -> dict[str, Any]:
    base = doc or _first_document(originator_id)
    recorded_at = _stored_plain(state["timestamp"], names)
    values = state[what]
    if type(values) is not dict:
        raise Unusual(what)
    plain = _stored_plain(values, names)
    if cls is VideoSystem.Discovered:
        base = {**base, **plain, "discovered": True}
    elif cls is VideoSystem.Changed:
        removed = set(_stored_plain(state["devices_removed"], names))
        devices = [d for d in base["devices"] if d["key"] not in removed]
        devices += [stored_device(d, names) for d in state["devices_added"]]
        base = {
            **base,
            **plain,
            "devices": devices,
            "camera_count": len(devices),
            "warnings": base["warnings"] + list(_stored_plain(state["warnings"], names)),
        }
    else:  # Filed, DiscoveredFiled
        channel = state["channel"]
        if type(channel) is not str:
            raise Unusual("channel")
        devices = [stored_device(d, names) for d in state["devices"]]
        base = {
            **base,
            **plain,
            "status": "filed",
            "channel": channel,
            "filed_at": recorded_at,
            "filed_on": _stored_plain(state["effective_on"], names),
            "devices": devices,
            "camera_count": len(devices),
            "warnings": list(_stored_plain(state["warnings"], names)),
        }
    base = _meet_orders(base, None)  # no open order: nothing for the event to meet
    base["version"] = originator_version
    base["recorded_at"] = recorded_at
    return base
