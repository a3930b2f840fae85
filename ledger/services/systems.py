"""The ledger's commands on video systems: filing (online or offline, new or discovered),
reading as of an instant, changing and cancelling under If-Match."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger import codes
from ledger.access import acting_channel, actor_of, sees_division
from ledger.accounts import Account
from ledger.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from ledger.ids import filing_sequence_id
from ledger.sequence import FilingSequence
from ledger.services.base import LedgerBase, Outcome, RequestKey
from ledger.storage.group_commit import Filing, GroupCommitter
from ledger.system_checks import prepare_filing
from ledger.systems import VideoSystem
from ledger.values import Channel, FieldError, Role

# Concurrent filings in one division and year collide on its sequence; each retry re-reads it.
MAX_SEQUENCE_ATTEMPTS = 200


class SystemCommands(LedgerBase):
    """Filing, reading, changing and cancelling systems."""

    filings: GroupCommitter

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

    # --- writing -------------------------------------------------------------------
    def _acting_channel(self, caller: Account, *, division_code: str, uscc: str | None) -> Channel:
        """Checks the caller may act for this unit or district; returns the channel it uses."""
        if not (caller.role.is_unit_side or caller.role is Role.OFFICER):
            raise Forbidden(f"an {caller.role} account reads the ledger; it does not file")
        channel = acting_channel(caller, uscc=uscc, division_code=division_code)
        if channel is None:
            raise NotFound(
                "no such unit among yours" if caller.role.is_unit_side else "outside your district"
            )
        if caller.role.is_unit_side and (uscc is None or self.find_unit(uscc) is None):
            raise NotFound("no such unit among yours")
        return channel

    def file_system(
        self,
        *,
        caller: Account,
        fields: Mapping[str, Any],
        devices: Sequence[Mapping[str, Any]],
        today: date,
        discovered_system_id: UUID | None = None,
        paper_form_id: UUID | None = None,
        device_sheet_id: UUID | None = None,
        request: RequestKey | None = None,
    ) -> Outcome:
        """Files a system (online by a unit, offline by an officer), issuing its number."""
        if (replay := self._replayed(caller, request, "system")) is not None:
            return replay
        uscc = codes.normalise_uscc(str(fields["unit_uscc"]))
        fields = {**fields, "unit_uscc": uscc}
        rules = self.field_rules(today)
        errors: list[FieldError] = []
        prepared = None
        try:
            prepared = prepare_filing(fields=fields, devices=devices, rules=rules)
        except ValidationFailed as invalid:
            errors += invalid.errors
        if {e.loc for e in errors} & {("body", "unit_uscc"), ("body", "division_code")}:
            raise ValidationFailed(errors)  # a malformed code is a 422, not "not yours"
        channel = self._acting_channel(caller, division_code=fields["division_code"], uscc=uscc)
        if channel is Channel.OFFLINE and paper_form_id is None:
            errors.append(
                FieldError(
                    ("body", "paper_form_id"), "an offline filing carries the paper form's scan"
                )
            )
        if channel is Channel.OFFLINE and self.find_unit(uscc) is None:
            errors.append(FieldError(("body", "unit_uscc"), "register the unit first"))
        if discovered_system_id is not None:
            found = self._discovered(caller, discovered_system_id, fields)
            if found.division_code != fields["division_code"]:
                errors.append(
                    FieldError(
                        ("body", "division_code"),
                        f"the discovered system is in {found.division_code}",
                    )
                )
        self._check_attachments(
            caller, {"paper_form_id": paper_form_id, "device_sheet_id": device_sheet_id}, errors
        )
        if errors:
            raise ValidationFailed(errors)
        extra = {"paper_form_id": paper_form_id, "device_sheet_id": device_sheet_id}
        filing: dict[str, Any] = {
            "devices": devices,
            "rules": rules,
            "actor": actor_of(caller, on_behalf_of=uscc),
            "channel": channel,
            "effective_on": today,
            "request_digest": request.digest if request else "",
        }

        def build(sequence: FilingSequence) -> VideoSystem:
            if discovered_system_id is None:
                system_id = uuid4()
                return VideoSystem.file(
                    system_id=system_id,
                    filing_number=sequence.issue(system_id),
                    fields={**fields, **extra},
                    prepared=prepared,
                    **filing,
                )
            system = self._discovered(caller, discovered_system_id, fields)
            system.file_discovered(
                filing_number=sequence.issue(system.id),
                fields={**system.fields, **fields, **extra},
                **filing,
            )
            return system

        def alone() -> Outcome:
            for _ in range(MAX_SEQUENCE_ATTEMPTS):
                sequence = self._sequence(fields["division_code"], today.year)
                system = build(sequence)
                outcome = self._save_created(caller, request, "system", system, sequence)
                if outcome is not None:
                    return outcome
            raise StaleVersion("too many concurrent filings in this district; try again")

        pending = Filing(
            division_code=fields["division_code"],
            year=today.year,
            build=build,
            records=lambda system: self._idempotency_records(caller, request, "system", system),
            alone=alone,
            key=None if request is None else (str(caller.id), request.key),
            devices=len(devices),
        )
        outcome: Outcome = self.filings.submit(pending)
        return outcome

    def _discovered(
        self, caller: Account, system_id: UUID, fields: Mapping[str, Any]
    ) -> VideoSystem:
        """A discovered system the caller may file: an officer of its district, or the unit
        it names (or any unit, when the officer could not tell whose it is)."""
        system = self._find(system_id, VideoSystem)
        if system is None or system.discovered_by is None:
            raise NotFound("no such discovered system")
        if caller.role.is_unit_side:
            allowed = system.unit_uscc in (None, fields["unit_uscc"])
        else:
            allowed = sees_division(caller, system.division_code)
        if not allowed:
            raise NotFound("no such discovered system")
        return system

    def _sequence(self, division_code: str, year: int) -> FilingSequence:
        found = self._find(filing_sequence_id(division_code, year), FilingSequence)
        return found or FilingSequence.start(division_code=division_code, year=year)

    def _writable(
        self, caller: Account, system_id: UUID, expected_version: int
    ) -> tuple[VideoSystem, Channel]:
        system = self.system_for(caller, system_id)
        channel = self._acting_channel(
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
