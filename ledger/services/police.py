"""The police side's commands: recording a system found in use unfiled, ordering a correction
(责令限期改正) and recording an inspection.

Orders and inspections are creating writes on an existing system: they take an Idempotency-Key,
not an expected version. Two officers writing to one system at once both succeed: a save that
loses the race on the system's next version re-reads the system and tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from ledger import codes
from ledger.access import actor_of, may_record_police_act
from ledger.accounts import Account
from ledger.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from ledger.services.base import LedgerBase, Outcome, RequestKey
from ledger.systems import VideoSystem
from ledger.values import Actor, FieldError, Role

# Writers racing on one system's next version; each retry re-reads the system.
MAX_WRITE_ATTEMPTS = 20


class PoliceCommands(LedgerBase):
    """Discoveries, correction orders and inspections, by officers of the system's district."""

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

    def order_correction(
        self,
        *,
        caller: Account,
        system_id: UUID,
        reason: str,
        due_on: date,
        today: date,
        request: RequestKey | None = None,
    ) -> Outcome:
        """An officer of the system's district orders its unit to correct by `due_on`."""

        def order(system: VideoSystem, actor: Actor) -> None:
            system.order_correction(
                order_id=str(uuid4()), reason=reason, due_on=due_on, actor=actor, today=today
            )

        return self._police_write(caller, system_id, request, "correction_order", order)

    def record_inspection(
        self,
        *,
        caller: Account,
        system_id: UUID,
        inspected_on: date,
        result: str,
        note: str,
        today: date,
        request: RequestKey | None = None,
    ) -> Outcome:
        """An officer of the system's district records an inspection made on `inspected_on`."""

        def inspect(system: VideoSystem, actor: Actor) -> None:
            system.record_inspection(
                inspection_id=str(uuid4()),
                inspected_on=inspected_on,
                result=result,
                note=note,
                actor=actor,
                today=today,
            )

        return self._police_write(caller, system_id, request, "inspection", inspect)

    def _police_target(self, caller: Account, system_id: UUID) -> VideoSystem:
        """The system, if the caller is an officer of its district. Anyone who cannot see the
        system is told it does not exist; anyone who can but is no officer is forbidden."""
        system = self._find(system_id, VideoSystem)
        if system is None or not self.may_see_system(caller, system):
            raise NotFound("no such system")
        if not may_record_police_act(caller, division_code=system.division_code):
            raise Forbidden("only an officer of the system's district does this")
        return system

    def _police_write(
        self,
        caller: Account,
        system_id: UUID,
        request: RequestKey | None,
        kind: str,
        act: Callable[[VideoSystem, Actor], None],
    ) -> Outcome:
        if (replay := self._replayed(caller, request, kind)) is not None:
            return replay
        for _ in range(MAX_WRITE_ATTEMPTS):
            system = self._police_target(caller, system_id)
            act(system, actor_of(caller))
            outcome = self._save_created(caller, request, kind, system)
            if outcome is not None:
                return outcome
        raise Conflict("the system is being written by others right now; try again")

    def move_system(
        self,
        *,
        caller: Account,
        system_id: UUID,
        expected_version: int,
        division_code: str,
        reason: str,
        today: date,
    ) -> VideoSystem:
        """An officer of the system's district moves it to another district (a unit cannot:
        its changes never carry `division_code`). Both districts' officers see its history up
        to the move; after it, only the new district's."""
        system = self._police_target(caller, system_id)
        if system.version != expected_version:
            raise StaleVersion(f"the system is at version {system.version}, not {expected_version}")
        errors: list[FieldError] = []
        if (msg := codes.division_code_error(division_code)) is not None:
            errors.append(FieldError(("body", "division_code"), msg))
        elif division_code == system.division_code:
            errors.append(FieldError(("body", "division_code"), "the system is already there"))
        if errors:
            raise ValidationFailed(errors)
        system.move(
            division_code=division_code,
            reason=reason,
            actor=actor_of(caller, on_behalf_of=system.unit_uscc),
            effective_on=today,
        )
        try:
            self.save(system)
        except IntegrityError:
            raise StaleVersion(
                f"the system changed after version {expected_version}; read it again"
            ) from None
        return system
