"""The ledger's commands on video systems: reading as of an instant, changing and cancelling
under If-Match. Filing them is `ledger.services.filing`'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger.access import actor_of
from ledger.accounts import Account
from ledger.errors import NotFound, StaleVersion, ValidationFailed
from ledger.services.filing import MAX_SEQUENCE_ATTEMPTS, FilingCommands
from ledger.systems import VideoSystem
from ledger.values import Channel, FieldError

__all__ = ["MAX_SEQUENCE_ATTEMPTS", "SystemCommands"]


class SystemCommands(FilingCommands):
    """Filing (`FilingCommands`), reading, changing and cancelling systems."""

    # --- reading ----------------------------------------------------------------------------
    def system_as_of(self, caller: Account, system_id: UUID, instant: datetime) -> VideoSystem:
        """The system exactly as the ledger knew it at `instant`, folded from its events."""
        current = self.system_for(caller, system_id)
        version = None
        for stored in self.events.get(system_id):
            if cast(Aggregate.Event, stored).timestamp > instant:
                break
            version = stored.originator_version
        if version is None:
            raise NotFound("the system did not exist yet at that instant")
        if version == current.version:
            return current
        past: VideoSystem = self.repository.get(system_id, version=version)
        return past

    def system_events(self, caller: Account, system_id: UUID) -> list[Any]:
        self.system_for(caller, system_id)
        return list(self.events.get(system_id))

    def _writable(
        self, caller: Account, system_id: UUID, expected_version: int
    ) -> tuple[VideoSystem, Channel]:
        system = self.system_for(caller, system_id)
        channel, _ = self._acting_channel(
            caller, division_code=system.division_code, uscc=system.unit_uscc
        )
        if system.version != expected_version:
            raise StaleVersion(f"the system is at version {system.version}, not {expected_version}")
        return system, channel

    def _save_expected(self, system: VideoSystem, expected_version: int) -> None:
        try:
            self.save(system)
        except IntegrityError:
            # Someone saved version expected+1 first: the store's key decides, not a re-read.
            raise StaleVersion(
                f"the system changed after version {expected_version}; read it again"
            ) from None

    def change_system(
        self,
        *,
        caller: Account,
        system_id: UUID,
        expected_version: int,
        effective_on: date,
        reason: str,
        changes: Mapping[str, Any],
        devices_added: Sequence[Mapping[str, Any]] = (),
        devices_removed: Sequence[str] = (),
        today: date,
    ) -> VideoSystem:
        system, channel = self._writable(caller, system_id, expected_version)
        if "division_code" in changes:
            raise ValidationFailed(
                [
                    FieldError(
                        ("body", "changes", "division_code"),
                        "a system's district is not changed by a filing: an officer of the"
                        " district moves it (POST /v1/systems/{system_id}/move)",
                    )
                ]
            )
        system.change(
            reason=reason,
            changes=changes,
            devices_added=devices_added,
            devices_removed=devices_removed,
            rules=self.field_rules(today),
            actor=actor_of(caller, on_behalf_of=system.unit_uscc),
            channel=channel,
            effective_on=effective_on,
            filed_on=today,
        )
        self._save_expected(system, expected_version)
        return system

    def cancel_system(
        self,
        *,
        caller: Account,
        system_id: UUID,
        expected_version: int,
        effective_on: date,
        reason: str,
        today: date,
    ) -> VideoSystem:
        system, channel = self._writable(caller, system_id, expected_version)
        system.cancel(
            reason=reason,
            actor=actor_of(caller, on_behalf_of=system.unit_uscc),
            channel=channel,
            effective_on=effective_on,
            filed_on=today,
        )
        self._save_expected(system, expected_version)
        return system
