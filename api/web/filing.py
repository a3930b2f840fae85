"""The offline filing form: an officer keys in a paper filing (channel offline).

The form carries the system's fields, the scan of the paper form (it becomes `paper_form_id`)
and the unit's device sheet (parsed by api/sheets/devices.py; it becomes `device_sheet_id`).
Everything is checked before anything is written: the fields as the API checks a filing's body,
every cell of the sheet, and the files' sizes and kinds. Only when all of it is good are the two
files stored and the filing made, through the same ledger command as POST /v1/systems. Every error
is shown next to its field; the sheet's bad cells are listed as row, column and reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from api.http.deps import today
from api.schemas.systems import SystemFields
from api.sheets.devices import CellError, SheetInvalid, device_sheet_template, parse_device_sheet
from api.sheets.files import chinese_reason
from api.web.errors import FormErrors, PageError
from api.web.messages import ledger_message
from api.web.site import Officer, PageRoute, checked_form, render, runtime_of
from ledger.accounts import Account
from ledger.attachments import MAX_ATTACHMENT_BYTES, XLSX, sniff_media_type
from ledger.errors import LedgerError
from ledger.validation import system_field_errors
from ledger.values import Role

router = APIRouter(route_class=PageRoute)

TEXT_FIELDS = tuple(SystemFields.model_fields)
FILES = {
    "paper_form": ("纸质备案表扫描件", {"application/pdf", "image/jpeg", "image/png"}),
    "device_sheet": ("图像采集设备信息表", {XLSX, "text/csv"}),
}
ALIASES = {
    "paper_form_id": "paper_form",
    "device_sheet_id": "device_sheet",
    "devices": "device_sheet",
}


def _coerced(values: dict[str, str]) -> dict[str, Any]:
    """The values with numbers and dates read where they can be, for the domain's checks."""
    out: dict[str, Any] = {}
    for key, text in values.items():
        if text == "":
            continue
        value: Any = text
        try:
            if key in ("place_category", "storage_days"):
                value = int(text)
            elif key in ("longitude", "latitude"):
                value = float(text)
            elif key == "commissioned_on":
                value = date.fromisoformat(text)
        except ValueError:
            value = text
        out[key] = value
    return out


def _only_officers(account: Account) -> None:
    if account.role is not Role.OFFICER:
        raise PageError(403, "只有民警可以录入线下备案；审计和管理员账户只能查阅。")


def _where_the_officer_may_file(
    rt: Any, account: Account, fields: dict[str, Any], errors: FormErrors
) -> None:
    """The ledger's own refusals that would come after the files were stored, checked first so
    that a refused filing leaves no stored files behind."""
    division = fields.get("division_code")
    if isinstance(division, str) and division != account.division_code:
        errors.add("division_code", f"只能录入本辖区（{account.division_code}）的系统")
    uscc = fields.get("unit_uscc")
    if isinstance(uscc, str) and not errors.get("unit_uscc") and rt.ledger.find_unit(uscc) is None:
        errors.add("unit_uscc", ledger_message("register the unit first"))


def _uuid_or_none(text: str, errors: FormErrors) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        errors.add("discovered_system_id", "不是有效的编号")
        return None


async def _file(form: FormData, name: str, errors: FormErrors) -> tuple[UploadFile, bytes] | None:
    label, kinds = FILES[name]
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add(name, f"请上传{label}")
        return None
    content = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        errors.add(name, f"文件不能超过 100 KB（{MAX_ATTACHMENT_BYTES} 字节）")
        return None
    if sniff_media_type(content) not in kinds:
        wanted = "PDF、JPEG 或 PNG" if name == "paper_form" else "xlsx 或 CSV"
        errors.add(name, f"文件类型应为 {wanted}")
        return None
    return upload, content


def _sheet_devices(
    sheet: tuple[UploadFile, bytes] | None, rules: Any
) -> tuple[list[dict[str, Any]], list[CellError]]:
    if sheet is None:
        return [], []
    upload, content = sheet
    try:
        devices = parse_device_sheet(
            content, filename=upload.filename or "", media_type=upload.content_type, rules=rules
        )
    except SheetInvalid as bad:
        # A refusal of the whole file (a limit, an unreadable file) in Chinese.
        return [], [
            CellError(0, "", chinese_reason(c.reason)) if c.row == 0 else c for c in bad.errors
        ]
    return devices, []


def _form_page(
    request: Request,
    account: Account,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    cells: list[CellError] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "cells": [(c.row, c.column, ledger_message(c.reason)) for c in cells or []],
    }
    return render(request, "filing_new.html", context, account=account, status=status)


@router.get("/filings/new")
def new_filing(request: Request, account: Officer, discovered: UUID | None = None) -> Response:
    """The empty form, or one filled in from a discovered system that is to be filed."""
    _only_officers(account)
    values: dict[str, Any] = {"division_code": account.division_code or ""}
    if discovered is not None:
        found = runtime_of(request).ledger.system_for(account, discovered)
        values.update({k: str(v) for k, v in found.fields.items() if k in TEXT_FIELDS})
        values["discovered_system_id"] = str(discovered)
    return _form_page(request, account, values)


@router.get("/filings/device-sheet-template")
def sheet_template(account: Officer) -> Response:
    return Response(
        device_sheet_template(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="device-sheet-template.xlsx"'},
    )


@router.post("/filings")
async def file_offline(request: Request, account: Officer) -> Response:
    _only_officers(account)
    form = await checked_form(request)
    rt = runtime_of(request)
    day = today()
    rules = rt.ledger.field_rules(day)
    values = {key: str(form.get(key) or "").strip() for key in TEXT_FIELDS}
    discovered_text = str(form.get("discovered_system_id") or "").strip()
    extra: dict[str, Any] = {
        "acknowledged_instructions": form.get("acknowledged_instructions") == "on",
        "discovered_system_id": discovered_text,
    }
    errors = FormErrors((*TEXT_FIELDS, *FILES, *extra), ALIASES)
    discovered = _uuid_or_none(discovered_text, errors)
    fields = _coerced(values)
    try:
        SystemFields.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as invalid:
        errors.add_pydantic(invalid)
    errors.add_field_errors(system_field_errors(fields, rules))
    if not extra["acknowledged_instructions"]:
        errors.add("acknowledged_instructions", "请确认单位已阅读《备案填报须知》")
    paper = await _file(form, "paper_form", errors)
    sheet = await _file(form, "device_sheet", errors)
    # Read in a worker process (api.sheets.worker); this thread only waits, off the event loop.
    devices, cells = await run_in_threadpool(_sheet_devices, sheet, rules)
    if cells:
        errors.add("device_sheet", f"设备信息表有 {len(cells)} 处错误，见下表；未作任何备案")
    form_values = {**values, **extra}
    _where_the_officer_may_file(rt, account, fields, errors)
    if errors or paper is None or sheet is None:
        return _form_page(request, account, form_values, errors, cells, status=422)
    try:
        system = _file_system(rt, account, fields, devices, paper, sheet, discovered, day)
    except LedgerError as error:
        errors.add_ledger(error)
        return _form_page(request, account, form_values, errors, status=422)
    return RedirectResponse(f"/officer/systems/{system.id}?saved=filing", status_code=303)


def _file_system(
    rt: Any,
    account: Account,
    fields: dict[str, Any],
    devices: list[dict[str, Any]],
    paper: tuple[UploadFile, bytes],
    sheet: tuple[UploadFile, bytes],
    discovered: UUID | None,
    day: date,
) -> Any:
    """Stores the two files and files the system, as POST /v1/attachments and /v1/systems do."""
    stored = {}
    for name, (upload, content) in (("paper_form", paper), ("device_sheet", sheet)):
        stored[name] = rt.ledger.upload(
            caller=account,
            content=content,
            media_type=sniff_media_type(content),
            filename=(upload.filename or name)[:200],
        )
    outcome = rt.ledger.file_system(
        caller=account,
        fields=SystemFields.model_validate(fields).model_dump(),
        devices=devices,
        today=day,
        discovered_system_id=discovered,
        paper_form_id=stored["paper_form"].id,
        device_sheet_id=stored["device_sheet"].id,
    )
    return outcome.aggregate
