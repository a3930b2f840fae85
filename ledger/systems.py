"""The video system aggregate (公共安全视频图像信息系统): filed, changed, cancelled, and the
police side's discovery of a system nobody filed.

Public verbs check the rules, then call a private event method that only assigns state, so the
checks never re-run when the aggregate is rebuilt from its events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import SystemClosed, ValidationFailed, WrongChannel
from ledger.validation import (
    FieldRules,
    device_errors,
    location_warnings,
    system_field_errors,
)
from ledger.values import (
    CHANGEABLE_FIELDS,
    Actor,
    Channel,
    Device,
    FieldError,
    SystemStatus,
)


def _device(key: str, data: Mapping[str, Any]) -> Device:
    return Device.from_dict({**data, "key": key})


class VideoSystem(Aggregate):
    """One system's whole record; `version` is the ETag clients send back in If-Match."""

    # --- events -------------------------------------------------------------------------------
    class Filed(Aggregate.Created):
        """A complete filing of a system not known before (备案登记)."""

        filing: dict[str, Any]
        devices: list[Device]
        warnings: list[dict[str, Any]]
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str

    class Discovered(Aggregate.Created):
        """An officer found a system in use that was never filed."""

        facts: dict[str, Any]
        note: str
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str

    class DiscoveredFiled(Aggregate.Event):
        """The filing of a system the police had discovered: same content as `Filed`."""

        filing: dict[str, Any]
        devices: list[Device]
        warnings: list[dict[str, Any]]
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str

        def mutate(self, aggregate: Any) -> Any:
            # `apply` runs before the library stamps `modified_on`, so the filing instant is
            # taken here, after it.
            mutated = super().mutate(aggregate)
            assert mutated is not None
            mutated.filed_at = self.timestamp
            return mutated

    class Changed(Aggregate.Event):
        """A filed item changed (备案变更); `effective_on` is when the change took effect."""

        reason: str
        changes: dict[str, Any]
        devices_added: list[Device]
        devices_removed: list[str]
        warnings: list[dict[str, Any]]
        actor: Actor
        channel: str
        effective_on: date

    class Cancelled(Aggregate.Event):
        """The system was taken out of use (注销). Nothing follows."""

        reason: str
        actor: Actor
        channel: str
        effective_on: date

    # --- state --------------------------------------------------------------------------------
    def __init__(
        self,
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
        filing: dict[str, Any] | None = None,
        devices: list[Device] | None = None,
        warnings: list[dict[str, Any]] | None = None,
        facts: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        self.filing_number: str | None = None
        self.status = SystemStatus.UNFILED
        self.channel: Channel | None = None
        self.filed_at: Any = None
        self.filed_on: date | None = None
        self.filed_by: Actor | None = None
        self.discovered_by: Actor | None = None
        self.discovery_note: str | None = None
        self.request_digest = request_digest
        self.fields: dict[str, Any] = {}
        self.devices: dict[str, Device] = {}
        self.warnings: list[dict[str, Any]] = []
        self.next_device_no = 1
        self.cancelled_on: date | None = None
        if filing is not None:
            self._take_filing(
                {
                    "filing": filing,
                    "devices": devices or [],
                    "warnings": warnings or [],
                    "actor": actor,
                    "channel": channel,
                    "effective_on": effective_on,
                    "request_digest": request_digest,
                }
            )
        else:
            self.fields = dict(facts or {})
            self.discovered_by = actor
            self.discovery_note = note

    def _take_filing(self, data: Mapping[str, Any]) -> None:
        filing = dict(data["filing"])
        self.filing_number = filing.pop("filing_number")
        self.fields = filing
        self.devices = {d.key: d for d in data["devices"]}
        self.next_device_no = len(self.devices) + 1
        self.warnings = list(data["warnings"])
        self.channel = Channel(data["channel"])
        self.status = SystemStatus.FILED
        self.filed_at = self.created_on
        self.filed_on = data["effective_on"]
        self.filed_by = data["actor"]
        self.request_digest = data["request_digest"]

    # --- reading ------------------------------------------------------------------------------
    @property
    def unit_uscc(self) -> str | None:
        return cast("str | None", self.fields.get("unit_uscc"))

    @property
    def division_code(self) -> str:
        return cast(str, self.fields["division_code"])

    @property
    def camera_count(self) -> int:
        return len(self.devices)

    # --- filing -------------------------------------------------------------------------------
    @staticmethod
    def prepare_filing(
        *,
        fields: Mapping[str, Any],
        devices: Sequence[Mapping[str, Any]],
        rules: FieldRules,
    ) -> tuple[list[Device], list[dict[str, Any]]]:
        """Checks a filing's fields and devices; returns the keyed devices and the warnings."""
        errors = system_field_errors(fields, rules) + device_errors(devices, rules)
        if not devices:
            errors.append(FieldError(("body", "devices"), "a system has at least one device"))
        if errors:
            raise ValidationFailed(errors)
        keyed = [
            _device(d.get("device_id") or f"D{i:04d}", d) for i, d in enumerate(devices, start=1)
        ]
        return keyed, location_warnings(fields, devices, rules)

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
    ) -> VideoSystem:
        keyed, warnings = cls.prepare_filing(fields=fields, devices=devices, rules=rules)
        return cls._create(
            cls.Filed,
            id=system_id,
            filing={**fields, "filing_number": filing_number},
            devices=keyed,
            warnings=warnings,
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
        errors = system_field_errors(facts, rules)
        if errors:
            raise ValidationFailed(errors)
        return cls._create(
            cls.Discovered,
            id=system_id,
            facts=dict(facts),
            note=note,
            actor=actor,
            channel=str(Channel.OFFLINE),
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
    ) -> None:
        if self.status is not SystemStatus.UNFILED:
            raise SystemClosed(f"system is already {self.status}")
        keyed, warnings = self.prepare_filing(fields=fields, devices=devices, rules=rules)
        self._file_discovered(
            filing={**fields, "filing_number": filing_number},
            devices=keyed,
            warnings=warnings,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
            request_digest=request_digest,
        )

    @event(DiscoveredFiled)
    def _file_discovered(
        self,
        filing: dict[str, Any],
        devices: list[Device],
        warnings: list[dict[str, Any]],
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
    ) -> None:
        self._take_filing(
            {
                "filing": filing,
                "devices": devices,
                "warnings": warnings,
                "actor": actor,
                "channel": channel,
                "effective_on": effective_on,
                "request_digest": request_digest,
            }
        )

    # --- changing -----------------------------------------------------------------------------
    def check_open_to(self, channel: Channel) -> None:
        """Nothing after a cancellation; a filed system is changed only through its channel."""
        if self.status is SystemStatus.CANCELLED:
            raise SystemClosed("the system is cancelled; nothing can follow a cancellation")
        if self.status is SystemStatus.UNFILED:
            raise SystemClosed("the system is not filed yet; file it first")
        if channel is not self.channel:
            raise WrongChannel(
                f"the system was filed {self.channel}; it can only be changed or cancelled "
                f"{self.channel}"
            )

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
    ) -> None:
        self.check_open_to(channel)
        errors = self._change_errors(changes, devices_added, devices_removed, rules)
        if errors:
            raise ValidationFailed(errors)
        added = []
        next_no = self.next_device_no
        for data in devices_added:
            key = data.get("device_id") or f"D{next_no:04d}"
            next_no += 1
            added.append(_device(key, data))
        effective = {k: v for k, v in changes.items() if self.fields.get(k) != v}
        if not effective and not added and not devices_removed:
            raise ValidationFailed(
                [FieldError(("body", "changes"), "nothing changes: every value is already filed")]
            )
        warnings = location_warnings(
            effective,
            devices_added,
            rules,
            loc=("body", "changes"),
            devices_loc=("body", "devices_added"),
        )
        self._change(
            reason=reason,
            changes=effective,
            devices_added=added,
            devices_removed=list(devices_removed),
            warnings=warnings,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
        )

    def _change_errors(
        self,
        changes: Mapping[str, Any],
        devices_added: Sequence[Mapping[str, Any]],
        devices_removed: Sequence[str],
        rules: FieldRules,
    ) -> list[FieldError]:
        errors = [
            FieldError(("body", "changes", name), f"'{name}' cannot be changed")
            for name in changes
            if name not in CHANGEABLE_FIELDS
        ]
        merged = {**self.fields, **changes}
        # Re-check the fields as they will stand, reported at the keys the caller sent.
        for error in system_field_errors(merged, rules):
            name = error.loc[-1]
            if name in changes or (name == "place_type" and "place_category" in changes):
                errors.append(FieldError(("body", "changes", *error.loc[1:]), error.msg))
        errors += device_errors(devices_added, rules, loc=("body", "devices_added"))
        for index, key in enumerate(devices_removed):
            if key not in self.devices:
                errors.append(
                    FieldError(("body", "devices_removed", index), f"no device '{key}' is filed")
                )
        for index, data in enumerate(devices_added):
            device_id = data.get("device_id")
            if device_id and device_id in self.devices and device_id not in devices_removed:
                errors.append(
                    FieldError(("body", "devices_added", index, "device_id"), "already filed")
                )
        removed = {key for key in devices_removed if key in self.devices}
        remaining = len(self.devices) - len(removed) + len(devices_added)
        if remaining < 1:
            errors.append(FieldError(("body", "devices_removed"), "a system keeps one device"))
        return errors

    @event(Changed)
    def _change(
        self,
        reason: str,
        changes: dict[str, Any],
        devices_added: list[Device],
        devices_removed: list[str],
        warnings: list[dict[str, Any]],
        actor: Actor,
        channel: str,
        effective_on: date,
    ) -> None:
        self.fields.update(changes)
        for key in devices_removed:
            self.devices.pop(key, None)
        for device in devices_added:
            self.devices[device.key] = device
        self.next_device_no += len(devices_added)
        self.warnings = self.warnings + warnings

    # --- cancelling ---------------------------------------------------------------------------
    def cancel(self, *, reason: str, actor: Actor, channel: Channel, effective_on: date) -> None:
        self.check_open_to(channel)
        self._cancel(reason=reason, actor=actor, channel=str(channel), effective_on=effective_on)

    @event(Cancelled)
    def _cancel(self, reason: str, actor: Actor, channel: str, effective_on: date) -> None:
        self.status = SystemStatus.CANCELLED
        self.cancelled_on = effective_on
