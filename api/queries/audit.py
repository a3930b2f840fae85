"""Reading the audit trail: a page of the ledger's events in recorded order, filtered, in the
caller's reach (an out-of-scope filter gives an empty page)."""

from __future__ import annotations

from api.core.runtime import Runtime
from api.queries import cursors, scope
from api.queries.paging import Page
from api.queries.views import caught_up
from ledger.accounts import Account
from projections.audit_reads import AuditFilters, read_audit

__all__ = ["AuditFilters", "audit_page"]

LIST = "audit"  # the list's name in its cursors
# An item's row (audit) and its hash (chain, where this install has it).
VIEWS = ("audit", "chain")


def audit_page(
    rt: Runtime, caller: Account, *, filters: AuditFilters, cursor: str | None, limit: int
) -> Page:
    """A page of the events after the cursor's, after every earlier write."""
    after = cursors.after_number(LIST, cursor)
    caught_up(rt, VIEWS, detail="the audit view is catching up; try again shortly")
    items, next_after = read_audit(
        rt.reads, scope=scope.reach(caller), filters=filters, after=after, limit=limit
    )
    return {"items": items, "next_cursor": cursors.of_number(LIST, next_after)}
