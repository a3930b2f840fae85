"""Semantic checks of a system's fields, shared by filings, changes and discoveries.

They read a plain mapping and check only what is present and of the right shape, so the API can
run them on a body that also failed its structural checks and report every bad field at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger import codes
from ledger.items import LocationWarning
from ledger.values import ALL_PLACE_TYPES, PLACE_TYPES, FieldError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldRules:
    """The numbers and word lists the checks need, taken from the rules in force."""

    min_storage_days: int
    forbidden_location: Callable[[str], str | None]
    today: date


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_code(
    errors: list[FieldError], loc: Loc, value: Any, check: Callable[[str], str | None]
) -> None:
    text = _text(value)
    if text is not None and (msg := check(text)) is not None:
        errors.append(FieldError(loc, msg))


def check_place(errors: list[FieldError], loc: Loc, category: Any, place_type: Any) -> None:
    if isinstance(category, int) and not isinstance(category, bool):
        if category not in PLACE_TYPES:
            errors.append(FieldError((*loc, "place_category"), "must be 1 to 5"))
        elif isinstance(place_type, str) and place_type not in PLACE_TYPES[category]:
            allowed = ", ".join(PLACE_TYPES[category])
            errors.append(
                FieldError(
                    (*loc, "place_type"),
                    f"'{place_type}' is not a place type of category {category};"
                    f" allowed: {allowed}",
                )
            )
    if isinstance(place_type, str) and place_type not in ALL_PLACE_TYPES:
        errors.append(FieldError((*loc, "place_type"), f"unknown place type '{place_type}'"))


def check_storage(errors: list[FieldError], loc: Loc, value: Any, rules: FieldRules) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < rules.min_storage_days:
        errors.append(
            FieldError(
                loc,
                f"images must be kept at least {rules.min_storage_days} days (Art. 17), "
                f"got {value}",
            )
        )


def check_coordinates(errors: list[FieldError], loc: Loc, data: Mapping[str, Any]) -> None:
    lon, lat = data.get("longitude"), data.get("latitude")
    if isinstance(lon, int | float) and not -180 <= lon <= 180:
        errors.append(FieldError((*loc, "longitude"), "must be between -180 and 180"))
    if isinstance(lat, int | float) and not -90 <= lat <= 90:
        errors.append(FieldError((*loc, "latitude"), "must be between -90 and 90"))
    if (lon is None) != (lat is None) and ("longitude" in data or "latitude" in data):
        missing = "latitude" if lat is None else "longitude"
        errors.append(FieldError((*loc, missing), "longitude and latitude go together"))


def system_field_errors(
    data: Mapping[str, Any], rules: FieldRules, loc: Loc = ("body",)
) -> list[FieldError]:
    """Every semantic problem with the system fields present in `data`."""
    errors: list[FieldError] = []
    check_code(
        errors, (*loc, "division_code"), data.get("division_code"), codes.division_code_error
    )
    check_code(errors, (*loc, "unit_uscc"), data.get("unit_uscc"), codes.uscc_error)
    check_place(errors, loc, data.get("place_category"), data.get("place_type"))
    check_storage(errors, (*loc, "storage_days"), data.get("storage_days"), rules)
    check_coordinates(errors, loc, data)
    commissioned = data.get("commissioned_on")
    if isinstance(commissioned, date) and commissioned > rules.today:
        errors.append(FieldError((*loc, "commissioned_on"), "is in the future"))
    return errors


def device_errors(
    devices: Sequence[Any], rules: FieldRules, loc: Loc = ("body", "devices")
) -> list[FieldError]:
    """Every semantic problem in a device table, including repeated GB/T 28181 IDs."""
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, device in enumerate(devices):
        if not isinstance(device, Mapping):
            continue
        here = (*loc, index)
        device_id = device.get("device_id")
        check_code(errors, (*here, "device_id"), device_id, codes.device_id_error)
        if isinstance(device_id, str):
            if device_id in seen:
                errors.append(FieldError((*here, "device_id"), f"repeats device {seen[device_id]}"))
            seen.setdefault(device_id, index)
        check_storage(errors, (*here, "storage_days"), device.get("storage_days"), rules)
        check_coordinates(errors, here, device)
    return errors


def location_warnings(
    data: Mapping[str, Any],
    devices: Sequence[Any],
    rules: FieldRules,
    *,
    loc: Loc = ("body",),
    devices_loc: Loc = ("body", "devices"),
) -> list[LocationWarning]:
    """Art. 8 places where cameras are forbidden: flagged for police review, not refused."""
    warnings: list[LocationWarning] = []

    def look(loc: Loc, text: Any) -> None:
        if isinstance(text, str) and (word := rules.forbidden_location(text)) is not None:
            warnings.append(
                {
                    "code": "art8_forbidden_location",
                    "loc": list(loc),
                    "msg": f"'{word}': cameras are forbidden in such places (Art. 8); "
                    "flagged for police review",
                }
            )

    for field in ("name", "address", "collection_area"):
        look((*loc, field), data.get(field))
    for index, device in enumerate(devices):
        if isinstance(device, Mapping):
            look((*devices_loc, index, "name"), device.get("name"))
            look((*devices_loc, index, "address"), device.get("address"))
    return warnings
