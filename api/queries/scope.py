"""Who sees what, as the read layer asks it: the one rule of `ledger/access.py`.

Every read in this package takes the caller's `Reach` from here and hands it to the views'
readers, whose SQL `projections/scope.py` derives from the same `Reach`; a single object or
history is read through the ledger, which asks `ledger.access.may_see`. No read decides scope
for itself (docs/identity.md).
"""

from __future__ import annotations

from api.http.problems import Problem
from ledger.access import Reach, reach_of, reads_police_lists
from ledger.accounts import Account

__all__ = ["Reach", "police_reach", "reach"]


def reach(caller: Account) -> Reach:
    """What the caller sees (nothing, for a disabled account or an officer without a district)."""
    return reach_of(caller)


def police_reach(caller: Account) -> Reach:
    """The reach of a police-side list (the overdue lists and their exports): 403 for a
    unit-side or disabled account."""
    if not reads_police_lists(caller):
        raise Problem(403, "the overdue lists are for officers, auditors and admins")
    return reach_of(caller)
