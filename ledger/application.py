"""The ledger's eventsourcing Application: commands in domain values, and reads of the log.

Every command takes its caller, its dates and its request digest as arguments; nothing here
reads a clock. Uniqueness (a USCC, a filing number, an idempotency key, an expected version)
is enforced by the event store's (id, version) primary key, never by a check-then-write race.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from ledger import codes
from ledger.access import actor_of, channel_of, sees_division
from ledger.accounts import Account, Credential
from ledger.attachments import Attachment
from ledger.errors import (
    AlreadyExists,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from ledger.idempotency import IdempotencyRecord
from ledger.ids import credential_id, filing_sequence_id, keyed_id, unit_id
from ledger.rules import Rules, forbidden_location, load_rules
from ledger.sequence import FilingSequence
from ledger.systems import VideoSystem
from ledger.transcodings import register_ledger_transcodings
from ledger.units import Unit
from ledger.validation import FieldRules
from ledger.values import Channel, FieldError, Role

A = TypeVar("A", bound=Aggregate)

# Concurrent filings in one division and year collide on its sequence; each retry re-reads it.
MAX_SEQUENCE_ATTEMPTS = 200


@dataclass(frozen=True)
class RequestKey:
    """An Idempotency-Key and the digest of the request it came with."""

    key: str
    digest: str


@dataclass(frozen=True)
class Outcome:
    """What a creating command produced; `replayed` when an idempotent retry found it."""

    aggregate: Any
    replayed: bool = False


class Ledger(Application[UUID]):
    """The filing ledger. Its events live in the `ledger_events` table."""

    name = "Ledger"
    snapshotting_intervals = {FilingSequence: 100}  # noqa: RUF012 - the library's class API
    env = {  # noqa: RUF012
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
    }

    def __init__(self, env: Mapping[str, str] | None = None, *, rules: Rules | None = None):
        super().__init__(env)
        self.rules = rules or load_rules()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    def _take_snapshots(self, processing_event: Any) -> None:
        """Snapshots only speed up reads: once the events are committed, a failed snapshot
        must not turn the acknowledged write into an error (and a retry into a double)."""
        with contextlib.suppress(Exception):
            super()._take_snapshots(processing_event)

    def field_rules(self, today: date) -> FieldRules:
        rules = self.rules
        return FieldRules(
            min_storage_days=rules.storage_min_days,
            forbidden_location=lambda text: forbidden_location(text, rules),
            today=today,
        )

    # --- generic reads ----------------------------------------------------------------------
    def _find(self, aggregate_id: UUID, kind: type[A], version: int | None = None) -> A | None:
        try:
            found: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _get(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        found = self._find(aggregate_id, kind)
        if found is None:
            raise NotFound(f"no such {what}")
        return found

    # --- accounts ---------------------------------------------------------------------------
    def open_account(
        self,
        *,
        token_sha256: str,
        role: Role,
        name: str,
        phone: str | None = None,
        id_number: str | None = None,
        uscc: str | None = None,
        division_code: str | None = None,
        today: date,
    ) -> Account:
        errors: list[FieldError] = []
        if phone is not None and (msg := codes.phone_error(phone)):
            errors.append(FieldError(("body", "phone"), msg))
        if id_number is not None and (msg := codes.id_card_error(id_number, today=today)):
            errors.append(FieldError(("body", "id_number"), msg))
        if role is Role.LEGAL_PERSON and uscc is None:
            errors.append(FieldError(("body", "uscc"), "a legal-person account needs its USCC"))
        if uscc is not None and (msg := codes.uscc_error(uscc)):
            errors.append(FieldError(("body", "uscc"), msg))
        if role is Role.OFFICER and (
            division_code is None or codes.division_code_error(division_code)
        ):
            errors.append(FieldError(("division_code",), "an officer needs a valid district"))
        if errors:
            raise ValidationFailed(errors)
        account = Account.open(
            role=role,
            name=name,
            phone=phone,
            id_number=codes.normalise_id_card(id_number) if id_number else None,
            uscc=codes.normalise_uscc(uscc) if uscc else None,
            division_code=division_code,
        )
        credential = Credential.issue(token_sha256=token_sha256, account_id=account.id)
        self.save(account, credential)
        return account

    def account_for_token(self, token_sha256: str) -> Account | None:
        credential = self._find(credential_id(token_sha256), Credential)
        return None if credential is None else self._find(credential.account_id, Account)

    # --- attachments ------------------------------------------------------------------------
    def upload(
        self, *, caller: Account, content: bytes, media_type: str, filename: str
    ) -> Attachment:
        attachment = Attachment.upload(
            content=content, media_type=media_type, filename=filename, actor=actor_of(caller)
        )
        self.save(attachment)
        return attachment

    def get_attachment(self, attachment_id: UUID) -> Attachment:
        return self._get(attachment_id, Attachment, "attachment")

    def _check_attachments(
        self, caller: Account, refs: Mapping[str, UUID | None], errors: list[FieldError]
    ) -> None:
        """Attachments named in a request must exist and have been uploaded by the caller."""
        for field, attachment_id in refs.items():
            if attachment_id is None:
                continue
            found = self._find(attachment_id, Attachment)
            if found is None or found.uploaded_by.account_id != str(caller.id):
                errors.append(FieldError(("body", field), "no such attachment of yours"))

    # --- idempotent creation ----------------------------------------------------------------
    def _replayed(self, caller: Account, request: RequestKey | None, kind: str) -> Outcome | None:
        if request is None:
            return None
        record = self._find(keyed_id("idempotency", str(caller.id), request.key), IdempotencyRecord)
        if record is None:
            return None
        if record.request_digest != request.digest or record.kind != kind:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used before with a different request"
            )
        first: Aggregate = self.repository.get(record.target_id, version=record.target_version)
        return Outcome(first, replayed=True)

    def _save_created(
        self,
        caller: Account,
        request: RequestKey | None,
        kind: str,
        target: Aggregate,
        *others: Aggregate,
    ) -> Outcome | None:
        """Saves `target` (and `others`) with the idempotency record; None on a key collision
        that is not this caller's retry (the caller decides what that collision means)."""
        records = []
        if request is not None:
            records.append(
                IdempotencyRecord.record(
                    account_id=str(caller.id),
                    key=request.key,
                    kind=kind,
                    target_id=target.id,
                    target_version=target.version,
                    request_digest=request.digest,
                )
            )
        try:
            self.save(target, *others, *records)
        except IntegrityError:
            replay = self._replayed(caller, request, kind)
            if replay is not None:
                return replay
            return None
        return Outcome(target)

    # --- units ------------------------------------------------------------------------------
    def register_unit(
        self,
        *,
        caller: Account,
        fields: Mapping[str, Any],
        today: date,
        request: RequestKey | None = None,
    ) -> Outcome:
        if (replay := self._replayed(caller, request, "unit")) is not None:
            return replay
        channel = channel_of(caller)
        if channel is None:
            raise Forbidden("only a unit's accounts or an officer can register a unit")
        uscc = codes.normalise_uscc(str(fields["uscc"]))
        errors = self._unit_errors(caller, {**fields, "uscc": uscc})
        if errors:
            raise ValidationFailed(errors)
        unit = Unit.register(
            **{**fields, "uscc": uscc},
            actor=actor_of(caller, on_behalf_of=uscc),
            channel=str(channel),
            effective_on=today,
            request_digest=request.digest if request else "",
        )
        outcome = self._save_created(caller, request, "unit", unit)
        if outcome is None:
            raise AlreadyExists(f"unit {uscc} is already registered")
        return outcome

    def _unit_errors(self, caller: Account, fields: Mapping[str, Any]) -> list[FieldError]:
        errors: list[FieldError] = []
        checks: dict[str, Callable[[str], str | None]] = {
            "uscc": codes.uscc_error,
            "division_code": codes.division_code_error,
            "contact_phone": codes.phone_error,
        }
        for field, check in checks.items():
            if (msg := check(str(fields[field]))) is not None:
                errors.append(FieldError(("body", field), msg))
        if caller.role is Role.OFFICER and fields["division_code"] != caller.division_code:
            errors.append(FieldError(("body", "division_code"), "outside your district"))
        own_legal_person = caller.role is Role.LEGAL_PERSON and caller.uscc == fields["uscc"]
        if not own_legal_person and fields.get("authorization_letter_id") is None:
            errors.append(
                FieldError(
                    ("body", "authorization_letter_id"),
                    "an authorisation letter is required unless the unit's own legal-person "
                    "account registers it",
                )
            )
        if caller.role is Role.LEGAL_PERSON and caller.uscc != fields["uscc"]:
            errors.append(
                FieldError(("body", "uscc"), "a legal-person account acts for its own unit only")
            )
        self._check_attachments(
            caller,
            {
                "authorization_letter_id": fields.get("authorization_letter_id"),
                "business_licence_id": fields.get("business_licence_id"),
            },
            errors,
        )
        return errors

    def find_unit(self, uscc: str) -> Unit | None:
        return self._find(unit_id(codes.normalise_uscc(uscc)), Unit)

    def unit_for(self, caller: Account, uscc: str) -> Unit:
        """The unit, if the caller may see it."""
        unit = self.find_unit(uscc)
        if unit is None or not self.may_see_unit(caller, unit):
            raise NotFound(f"no unit {uscc}")
        return unit

    def may_see_unit(self, caller: Account, unit: Unit) -> bool:
        if caller.role.is_unit_side:
            return unit.may_act(account_id=str(caller.id), uscc=caller.uscc)
        return sees_division(caller, unit.division_code)

    def authorise_agent(
        self,
        *,
        caller: Account,
        uscc: str,
        account_id: UUID,
        authorization_letter_id: UUID,
        today: date,
    ) -> Unit:
        """Adds a person account as an agent of the unit, on its stamped letter.

        The unit's existing agents, its legal-person account and an officer of its district
        may add an agent; anyone else gets "no such unit", so nobody joins a unit by
        themselves to read its filings.
        """
        unit = self.find_unit(uscc)
        may_add = unit is not None and (
            (caller.role.is_unit_side and self.may_see_unit(caller, unit))
            or (caller.role is Role.OFFICER and self.may_see_unit(caller, unit))
        )
        if unit is None or not may_add:
            raise NotFound(f"no unit {uscc}")
        errors: list[FieldError] = []
        joining = self._find(account_id, Account)
        if joining is None or joining.role is not Role.PERSON:
            errors.append(FieldError(("body", "account_id"), "no such person account"))
        self._check_attachments(
            caller, {"authorization_letter_id": authorization_letter_id}, errors
        )
        if errors:
            raise ValidationFailed(errors)
        unit.authorise_agent(
            account_id=str(account_id),
            authorization_letter_id=authorization_letter_id,
            actor=actor_of(caller, on_behalf_of=unit.uscc),
            channel=channel_of(caller) or Channel.ONLINE,
            effective_on=today,
        )
        self.save(unit)
        return unit

    # --- systems: reading -------------------------------------------------------------------
    def may_see_system(self, caller: Account, system: VideoSystem) -> bool:
        if caller.role.is_unit_side:
            uscc = system.unit_uscc
            unit = self.find_unit(uscc) if uscc else None
            return unit is not None and unit.may_act(account_id=str(caller.id), uscc=caller.uscc)
        return sees_division(caller, system.division_code)

    def system_for(self, caller: Account, system_id: UUID) -> VideoSystem:
        """The system as it stands now, if the caller may see it."""
        system = self._find(system_id, VideoSystem)
        if system is None or not self.may_see_system(caller, system):
            raise NotFound("no such system")
        return system

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

    # --- systems: writing -------------------------------------------------------------------
    def _acting_channel(self, caller: Account, *, division_code: str, uscc: str | None) -> Channel:
        """Checks the caller may act for this unit or district; returns the channel it uses."""
        if caller.role.is_unit_side:
            unit = self.find_unit(uscc) if uscc else None
            if unit is None or not unit.may_act(account_id=str(caller.id), uscc=caller.uscc):
                raise NotFound("no such unit among yours")
            return Channel.ONLINE
        if caller.role is Role.OFFICER:
            if division_code != caller.division_code:
                raise NotFound("outside your district")
            return Channel.OFFLINE
        raise Forbidden(f"an {caller.role} account reads the ledger; it does not file")

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
        try:
            VideoSystem.prepare_filing(fields=fields, devices=devices, rules=rules)
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
        actor = actor_of(caller, on_behalf_of=uscc)
        extra = {"paper_form_id": paper_form_id, "device_sheet_id": device_sheet_id}
        for _ in range(MAX_SEQUENCE_ATTEMPTS):
            sequence = self._sequence(fields["division_code"], today.year)
            if discovered_system_id is None:
                system_id = uuid4()
                system = VideoSystem.file(
                    system_id=system_id,
                    filing_number=sequence.issue(system_id),
                    fields={**fields, **extra},
                    devices=devices,
                    rules=rules,
                    actor=actor,
                    channel=channel,
                    effective_on=today,
                    request_digest=request.digest if request else "",
                )
            else:
                system = self._discovered(caller, discovered_system_id, fields)
                system.file_discovered(
                    filing_number=sequence.issue(system.id),
                    fields={**system.fields, **fields, **extra},
                    devices=devices,
                    rules=rules,
                    actor=actor,
                    channel=channel,
                    effective_on=today,
                    request_digest=request.digest if request else "",
                )
            outcome = self._save_created(caller, request, "system", system, sequence)
            if outcome is not None:
                return outcome
        raise StaleVersion("too many concurrent filings in this district; try again")

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
        if "division_code" in changes and caller.role is Role.OFFICER:
            raise ValidationFailed(
                [
                    FieldError(
                        ("body", "changes", "division_code"),
                        "an officer cannot move a system out of the district",
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
    ) -> VideoSystem:
        system, channel = self._writable(caller, system_id, expected_version)
        system.cancel(
            reason=reason,
            actor=actor_of(caller, on_behalf_of=system.unit_uscc),
            channel=channel,
            effective_on=effective_on,
        )
        self._save_expected(system, expected_version)
        return system

    def discover_system(
        self,
        *,
        caller: Account,
        facts: Mapping[str, Any],
        note: str,
        today: date,
        request: RequestKey | None = None,
    ) -> Outcome:
        """An officer records a system in use that nobody filed."""
        if (replay := self._replayed(caller, request, "discovery")) is not None:
            return replay
        if caller.role is not Role.OFFICER:
            raise Forbidden("only an officer records a discovery")
        if facts["division_code"] != caller.division_code:
            raise ValidationFailed([FieldError(("body", "division_code"), "outside your district")])
        system = VideoSystem.discover(
            system_id=uuid4(),
            facts=facts,
            note=note,
            rules=self.field_rules(today),
            actor=actor_of(caller, on_behalf_of=facts.get("unit_uscc")),
            effective_on=today,
            request_digest=request.digest if request else "",
        )
        outcome = self._save_created(caller, request, "discovery", system)
        if outcome is None:  # a fresh uuid4 cannot collide; only a racing retry can
            raise AlreadyExists("this discovery was just recorded")
        return outcome
