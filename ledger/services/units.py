"""The ledger's commands on accounts, attachments, units and their agents."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
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
    channel_of,
    credential_refusal,
    may_issue_legal_person,
    may_manage_unit,
    may_verify_unit,
    sees_division,
    token_lifetime,
)
from ledger.accounts import Account, Credential
from ledger.attachments import Attachment
from ledger.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationFailed
from ledger.ids import credential_id, keyed_id
from ledger.services.base import A, LedgerBase, Outcome, RequestKey
from ledger.storage.blobs import ATTACHMENT_GONE, AttachmentGone
from ledger.storage.crypto import ERASED, Erased
from ledger.units import PERSONAL_FIELDS, Unit, Verification, person_subject
from ledger.values import Actor, Channel, FieldError, Role


class UnitCommands(LedgerBase):
    """Opening accounts, uploading attachments, registering units and adding agents."""

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

    # Whether units' legal representatives' and contacts' names are sealed like their phones
    # (LEDGER_SEAL_NAMES): sealed, they can be erased.
    seal_names: bool = True

    def _sealed(self, value: str, field: str, subject: UUID) -> str:
        """`value` sealed under the data key of the person it belongs to
        (ledger/storage/crypto.py)."""
        return self.cipher.seal(value, field=field, subject=subject)

    def _sealed_unit_fields(self, uscc: str, fields: Mapping[str, Any]) -> dict[str, str]:
        """A registration's personal fields, each sealed under its person's data key: the
        contact's phone (and name), the legal representative's name (`seal_names`)."""
        sealed = {}
        for person, names in PERSONAL_FIELDS.items():
            subject = person_subject(uscc, person)
            for field in names:
                if field == "contact_phone" or self.seal_names:
                    sealed[field] = self._sealed(str(fields[field]), field, subject)
        return sealed

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

    def unit_personal(self, unit: Unit) -> dict[str, str]:
        """A unit's contact and legal representative fields in clear (`ERASED` for an erased
        person's); those of a registration made before sealing are stored in clear."""
        return {
            field: ERASED
            if person in unit.erased_persons
            else self.cipher.reveal(getattr(unit, field), field=field) or ERASED
            for person, names in PERSONAL_FIELDS.items()
            for field in names
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
            account.erase(reason=reason, actor=_actor(caller))
            self.save(account)
        return account

    def erase_unit_person(
        self, *, uscc: str, person: str, reason: str, caller: Account | None = None
    ) -> Unit:
        """Erases a unit's contact (name and phone) or legal representative (name): destroys
        that person's data key, then records `Unit.PersonErased`. Idempotent."""
        if person not in PERSONAL_FIELDS:
            raise ValidationFailed([FieldError(("person",), f"a unit names no {person}")])
        unit = self.find_unit(codes.normalise_uscc(uscc))
        if unit is None:
            raise NotFound(f"no unit {uscc}")
        self.cipher.erase(person_subject(unit.uscc, person))
        if person not in unit.erased_persons:
            unit.erase_person(person=person, reason=reason, actor=_actor(caller))
            self._save_related(unit)
        return unit

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
            credential.revoke(reason=reason, actor=_actor(caller))
            self.save(credential)
        return credential

    def revoke_tokens(
        self, *, account_id: UUID, reason: str, caller: Account | None = None
    ) -> Account:
        """Every token the account holds now is refused from now on."""
        account = self.get_account(account_id)
        account.revoke_tokens(reason=reason, actor=_actor(caller))
        self.save(account)
        return account

    def set_account_enabled(
        self, *, account_id: UUID, enabled: bool, reason: str, caller: Account | None = None
    ) -> Account:
        account = self.get_account(account_id)
        actor = _actor(caller)
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

    # --- attachments ------------------------------------------------------------------------
    def upload(
        self, *, caller: Account, content: bytes, media_type: str, filename: str
    ) -> Attachment:
        """Records an upload: its bytes go to the blob store first (idempotent by hash), then
        its event (hash, size, type, name, who) to the log. A crash between the two leaves at
        most bytes nothing names, which collection removes (ledger/storage/blobs.py)."""
        attachment = Attachment.upload(
            content=content, media_type=media_type, filename=filename, actor=actor_of(caller)
        )
        self.blobs.put(sha256=attachment.sha256, content=content, media_type=media_type)
        self.save(attachment)
        answered = copy.copy(attachment)  # the saved one may sit in the cache: no bytes there
        answered.content = content
        return answered

    def get_attachment(self, attachment_id: UUID) -> Attachment:
        """The upload with its bytes in `content` (a version 1 event's own, else the blob
        store's). NotFound if there is no such upload; `AttachmentGone` (a NotFound) if its
        bytes were collected."""
        attachment = self._get(attachment_id, Attachment, "attachment")
        if attachment.content is None:
            content = self.blobs.get(attachment.sha256)
            if content is None:
                raise AttachmentGone(ATTACHMENT_GONE)
            attachment.content = content
        return attachment

    # --- units ------------------------------------------------------------------------------
    def register_unit(
        self,
        *,
        caller: Account,
        fields: Mapping[str, Any],
        today: date,
        request: RequestKey | None = None,
    ) -> Outcome:
        """Registers a unit. By its bound legal-person account or an officer of its district it
        stands confirmed; by a person on a letter it is pending until an officer of the district
        or the legal-person account decides (`decide_verification`), and the person is linked as
        its agent meanwhile."""
        if (replay := self._replayed(caller, request, "unit")) is not None:
            return replay
        channel = channel_of(caller)
        if channel is None or caller.disabled:
            raise Forbidden("only a unit's accounts or an officer can register a unit")
        uscc = codes.normalise_uscc(str(fields["uscc"]))
        errors = self._unit_errors(caller, {**fields, "uscc": uscc})
        if errors:
            raise ValidationFailed(errors)
        pending = caller.role is Role.PERSON
        try:
            personal = self._sealed_unit_fields(uscc, fields)
        except Erased:  # only a registered unit's persons can have been erased
            raise AlreadyExists(f"unit {uscc} is already registered") from None
        unit = Unit.register(
            **{**fields, **personal, "uscc": uscc},
            actor=actor_of(caller, on_behalf_of=uscc),
            channel=str(channel),
            effective_on=today,
            request_digest=request.digest if request else "",
            verification=str(Verification.PENDING if pending else Verification.CONFIRMED),
        )
        linked = [caller] if pending else []
        for account in linked:
            account.link_to_unit(uscc=uscc)
        outcome = self._save_created(caller, request, "unit", unit, *linked)
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
        if caller.role is Role.OFFICER and not sees_division(caller, fields["division_code"]):
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

    def unit_for(self, caller: Account, uscc: str) -> Unit:
        """The unit, if the caller may see it."""
        unit = self.find_unit(uscc)
        if unit is None or not self.may_see_unit(caller, unit):
            raise NotFound(f"no unit {uscc}")
        return unit

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
        may add an agent; anyone who cannot see the unit gets "no such unit", so nobody joins
        a unit by themselves to read its filings. An auditor or admin who sees it only reads.
        """
        unit = self.unit_for(caller, uscc)
        if not may_manage_unit(caller, uscc=unit.uscc, division_code=unit.division_code):
            raise Forbidden("auditors and admins read units; they do not add agents")
        errors: list[FieldError] = []
        joining = self._find(account_id, Account)
        if joining is None or joining.role is not Role.PERSON:
            errors.append(FieldError(("body", "account_id"), "no such person account"))
        elif joining.disabled:
            errors.append(FieldError(("body", "account_id"), "this account is disabled"))
        self._check_attachments(
            caller, {"authorization_letter_id": authorization_letter_id}, errors
        )
        if errors:
            raise ValidationFailed(errors)
        assert joining is not None
        unit.authorise_agent(
            account_id=str(account_id),
            authorization_letter_id=authorization_letter_id,
            actor=actor_of(caller, on_behalf_of=unit.uscc),
            channel=channel_of(caller) or Channel.ONLINE,
            effective_on=today,
        )
        joining.link_to_unit(uscc=unit.uscc)
        self._save_related(unit, joining)
        return unit

    def remove_agent(
        self, *, caller: Account, uscc: str, account_id: UUID, reason: str, today: date
    ) -> Unit:
        """Ends an agent's authority: by the unit's legal-person account, another agent (or the
        agent itself), or an officer of the district."""
        unit = self.unit_for(caller, uscc)
        if not may_manage_unit(caller, uscc=unit.uscc, division_code=unit.division_code):
            raise Forbidden("auditors and admins read units; they do not remove agents")
        if str(account_id) not in unit.agents:
            raise NotFound("no such agent of this unit")
        leaving = self._get(account_id, Account, "account")
        unit.remove_agent(
            account_id=str(account_id),
            reason=reason,
            actor=actor_of(caller, on_behalf_of=unit.uscc),
            channel=channel_of(caller) or Channel.ONLINE,
            effective_on=today,
        )
        if unit.uscc in leaving.agent_of:
            leaving.unlink_from_unit(uscc=unit.uscc)
        self._save_related(unit, leaving)
        return unit

    def decide_verification(
        self, *, caller: Account, uscc: str, decision: Verification, note: str, today: date
    ) -> Unit:
        """Confirms or rejects a pending registration (docs/identity.md): a rejection removes
        every agent, whose access ends at once; the unit's filings stay in the log, seen by the
        district's officers, and the unit's legal-person account (or an agent an officer adds)
        takes it over."""
        unit = self.unit_for(caller, uscc)
        if not may_verify_unit(caller, uscc=unit.uscc, division_code=unit.division_code):
            raise Forbidden(
                "a registration is confirmed by an officer of the district or the unit's"
                " legal-person account"
            )
        if unit.verification is not Verification.PENDING:
            raise Conflict(f"the registration is {unit.verification}, not pending")
        removed = unit.decide_verification(
            decision=decision,
            note=note,
            actor=actor_of(caller, on_behalf_of=unit.uscc),
            channel=channel_of(caller) or Channel.ONLINE,
            effective_on=today,
        )
        leaving = [self._get(UUID(account_id), Account, "account") for account_id in removed]
        for account in leaving:
            if unit.uscc in account.agent_of:
                account.unlink_from_unit(uscc=unit.uscc)
        self._save_related(unit, *leaving)
        return unit

    def _save_related(self, *aggregates: Aggregate) -> None:
        """Saves a unit with the accounts whose relation to it changed, in one transaction; a
        concurrent change of any of them is a conflict (the store's key decides)."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise Conflict("the unit or an account changed meanwhile; try again") from None


def _actor(caller: Account | None) -> Actor | None:
    """Who did an act: the caller's account, or None for an operator on the command line."""
    return None if caller is None else actor_of(caller)
