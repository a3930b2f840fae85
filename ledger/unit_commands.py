"""The ledger's commands on accounts, attachments, units and their agents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from ledger import codes
from ledger.access import actor_of, channel_of
from ledger.accounts import Account, Credential
from ledger.attachments import Attachment
from ledger.base_commands import LedgerBase, Outcome, RequestKey
from ledger.errors import AlreadyExists, Forbidden, NotFound, ValidationFailed
from ledger.ids import credential_id
from ledger.units import Unit
from ledger.values import Channel, FieldError, Role


class UnitCommands(LedgerBase):
    """Opening accounts, uploading attachments, registering units and adding agents."""

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
            phone=self._sealed(phone.strip(), "phone", codes.mask_phone) if phone else None,
            id_number=(
                self._sealed(codes.normalise_id_card(id_number), "id_number", codes.mask_id_card)
                if id_number
                else None
            ),
            uscc=codes.normalise_uscc(uscc) if uscc else None,
            division_code=division_code,
        )
        credential = Credential.issue(token_sha256=token_sha256, account_id=account.id)
        self.save(account, credential)
        return account

    def _sealed(self, value: str, field: str, mask: Callable[[str], str]) -> str:
        return self.cipher.seal(value, field=field, hint=mask(value))

    def personal_numbers(self, account: Account) -> dict[str, str | None]:
        """The account's phone and ID-card number in clear (they are stored sealed)."""
        return {
            field: None if value is None else self.cipher.open(value, field=field)
            for field, value in (("phone", account.phone), ("id_number", account.id_number))
        }

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
        unit = self.find_unit(uscc)
        if unit is None or not self.may_see_unit(caller, unit):
            raise NotFound(f"no unit {uscc}")
        if not (caller.role.is_unit_side or caller.role is Role.OFFICER):
            raise Forbidden("auditors and admins read units; they do not add agents")
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
