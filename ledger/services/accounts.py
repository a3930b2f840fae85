"""The ledger's commands on accounts: opening them (by sign-up, an officer at the window, an
operator, or an OpenID Connect sign-in), their tokens, disabling them and erasing their holders'
personal numbers. A legal-person account opened by an officer names the checked licence; the
units an agent acts for are recorded by `ledger.services.units`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger import codes
from ledger.access import (
    POLICE_TOKEN_DAYS,
    UNIT_TOKEN_DAYS,
    actor_of,
    credential_refusal,
    may_issue_legal_person,
    token_lifetime,
)
from ledger.accounts import Account, Credential
from ledger.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ledger.ids import credential_id, keyed_id
from ledger.services.base import A, LedgerBase
from ledger.storage.crypto import ERASED
from ledger.units import Unit
from ledger.values import Actor, FieldError, Role


class AccountCommands(LedgerBase):
    """Opening accounts, issuing and revoking their tokens, disabling and erasing them."""

    # --- accounts ---------------------------------------------------------------------------
    token_police_days: int = POLICE_TOKEN_DAYS
    token_unit_days: int = UNIT_TOKEN_DAYS

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
        bound_by: str | None = None,
        business_licence_id: UUID | None = None,
        token_expires_at: datetime | None = None,
        today: date,
        account_id: UUID | None = None,
        also: Sequence[Aggregate] = (),
    ) -> Account:
        """Opens an account and issues its first token. A legal-person account needs
        `bound_by` (who checked its USCC): self-signup opens person accounts only."""
        errors: list[FieldError] = []
        if phone is not None and (msg := codes.phone_error(phone)):
            errors.append(FieldError(("body", "phone"), msg))
        if id_number is not None and (msg := codes.id_card_error(id_number, today=today)):
            errors.append(FieldError(("body", "id_number"), msg))
        if role is Role.LEGAL_PERSON and (uscc is None or bound_by is None):
            errors.append(
                FieldError(
                    ("body", "uscc"),
                    "a legal-person account is opened by an officer of the unit's district"
                    " (or from the configured OpenID provider), bound to its USCC",
                )
            )
        if role is not Role.LEGAL_PERSON and uscc is not None:
            errors.append(FieldError(("body", "uscc"), "only a legal-person account has a USCC"))
        if uscc is not None and (msg := codes.uscc_error(uscc)):
            errors.append(FieldError(("body", "uscc"), msg))
        if role is Role.OFFICER and (
            division_code is None or codes.division_code_error(division_code)
        ):
            errors.append(FieldError(("division_code",), "an officer needs a valid district"))
        if errors:
            raise ValidationFailed(errors)
        account_id = account_id or uuid4()  # its holder's data key is named by it
        account = Account.open(
            role=role,
            name=name,
            phone=self._sealed(phone.strip(), "phone", account_id) if phone else None,
            id_number=(
                self._sealed(codes.normalise_id_card(id_number), "id_number", account_id)
                if id_number
                else None
            ),
            uscc=codes.normalise_uscc(uscc) if uscc else None,
            division_code=division_code,
            bound_by=bound_by,
            business_licence_id=business_licence_id,
            account_id=account_id,
        )
        credential = self._credential(account, token_sha256, token_expires_at)
        self.save(account, credential, *also)
        return account

    def _credential(
        self, account: Account, token_sha256: str, expires_at: datetime | None = None
    ) -> Credential:
        if expires_at is None:
            expires_at = datetime.now(UTC) + token_lifetime(
                account.role, police_days=self.token_police_days, unit_days=self.token_unit_days
            )
        return Credential.issue(
            token_sha256=token_sha256, account_id=account.id, expires_at=expires_at
        )

    def open_legal_person_account(
        self,
        *,
        caller: Account | None,
        uscc: str,
        name: str,
        phone: str | None,
        business_licence_id: UUID | None,
        token_sha256: str,
        today: date,
    ) -> Account:
        """A unit's legal-person account, opened by an officer of the unit's district after
        checking the business licence at the window (`caller`), or by an operator on the
        command line (`caller` None). The unit's district is its registered division, or, for
        a unit not registered yet, the division in its USCC (characters 3 to 8)."""
        normal = codes.normalise_uscc(uscc)
        if (msg := codes.uscc_error(normal)) is not None:
            raise ValidationFailed([FieldError(("path", "uscc"), msg)])
        unit = self.find_unit(normal)
        division = unit.division_code if unit is not None else normal[2:8]
        bound_by = "operator"
        if caller is not None:
            if not may_issue_legal_person(caller, division_code=division):
                if caller.role is Role.OFFICER:
                    raise NotFound(f"no unit {normal} in your district")
                raise Forbidden("legal-person accounts are opened by an officer of the district")
            errors: list[FieldError] = []
            if business_licence_id is None:
                errors.append(
                    FieldError(("body", "business_licence_id"), "the checked business licence")
                )
            self._check_attachments(caller, {"business_licence_id": business_licence_id}, errors)
            if errors:
                raise ValidationFailed(errors)
            bound_by = f"officer:{caller.id}"
        return self.open_account(
            token_sha256=token_sha256,
            role=Role.LEGAL_PERSON,
            name=name,
            phone=phone,
            uscc=normal,
            bound_by=bound_by,
            business_licence_id=business_licence_id,
            today=today,
        )

    def oidc_account(
        self,
        *,
        issuer: str,
        subject: str,
        uscc: str,
        name: str,
        token_sha256: str,
        today: date,
    ) -> Account:
        """The legal-person account of an OpenID Connect subject, bound to the USCC its ID
        token carries (opened on first sign-in), with a new token."""
        normal = codes.normalise_uscc(uscc)
        if (msg := codes.uscc_error(normal)) is not None:
            raise ValidationFailed([FieldError(("body", "id_token"), f"the USCC claim {msg}")])
        account_id = keyed_id("oidc-account", issuer, subject)
        found = self._find(account_id, Account)
        if found is None:
            try:
                return self.open_account(
                    token_sha256=token_sha256,
                    role=Role.LEGAL_PERSON,
                    name=name,
                    uscc=normal,
                    bound_by=f"oidc:{issuer}",
                    today=today,
                    account_id=account_id,
                )
            except IntegrityError:  # the same subject signing in twice at once
                found = self._get(account_id, Account, "account")
        if found.uscc != normal:
            raise Conflict("this OpenID subject is bound to another unit")
        if found.disabled:
            raise Forbidden("this account is disabled")
        self.save(self._credential(found, token_sha256))
        return found

    def _sealed(self, value: str, field: str, subject: UUID) -> str:
        """`value` sealed under the data key of the person it belongs to
        (ledger/storage/crypto.py)."""
        return self.cipher.seal(value, field=field, subject=subject)

    def personal_numbers(self, account: Account) -> dict[str, str | None]:
        """The account's phone and ID-card number in clear (they are stored sealed), or
        `ERASED` once its holder was erased."""
        return {
            field: None
            if value is None
            else ERASED
            if account.erased
            else self.cipher.reveal(value, field=field) or ERASED
            for field, value in (("phone", account.phone), ("id_number", account.id_number))
        }

    # --- erasure of a person (crypto-shredding) ----------------------------------------------
    def erase_account(
        self, *, account_id: UUID, reason: str, caller: Account | None = None
    ) -> Account:
        """Erases the account holder's personal data: destroys the data key their phone and
        ID-card number are sealed under, then records `Account.Erased` (which disables the
        account). No event is changed, so every hash and proof stays verifiable; every view
        shows `ERASED` for those numbers. Idempotent: a repeat completes a broken one."""
        account = self.get_account(account_id)
        self.cipher.erase(account.id)
        if not account.erased:
            account.erase(reason=reason, actor=actor_or_operator(caller))
            self.save(account)
        return account

    # --- tokens and the account's life cycle -----------------------------------------------
    def credential_for_token(self, token_sha256: str) -> Credential | None:
        return self._find(credential_id(token_sha256), Credential)

    def token_holder(self, token_sha256: str) -> tuple[Account | None, str | None]:
        """The account a token names (None if none) and why the token is refused now (None if
        it lets the account in): `ledger.access.credential_refusal`'s reason."""
        credential = self.credential_for_token(token_sha256)
        account = None if credential is None else self._find(credential.account_id, Account)
        refusal = credential_refusal(
            credential,
            account,
            now=datetime.now(UTC),
            police_days=self.token_police_days,
            unit_days=self.token_unit_days,
        )
        return account, refusal

    def account_for_token(self, token_sha256: str) -> Account | None:
        """The account a token lets in now, or None (unknown, revoked, expired, disabled)."""
        account, refusal = self.token_holder(token_sha256)
        return None if refusal is not None else account

    def get_account(self, account_id: UUID) -> Account:
        return self._get(account_id, Account, "account")

    def rotate_token(
        self, *, caller: Account, old_token_sha256: str, new_token_sha256: str
    ) -> Credential:
        """A new token for the caller; the one it used is revoked in the same transaction."""
        old = self._get(credential_id(old_token_sha256), Credential, "credential")
        if old.account_id != caller.id:
            raise Forbidden("not your token")
        old.revoke(reason="rotated", actor=actor_of(caller))
        new = self._credential(caller, new_token_sha256)
        self.save(old, new)
        return new

    def revoke_token(
        self, *, token_sha256: str, reason: str, caller: Account | None = None
    ) -> Credential:
        credential = self._get(credential_id(token_sha256), Credential, "token")
        if not credential.revoked:
            credential.revoke(reason=reason, actor=actor_or_operator(caller))
            self.save(credential)
        return credential

    def revoke_tokens(
        self, *, account_id: UUID, reason: str, caller: Account | None = None
    ) -> Account:
        """Every token the account holds now is refused from now on."""
        account = self.get_account(account_id)
        account.revoke_tokens(reason=reason, actor=actor_or_operator(caller))
        self.save(account)
        return account

    def set_account_enabled(
        self, *, account_id: UUID, enabled: bool, reason: str, caller: Account | None = None
    ) -> Account:
        account = self.get_account(account_id)
        actor = actor_or_operator(caller)
        if enabled and account.disabled:
            account.enable(reason=reason, actor=actor)
        elif not enabled and not account.disabled:
            account.disable(reason=reason, actor=actor)
        else:
            return account
        self.save(account)
        return account

    def relink_agents(self) -> int:
        """Records on each agent's account the units it is an agent of (`LinkedToUnit`), where
        a log written before accounts recorded their units lacks it: the one-off step of an
        upgrade (`psvs-ledger accounts relink-agents`). Idempotent; returns the links written."""
        written = 0
        for unit in self._every(Unit.Registered, Unit):
            for account_id in unit.agents:
                account = self._find(UUID(account_id), Account)
                if account is None or unit.uscc in account.agent_of:
                    continue
                account.link_to_unit(uscc=unit.uscc)
                self.save(account)
                written += 1
        return written

    def _every(self, created: type[Any], kind: type[A]) -> list[A]:
        """Every aggregate of `kind`, found by the topic of its created event, in log order."""
        found: list[A] = []
        for notification in self.notifications_of(created):
            originator = notification.originator_id
            aggregate = self._find(
                originator if isinstance(originator, UUID) else UUID(originator), kind
            )
            if aggregate is not None:
                found.append(aggregate)
        return found

    def accounts(self) -> list[Account]:
        """Every account, in the order opened (the command line's `accounts list`)."""
        return self._every(Account.Opened, Account)


def actor_or_operator(caller: Account | None) -> Actor | None:
    """Who did an act: the caller's account, or None for an operator on the command line."""
    return None if caller is None else actor_of(caller)
