"""A filing's devices read from an uploaded device sheet (`device_sheet_id` in POST /v1/systems).

The sheet is parsed here, at the edge, before the ledger is called: the ledger never imports a
spreadsheet library, and it receives the same device list a JSON body would have carried. The
file is read in a sheet worker process (`api.sheets.worker`), so the caller's thread waits;
`devices_from_sheet` runs in the threadpool (POST /v1/systems is a plain `def`).

`sheet_errors` serves the 422 handler, which runs on the event loop: there it never waits for
more than LOOP_WAIT_SECONDS. The rows of a sheet read before (by the content's SHA-256) come
from the cache; a sheet not read yet is read in a thread meanwhile (and cached), and if that
takes longer, the answer says the sheet is checked once the other fields are valid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Pending
from typing import Any
from uuid import UUID

from api.sheets.devices import SheetInvalid, parse_device_sheet
from api.sheets.files import Row
from api.sheets.worker import read_rows_isolated, warm_in_background
from ledger.accounts import Account
from ledger.attachments import XLSX, Attachment
from ledger.errors import NotFound, ValidationFailed
from ledger.services.application import Ledger
from ledger.validation import FieldRules, system_field_errors
from ledger.values import FieldError

SHEET_MEDIA_TYPES = frozenset({XLSX, "text/csv"})
# The longest the 422 handler (on the event loop) waits for a sheet's rows.
LOOP_WAIT_SECONDS = 0.1
SHEET_NOT_CHECKED = (
    "the device sheet is checked once the other fields are valid (it could not be read in time)"
)
_readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sheet-reader")
warm_in_background()  # the server imports this module once, when it builds the app


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


def _content(attachment: Attachment) -> bytes:
    if attachment.content is None:
        raise _sheet_error("the file of this attachment is no longer stored")
    return attachment.content


def devices_from_sheet(
    ledger: Ledger,
    caller: Account,
    sheet_id: UUID,
    *,
    listed: int,
    fields: Mapping[str, Any],
    rules: FieldRules,
    attachment: Attachment | None = None,
    rows: Sequence[Row] | None = None,
) -> list[dict[str, Any]]:
    """The devices of the sheet; any bad cell is a 422 naming every cell (and every bad field
    of the filing itself), so nothing is written. `listed` devices in the body as well is an
    error: a filing gives its devices one way. Blocks while a worker reads the file (unless
    `rows`, the file's rows already read, are given)."""
    if listed:
        raise _sheet_error("give the devices as a list or as a device sheet, not both")
    if attachment is None:
        attachment = sheet_attachment(ledger, caller, sheet_id)
    try:
        return parse_device_sheet(
            _content(attachment),
            filename=attachment.filename,
            media_type=attachment.media_type,
            rules=rules,
            rows=rows,
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
        attachment = sheet_attachment(ledger, caller, sheet_id)
        rows = _rows_in_time(attachment) if _on_event_loop() else None
        devices_from_sheet(
            ledger,
            caller,
            sheet_id,
            listed=len(listed) if isinstance(listed, list) else 0,
            fields={},
            rules=rules,
            attachment=attachment,
            rows=rows,
        )
    except ValidationFailed as invalid:
        return invalid.errors
    except _NotInTime:
        return [FieldError(("body", "device_sheet_id"), SHEET_NOT_CHECKED)]
    return []


class _NotInTime(Exception):
    pass


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _read(attachment: Attachment) -> list[Row] | SheetInvalid:
    try:
        return read_rows_isolated(
            _content(attachment), filename=attachment.filename, media_type=attachment.media_type
        )
    except SheetInvalid as invalid:
        return invalid


def _rows_in_time(attachment: Attachment) -> list[Row]:
    """The rows, read in a thread (which a worker's limits bound) and waited for at most
    LOOP_WAIT_SECONDS (the read goes on, and its result is cached, when that is not enough)."""
    future = _readers.submit(_read, attachment)
    try:
        found = future.result(timeout=LOOP_WAIT_SECONDS)
    except Pending:
        raise _NotInTime from None
    if isinstance(found, SheetInvalid):
        raise ValidationFailed(found.field_errors())
    return found
