"""Transcodings for every type the JSON transcoder lacks (style rule 4).

Enums are StrEnum: the JSON encoder writes them as plain strings and the aggregates turn them
back into enums when they apply an event, so they need no transcoding of their own.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

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
