"""Request and response schemas of the HTTP contract, separate from the domain's objects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ledger.values import DeviceType, UnitType

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


_SELF_SIGNUP = (
    "self-signup opens person accounts only: a unit's legal-person account is opened by an"
    " officer of its district (POST /v1/units/{uscc}/legal-person-accounts) or from the"
    " configured OpenID provider (POST /v1/accounts/oidc)"
)


class AccountCreate(Strict):
    """A person's account (an agent-to-be). It acts for no unit until it is recorded as one's
    agent; a claimed USCC is refused, never trusted."""

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

    name: str = Text
    phone: str = Field(min_length=1, max_length=32)
    business_licence_id: UUID


class AccountMe(BaseModel):
    account_id: UUID
    role: str
    name: str
    division_code: str | None
    uscc: str | None = Field(description="a legal-person account's bound unit")
    agent_of: list[str] = Field(description="the units this account is a recorded agent of")
    disabled: bool
    token_expires_at: datetime | None


class VerificationDecision(Strict):
    decision: Literal["confirmed", "rejected"]
    note: str = Field(default="", max_length=2000)


class AgentRemove(Strict):
    reason: str = Field(default="", max_length=2000)


class UnitListItem(BaseModel):
    uscc: str
    name: str
    division_code: str
    verification: str
    registered_at: datetime


class UnitList(BaseModel):
    items: list[UnitListItem]


class AttachmentPublic(BaseModel):
    attachment_id: UUID
    sha256: str
    size: int
    media_type: str


class UnitCreate(Strict):
    uscc: str = Field(min_length=1, max_length=32)
    name: str = Text
    unit_type: UnitType
    address: str = Text
    division_code: str = Field(min_length=1, max_length=12)
    legal_representative: str = Text
    contact_name: str = Text
    contact_phone: str = Field(min_length=1, max_length=32)
    acknowledged_instructions: Literal[True]
    authorization_letter_id: UUID | None = None
    business_licence_id: UUID | None = None


class AgentAdd(Strict):
    authorization_letter_id: UUID
    account_id: UUID | None = Field(
        default=None, description="the person account to add; the caller's own by default"
    )


class UnitPublic(BaseModel):
    uscc: str
    name: str
    unit_type: UnitType
    address: str
    division_code: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    channel: str
    agent_count: int
    verification: str = Field(
        description="`pending` until an officer of the district or the unit's legal-person"
        " account confirms a registration made by an agent; `confirmed`; `rejected`"
    )


class DeviceIn(Strict):
    device_id: str | None = Field(default=None, max_length=32)
    name: str = Text
    address: str = Text
    longitude: Number | None = None
    latitude: Number | None = None
    device_type: DeviceType
    indoor: YesNo
    face_capture: YesNo
    storage_days: Whole = Field(ge=1, le=100_000)


class SystemFields(Strict):
    unit_uscc: str = Field(min_length=1, max_length=32)
    name: str = Text
    place_category: int
    place_type: str = Field(min_length=1, max_length=64)
    address: str = Text
    division_code: str = Field(min_length=1, max_length=12)
    longitude: float | None = None
    latitude: float | None = None
    commissioned_on: Day
    storage_days: int = Field(ge=1, le=100_000)
    collection_area: str = LongText
    outsourced_to: str | None = Field(default=None, max_length=200)


class SystemCreate(SystemFields):
    place_category: Whole
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
    place_category: Whole | None = None
    place_type: str | None = Field(default=None, min_length=1, max_length=64)
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
    effective_on: Day
    reason: str = LongText
    changes: SystemChanges = Field(default_factory=SystemChanges)
    devices_added: list[DeviceIn] = Field(default_factory=list, max_length=10_000)
    devices_removed: list[str] = Field(default_factory=list, max_length=10_000)


class CancelRequest(Strict):
    effective_on: Day
    reason: str = LongText


class DiscoveryCreate(Strict):
    unit_uscc: str | None = Field(default=None, max_length=32)
    name: str = Text
    address: str = Text
    division_code: str = Field(min_length=1, max_length=12)
    place_category: Whole
    place_type: str = Field(min_length=1, max_length=64)
    commissioned_on: Day
    note: str = Field(default="", max_length=2000)


class CorrectionOrderCreate(Strict):
    """An order to correct the filing (责令限期改正) by `due_on`, a day after today."""

    reason: str = LongText
    due_on: Day


class InspectionCreate(Strict):
    """An inspection made on `inspected_on` (today or earlier) and what it found."""

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
    device_type: str
    indoor: bool
    face_capture: bool
    storage_days: int


class SystemPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    system_id: UUID
    filing_number: str | None
    unit_uscc: str | None
    name: str
    place_category: int
    place_type: str
    address: str
    division_code: str
    commissioned_on: date
    storage_days: int | None = None
    camera_count: int
    channel: Literal["online", "offline"] | None
    status: Literal["filed", "cancelled", "unfiled"]
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
    role: str
    name: str


class HistoryItem(BaseModel):
    seq: int
    type: str
    recorded_at: str
    effective_on: date | None
    actor: Actor
    on_behalf_of: str | None
    channel: str | None
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

    division_code: str = Field(min_length=1, max_length=12)
    reason: str = LongText
