"""Reading units: one unit as its caller may see it, and the units list."""

from __future__ import annotations

from typing import Any

from api.core.runtime import Runtime
from api.queries import scope
from api.queries.render import unit_public
from api.queries.views import caught_up
from ledger.accounts import Account
from projections.status import list_units

# `GET /v1/units` has no cursor: at most this many units (docs/contract.md).
MAX_UNITS = 1000


def unit_detail(rt: Runtime, caller: Account, uscc: str) -> dict[str, Any]:
    """The unit as `GET /v1/units/{uscc}` shows it to this caller (404 out of reach)."""
    return unit_public(rt.ledger.unit_for(caller, uscc), caller)


def units_list(
    rt: Runtime, caller: Account, *, verification: str | None, limit: int = MAX_UNITS
) -> list[dict[str, Any]]:
    """The units in the caller's reach, in the order registered (only those in the
    `verification` state, if given), after every earlier write."""
    caught_up(rt, ("status",))
    return list_units(rt.reads, reach=scope.reach(caller), verification=verification, limit=limit)
