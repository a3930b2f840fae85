"""The filed items: the shapes of the domain's data where it passes between the commands, the
aggregates, the checks and the views.

A system's fields (`SystemFields`), a unit's registration (`UnitRegistration`), an Art. 8
warning, a correction order and the last inspection are stored inside events as JSON objects
(a device is a frozen value, `ledger.values.Device`, with its own transcoding). They are
TypedDicts because a TypedDict is a plain dict at run time: typing them changes no stored byte
and no event's shape, while mypy knows every key.

The edge (api/) sends plain mappings; the checks (`ledger.validation`, `ledger.system_checks`)
read those untyped, so they can report every bad field of a body that also failed its structural
checks. What passes them is taken as these shapes (`as_system_fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict, cast
from uuid import UUID


class SystemFields(TypedDict, total=False):
    """A system's filed items (系统信息). A filing carries them all; a discovery only what an
    officer could see (`unit_uscc` None: whose it is was not known); a change only those that
    differ; a move `division_code` alone. The attachment ids are a filing's own."""

    unit_uscc: str | None
    name: str
    place_category: int
    place_type: str
    address: str
    division_code: str
    longitude: float | None
    latitude: float | None
    commissioned_on: date
    storage_days: int
    collection_area: str
    outsourced_to: str | None
    paper_form_id: UUID | None
    device_sheet_id: UUID | None


class NumberedFiling(SystemFields):
    """What a filing event records: the filed items and the number issued to them."""

    filing_number: str


class UnitRegistration(TypedDict):
    """A management unit's registration (系统管理单位): the `Unit.Registered` event's items.
    The contact's and the legal representative's are sealed before they are recorded."""

    uscc: str
    name: str
    unit_type: str
    address: str
    division_code: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    authorization_letter_id: UUID | None
    business_licence_id: UUID | None


class LocationWarning(TypedDict):
    """A place where cameras are forbidden (Art. 8), flagged for police review, not refused."""

    code: str
    loc: list[str | int]
    msg: str


class CorrectionOrder(TypedDict):
    """A correction order (责令限期改正) as the system keeps it; `met_on` None while open."""

    due_on: date
    reason: str
    ordered_on: date
    met_on: date | None


class LastInspection(TypedDict):
    """The latest inspection by the day it was made: "consistent" or "discrepancy"."""

    on: date
    result: str


def as_system_fields(fields: Mapping[str, Any]) -> SystemFields:
    """A mapping that passed the checks, as the filed items it holds (a copy, same keys in the
    same order: it is what the event stores)."""
    return cast(SystemFields, dict(fields))


def as_unit_registration(fields: Mapping[str, Any]) -> UnitRegistration:
    """A registration that passed the checks, its persons' fields sealed."""
    return cast(UnitRegistration, dict(fields))


def numbered_filing(fields: Mapping[str, Any], filing_number: str) -> NumberedFiling:
    """Checked filed items with the number issued to them, last (the order events store)."""
    return cast(NumberedFiling, {**fields, "filing_number": filing_number})


def unnumbered(filing: NumberedFiling) -> SystemFields:
    """The filed items of a filing event, without its number."""
    return as_system_fields({k: v for k, v in filing.items() if k != "filing_number"})
