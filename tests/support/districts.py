"""A unit and an officer in one district, filing through the ledger's own commands with the
day of each filing given (the edge's "today"), for tests of the views."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from api.core.runtime import Runtime
from ledger.systems import VideoSystem
from ledger.values import Role
from tests.support.codes import NANAN, make_uscc

# The one camera every system here has: a dome at the east gate, keeping 30 days.
EAST_GATE: Mapping[str, Any] = {
    "device_id": None,
    "name": "入口",
    "address": "东门",
    "device_type": "dome",
    "indoor": False,
    "face_capture": False,
    "storage_days": 30,
}


def units_with_systems(
    rt: Runtime,
    *,
    units: int,
    per_unit: int,
    first: int = 0,
    at: tuple[float, float] | None = None,
    today: date = date(2025, 5, 6),
) -> list[VideoSystem]:
    """Units `first`..`first + units - 1` in 南岸区 (USCC serial n, token "token-{n}"), each
    registered by its legal person and filing `per_unit` systems (longitude and latitude `at`),
    all on `today`; the systems filed, in order."""
    longitude, latitude = at or (None, None)
    systems = []
    for n in range(first, first + units):
        uscc = make_uscc(serial=n)
        account = rt.ledger.open_account(
            token_sha256=f"token-{n}",
            role=Role.LEGAL_PERSON,
            name=f"单位{n}",
            phone="13800000000",
            uscc=uscc,
            bound_by="operator",
            today=today,
        )
        rt.ledger.register_unit(
            caller=account,
            fields={
                "uscc": uscc,
                "name": f"单位{n}",
                "unit_type": "enterprise",
                "address": "南岸区",
                "division_code": NANAN,
                "legal_representative": "法人",
                "contact_name": "联系人",
                "contact_phone": "023-60437688",
                "authorization_letter_id": None,
                "business_licence_id": None,
            },
            today=today,
        )
        for k in range(per_unit):
            outcome = rt.ledger.file_system(
                caller=account,
                fields={
                    "unit_uscc": uscc,
                    "name": f"系统{n}-{k}",
                    "place_category": 2,
                    "place_type": "park",
                    "address": f"公园路{k}号",
                    "division_code": NANAN,
                    "longitude": longitude,
                    "latitude": latitude,
                    "commissioned_on": date(2025, 4, 20),
                    "storage_days": 30,
                    "collection_area": "入口",
                    "outsourced_to": None,
                },
                devices=[dict(EAST_GATE)],
                today=today,
            )
            systems.append(outcome.aggregate)
    return systems


class District:
    """A unit and an officer in one district, filing through the ledger's own commands."""

    serial = 0

    def __init__(self, rt: Runtime, division: str = NANAN) -> None:
        self.rt = rt
        self.division = division
        District.serial += 1
        self.uscc = make_uscc(division, serial=District.serial)
        self.unit = rt.ledger.open_account(
            token_sha256=f"unit-{self.uscc}",
            role=Role.LEGAL_PERSON,
            name="单位",
            phone="13800000000",
            uscc=self.uscc,
            bound_by="operator",
            today=date(2025, 3, 1),
        )
        self.officer = rt.ledger.open_account(
            token_sha256=f"officer-{self.uscc}",
            role=Role.OFFICER,
            name="警官",
            division_code=division,
            today=date(2025, 3, 1),
        )
        rt.ledger.register_unit(
            caller=self.unit,
            fields={
                "uscc": self.uscc,
                "name": "单位",
                "unit_type": "enterprise",
                "address": "南岸区",
                "division_code": division,
                "legal_representative": "法人",
                "contact_name": "联系人",
                "contact_phone": "023-60437688",
                "authorization_letter_id": None,
                "business_licence_id": None,
            },
            today=date(2025, 3, 1),
        )

    def fields(self, commissioned_on: date, name: str = "系统") -> dict[str, Any]:
        return {
            "unit_uscc": self.uscc,
            "name": name,
            "place_category": 2,
            "place_type": "park",
            "address": "公园路1号",
            "division_code": self.division,
            "longitude": None,
            "latitude": None,
            "commissioned_on": commissioned_on,
            "storage_days": 30,
            "collection_area": "入口",
            "outsourced_to": None,
        }

    def file(self, commissioned_on: date, filed_on: date) -> UUID:
        outcome = self.rt.ledger.file_system(
            caller=self.unit,
            fields=self.fields(commissioned_on),
            devices=[dict(EAST_GATE)],
            today=filed_on,
        )
        return UUID(str(outcome.aggregate.id))

    def discover(self, commissioned_on: date, discovered_on: date) -> UUID:
        facts = {
            k: v
            for k, v in self.fields(commissioned_on).items()
            if k
            in (
                "unit_uscc",
                "name",
                "address",
                "division_code",
                "place_category",
                "place_type",
                "commissioned_on",
            )
        }
        outcome = self.rt.ledger.discover_system(
            caller=self.officer, facts=facts, note="巡查发现", today=discovered_on
        )
        return UUID(str(outcome.aggregate.id))

    def change(self, system_id: UUID, effective_on: date, filed_on: date) -> None:
        system = self.rt.ledger.system_for(self.unit, system_id)
        self.rt.ledger.change_system(
            caller=self.unit,
            system_id=system_id,
            expected_version=system.version,
            effective_on=effective_on,
            reason="改名",
            changes={"name": f"新名{filed_on}"},
            today=filed_on,
        )

    def order(self, system_id: UUID, ordered_on: date, due_on: date) -> None:
        self.rt.ledger.order_correction(
            caller=self.officer,
            system_id=system_id,
            reason="补充备案",
            due_on=due_on,
            today=ordered_on,
        )
