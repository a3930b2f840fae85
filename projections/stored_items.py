"""The audit item of a common system event, read straight from its stored JSON.

Decoding an event (a JSON parse with a hook per object, a Device and its enums per row) and
then copying it back into JSON-ready values was most of an audit rebuild. For a system's
filing, discovery or change `describe_stored` computes exactly what `describe` and
`fields_after` (projections/event_items.py) compute from the decoded event: each
`{"_type_", "_data_"}` value is decoded by the application's own transcoding and made JSON-ready
by `jsonable`, and a device row already in the shape `Device.as_dict` writes is taken as it is.
Anything else (an older class version to upcast, a shape not seen here) returns None, and the
caller describes the decoded event instead. tests/integration/test_rebuild_fast_paths.py
compares both ways on a log with every kind of event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Transcoding

from ledger.systems import VideoSystem
from projections.documents import Unusual, stored_device
from projections.event_items import _NOT_DATA, TYPES, event_actor, jsonable, masked

# The event classes read from their stored JSON, each with the member that holds the fields it
# files ("" for the police's events and a cancellation, which file none).
_FAST_EVENTS: dict[type[Any], str] = {
    VideoSystem.Filed: "filing",
    VideoSystem.DiscoveredFiled: "filing",
    VideoSystem.Discovered: "facts",
    VideoSystem.Changed: "changes",
    VideoSystem.Inspected: "",
    VideoSystem.CorrectionOrdered: "",
    VideoSystem.Cancelled: "",
}
_PLAIN = frozenset({str, int, float, bool, type(None)})
# Set by the mapper from the notification, or taken off the state by it: never event data.
_NOT_STATE = _NOT_DATA | {"class_version"}


@dataclass(frozen=True)
class StoredItem:
    item: dict[str, Any]  # what `describe(event, fields)` returns
    fields: dict[str, Any]  # what `fields_after(event, fields)` returns
    recorded_at: datetime  # `recorded_at(event)`
    effective_on: date | None  # `event.effective_on`


def describe_stored(
    fields: Mapping[str, Any],
    *,
    cls: type[Any],
    originator_id: UUID,
    originator_version: int,
    state: Mapping[str, Any],
    names: Mapping[str, Transcoding],
) -> StoredItem | None:
    """The item of the event stored as `state` (its parsed JSON, neither compressed nor
    encrypted) under transcodings `names`, given the system's fields before it; None when only
    the decoded event will do."""
    what = _FAST_EVENTS.get(cls)
    if what is None or state.get("class_version", 1) != getattr(cls, "class_version", 1):
        return None
    try:
        return _describe(fields, cls, what, originator_version, state, names)
    except (Unusual, AttributeError, KeyError, TypeError, ValueError):
        return None


def _decoded(value: Any, names: Mapping[str, Transcoding]) -> Any:
    """The value a transcoding decodes `{"_type_", "_data_"}` with plain data to."""
    if type(value) is not dict or len(value) != 2 or "_data_" not in value:
        raise Unusual(value)
    if type(value["_data_"]) not in _PLAIN:
        raise Unusual(value)
    return names[value["_type_"]].decode(value["_data_"])


def _jsonable(value: Any, names: Mapping[str, Transcoding]) -> Any:
    """`jsonable` of what the transcoder decodes `value` (parsed stored JSON) to."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [_jsonable(v, names) for v in value]
    if kind is not dict:
        raise Unusual(kind)
    if len(value) == 2 and "_type_" in value and "_data_" in value:
        if value["_type_"] == "device":
            return stored_device(value, names)  # jsonable(device) == its plain as_dict()
        return jsonable(_decoded(value, names))
    return {str(k): _jsonable(v, names) for k, v in value.items()}


def _describe(
    fields: Mapping[str, Any],
    cls: type[Any],
    what: str,
    originator_version: int,
    state: Mapping[str, Any],
    names: Mapping[str, Transcoding],
) -> StoredItem:
    timestamp = _decoded(state["timestamp"], names)
    effective_on = _decoded(state["effective_on"], names)
    actor_value = state["actor"]
    if type(actor_value) is not dict or len(actor_value) != 2:
        raise Unusual("actor")
    actor_data = actor_value["_data_"]
    if type(actor_data) is not dict or any(type(v) not in _PLAIN for v in actor_data.values()):
        raise Unusual("actor")
    actor = event_actor(SimpleNamespace(actor=names[actor_value["_type_"]].decode(actor_data)))
    channel = state["channel"]
    if not isinstance(timestamp, datetime) or not isinstance(effective_on, date):
        raise Unusual("timestamp")
    if type(channel) is not str:
        raise Unusual("channel")
    data = {k: masked(_jsonable(v, names), k) for k, v in state.items() if k not in _NOT_STATE}
    values = _jsonable(state[what], names) if what else {}
    if type(values) is not dict:
        raise Unusual(what)
    diff: dict[str, Any] | None = None
    if cls is VideoSystem.Changed:
        diff = {
            name: {"old": jsonable(fields.get(name)), "new": value}
            for name, value in values.items()
        }
        added = [stored_device(d, names)["key"] for d in state["devices_added"]]
        removed = list(state["devices_removed"])
        if any(type(key) is not str for key in removed):
            raise Unusual("devices_removed")
        if added or removed:
            diff["devices"] = {"old": None, "new": None, "added": added, "removed": removed}
        diff = masked(diff)
    recorded_at = timestamp.astimezone(UTC)
    item = {
        "seq": originator_version,
        "type": TYPES[cls],
        "recorded_at": recorded_at.isoformat(),
        "effective_on": effective_on.isoformat(),
        "actor": {k: actor[k] for k in ("account_id", "role", "name")},
        "on_behalf_of": actor["on_behalf_of"],
        "channel": str(channel),
        "data": data,
        "diff": diff,
    }
    return StoredItem(
        item=item,
        fields={**fields, **values},
        recorded_at=recorded_at,
        effective_on=effective_on,
    )
