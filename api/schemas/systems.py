"""Schemas of video systems: filings, devices, changes, cancellations, histories."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.base import (
    EXAMPLE_USCC,
    NANAN,
    Day,
    LongText,
    Number,
    Strict,
    Text,
    Whole,
    YesNo,
    examples,
    place_category,
    place_type,
    vocabulary,
)
from ledger.values import (
    Channel,
    DeviceType,
    Role,
    SystemStatus,
)


class DeviceIn(Strict):
    device_id: str | None = Field(default=None, max_length=32)
    name: str = Text
    address: str = Text
    longitude: Number | None = None
    latitude: Number | None = None
    device_type: DeviceType = Field(json_schema_extra=vocabulary("device_type", DeviceType))
    indoor: YesNo
    face_capture: YesNo
    storage_days: Whole = Field(ge=1, le=100_000)


class SystemFields(Strict):
    unit_uscc: str = Field(min_length=1, max_length=32)
    name: str = Text
    place_category: int = Field(json_schema_extra=place_category())
    place_type: str = Field(min_length=1, max_length=64, json_schema_extra=place_type())
    address: str = Text
    division_code: str = Field(min_length=1, max_length=12)
    longitude: float | None = None
    latitude: float | None = None
    commissioned_on: Day
    storage_days: int = Field(ge=1, le=100_000)
    collection_area: str = LongText
    outsourced_to: str | None = Field(default=None, max_length=200)


class SystemCreate(SystemFields):
    model_config = examples(
        {
            "unit_uscc": EXAMPLE_USCC,
            "name": "南坪商场视频监控系统",
            "place_category": 2,
            "place_type": "shopping_centre",
            "address": "重庆市南岸区南坪西路1号",
            "division_code": NANAN,
            "longitude": 106.5703,
            "latitude": 29.5231,
            "commissioned_on": "2025-05-06",
            "storage_days": 30,
            "collection_area": "商场出入口、中庭及地下停车场公共区域",
            "outsourced_to": "重庆安视科技有限公司",
            "device_sheet_id": "9c7e4a21-0b3f-4d58-a6e2-5f1d8c3b7e90",
            "acknowledged_instructions": True,
        }
    )

    place_category: Whole = Field(json_schema_extra=place_category())
    longitude: Number | None = None
    latitude: Number | None = None
    storage_days: Whole = Field(ge=1, le=100_000)
    # At least one device: listed here, or read from the device sheet `device_sheet_id` names.
    devices: list[DeviceIn] = Field(default_factory=list, max_length=10_000)
    device_sheet_id: UUID | None = None
    paper_form_id: UUID | None = None
    discovered_system_id: UUID | None = None
    acknowledged_instructions: Literal[True]


class SystemChanges(Strict):
    """The filed items a change may set; anything else is refused by name."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    place_category: Whole | None = Field(default=None, json_schema_extra=place_category())
    place_type: str | None = Field(
        default=None, min_length=1, max_length=64, json_schema_extra=place_type()
    )
    address: str | None = Field(default=None, min_length=1, max_length=200)
    division_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=12,
        description="always refused (422): a system's district is moved by an officer of its"
        " district, POST /v1/systems/{system_id}/move",
    )
    longitude: Number | None = None
    latitude: Number | None = None
    commissioned_on: Day | None = None
    storage_days: Whole | None = Field(default=None, ge=1, le=100_000)
    collection_area: str | None = Field(default=None, min_length=1, max_length=2000)
    outsourced_to: str | None = Field(default=None, max_length=200)


class ChangeRequest(Strict):
    model_config = examples(
        {
            "effective_on": "2025-09-01",
            "reason": "拆除3号摄像机，图像保存期延长至90天",
            "changes": {"storage_days": 90},
            "devices_removed": ["D0003"],
        }
    )

    effective_on: Day
    reason: str = LongText
    changes: SystemChanges = Field(default_factory=SystemChanges)
    devices_added: list[DeviceIn] = Field(default_factory=list, max_length=10_000)
    devices_removed: list[str] = Field(default_factory=list, max_length=10_000)


class CancelRequest(Strict):
    model_config = examples({"effective_on": "2025-12-31", "reason": "商场停业，系统已拆除"})

    effective_on: Day
    reason: str = LongText


class CorrectionOrderPublic(BaseModel):
    order_id: str
    reason: str
    due_on: date
    ordered_on: date
    met_on: date | None


class InspectionSummary(BaseModel):
    on: date
    result: Literal["consistent", "discrepancy"]


class Obligation(BaseModel):
    """A duty the ledger tracks for a system, computed as the overdue lists compute it."""

    kind: Literal["registration", "change", "correction"]
    due_on: date
    met_on: date | None
    overdue: bool = Field(description="not met, and its last day has passed")
    late: bool = Field(description="met after its last day, or not met and past it")
    provisional: bool = Field(description="counted without an official holiday calendar")
    rules_version: str
    seq: int | None = Field(default=None, description="a change's event (history `seq`)")
    order_id: str | None = Field(default=None, description="a correction's order")


class DevicePublic(BaseModel):
    key: str
    device_id: str | None
    name: str
    address: str
    longitude: float | None
    latitude: float | None
    device_type: str = Field(json_schema_extra=vocabulary("device_type", DeviceType))
    indoor: bool
    face_capture: bool
    storage_days: int


class SystemPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    system_id: UUID
    filing_number: str | None
    unit_uscc: str | None
    name: str
    place_category: int = Field(json_schema_extra=place_category(enum=True))
    place_type: str = Field(json_schema_extra=place_type(enum=True))
    address: str
    division_code: str
    commissioned_on: date
    storage_days: int | None = None
    camera_count: int
    channel: Literal["online", "offline"] | None = Field(
        json_schema_extra=vocabulary("channel", Channel, nullable=True)
    )
    status: Literal["filed", "cancelled", "unfiled"] = Field(
        json_schema_extra=vocabulary("status", SystemStatus)
    )
    filed_at: str | None
    filed_on: date | None
    due_on: date
    due_provisional: bool
    filed_late: bool | None
    version: int
    warnings: list[dict[str, Any]]
    obligations: list[Obligation]
    devices: list[DevicePublic]
    correction_orders: list[CorrectionOrderPublic] = Field(default_factory=list)
    open_correction_orders: int = 0
    last_inspection: InspectionSummary | None = None
    unit_verification: Literal["pending", "confirmed", "rejected"] | None = Field(
        default=None,
        description="in a filing's answer: whether the unit's registration is still pending"
        " (filed by an agent whom no officer or legal person has confirmed yet)",
    )


class SystemPage(BaseModel):
    items: list[SystemPublic]
    next_cursor: str | None


class Actor(BaseModel):
    account_id: str
    role: str = Field(json_schema_extra=vocabulary("role", Role))
    name: str


class HistoryItem(BaseModel):
    seq: int
    type: str
    recorded_at: str
    effective_on: date | None
    actor: Actor
    on_behalf_of: str | None
    channel: str | None = Field(json_schema_extra=vocabulary("channel", Channel, nullable=True))
    data: dict[str, Any]
    diff: dict[str, Any] | None = None
    hash: str | None = Field(
        description="this event's link in the hash chain; null while the chain view catches up"
    )
    prev_hash: str | None = None


class HistoryPage(BaseModel):
    items: list[HistoryItem]


class MoveRequest(Strict):
    """An officer's move of a system to another district (a unit's change cannot move it)."""

    model_config = examples({"division_code": "500103", "reason": "经核实，系统实际位于渝中区"})

    division_code: str = Field(min_length=1, max_length=12)
    reason: str = LongText
