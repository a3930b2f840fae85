"""Accounts (unit-side persons and legal persons, police-side officers, auditors, admins) and
the credentials that let them in. Tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.ids import credential_id
from ledger.values import Role


class Account(Aggregate):
    class Opened(Aggregate.Created):
        role: str
        name: str
        phone: str | None
        id_number: str | None
        uscc: str | None
        division_code: str | None

    def __init__(
        self,
        role: str,
        name: str,
        phone: str | None,
        id_number: str | None,
        uscc: str | None,
        division_code: str | None,
    ) -> None:
        self.role = Role(role)
        self.name = name
        # Sealed (ledger/crypto.py): the ledger never stores a personal number in clear.
        self.phone = phone
        self.id_number = id_number
        self.uscc = uscc
        # Officers: their district; auditors: a code prefix ("" or None means everywhere).
        self.division_code = division_code

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
    ) -> Account:
        return cls._create(
            cls.Opened,
            role=str(role),
            name=name,
            phone=phone,
            id_number=id_number,
            uscc=uscc,
            division_code=division_code,
        )


class Credential(Aggregate):
    """Maps the hash of a bearer token to its account; its id is derived from the hash."""

    class Issued(Aggregate.Created):
        account_id: UUID

    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id

    @classmethod
    def issue(cls, *, token_sha256: str, account_id: UUID) -> Credential:
        return cls._create(cls.Issued, id=credential_id(token_sha256), account_id=account_id)
