"""Management units (系统管理单位), identified by their USCC, and the agents they authorise."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Unpack
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import AlreadyExists
from ledger.ids import keyed_id, unit_id
from ledger.items import UnitRegistration
from ledger.values import Actor, Channel, Role, UnitType


class Verification(StrEnum):
    """Whether someone accountable has confirmed who registered the unit (docs/identity.md):
    a registration by an agent on a letter is `pending` until an officer of the district or the
    unit's legal-person account confirms or rejects it."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


# The persons a unit's registration names, each with its own data key (ledger/storage/crypto.py),
# and the fields of theirs that are sealed under it: erasing one destroys that key.
CONTACT = "contact"
LEGAL_REPRESENTATIVE = "legal_representative"
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    CONTACT: ("contact_name", "contact_phone"),
    LEGAL_REPRESENTATIVE: ("legal_representative",),
}


def person_subject(uscc: str, person: str) -> UUID:
    """The subject id (data key) of a unit's contact or legal representative."""
    return keyed_id("subject", f"unit-{person}", uscc)


class Unit(Aggregate):
    class Registered(Aggregate.Created):
        """Version 2 adds `verification`."""

        class_version = 2

        uscc: str
        name: str
        unit_type: str
        address: str
        division_code: str
        legal_representative: str
        contact_name: str
        contact_phone: str
        authorization_letter_id: UUID | None
        business_licence_id: UUID | None
        actor: Actor
        channel: str
        effective_on: date
        request_digest: str
        verification: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Units registered before verification existed stand as they were accepted."""
            state["verification"] = str(Verification.CONFIRMED)

    def __init__(
        self,
        uscc: str,
        name: str,
        unit_type: str,
        address: str,
        division_code: str,
        legal_representative: str,
        contact_name: str,
        contact_phone: str,
        authorization_letter_id: UUID | None,
        business_licence_id: UUID | None,
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
        verification: str,
    ) -> None:
        self.uscc = uscc
        self.name = name
        self.unit_type = UnitType(unit_type)
        self.address = address
        self.division_code = division_code
        self.legal_representative = legal_representative
        self.contact_name = contact_name
        self.contact_phone = contact_phone
        self.authorization_letter_id = authorization_letter_id
        self.business_licence_id = business_licence_id
        self.channel = Channel(channel)
        self.registered_by = actor
        self.request_digest = request_digest
        self.verification = Verification(verification)
        # The persons (CONTACT, LEGAL_REPRESENTATIVE) whose data keys were destroyed: their
        # sealed fields above no longer open (`PersonErased`).
        self.erased_persons: frozenset[str] = frozenset()
        # The person accounts recorded as its agents (each account records the link too:
        # `Account.LinkedToUnit`); a legal-person account acts through its own binding.
        self.agents: dict[str, UUID | None] = {}
        if actor.role is Role.PERSON:
            self.agents[actor.account_id] = authorization_letter_id

    class AgentAuthorised(Aggregate.Event):
        account_id: str
        authorization_letter_id: UUID | None
        actor: Actor
        channel: str
        effective_on: date

    @classmethod
    def register(
        cls,
        *,
        actor: Actor,
        channel: str,
        effective_on: date,
        request_digest: str,
        verification: str,
        **registration: Unpack[UnitRegistration],
    ) -> Unit:
        return cls._create(
            cls.Registered,
            id=unit_id(registration["uscc"]),
            actor=actor,
            channel=channel,
            effective_on=effective_on,
            request_digest=request_digest,
            verification=verification,
            **registration,
        )

    def authorise_agent(
        self,
        *,
        account_id: str,
        authorization_letter_id: UUID | None,
        actor: Actor,
        channel: Channel,
        effective_on: date,
    ) -> None:
        if account_id in self.agents:
            raise AlreadyExists("this account is already an agent of the unit")
        self._authorise_agent(
            account_id=account_id,
            authorization_letter_id=authorization_letter_id,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
        )

    @event(AgentAuthorised)
    def _authorise_agent(
        self,
        account_id: str,
        authorization_letter_id: UUID | None,
        actor: Actor,
        channel: str,
        effective_on: date,
    ) -> None:
        self.agents[account_id] = authorization_letter_id

    class AgentRemoved(Aggregate.Event):
        account_id: str
        reason: str
        actor: Actor
        channel: str
        effective_on: date

    def remove_agent(
        self, *, account_id: str, reason: str, actor: Actor, channel: Channel, effective_on: date
    ) -> None:
        self._remove_agent(
            account_id=account_id,
            reason=reason,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
        )

    @event(AgentRemoved)
    def _remove_agent(
        self, account_id: str, reason: str, actor: Actor, channel: str, effective_on: date
    ) -> None:
        self.agents.pop(account_id, None)

    class VerificationDecided(Aggregate.Event):
        """An officer of the district or the unit's legal-person account confirmed or
        rejected a pending registration. A rejection removes every agent (`removed_agents`);
        the filings made meanwhile stay in the log."""

        decision: str
        note: str
        removed_agents: list[str]
        actor: Actor
        channel: str
        effective_on: date

    def decide_verification(
        self,
        *,
        decision: Verification,
        note: str,
        actor: Actor,
        channel: Channel,
        effective_on: date,
    ) -> list[str]:
        """Records the decision; the agents it removes (all of them, on a rejection)."""
        removed = sorted(self.agents) if decision is Verification.REJECTED else []
        self._decide(
            decision=str(decision),
            note=note,
            removed_agents=removed,
            actor=actor,
            channel=str(channel),
            effective_on=effective_on,
        )
        return removed

    @event(VerificationDecided)
    def _decide(
        self,
        decision: str,
        note: str,
        removed_agents: list[str],
        actor: Actor,
        channel: str,
        effective_on: date,
    ) -> None:
        self.verification = Verification(decision)
        for account_id in removed_agents:
            self.agents.pop(account_id, None)

    class PersonErased(Aggregate.Event):
        """The personal data of the unit's contact (name and phone) or legal representative
        (name) was erased: the data key its registration sealed them under is destroyed
        (crypto-shredding). No event is changed; the sealed values stay, and no longer open."""

        person: str
        reason: str
        actor: Actor | None

    def erase_person(self, *, person: str, reason: str, actor: Actor | None) -> None:
        if person not in PERSONAL_FIELDS:
            raise ValueError(f"a unit names no person {person!r}")
        self._erase_person(person=person, reason=reason, actor=actor)

    @event(PersonErased)
    def _erase_person(self, person: str, reason: str, actor: Actor | None) -> None:
        self.erased_persons = self.erased_persons | {person}
