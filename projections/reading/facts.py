"""The facts a stored event states, typed per kind of event: what every view folds.

`projections.reading.reader` makes them, and nothing else reads a stored event for a view. A
fact's `state` holds every member of the event (after upcasting to the current class version)
in the order stored: the members named in `TYPED` as the application's transcodings decode
them (a date, a datetime, an `Actor`), every other one JSON-ready (dates ISO 8601, UUIDs as
text, a device as the row `Device.as_dict` writes). Sealed personal values (`enc:v2:...`) are
left sealed: the views open or mask them as they show them. The typed attributes of each kind
are the same values, named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict
from uuid import UUID

from ledger.system_checks import AnswersOrders
from ledger.values import Actor

# The members kept as decoded values (typed attributes of the facts); the others are JSON-ready.
TYPED = frozenset(
    {"timestamp", "actor", "effective_on", "filed_on", "due_on", "content", "expires_at"}
)


class DeviceRow(TypedDict):
    """One device, as `Device.as_dict` writes it."""

    key: str
    device_id: str | None
    name: str
    address: str
    longitude: float | None
    latitude: float | None
    device_type: str
    indoor: bool
    face_capture: bool
    storage_days: int


@dataclass(frozen=True, slots=True)
class Fact:
    """What every event states: whose, which version, where in the log, when, by whom."""

    position: int  # its log position (0 for an event read from an aggregate, not the log)
    originator_id: UUID
    originator_version: int
    kind: type[Any]  # the event class its topic names
    timestamp: datetime
    actor: Actor | None
    channel: str | None
    effective_on: date | None
    state: Mapping[str, Any]  # every member but the ids, in stored order (see the module)

    def meets_order_on(self, ordered_on: date) -> date | None:
        """The day this event meets a correction order made on `ordered_on`, by the ledger's
        own rule (`AnswersOrders.meets_order_on` of its class); None if it answers none."""
        if not issubclass(self.kind, AnswersOrders):
            return None
        rule: Any = self.kind.meets_order_on  # reads only the members this fact has
        met: date | None = rule(self, ordered_on)
        return met


@dataclass(frozen=True, slots=True)
class SystemFact(Fact):
    """A system's event that sets some of its filed fields (`fields`, JSON-ready)."""

    fields: Mapping[str, Any]
    commissioned_on: date | None  # `fields["commissioned_on"]` decoded, when it is there


@dataclass(frozen=True, slots=True)
class SystemFiled(SystemFact):
    """`VideoSystem.Filed` or `DiscoveredFiled`: `fields` is the filing."""

    devices: tuple[DeviceRow, ...]
    warnings: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class SystemDiscovered(SystemFact):
    """`VideoSystem.Discovered`: `fields` are the facts found."""

    note: str


@dataclass(frozen=True, slots=True)
class SystemChanged(SystemFact):
    """`VideoSystem.Changed`: `fields` are the changes."""

    reason: str
    devices_added: tuple[DeviceRow, ...]
    devices_removed: tuple[str, ...]
    warnings: tuple[Any, ...]
    filed_on: date


@dataclass(frozen=True, slots=True)
class SystemMoved(SystemFact):
    """`VideoSystem.Moved`: `fields` holds `division_code` alone."""

    reason: str


@dataclass(frozen=True, slots=True)
class SystemCancelled(Fact):
    reason: str
    filed_on: date


@dataclass(frozen=True, slots=True)
class CorrectionOrdered(Fact):
    order_id: str
    reason: str
    due_on: date


@dataclass(frozen=True, slots=True)
class SystemInspected(Fact):
    inspection_id: str
    result: str
    note: str


@dataclass(frozen=True, slots=True)
class UnitRegistered(Fact):
    uscc: str
    name: str
    division_code: str
    verification: str


@dataclass(frozen=True, slots=True)
class VerificationDecided(Fact):
    decision: str


@dataclass(frozen=True, slots=True)
class PersonErased(Fact):
    person: str


@dataclass(frozen=True, slots=True)
class AccountOpened(Fact):
    role: str
    name: str
