"""The one reading of a stored event: topic, class version and state bytes in, a typed fact out.

A stored state is the JSON the application's `JSONTranscoder` wrote (decrypted and
decompressed first if the mapper has a cipher or a compressor). Each `{"_type_", "_data_"}`
value in it is decoded by the application's own transcoding (ledger/storage/transcodings.py).

- An event of its class's current version (all but a few) is read in one walk over the parsed
  JSON: the members in `TYPED` decoded, every other value decoded and made JSON-ready at once,
  and a device row already in the shape `Device.as_dict` writes taken as it is (what
  `Device.from_dict(row).as_dict()` gives back).
- An older version is decoded whole, as the library's mapper decodes it, upcast by the event
  class's own `upcast_vN_vM` methods, then made JSON-ready.

Both give the same fact (tests/integration/test_reading_facts.py), which is also what
`fact_of_event` gives for a domain event the library decoded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, cast, overload
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification, Transcoding
from eventsourcing.utils import resolve_topic

from ledger.accounts import Account
from ledger.systems import VideoSystem
from ledger.units import Unit
from ledger.values import DeviceType
from projections.reading import facts as f
from projections.reading.facts import TYPED, DeviceRow, Fact

_SCALARS = frozenset({str, int, float, bool, type(None)})
_IDS = ("originator_id", "originator_version")
_DEVICE = "device"
_DEVICE_KEYS = frozenset(DeviceRow.__annotations__)
_DEVICE_TYPES = frozenset(str(t) for t in DeviceType)


@lru_cache(maxsize=256)
def event_class(topic: str) -> type[Any]:
    """The domain event class a stored topic names."""
    cls: type[Any] = resolve_topic(topic)
    return cls


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: dates ISO 8601, UUIDs and enums strings, value objects dicts."""
    # Exact types first: the general checks below (an ABC's isinstance above all) cost more
    # than the copy itself, and a rebuild calls this for every value of every event.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {str(k): v if type(v) in _SCALARS else jsonable(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return jsonable(value.as_dict())
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return str(value)  # a StrEnum becomes its plain value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class Reader:
    """Reads the stored events of one application (its mapper: transcodings, cipher,
    compressor)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        transcoder = mapper.transcoder
        if not isinstance(transcoder, JSONTranscoder):
            raise TypeError("the views read the JSON of the application's JSONTranscoder")
        self.names: Mapping[str, Transcoding] = transcoder.names
        self._cipher = mapper.cipher
        self._compressor = mapper.compressor

    def read(self, notification: Notification) -> Fact:
        """The fact of one stored event (a notification of the log)."""
        state = bytes(notification.state)
        if self._cipher is not None:
            state = self._cipher.decrypt(state)
        if self._compressor is not None:
            state = self._compressor.decompress(state)
        return self.read_state(
            position=notification.id,
            originator_id=_uuid(notification.originator_id),
            originator_version=notification.originator_version,
            topic=notification.topic,
            state=orjson.loads(state),
        )

    def read_state(
        self,
        *,
        position: int,
        originator_id: UUID,
        originator_version: int,
        topic: str,
        state: dict[str, Any],
    ) -> Fact:
        """The fact of a stored state already parsed (its JSON object; consumed)."""
        cls = event_class(topic)
        version = state.pop("class_version", 1)
        current = getattr(cls, "class_version", 1)
        if version == current:
            members = {
                k: self.decoded(v) if k in TYPED else self.plain(v) for k, v in state.items()
            }
        else:
            decoded = {k: self.decoded(v) for k, v in state.items()}
            decoded.update(originator_id=originator_id, originator_version=originator_version)
            while version < current:  # the library's own mechanism, as its mapper applies it
                getattr(cls, f"upcast_v{version}_v{version + 1}")(decoded)
                version += 1
            members = made_plain(decoded)
        return build(cls, position, originator_id, originator_version, members)

    # --- values -----------------------------------------------------------------------------
    def decoded(self, value: Any) -> Any:
        """What the application's JSON transcoder decodes the parsed JSON `value` to."""
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is list:
            return [self.decoded(v) for v in value]
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            data = value["_data_"]  # decoded inside out, as the transcoder's object hook does
            data = data if type(data) in _SCALARS else self.decoded(data)
            return self.names[value["_type_"]].decode(data)
        return {k: v if type(v) in _SCALARS else self.decoded(v) for k, v in value.items()}

    def plain(self, value: Any) -> Any:
        """`jsonable(self.decoded(value))`, in one walk."""
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is list:
            return [v if type(v) in _SCALARS else self.plain(v) for v in value]
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            if value["_type_"] == _DEVICE:
                return self.device(value)
            return jsonable(self.decoded(value))
        return {k: v if type(v) in _SCALARS else self.plain(v) for k, v in value.items()}

    def device(self, value: Mapping[str, Any]) -> DeviceRow:
        """The row of a stored device value (`Device.as_dict` of what it decodes to)."""
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
            # What from_dict(row).as_dict() gives; the parsed state is the reader's own to hand on.
            return row  # type: ignore[return-value]
        plain: DeviceRow = jsonable(self.decoded(value))
        return plain


def made_plain(decoded: Mapping[str, Any]) -> dict[str, Any]:
    """The members of a decoded event state, as a fact holds them (ids left out)."""
    return {k: v if k in TYPED else jsonable(v) for k, v in decoded.items() if k not in _IDS}


def fact_of_event(event: Any) -> Fact:
    """The fact of a domain event the library decoded (an aggregate's, for the API's
    history): the same fact its stored form reads as, at log position 0."""
    if isinstance(event, Fact):
        return event
    return build(
        type(event),
        0,
        _uuid(event.originator_id),
        event.originator_version,
        made_plain(vars(event)),
    )


# --- the kinds --------------------------------------------------------------------------------


def build(
    cls: type[Any],
    position: int,
    originator_id: UUID,
    originator_version: int,
    state: dict[str, Any],
) -> Fact:
    """The fact of kind `cls` with these members."""
    common = {
        "position": position,
        "originator_id": originator_id,
        "originator_version": originator_version,
        "kind": cls,
        "timestamp": state["timestamp"],
        "actor": state.get("actor"),
        "channel": state.get("channel"),
        "effective_on": state.get("effective_on"),
        "state": state,
    }
    maker = _maker(cast(Hashable, cls))
    return Fact(**common) if maker is None else maker(common, state)


def _system(key: str) -> Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]]:
    def fields(common: dict[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
        values = state[key]
        commissioned = values.get("commissioned_on")
        return {
            **common,
            "fields": values,
            "commissioned_on": None if commissioned is None else date.fromisoformat(commissioned),
        }

    return fields


_filing, _facts, _changes = _system("filing"), _system("facts"), _system("changes")


def _filed(common: dict[str, Any], s: Mapping[str, Any]) -> Fact:
    return f.SystemFiled(
        **_filing(common, s), devices=tuple(s["devices"]), warnings=tuple(s["warnings"])
    )


def _changed(common: dict[str, Any], s: Mapping[str, Any]) -> Fact:
    return f.SystemChanged(
        **_changes(common, s),
        reason=s["reason"],
        devices_added=tuple(s["devices_added"]),
        devices_removed=tuple(s["devices_removed"]),
        warnings=tuple(s["warnings"]),
        filed_on=s["filed_on"],
    )


_MAKERS: dict[type[Any], Callable[[dict[str, Any], Mapping[str, Any]], Fact]] = {
    VideoSystem.Filed: _filed,
    VideoSystem.DiscoveredFiled: _filed,
    VideoSystem.Discovered: lambda c, s: f.SystemDiscovered(**_facts(c, s), note=s["note"]),
    VideoSystem.Changed: _changed,
    VideoSystem.Moved: lambda c, s: f.SystemMoved(**_changes(c, s), reason=s["reason"]),
    VideoSystem.Cancelled: lambda c, s: f.SystemCancelled(
        **c, reason=s["reason"], filed_on=s["filed_on"]
    ),
    VideoSystem.CorrectionOrdered: lambda c, s: f.CorrectionOrdered(
        **c, order_id=s["order_id"], reason=s["reason"], due_on=s["due_on"]
    ),
    VideoSystem.Inspected: lambda c, s: f.SystemInspected(
        **c, inspection_id=s["inspection_id"], result=s["result"], note=s["note"]
    ),
    Unit.Registered: lambda c, s: f.UnitRegistered(
        **c,
        uscc=s["uscc"],
        name=s["name"],
        division_code=s["division_code"],
        verification=s["verification"],
    ),
    Unit.VerificationDecided: lambda c, s: f.VerificationDecided(**c, decision=s["decision"]),
    Unit.PersonErased: lambda c, s: f.PersonErased(**c, person=s["person"]),
    Account.Opened: lambda c, s: f.AccountOpened(**c, role=s["role"], name=s["name"]),
}


@lru_cache(maxsize=256)
def _maker(cls: Hashable) -> Callable[[dict[str, Any], Mapping[str, Any]], Fact] | None:
    for base in cast(type[Any], cls).__mro__:
        if base in _MAKERS:
            return _MAKERS[base]
    return None


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def recorded_at(fact: Fact) -> datetime:
    """When the event was recorded, in UTC."""
    return fact.timestamp.astimezone(UTC)


def snake_name(cls: type[Any]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


class Facts(Sequence[Fact]):
    """The facts of a page of notifications, each read the first time a view asks for it
    (a view picks the kinds it folds by `event_class` of their topics first)."""

    def __init__(self, notifications: Sequence[Notification], mapper: Mapper[Any]) -> None:
        self._notifications = notifications
        self._read = Reader(mapper).read
        self._facts: dict[int, Fact] = {}

    def __len__(self) -> int:
        return len(self._notifications)

    @overload
    def __getitem__(self, index: int) -> Fact: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Fact]: ...
    def __getitem__(self, index: int | slice) -> Fact | Sequence[Fact]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        try:
            return self._facts[index]
        except KeyError:
            fact = self._facts[index] = self._read(self._notifications[index])
            return fact
