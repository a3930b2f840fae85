"""Filing a system (备案登记): online by a unit, offline by an officer, new or discovered.

`file_system` reads as the rulebook: the filing's own items are checked, the caller's unit and
channel resolved once, every bad field reported together; then the checked filing (a
`FilingPlan`) gets the next number of its division-year and is saved with its idempotency record,
through the group committer (ledger/storage/group_commit.py) or on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from ledger import codes
from ledger.access import acting_channel, actor_of, sees_division
from ledger.accounts import Account
from ledger.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from ledger.ids import filing_sequence_id
from ledger.items import SystemFields, as_system_fields
from ledger.sequence import FilingSequence
from ledger.services.base import LedgerBase, Outcome, RequestKey
from ledger.storage.group_commit import Filing, GroupCommitter
from ledger.system_checks import PreparedFiling, prepare_filing
from ledger.systems import VideoSystem
from ledger.units import Unit
from ledger.validation import FieldRules
from ledger.values import Actor, Channel, FieldError, Role

# Concurrent filings in one division and year collide on its sequence; each retry re-reads it.
MAX_SEQUENCE_ATTEMPTS = 200


class FilingCommands(LedgerBase):
    """Filing systems; and the caller's reach, which every later write checks too."""

    filings: GroupCommitter

    # --- filing -------------------------------------------------------------------------------
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
        """Files a system (online by a unit, offline by an officer), issuing its number.

        The rulebook, in order: an Idempotency-Key's retry gets its first answer; the filing's
        own items are checked (a malformed USCC or division code is a 422 at once, not "not
        yours"); the caller must act for the unit or district, which fixes the channel; an
        offline filing needs the paper form's scan and a registered unit; a discovered system
        must be in the district filed; the attachments named must be the caller's. Every bad
        field so far is reported together; then the number is reserved and the system saved
        with the request's idempotency record, in one transaction."""
        if (replay := self._replayed(caller, request, "system")) is not None:
            return replay
        uscc = codes.normalise_uscc(str(fields["unit_uscc"]))
        fields = {**fields, "unit_uscc": uscc}
        division_code = fields["division_code"]
        rules = self.field_rules(today)
        prepared, errors = _checked_filing(fields, devices, rules)
        channel, unit = self._acting_channel(caller, division_code=division_code, uscc=uscc)
        errors += _channel_errors(channel, unit=unit, paper_form_id=paper_form_id)
        if discovered_system_id is not None:
            errors += self._discovery_errors(
                caller, discovered_system_id, uscc=uscc, division_code=division_code
            )
        attachments = {"paper_form_id": paper_form_id, "device_sheet_id": device_sheet_id}
        self._check_attachments(caller, attachments, errors)
        if errors:
            raise ValidationFailed(errors)
        assert prepared is not None  # no errors: the checks passed
        plan = FilingPlan(
            caller=caller,
            actor=actor_of(caller, on_behalf_of=uscc),
            uscc=uscc,
            fields=as_system_fields({**fields, **attachments}),
            devices=devices,
            prepared=prepared,
            rules=rules,
            channel=channel,
            today=today,
            discovered_system_id=discovered_system_id,
            request=request,
        )
        return self._reserve_and_save(plan)

    def _acting_channel(
        self, caller: Account, *, division_code: str, uscc: str | None
    ) -> tuple[Channel, Unit | None]:
        """Checks the caller may act for this unit or district; returns the channel it uses
        and the unit (None: not registered), looked up once."""
        if not (caller.role.is_unit_side or caller.role is Role.OFFICER):
            raise Forbidden(f"an {caller.role} account reads the ledger; it does not file")
        channel = acting_channel(caller, uscc=uscc, division_code=division_code)
        if channel is None:
            raise NotFound(
                "no such unit among yours" if caller.role.is_unit_side else "outside your district"
            )
        unit = None if uscc is None else self.find_unit(uscc)
        if caller.role.is_unit_side and unit is None:
            raise NotFound("no such unit among yours")
        return channel, unit

    def _discovery_errors(
        self, caller: Account, system_id: UUID, *, uscc: str, division_code: str
    ) -> list[FieldError]:
        """A discovered system is filed in the district it was found in (NotFound: the caller
        may not file it)."""
        found = self._discovered(caller, system_id, uscc=uscc)
        if found.division_code == division_code:
            return []
        return [
            FieldError(
                ("body", "division_code"), f"the discovered system is in {found.division_code}"
            )
        ]

    def _discovered(self, caller: Account, system_id: UUID, *, uscc: str) -> VideoSystem:
        """A discovered system the caller may file for unit `uscc`: an officer of its
        district, or the unit it names (or any unit, when the officer could not tell whose)."""
        system = self._find(system_id, VideoSystem)
        if system is None or system.discovered_by is None:
            raise NotFound("no such discovered system")
        if caller.role.is_unit_side:
            allowed = system.unit_uscc in (None, uscc)
        else:
            allowed = sees_division(caller, system.division_code)
        if not allowed:
            raise NotFound("no such discovered system")
        return system

    # --- reserving the number and saving -------------------------------------------------------
    def _reserve_and_save(self, plan: FilingPlan) -> Outcome:
        """Saves the filing with the next number of its division-year and its idempotency
        record, in a transaction shared with concurrent filings (ledger/storage/group_commit.py)
        or, when that cannot be, on its own (`_file_alone`)."""
        pending = Filing(
            division_code=plan.division_code,
            year=plan.today.year,
            build=partial(self._build_filed, plan),
            records=partial(self._idempotency_records, plan.caller, plan.request, "system"),
            alone=partial(self._file_alone, plan),
            key=None if plan.request is None else (str(plan.caller.id), plan.request.key),
            devices=len(plan.devices),
        )
        outcome: Outcome = self.filings.submit(pending)
        return outcome

    def _build_filed(self, plan: FilingPlan, sequence: FilingSequence) -> VideoSystem:
        """The filed system, numbered by `sequence`. It may be built again on a fresher
        sequence, so a discovered system is read afresh each time: the one read last time
        holds that build's filing, unsaved."""
        if plan.discovered_system_id is None:
            system_id = uuid4()
            return VideoSystem.file(
                system_id=system_id,
                filing_number=sequence.issue(system_id),
                fields=plan.fields,
                devices=plan.devices,
                rules=plan.rules,
                prepared=plan.prepared,
                actor=plan.actor,
                channel=plan.channel,
                effective_on=plan.today,
                request_digest=plan.request_digest,
            )
        system = self._discovered(plan.caller, plan.discovered_system_id, uscc=plan.uscc)
        system.file_discovered(
            filing_number=sequence.issue(system.id),
            fields={**system.fields, **plan.fields},  # the facts found, overridden as filed
            devices=plan.devices,
            rules=plan.rules,
            prepared=plan.prepared,
            actor=plan.actor,
            channel=plan.channel,
            effective_on=plan.today,
            request_digest=plan.request_digest,
        )
        return system

    def _file_alone(self, plan: FilingPlan) -> Outcome:
        """Files on its own: a filing that lost its sequence's next number to another
        re-reads the sequence and tries again; a retried Idempotency-Key gets its first answer."""
        for _ in range(MAX_SEQUENCE_ATTEMPTS):
            sequence = self._sequence(plan.division_code, plan.today.year)
            system = self._build_filed(plan, sequence)
            outcome = self._save_created(plan.caller, plan.request, "system", system, sequence)
            if outcome is not None:
                return outcome
        raise StaleVersion("too many concurrent filings in this district; try again")

    def _sequence(self, division_code: str, year: int) -> FilingSequence:
        found = self._find(filing_sequence_id(division_code, year), FilingSequence)
        return found or FilingSequence.start(division_code=division_code, year=year)


@dataclass(frozen=True)
class FilingPlan:
    """A filing that passed every check, ready for its number: what each build of it reads."""

    caller: Account
    actor: Actor
    uscc: str  # the unit's, normalised
    fields: SystemFields  # as filed, with the attachments named
    devices: Sequence[Mapping[str, Any]]
    prepared: PreparedFiling  # the keyed devices and warnings the checks returned
    rules: FieldRules
    channel: Channel
    today: date
    discovered_system_id: UUID | None
    request: RequestKey | None

    @property
    def division_code(self) -> str:
        return self.fields["division_code"]

    @property
    def request_digest(self) -> str:
        return self.request.digest if self.request else ""


# A malformed code is reported before the caller's reach is checked: a 422, not "not yours".
CODE_FIELDS = frozenset({("body", "unit_uscc"), ("body", "division_code")})


def _checked_filing(
    fields: Mapping[str, Any], devices: Sequence[Mapping[str, Any]], rules: FieldRules
) -> tuple[PreparedFiling | None, list[FieldError]]:
    """The filing's own items checked: what its event records, or every bad field (raised at
    once if a code is among them)."""
    try:
        return prepare_filing(fields=fields, devices=devices, rules=rules), []
    except ValidationFailed as invalid:
        if {error.loc for error in invalid.errors} & CODE_FIELDS:
            raise
        return None, invalid.errors


def _channel_errors(
    channel: Channel, *, unit: Unit | None, paper_form_id: UUID | None
) -> list[FieldError]:
    """An offline filing (keyed in by an officer) carries the paper form's scan, and is made
    for a unit registered first."""
    if channel is not Channel.OFFLINE:
        return []
    errors = []
    if paper_form_id is None:
        errors.append(
            FieldError(("body", "paper_form_id"), "an offline filing carries the paper form's scan")
        )
    if unit is None:
        errors.append(FieldError(("body", "unit_uscc"), "register the unit first"))
    return errors
