"""Schemas of accounts, their tokens, verification decisions and agents (docs/contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from api.schemas.base import Strict, Text, examples, vocabulary
from ledger.values import (
    Role,
)

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
