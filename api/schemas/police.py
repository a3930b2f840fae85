"""Schemas of the police side's acts: discoveries, correction orders, inspections."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import (
    EXAMPLE_USCC,
    NANAN,
    Day,
    LongText,
    Strict,
    Text,
    Whole,
    examples,
    place_category,
    place_type,
)


class DiscoveryCreate(Strict):
    model_config = examples(
        {
            "unit_uscc": EXAMPLE_USCC,
            "name": "南坪广场未备案监控",
            "address": "重庆市南岸区南坪广场",
            "division_code": NANAN,
            "place_category": 1,
            "place_type": "square",
            "commissioned_on": "2025-04-10",
            "note": "巡查发现广场东侧立杆上有4台摄像机，未见备案",
        }
    )

    unit_uscc: str | None = Field(default=None, max_length=32)
    name: str = Text
    address: str = Text
    division_code: str = Field(min_length=1, max_length=12)
    place_category: Whole = Field(json_schema_extra=place_category())
    place_type: str = Field(min_length=1, max_length=64, json_schema_extra=place_type())
    commissioned_on: Day
    note: str = Field(default="", max_length=2000)


class CorrectionOrderCreate(Strict):
    """An order to correct the filing (责令限期改正) by `due_on`, a day after today."""

    model_config = examples({"reason": "设备信息表缺少停车场出入口摄像机", "due_on": "2031-06-30"})

    reason: str = LongText
    due_on: Day


class InspectionCreate(Strict):
    """An inspection made on `inspected_on` (today or earlier) and what it found."""

    model_config = examples(
        {
            "inspected_on": "2025-06-18",
            "result": "consistent",
            "note": "现场核对摄像机12台，与备案一致",
        }
    )

    inspected_on: Day
    result: Literal["consistent", "discrepancy"]
    note: str = Field(default="", max_length=2000)
