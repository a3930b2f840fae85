"""Schemas of units, their lists, agents and attachments (docs/contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import EXAMPLE_USCC, NANAN, VERIFICATIONS, Strict, Text, examples, vocabulary
from ledger.values import (
    Channel,
    UnitType,
)


class UnitListItem(BaseModel):
    uscc: str
    name: str
    division_code: str
    verification: str = Field(json_schema_extra=vocabulary("verification", VERIFICATIONS))
    registered_at: datetime


class UnitList(BaseModel):
    items: list[UnitListItem]


class AttachmentPublic(BaseModel):
    attachment_id: UUID
    sha256: str
    size: int
    media_type: str


class UnitCreate(Strict):
    model_config = examples(
        {
            "uscc": EXAMPLE_USCC,
            "name": "重庆南坪商贸有限公司",
            "unit_type": "enterprise",
            "address": "重庆市南岸区南坪西路1号",
            "division_code": NANAN,
            "legal_representative": "王建国",
            "contact_name": "李明",
            "contact_phone": "13812345678",
            "acknowledged_instructions": True,
            "authorization_letter_id": "6a1d0f3c-52e8-4b7a-8d19-0c4e7b2f9a63",
            "business_licence_id": "3f2b8c1e-7a4d-4e0b-9c61-2d5f8e9a1b47",
        }
    )

    uscc: str = Field(min_length=1, max_length=32)
    name: str = Text
    unit_type: UnitType = Field(json_schema_extra=vocabulary("unit_type", UnitType))
    address: str = Text
    division_code: str = Field(min_length=1, max_length=12)
    legal_representative: str = Text
    contact_name: str = Text
    contact_phone: str = Field(min_length=1, max_length=32)
    acknowledged_instructions: Literal[True]
    authorization_letter_id: UUID | None = None
    business_licence_id: UUID | None = None


class AgentAdd(Strict):
    model_config = examples({"authorization_letter_id": "6a1d0f3c-52e8-4b7a-8d19-0c4e7b2f9a63"})

    authorization_letter_id: UUID
    account_id: UUID | None = Field(
        default=None, description="the person account to add; the caller's own by default"
    )


class UnitPublic(BaseModel):
    uscc: str
    name: str
    unit_type: UnitType = Field(json_schema_extra=vocabulary("unit_type", UnitType))
    address: str
    division_code: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    channel: str = Field(json_schema_extra=vocabulary("channel", Channel))
    agent_count: int
    verification: str = Field(
        json_schema_extra=vocabulary(
            "verification",
            VERIFICATIONS,
            lead="`pending` until an officer of the district or the unit's legal-person"
            " account confirms a registration made by an agent; ",
        )
    )
