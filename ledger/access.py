"""Who may see and do what: the one access rule of the service (docs/identity.md).

Every decision is made here, from the caller's account and its recorded relations, never from
a code the caller claims: the ledger's commands, the HTTP routes, the officer pages, the
exports, the feed and the command line all ask these functions, and the SQL that scopes the
views' lists is generated from the same `Reach` (`projections/scope.py`). Out of scope looks
exactly like absent (the API answers 404).

- A unit-side account reaches the units it is recorded as acting for: a legal-person account its
  bound unit, a person account the units whose agent it is (`Account.agent_of`).
- An officer reaches its district, an auditor its code prefix ("" or none: everywhere), an admin
  everywhere; an officer without a district reaches nothing.
- A disabled account reaches nothing; a credential is refused once revoked, expired, or issued
  before its account's tokens were revoked (`credential_refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.accounts import Account, Credential
from ledger.values import Actor, Channel, Role

# How long a token lives by default (LEDGER_POLICE_TOKEN_DAYS, LEDGER_UNIT_TOKEN_DAYS).
POLICE_TOKEN_DAYS = 90
UNIT_TOKEN_DAYS = 365


@dataclass(frozen=True)
class Reach:
    """What a caller may see: unit-side, a set of USCCs (`units`); police-side, a division
    prefix (`division_prefix`, "" = everywhere); neither = nothing."""

    account_id: str
    units: frozenset[str] | None = None
    division_prefix: str | None = None

    @property
    def unit_side(self) -> bool:
        return self.units is not None

    def covers(self, *, uscc: str | None, division_code: str | None) -> bool:
        if self.units is not None:
            return uscc is not None and uscc in self.units
        if self.division_prefix is None:
            return False
        return division_code is not None and division_code.startswith(self.division_prefix)

    @classmethod
    def division(cls, prefix: str, account_id: str = "") -> Reach:
        """A police-side reach over a prefix (the command line's exports use it)."""
        return cls(account_id=account_id, division_prefix=prefix)


def reach_of(account: Account) -> Reach:
    me = str(account.id)
    if account.disabled:
        return Reach(account_id=me)
    if account.role.is_unit_side:
        own = {account.uscc} if account.uscc else set()
        return Reach(account_id=me, units=frozenset(account.agent_of | own))
    if account.role is Role.ADMIN:
        return Reach(account_id=me, division_prefix="")
    if account.role is Role.OFFICER:
        return Reach(account_id=me, division_prefix=account.division_code or None)
    return Reach(account_id=me, division_prefix=account.division_code or "")


def may_see(account: Account, *, uscc: str | None, division_code: str | None) -> bool:
    """A unit, a system, an item of the audit or the feed, a row of an export."""
    return reach_of(account).covers(uscc=uscc, division_code=division_code)


def sees_division(account: Account, division_code: str) -> bool:
    """Police-side reach over a district (a unit-side account reaches no district as such)."""
    reach = reach_of(account)
    return not reach.unit_side and reach.covers(uscc=None, division_code=division_code)


def acting_channel(
    account: Account, *, uscc: str | None, division_code: str | None
) -> Channel | None:
    """The channel the caller files through for this unit and district, or None if it may not
    file there: a unit's own accounts online, an officer of the district offline (paper)."""
    if not may_see(account, uscc=uscc, division_code=division_code):
        return None
    if account.role.is_unit_side:
        return Channel.ONLINE
    if account.role is Role.OFFICER:
        return Channel.OFFLINE
    return None


def may_manage_unit(account: Account, *, uscc: str, division_code: str) -> bool:
    """Adding and removing agents: the unit's legal-person account and agents, or an officer of
    its district. Deciding a pending registration: `may_verify_unit`."""
    return acting_channel(account, uscc=uscc, division_code=division_code) is not None


def may_verify_unit(account: Account, *, uscc: str, division_code: str) -> bool:
    """Confirming or rejecting a pending registration: an officer of the district (after seeing
    the stamped letter) or the unit's own legal-person account, never an agent."""
    if account.disabled:
        return False
    if account.role is Role.LEGAL_PERSON:
        return account.uscc == uscc
    return account.role is Role.OFFICER and sees_division(account, division_code)


def may_issue_legal_person(account: Account, *, division_code: str) -> bool:
    """Opening a legal-person account after checking the business licence: an officer of the
    unit's district."""
    return account.role is Role.OFFICER and sees_division(account, division_code)


def token_lifetime(role: Role, *, police_days: int, unit_days: int) -> timedelta:
    return timedelta(days=unit_days if role.is_unit_side else police_days)


def credential_refusal(
    credential: Credential | None,
    account: Account | None,
    *,
    now: datetime,
    police_days: int = POLICE_TOKEN_DAYS,
    unit_days: int = UNIT_TOKEN_DAYS,
) -> str | None:
    """Why a bearer token is refused, or None when it lets its account in."""
    if credential is None or account is None:
        return "unknown"
    if credential.revoked:
        return "revoked"
    if account.disabled:
        return "disabled"
    if account.tokens_valid_from is not None and credential.created_on < account.tokens_valid_from:
        return "revoked"
    expires_at = credential.expires_at or credential.created_on + token_lifetime(
        account.role, police_days=police_days, unit_days=unit_days
    )
    if now >= expires_at:
        return "expired"
    return None


def actor_of(account: Account, *, on_behalf_of: str | None = None) -> Actor:
    return Actor(
        account_id=str(account.id),
        role=account.role,
        name=account.name,
        on_behalf_of=on_behalf_of,
        division_code=account.division_code if account.role is Role.OFFICER else None,
    )


def channel_of(account: Account) -> Channel | None:
    """Units act online on the platform; officers key paper filings in offline."""
    if account.role.is_unit_side:
        return Channel.ONLINE
    if account.role is Role.OFFICER:
        return Channel.OFFLINE
    return None


def reads_police_lists(account: Account) -> bool:
    """The overdue lists and their exports are police-side work (a unit gets 403)."""
    return not account.role.is_unit_side and not account.disabled


def may_verify_ledger(account: Account) -> bool:
    """Recomputing the whole chain: auditors and admins (an officer 403, a unit 404)."""
    return account.role in (Role.AUDITOR, Role.ADMIN) and not account.disabled


def may_record_police_act(account: Account, *, division_code: str) -> bool:
    """Discoveries, correction orders, inspections and moves: an officer of the district."""
    return account.role is Role.OFFICER and sees_division(account, division_code)
