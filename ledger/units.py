"""Management units (系统管理单位), identified by their USCC, and the agents they authorise."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import AlreadyExists
from ledger.ids import unit_id
from ledger.values import Actor, Channel, UnitType


class Unit(Aggregate):
    class Registered(Aggregate.Created):
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
        # Accounts that may act for the unit; the unit's own legal-person account always may.
        self.agents: dict[str, UUID | None] = {}
        if actor.role.is_unit_side:
            self.agents[actor.account_id] = authorization_letter_id

    class AgentAuthorised(Aggregate.Event):
        account_id: str
        authorization_letter_id: UUID | None
        actor: Actor
        channel: str
        effective_on: date

    @classmethod
    def register(cls, **fields: object) -> Unit:
        return cls._create(cls.Registered, id=unit_id(str(fields["uscc"])), **fields)

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

    def may_act(self, *, account_id: str, uscc: str | None) -> bool:
        """An agent of the unit, or the unit's own legal-person account."""
        return account_id in self.agents or uscc == self.uscc
