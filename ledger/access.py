"""Who may see and do what. Out of scope looks exactly like absent (the API answers 404)."""

from __future__ import annotations

from ledger.accounts import Account
from ledger.values import Actor, Channel, Role


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


def sees_division(account: Account, division_code: str) -> bool:
    """Police-side reach: an officer's district, an auditor's prefix, an admin everywhere."""
    if account.role is Role.ADMIN:
        return True
    if account.role is Role.OFFICER:
        return division_code == account.division_code
    if account.role is Role.AUDITOR:
        return division_code.startswith(account.division_code or "")
    return False
