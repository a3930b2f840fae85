"""Transcodings for every type the JSON transcoder lacks (docs/architecture.md, "Conventions").

Enums are StrEnum: the JSON encoder writes them as plain strings and the aggregates turn them
back into enums when they apply an event, so they need no transcoding of their own.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import orjson
from eventsourcing.persistence import (
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
)

from ledger.values import Actor, Device


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Actor:
        return Actor.from_dict(data)


class DeviceAsDict(Transcoding):
    type = Device
    name = "device"

    def encode(self, obj: Device) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Device:
        return Device.from_dict(data)


class BytesAsHex(Transcoding):
    type = bytes
    name = "bytes_hex"

    def encode(self, obj: bytes) -> str:
        return obj.hex()

    def decode(self, data: str) -> bytes:
        return bytes.fromhex(data)


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    for transcoding in (DateAsISO(), ActorAsDict(), DeviceAsDict(), BytesAsHex()):
        transcoder.register(transcoding)


_PLAIN = (str, int, float, bool, type(None))


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON format, by orjson (see the module's docstring). A `JSONTranscoder`:
    the application registers its transcodings on it, and readers of the stored JSON find
    them by name in `names`."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(self._plain(obj))

    def decode(self, data: bytes) -> Any:
        return self._typed(orjson.loads(data))

    def _plain(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return obj
        if kind is dict:
            return {key: self._plain(value) for key, value in obj.items()}
        if kind is list or kind is tuple:
            return [self._plain(value) for value in obj]
        transcoding = self.types.get(kind)
        if transcoding is not None:
            return {"_type_": transcoding.name, "_data_": self._plain(transcoding.encode(obj))}
        if isinstance(obj, _PLAIN):  # a StrEnum, an IntEnum: written as their value
            return obj
        msg = (
            f"Object of type {kind} is not serializable. Please define and register "
            "a custom transcoding for this type."
        )
        raise TranscodingNotRegisteredError(msg)

    def _typed(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is dict:
            typed = {key: self._typed(value) for key, value in obj.items()}
            return self._decode_obj(typed) if len(typed) == 2 else typed
        if kind is list:
            return [self._typed(value) for value in obj]
        return cast(Any, obj)
