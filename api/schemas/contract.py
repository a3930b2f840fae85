"""Request and response schemas of the HTTP contract, separate from the domain's objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ledger.values import (
    PLACE_TYPES,
    Channel,
    DeviceType,
    Role,
    SystemStatus,
    UnitType,
)

Text = Field(min_length=1, max_length=200)
LongText = Field(min_length=1, max_length=2000)


def _day(value: Any) -> Any:
    """A day is `YYYY-MM-DD` text: a JSON number is refused (pydantic would read it as a Unix
    time), so the schema's `format: date` means what it says."""
    if isinstance(value, int | float):
        raise ValueError("a day as YYYY-MM-DD text")
    return value


def _yes_no(value: Any) -> Any:
    """true or false only: pydantic would take 0, 1, "yes" or "off" too."""
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _json_number(value: Any) -> Any:
    """A number is a JSON number: pydantic would take "1.5", "2" or false too."""
    if isinstance(value, bool | str):
        raise ValueError("a number")
    return value


Day = Annotated[date, BeforeValidator(_day)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]
# For JSON bodies only: the officer pages validate `SystemFields` from form text.
Number = Annotated[float, BeforeValidator(_json_number)]
Whole = Annotated[int, BeforeValidator(_json_number)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Vocabularies in the OpenAPI -------------------------------------------------------------
# Each vocabulary's values (from the ledger's enums) and their Chinese labels (the officer pages'
# words, api/web/labels.py), added to a field's schema when the OpenAPI is generated: the labels
# are imported then, not here, as api.web imports this module.

Schema = dict[str, Any]
VERIFICATIONS = ("pending", "confirmed", "rejected")
EXAMPLE_USCC = "91500108MA5U7Q2K1B"  # a unit of 南岸区, Chongqing (valid check character)
NANAN = "500108"  # 重庆市南岸区


def _labels() -> dict[str, dict[Any, str]]:
    from api.web import labels

    return {
        "place_category": dict(labels.PLACE_CATEGORIES),
        "place_type": labels.PLACE_TYPES,
        "unit_type": labels.UNIT_TYPES,
        "device_type": labels.DEVICE_TYPES,
        "status": labels.STATUSES,
        "channel": labels.CHANNELS,
        "role": labels.ROLES,
        "verification": labels.VERIFICATIONS,
    }


def _listed(values: Iterable[Any], table: dict[Any, str]) -> str:
    return "; ".join(f"`{v}` {table[v]}" if v in table else f"`{v}`" for v in values)


def vocabulary(
    kind: str, values: Iterable[Any], *, lead: str = "", nullable: bool = False
) -> Callable[[Schema], None]:
    """A field's `json_schema_extra`: its allowed values as `enum` (null too where the field
    may be null) and a description naming each with its Chinese label."""
    allowed = [v.value if isinstance(v, StrEnum) else v for v in values]

    def extra(schema: Schema) -> None:
        listed = _listed(allowed, _labels()[kind])
        schema["description"] = f"{lead}one of: {listed}" if lead else f"One of: {listed}"
        schema["enum"] = [*allowed, None] if nullable else allowed

    return extra


def _place_types_by_category() -> str:
    table = _labels()
    return "\n".join(
        f"- {category} ({table['place_category'][category]}): "
        + _listed(types, table["place_type"])
        for category, types in PLACE_TYPES.items()
    )


def place_category(*, enum: bool = False) -> Callable[[Schema], None]:
    """The place category's description; `enum` only where it is an answer's: a request's is
    refused by the domain's checks (422 listing the allowed values), which come after others
    (If-Match, say) that a schema's enum would put before them."""

    def extra(schema: Schema) -> None:
        if enum:
            schema["enum"] = list(PLACE_TYPES)
        schema["description"] = (
            "The place category of Art. 7 of Decree No. 799 (1 to 5); it decides which"
            " `place_type` values are allowed:\n" + _place_types_by_category()
        )

    return extra


def place_type(*, enum: bool = False) -> Callable[[Schema], None]:
    """The place type's description, and its `enum` where it is an answer's (as above)."""
    every = [t for types in PLACE_TYPES.values() for t in types]

    def extra(schema: Schema) -> None:
        if enum:
            schema["enum"] = every
        schema["description"] = (
            "The place type, one of its `place_category`'s (a type of another category is"
            " refused with 422 naming the allowed ones):\n" + _place_types_by_category()
        )

    return extra


def examples(*bodies: dict[str, Any]) -> ConfigDict:
    """A request body's examples in the OpenAPI (tests/e2e/test_docs_offline.py loads each
    into its model)."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


_SELF_SIGNUP = (
    "self-signup opens person accounts only: a unit's legal-person account is opened by an"
    " officer of its district (POST /v1/units/{uscc}/legal-person-accounts) or from the"
    " configured OpenID provider (POST /v1/accounts/oidc)"
)


class AccountCreate(Strict):
    """A person's account (an agent-to-be). It acts for no unit until it is recorded as one's
    agent; a claimed USCC is refused, never trusted."""

    model_config = examples(
        {
            "kind": "person",
            "name": "李明",
            "phone": "13812345678",
            "id_number": "500108198503120022",
        }
    )

    kind: Literal["person"] = Field(description="`person`; " + _SELF_SIGNUP)
    name: str = Text
    phone: str = Field(min_length=1, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    uscc: None = Field(default=None, description="refused: " + _SELF_SIGNUP)

    @field_validator("kind", mode="before")
    @classmethod
    def _person_only(cls, value: Any) -> Any:
        if value != "person":
            raise ValueError(_SELF_SIGNUP)
        return value

    @field_validator("uscc", mode="before")
    @classmethod
    def _no_uscc(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError(_SELF_SIGNUP)
        return value


class AccountCreated(BaseModel):
    account_id: UUID
    token: str
    expires_at: datetime | None = None


class LegalPersonAccountCreate(Strict):
    """What the officer at the window checked: the legal person's name and phone, and the
    business licence they saw (uploaded by the officer)."""

    model_config = examples(
        {
            "name": "王建国",
            "phone": "023-62987654",
            "business_licence_id": "3f2b8c1e-7a4d-4e0b-9c61-2d5f8e9a1b47",
        }
    )

    name: str = Text
    phone: str = Field(min_length=1, max_length=32)
    business_licence_id: UUID


class AccountMe(BaseModel):
    account_id: UUID
    role: str = Field(json_schema_extra=vocabulary("role", Role))
    name: str
    division_code: str | None
    uscc: str | None = Field(description="a legal-person account's bound unit")
    agent_of: list[str] = Field(description="the units this account is a recorded agent of")
    disabled: bool
    token_expires_at: datetime | None


class VerificationDecision(Strict):
    model_config = examples({"decision": "confirmed", "note": "已核对营业执照和授权委托书"})

    decision: Literal["confirmed", "rejected"]
    note: str = Field(default="", max_length=2000)


class AgentRemove(Strict):
    model_config = examples({"reason": "经办人已离职"})

    reason: str = Field(default="", max_length=2000)


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
