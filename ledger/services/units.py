"""The ledger's commands on units and their agents, and on attachments: uploading them,
registering a unit (sealing its persons' fields), authorising and removing agents, deciding a
pending registration and erasing a unit's person. `UnitCommands` builds on `AccountCommands`
(ledger/services/accounts.py): an agent's account records the units it acts for."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger import codes
from ledger.access import (
    actor_of,
    channel_of,
    may_manage_unit,
    may_verify_unit,
    sees_division,
)
from ledger.accounts import Account
from ledger.attachments import Attachment
from ledger.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationFailed
from ledger.items import as_unit_registration
from ledger.services.accounts import AccountCommands, actor_or_operator
from ledger.services.base import Outcome, RequestKey
from ledger.storage.blobs import ATTACHMENT_GONE, AttachmentGone
from ledger.storage.crypto import ERASED, Erased
from ledger.units import PERSONAL_FIELDS, Unit, Verification, person_subject
from ledger.values import Channel, FieldError, Role


class UnitCommands(AccountCommands):
    """Uploading attachments, registering units, adding and removing agents, deciding
    registrations; and `AccountCommands`."""

    # Whether units' legal representatives' and contacts' names are sealed like their phones
    # (LEDGER_SEAL_NAMES): sealed, they can be erased.
    seal_names: bool = True

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

    # --- erasure of a unit's person (crypto-shredding) ---------------------------------------
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
            unit.erase_person(person=person, reason=reason, actor=actor_or_operator(caller))
            self._save_related(unit)
        return unit

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
            **as_unit_registration({**fields, **personal, "uscc": uscc}),
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
