"""Accounts (unit-side persons and legal persons, police-side officers, auditors, admins) and
the credentials that let them in. Tokens are stored only as SHA-256 hashes.

An account acts for a unit only through a recorded relation, never a claimed code
(docs/identity.md): a legal-person account is bound to its USCC when it is opened by an
officer at the window, by an operator, or from an OpenID Connect ID token (`bound_by` says
which); a person account is an agent of the units recorded by `LinkedToUnit` events, written in
the same transaction as the unit's own `AgentAuthorised` (or registration) and removed by
`UnlinkedFromUnit`. Disabling an account, or revoking its tokens, is an event too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import credential_id
from ledger.values import Actor, Role


class Account(Aggregate):
    class Opened(Aggregate.Created):
        """Version 2 adds `bound_by`, how a legal-person account's USCC was established, and
        `business_licence_id`, the licence the officer at the window checked (an upload)."""

        class_version = 2

        role: str
        name: str
        phone: str | None
        id_number: str | None
        uscc: str | None
        division_code: str | None
        bound_by: str | None
        business_licence_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 let anyone claim a USCC at sign-up: no such claim binds (None)."""
            state["bound_by"] = None
            state["business_licence_id"] = None

    def __init__(
        self,
        role: str,
        name: str,
        phone: str | None,
        id_number: str | None,
        uscc: str | None,
        division_code: str | None,
        bound_by: str | None,
        business_licence_id: UUID | None,
    ) -> None:
        self.role = Role(role)
        self.name = name
        # Sealed (ledger/storage/crypto.py): the ledger never stores a personal number in clear.
        self.phone = phone
        self.id_number = id_number
        # A legal-person account's own unit, only when that binding was checked and recorded.
        self.uscc = uscc if bound_by is not None and self.role is Role.LEGAL_PERSON else None
        self.bound_by = bound_by
        self.business_licence_id = business_licence_id
        # Officers: their district; auditors: a code prefix ("" or None means everywhere).
        self.division_code = division_code
        # The units this account is a recorded agent of (a person account).
        self.agent_of: frozenset[str] = frozenset()
        self.disabled = False
        # Its holder's personal data erased (`Erased`): its sealed phone and ID-card number no
        # longer open.
        self.erased = False
        # Tokens issued before this instant are refused (`TokensRevoked`).
        self.tokens_valid_from: datetime | None = None

    @classmethod
    def open(
        cls,
        *,
        role: Role,
        name: str,
        phone: str | None = None,
        id_number: str | None = None,
        uscc: str | None = None,
        division_code: str | None = None,
        bound_by: str | None = None,
        business_licence_id: UUID | None = None,
        account_id: UUID | None = None,
    ) -> Account:
        extra = {} if account_id is None else {"id": account_id}
        return cls._create(
            cls.Opened,
            role=str(role),
            name=name,
            phone=phone,
            id_number=id_number,
            uscc=uscc,
            division_code=division_code,
            bound_by=bound_by,
            business_licence_id=business_licence_id,
            **extra,
        )

    @property
    def active(self) -> bool:
        return not self.disabled

    # --- unit relations (written with the unit's event of the same act) ---------------------
    class LinkedToUnit(Aggregate.Event):
        uscc: str

    class UnlinkedFromUnit(Aggregate.Event):
        uscc: str

    @event(LinkedToUnit)
    def link_to_unit(self, uscc: str) -> None:
        self.agent_of = self.agent_of | {uscc}

    @event(UnlinkedFromUnit)
    def unlink_from_unit(self, uscc: str) -> None:
        self.agent_of = self.agent_of - {uscc}

    # --- life cycle -------------------------------------------------------------------------
    class Disabled(Aggregate.Event):
        reason: str
        actor: Actor | None

    class Enabled(Aggregate.Event):
        reason: str
        actor: Actor | None

    class TokensRevoked(Aggregate.Event):
        """Every token issued before this event is refused from now on."""

        reason: str
        actor: Actor | None

        def mutate(self, aggregate: Any) -> Any:
            mutated = super().mutate(aggregate)
            assert mutated is not None
            mutated.tokens_valid_from = self.timestamp
            return mutated

    @event(Disabled)
    def disable(self, reason: str, actor: Actor | None) -> None:
        self.disabled = True

    @event(Enabled)
    def enable(self, reason: str, actor: Actor | None) -> None:
        self.disabled = self.erased  # an erased account stays disabled

    class Erased(Aggregate.Event):
        """The holder's personal data was erased: the data key its phone and ID-card number
        were sealed under is destroyed (crypto-shredding; no event is changed), and the account
        is disabled for good."""

        reason: str
        actor: Actor | None

    @event(Erased)
    def erase(self, reason: str, actor: Actor | None) -> None:
        self.erased = True
        self.disabled = True

    def revoke_tokens(self, reason: str, actor: Actor | None) -> None:
        self._revoke_tokens(reason=reason, actor=actor)

    @event(TokensRevoked)
    def _revoke_tokens(self, reason: str, actor: Actor | None) -> None:
        pass


class Credential(Aggregate):
    """Maps the hash of a bearer token to its account; its id is derived from the hash.

    Version 2 of `Issued` carries `expires_at`; a version-1 token expires a lifetime after it
    was issued (`ledger.access.credential_refusal`)."""

    class Issued(Aggregate.Created):
        class_version = 2

        account_id: UUID
        expires_at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None

    def __init__(self, account_id: UUID, expires_at: datetime | None) -> None:
        self.account_id = account_id
        self.expires_at = expires_at
        self.revoked = False

    @classmethod
    def issue(
        cls, *, token_sha256: str, account_id: UUID, expires_at: datetime | None
    ) -> Credential:
        return cls._create(
            cls.Issued, id=credential_id(token_sha256), account_id=account_id, expires_at=expires_at
        )

    class Revoked(Aggregate.Event):
        reason: str
        actor: Actor | None

    @event(Revoked)
    def revoke(self, reason: str, actor: Actor | None) -> None:
        self.revoked = True
