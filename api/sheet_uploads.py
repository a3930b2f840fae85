"""A filing's devices read from an uploaded device sheet (`device_sheet_id` in POST /v1/systems).

The sheet is parsed here, at the edge, before the ledger is called: the ledger never imports a
spreadsheet library, and it receives the same device list a JSON body would have carried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from api.sheets import SheetInvalid, parse_device_sheet
from ledger.accounts import Account
from ledger.application import Ledger
from ledger.attachments import XLSX, Attachment
from ledger.errors import NotFound, ValidationFailed
from ledger.validation import FieldRules, system_field_errors
from ledger.values import FieldError

SHEET_MEDIA_TYPES = frozenset({XLSX, "text/csv"})


def _sheet_error(msg: str) -> ValidationFailed:
    return ValidationFailed([FieldError(("body", "device_sheet_id"), msg)])


def sheet_attachment(ledger: Ledger, caller: Account, sheet_id: UUID) -> Attachment:
    """The caller's own uploaded xlsx or CSV named `sheet_id`, or a 422 naming the field."""
    try:
        attachment = ledger.get_attachment(sheet_id)
    except NotFound:
        raise _sheet_error("no such attachment of yours") from None
    if attachment.uploaded_by.account_id != str(caller.id):
        raise _sheet_error("no such attachment of yours")
    if attachment.media_type not in SHEET_MEDIA_TYPES:
        raise _sheet_error(f"a device sheet is an xlsx or CSV file, not {attachment.media_type}")
    return attachment


def devices_from_sheet(
    ledger: Ledger,
    caller: Account,
    sheet_id: UUID,
    *,
    listed: int,
    fields: Mapping[str, Any],
    rules: FieldRules,
) -> list[dict[str, Any]]:
    """The devices of the sheet; any bad cell is a 422 naming every cell (and every bad field
    of the filing itself), so nothing is written. `listed` devices in the body as well is an
    error: a filing gives its devices one way."""
    if listed:
        raise _sheet_error("give the devices as a list or as a device sheet, not both")
    attachment = sheet_attachment(ledger, caller, sheet_id)
    try:
        return parse_device_sheet(
            attachment.content,
            filename=attachment.filename,
            media_type=attachment.media_type,
            rules=rules,
        )
    except SheetInvalid as invalid:
        errors = invalid.field_errors() + system_field_errors(fields, rules)
        raise ValidationFailed(
            errors, detail=f"the device sheet has {len(invalid.errors)} bad cell(s)"
        ) from None


def sheet_errors(
    ledger: Ledger, caller: Account | None, body: Mapping[str, Any], rules: FieldRules
) -> list[FieldError]:
    """The sheet's bad cells for a filing body that also failed its schema, so one answer
    names every bad field and cell (nothing when the body names no sheet)."""
    raw = body.get("device_sheet_id")
    if caller is None or not isinstance(raw, str):
        return []
    try:
        sheet_id = UUID(raw)
    except ValueError:
        return []
    listed = body.get("devices")
    try:
        devices_from_sheet(
            ledger,
            caller,
            sheet_id,
            listed=len(listed) if isinstance(listed, list) else 0,
            fields={},
            rules=rules,
        )
    except ValidationFailed as invalid:
        return invalid.errors
    return []
