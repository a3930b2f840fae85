"""The views the service keeps, by the names the command line and the registry use."""

from __future__ import annotations

from projections.audit import AuditView
from projections.base import ViewRecorder
from projections.chain import ChainView
from projections.overdue import OverdueView
from projections.status import StatusView

# Order matters only for display and start-up: `status` first, the one writes wait for.
VIEWS: dict[str, type[ViewRecorder]] = {
    StatusView.name: StatusView,
    OverdueView.name: OverdueView,
    AuditView.name: AuditView,
    ChainView.name: ChainView,
}
