"""The video system aggregate (公共安全视频图像信息系统): filed, changed, cancelled, and the
police side: the discovery of a system nobody filed, correction orders and inspections.

Public verbs check the rules (the pure checks are in `ledger.system_checks`), then call a private
event method that only assigns state, so the checks never re-run when the aggregate is rebuilt
from its events. When a correction order counts as met: `ledger.system_checks.AnswersOrders`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger import system_checks as checks
from ledger.errors import SystemClosed, ValidationFailed
from ledger.items import (
    LocationWarning,
    NumberedFiling,
    SystemFields,
    as_system_fields,
    numbered_filing,
)
from ledger.system_checks import AnswersOrders, PreparedFiling, RecordsFilingDay
from ledger.system_state import SystemState
from ledger.validation import FieldRules, system_field_errors
from ledger.values import Actor, Channel, Device, SystemStatus

OFFLINE = str(Channel.OFFLINE)


class VideoSystem(SystemState, Aggregate):
    """One system's whole record; `version` is the ETag clients send back in If-Match."""

    # --- events -------------------------------------------------------------------------------
    class Filed(Aggregate.Created):
        """A complete filing of a system not known before (备案登记)."""

        filing: NumberedFiling
        devices: list[Device]
        warnings: list[LocationWarning]
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str

    class Discovered(Aggregate.Created):
        """An officer found a system in use that was never filed."""

        facts: SystemFields
        note: str
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str

    class DiscoveredFiled(AnswersOrders, Aggregate.Event):
        """The filing of a system the police had discovered: same content as `Filed`."""

        filing: NumberedFiling
        devices: list[Device]
        warnings: list[LocationWarning]
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str

        def mutate(self, aggregate: Any) -> Any:
            # `apply` runs before the library stamps `modified_on`: the filing instant is here
            mutated = super().mutate(aggregate)
            assert mutated is not None
            mutated.filed_at = self.timestamp
            return mutated

    class Changed(RecordsFilingDay, AnswersOrders, Aggregate.Event):
        """A filed item changed (备案变更); `effective_on` is when the change took effect,
        `filed_on` the day the change was filed (the edge's today; for a paper filing keyed
        in by an officer, the day it is recorded)."""

        class_version = 2

        reason: str
        changes: SystemFields
        devices_added: list[Device]
        devices_removed: list[str]
        warnings: list[LocationWarning]
        actor: Actor
        channel: str
        effective_on: date
        filed_on: date

    class Moved(Aggregate.Event):
        """An officer of its district moved the system to another district: `changes` holds
        `division_code` alone. Its own event, never a unit's change: it answers no correction
        order and is no change duty of the unit; the views follow the system to its new
        district and the audit keeps the district it left."""

        reason: str
        changes: SystemFields
        actor: Actor
        channel: str
        effective_on: date

    class Cancelled(RecordsFilingDay, AnswersOrders, Aggregate.Event):
        """The system was taken out of use (注销) on `effective_on`, filed on `filed_on`.
        Nothing follows."""

        class_version = 2

        reason: str
        actor: Actor
        channel: str
        effective_on: date
        filed_on: date

    class CorrectionOrdered(Aggregate.Event):
        """An officer ordered a correction by `due_on` (责令限期改正) on `effective_on`."""

        order_id: str
        reason: str
        due_on: date
        actor: Actor
        channel: str
        effective_on: date

    class Inspected(AnswersOrders, Aggregate.Event):
        """An officer inspected the system on `effective_on`: "consistent" or "discrepancy"."""

        inspection_id: str
        result: str
        note: str
        actor: Actor
        channel: str
        effective_on: date

        def meets_order_on(self, ordered_on: date) -> date | None:
            consistent = self.result == "consistent" and self.effective_on >= ordered_on
            return self.effective_on if consistent else None

    # --- state (its shape and reads: ledger.system_state) ---------------------------------
    def __init__(
        self,
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
        filing: NumberedFiling | None = None,
        devices: list[Device] | None = None,
        warnings: list[LocationWarning] | None = None,
        facts: SystemFields | None = None,
        note: str | None = None,
    ) -> None:
        self._start(request_digest)
        if filing is not None:
            self._take_filing(
                filing, devices or [], warnings or [], actor, channel, effective_on, request_digest
            )
            self.filed_at = self.created_on
        else:
            self.fields = as_system_fields(facts or {})
            self.discovered_by = actor
            self.discovery_note = note

    # --- filing -------------------------------------------------------------------------------
    @classmethod
    def file(
        cls,
        *,
        system_id: UUID,
        filing_number: str,
        fields: Mapping[str, Any],
        devices: Sequence[Mapping[str, Any]],
        rules: FieldRules,
        actor: Actor,
        channel: Channel,
        effective_on: date,
        request_digest: str,
        prepared: PreparedFiling | None = None,
    ) -> VideoSystem:
        """`prepared` is what `checks.prepare_filing` returned for these same fields and
        devices, when the caller has just run it (a filing's number is issued after its
        checks, and the checks need not run twice)."""
        prepared = prepared or checks.prepare_filing(fields=fields, devices=devices, rules=rules)
        return cls._create(
            cls.Filed,
            id=system_id,
            filing=numbered_filing(fields, filing_number),
            devices=prepared.devices,
            warnings=prepared.warnings,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
            request_digest=request_digest,
        )

    @classmethod
    def discover(
        cls,
        *,
        system_id: UUID,
        facts: Mapping[str, Any],
        note: str,
        rules: FieldRules,
        actor: Actor,
        effective_on: date,
        request_digest: str,
    ) -> VideoSystem:
        if errors := system_field_errors(facts, rules):
            raise ValidationFailed(errors)
        return cls._create(
            cls.Discovered,
            id=system_id,
            facts=as_system_fields(facts),
            note=note,
            actor=actor,
            channel=OFFLINE,
            effective_on=effective_on,
            request_digest=request_digest,
        )

    def file_discovered(
        self,
        *,
        filing_number: str,
        fields: Mapping[str, Any],
        devices: Sequence[Mapping[str, Any]],
        rules: FieldRules,
        actor: Actor,
        channel: Channel,
        effective_on: date,
        request_digest: str,
        prepared: PreparedFiling | None = None,
    ) -> None:
        """`prepared` as for `file`."""
        if self.status is not SystemStatus.UNFILED:
            raise SystemClosed(f"system is already {self.status}")
        prepared = prepared or checks.prepare_filing(fields=fields, devices=devices, rules=rules)
        self._file_discovered(
            numbered_filing(fields, filing_number),
            prepared.devices,
            prepared.warnings,
            actor,
            str(channel),
            effective_on,
            request_digest,
        )

    @event(DiscoveredFiled)
    def _file_discovered(
        self,
        filing: NumberedFiling,
        devices: list[Device],
        warnings: list[LocationWarning],
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
    ) -> None:
        self._take_filing(filing, devices, warnings, actor, channel, effective_on, request_digest)

    # --- changing and cancelling --------------------------------------------------------------
    def change(
        self,
        *,
        reason: str,
        changes: Mapping[str, Any],
        devices_added: Sequence[Mapping[str, Any]],
        devices_removed: Sequence[str],
        rules: FieldRules,
        actor: Actor,
        channel: Channel,
        effective_on: date,
        filed_on: date,
    ) -> None:
        self.check_open_to(channel)
        change = self.prepare_change(changes, devices_added, devices_removed, rules)
        self._change(
            reason=reason,
            changes=change.changes,
            devices_added=change.devices_added,
            devices_removed=change.devices_removed,
            warnings=change.warnings,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
            filed_on=filed_on,
        )

    @event(Changed)
    def _change(
        self,
        reason: str,
        changes: SystemFields,
        devices_added: list[Device],
        devices_removed: list[str],
        warnings: list[LocationWarning],
        actor: Actor,
        channel: str,
        effective_on: date,
        filed_on: date,
    ) -> None:
        self.fields.update(changes)
        for key in devices_removed:
            self.devices.pop(key, None)
        for device in devices_added:
            self.devices[device.key] = device
        self.next_device_no += len(devices_added)
        self.warnings = self.warnings + warnings
        # apply() runs before the library advances `version`: this change is version + 1
        self.changes_filed = [*self.changes_filed, (self.version + 1, effective_on, filed_on)]

    def move(self, *, division_code: str, reason: str, actor: Actor, effective_on: date) -> None:
        self.check_not_cancelled()
        self._move(
            reason=reason,
            changes={"division_code": division_code},
            actor=actor,
            channel=str(Channel.OFFLINE),
            effective_on=effective_on,
        )

    @event(Moved)
    def _move(
        self, reason: str, changes: SystemFields, actor: Actor, channel: str, effective_on: date
    ) -> None:
        self.fields.update(changes)

    def cancel(
        self, *, reason: str, actor: Actor, channel: Channel, effective_on: date, filed_on: date
    ) -> None:
        self.check_open_to(channel)
        self._cancel(
            reason=reason,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
            filed_on=filed_on,
        )

    @event(Cancelled)
    def _cancel(
        self, reason: str, actor: Actor, channel: str, effective_on: date, filed_on: date
    ) -> None:
        self.status = SystemStatus.CANCELLED
        self.cancelled_on = effective_on

    # --- police side: correction orders and inspections ---------------------------------------
    def order_correction(
        self, *, order_id: str, reason: str, due_on: date, actor: Actor, today: date
    ) -> None:
        """Orders the unit to correct by `due_on`, a day after `today` (the day ordered)."""
        self.check_not_cancelled()
        checks.check_correction_order(due_on=due_on, today=today)
        self._order_correction(
            order_id=order_id,
            reason=reason,
            due_on=due_on,
            actor=actor,
            channel=OFFLINE,
            effective_on=today,
        )

    @event(CorrectionOrdered)
    def _order_correction(
        self,
        order_id: str,
        reason: str,
        due_on: date,
        actor: Actor,
        channel: str,
        effective_on: date,
    ) -> None:
        self.correction_orders[order_id] = {
            "due_on": due_on,
            "reason": reason,
            "ordered_on": effective_on,
            "met_on": None,
        }

    def record_inspection(
        self,
        *,
        inspection_id: str,
        inspected_on: date,
        result: str,
        note: str,
        actor: Actor,
        today: date,
    ) -> None:
        """Records an inspection made on `inspected_on` (not after `today`)."""
        self.check_not_cancelled()
        checks.check_inspection(inspected_on=inspected_on, result=result, today=today)
        self._inspect(
            inspection_id=inspection_id,
            result=result,
            note=note,
            actor=actor,
            channel=OFFLINE,
            effective_on=inspected_on,
        )

    @event(Inspected)
    def _inspect(
        self,
        inspection_id: str,
        result: str,
        note: str,
        actor: Actor,
        channel: str,
        effective_on: date,
    ) -> None:
        self.inspections += 1
        # The latest inspection by the day it was made; of two on one day, the later recorded.
        if self.last_inspection is None or effective_on >= self.last_inspection["on"]:
            self.last_inspection = {"on": effective_on, "result": result}
