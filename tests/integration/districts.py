"""A unit and an officer in one district, filing through the ledger's own commands with the
day of each filing given (the edge's "today"), for tests of the views."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from api.core.runtime import Runtime
from ledger import codes
from ledger.values import Role

NANAN = "500108"
SHAPINGBA = "500106"


class District:
    """A unit and an officer in one district, filing through the ledger's own commands."""

    serial = 0

    def __init__(self, rt: Runtime, division: str = NANAN) -> None:
        self.rt = rt
        self.division = division
        District.serial += 1
        body = f"91{division}MA{District.serial:07d}"
        self.uscc = body + codes.uscc_check_char(body)
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
            devices=[
                {
                    "device_id": None,
                    "name": "入口",
                    "address": "东门",
                    "device_type": "dome",
                    "indoor": False,
                    "face_capture": False,
                    "storage_days": 30,
                }
            ],
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
