"""The state a video system keeps, and the questions asked of it.

`VideoSystem` (ledger/systems.py) holds the events and the verbs; this base holds what they read
and write: the filed fields and devices, the status and channel, the correction orders and
inspections, and the guards every later verb checks first. Nothing here triggers an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ledger.errors import SystemClosed, WrongChannel
from ledger.items import (
    CorrectionOrder,
    LastInspection,
    LocationWarning,
    NumberedFiling,
    SystemFields,
    unnumbered,
)
from ledger.system_checks import PreparedChange, correction_met_on, prepare_change
from ledger.validation import FieldRules
from ledger.values import Actor, Channel, Device, SystemStatus


class SystemState:
    """The fields of one system's record, as its events left them."""

    filing_number: str | None
    status: SystemStatus
    channel: Channel | None
    filed_at: datetime | None
    filed_on: date | None
    filed_by: Actor | None
    discovered_by: Actor | None
    discovery_note: str | None
    request_digest: str
    fields: SystemFields
    devices: dict[str, Device]
    warnings: list[LocationWarning]
    next_device_no: int
    cancelled_on: date | None
    correction_orders: dict[str, CorrectionOrder]
    inspections: int
    last_inspection: LastInspection | None
    changes_filed: list[tuple[int, date, date]]

    def _start(self, request_digest: str) -> None:
        """The state before the first event's content is taken."""
        self.filing_number = None
        self.status = SystemStatus.UNFILED
        self.channel = None
        self.filed_at = None
        self.filed_on = None
        self.filed_by = None
        self.discovered_by = None
        self.discovery_note = None
        self.request_digest = request_digest
        self.fields = {}
        self.devices = {}
        self.warnings = []
        self.next_device_no = 1
        self.cancelled_on = None
        self.correction_orders = {}  # by order_id, in the order given
        self.inspections = 0
        self.last_inspection = None
        # (version, effective_on, filed_on) of each change, in the order filed: its duty
        self.changes_filed = []

    def _take_filing(
        self,
        filing: NumberedFiling,
        devices: list[Device],
        warnings: list[LocationWarning],
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
    ) -> None:
        """A filing's content; the filing instant (`filed_at`) is set by the event."""
        self.filing_number = filing["filing_number"]
        self.fields = unnumbered(filing)
        self.devices = {d.key: d for d in devices}
        self.next_device_no = len(self.devices) + 1
        self.warnings = list(warnings)
        self.channel = Channel(channel)
        self.status = SystemStatus.FILED
        self.filed_on = effective_on
        self.filed_by = actor
        self.request_digest = request_digest

    # --- reading ------------------------------------------------------------------------------
    @property
    def unit_uscc(self) -> str | None:
        return self.fields.get("unit_uscc")

    @property
    def division_code(self) -> str:
        return self.fields["division_code"]

    @property
    def camera_count(self) -> int:
        return len(self.devices)

    @property
    def open_correction_orders(self) -> int:
        return sum(1 for order in self.correction_orders.values() if order["met_on"] is None)

    def prepare_change(
        self,
        changes: Mapping[str, Any],
        devices_added: Sequence[Mapping[str, Any]],
        devices_removed: Sequence[str],
        rules: FieldRules,
    ) -> PreparedChange:
        """A change checked against the system as it stands (ledger.system_checks)."""
        return prepare_change(
            fields=self.fields,
            devices=self.devices,
            next_device_no=self.next_device_no,
            changes=changes,
            devices_added=devices_added,
            devices_removed=devices_removed,
            rules=rules,
        )

    # --- guards -------------------------------------------------------------------------------
    def check_not_cancelled(self) -> None:
        if self.status is SystemStatus.CANCELLED:
            raise SystemClosed("the system is cancelled; nothing can follow a cancellation")

    def check_open_to(self, channel: Channel) -> None:
        """Nothing after a cancellation; a filed system is changed only through its channel."""
        self.check_not_cancelled()
        if self.status is SystemStatus.UNFILED:
            raise SystemClosed("the system is not filed yet; file it first")
        if channel is not self.channel:
            raise WrongChannel(
                f"the system was filed {self.channel}; it can only be changed or cancelled "
                f"{self.channel}"
            )

    # --- correction orders --------------------------------------------------------------------
    def meet_orders(self, answer: object) -> None:
        """Marks the open correction orders that `answer`, an event just applied, meets."""
        for order in self.correction_orders.values():
            if order["met_on"] is None:
                order["met_on"] = correction_met_on(answer, ordered_on=order["ordered_on"])
