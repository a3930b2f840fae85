"""Enums and small frozen value types of the filing ledger.

The string values are the contract's vocabularies (docs/contract.md, "Vocabularies"); they are
persisted inside events, so they are never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Who acts: a unit's person (agent) or legal-person account, or a police-side account."""

    PERSON = "person"
    LEGAL_PERSON = "legal_person"
    OFFICER = "officer"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def is_unit_side(self) -> bool:
        return self in (Role.PERSON, Role.LEGAL_PERSON)


class Channel(StrEnum):
    """How a filing reached the ledger. The channel of the first filing sticks."""

    ONLINE = "online"
    OFFLINE = "offline"


class SystemStatus(StrEnum):
    FILED = "filed"
    CANCELLED = "cancelled"
    UNFILED = "unfiled"


class UnitType(StrEnum):
    GOVERNMENT = "government"
    PUBLIC_INSTITUTION = "public_institution"
    ENTERPRISE = "enterprise"
    SOCIAL_ORGANIZATION = "social_organization"
    INDIVIDUAL_BUSINESS = "individual_business"
    OTHER = "other"


class DeviceType(StrEnum):
    """GB/T 28181 PTZ types of an image-capture device."""

    DOME = "dome"
    HALF_DOME = "half_dome"
    FIXED_BULLET = "fixed_bullet"
    PTZ_BULLET = "ptz_bullet"
    PTZ_HALF_DOME = "ptz_half_dome"
    PANORAMIC = "panoramic"
    OTHER = "other"


# Art. 7 of Decree No. 799: the five place categories and the place types within each.
PLACE_TYPES: dict[int, tuple[str, ...]] = {
    1: (
        "road_section",
        "boundary_road",
        "bridge",
        "tunnel",
        "underpass",
        "square",
        "key_unit_area",
    ),
    2: (
        "shopping_centre",
        "exhibition_centre",
        "tourist_site",
        "venue",
        "education",
        "medical",
        "government_service_hall",
        "park",
        "public_car_park",
        "other_gathering",
    ),
    3: (
        "port_of_entry",
        "airport",
        "passenger_port",
        "navigation_structure",
        "railway_station",
        "coach_station",
        "urban_rail_station",
    ),
    4: ("passenger_train", "passenger_coach", "urban_rail_vehicle", "passenger_ship"),
    5: ("expressway_service_area", "trunk_road_service_area"),
}
ALL_PLACE_TYPES: frozenset[str] = frozenset(t for ts in PLACE_TYPES.values() for t in ts)

# Fields of a filed system that a change may set (devices change through their own lists).
CHANGEABLE_FIELDS: tuple[str, ...] = (
    "name",
    "place_category",
    "place_type",
    "address",
    "division_code",
    "longitude",
    "latitude",
    "commissioned_on",
    "storage_days",
    "collection_area",
    "outsourced_to",
)


@dataclass(frozen=True)
class Actor:
    """Who recorded an event: the account, its role, its name and the unit it acted for."""

    account_id: str
    role: Role
    name: str
    on_behalf_of: str | None = None
    division_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "role": str(self.role),
            "name": self.name,
            "on_behalf_of": self.on_behalf_of,
            "division_code": self.division_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            account_id=data["account_id"],
            role=Role(data["role"]),
            name=data["name"],
            on_behalf_of=data.get("on_behalf_of"),
            division_code=data.get("division_code"),
        )


@dataclass(frozen=True)
class Device:
    """One row of the device table (图像采集设备信息表).

    `key` identifies the row within its system: the GB/T 28181 ID when there is one, otherwise a
    sequence number assigned by the ledger ("D0001"), so a change can name what it removes.
    """

    key: str
    name: str
    address: str
    device_type: DeviceType
    indoor: bool
    face_capture: bool
    storage_days: int
    device_id: str | None = None
    longitude: float | None = None
    latitude: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "device_id": self.device_id,
            "name": self.name,
            "address": self.address,
            "longitude": self.longitude,
            "latitude": self.latitude,
            "device_type": str(self.device_type),
            "indoor": self.indoor,
            "face_capture": self.face_capture,
            "storage_days": self.storage_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        return cls(
            key=data["key"],
            device_id=data.get("device_id"),
            name=data["name"],
            address=data["address"],
            longitude=data.get("longitude"),
            latitude=data.get("latitude"),
            device_type=DeviceType(data["device_type"]),
            indoor=bool(data["indoor"]),
            face_capture=bool(data["face_capture"]),
            storage_days=int(data["storage_days"]),
        )


@dataclass(frozen=True)
class FieldError:
    """One bad field: where it is in the request (`loc`) and what is wrong with it."""

    loc: tuple[str | int, ...]
    msg: str
