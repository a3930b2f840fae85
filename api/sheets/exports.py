"""Tables for download: the overdue lists and system lists as xlsx or CSV.

Both formats are safe to open in a spreadsheet: a text cell that starts like a formula (=, +, -,
@, a tab or a carriage return) is written as text, never evaluated. In CSV it gets a leading
single quote (OWASP's advice); in xlsx every text cell is stored with the string type (openpyxl
would store a string starting with "=" as a formula). CSV is UTF-8 with a BOM, so Excel shows
the Chinese headers correctly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

Columns = list[tuple[str, str]]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

KIND_LABELS = {
    "unfiled": "逾期未备案",
    "filed_late": "逾期备案",
    "change_late": "变更逾期",
    "correction_overdue": "整改逾期",
    "due_soon": "即将到期",
}
STATUS_LABELS = {"filed": "已备案", "cancelled": "已注销", "unfiled": "未备案"}
DUTY_LABELS = {"registration": "备案登记", "change": "备案变更", "correction": "限期整改"}
CHANNEL_LABELS = {"online": "线上", "offline": "线下"}

OVERDUE_COLUMNS: Columns = [
    ("kind", "类别"),
    ("filing_number", "备案编号"),
    ("name", "系统名称"),
    ("unit_uscc", "统一社会信用代码"),
    ("division_code", "行政区划代码"),
    ("place_category", "场所类别"),
    ("status", "系统状态"),
    ("duty", "义务"),
    ("due_on", "应办结日期"),
    ("met_on", "办结日期"),
    ("days_overdue", "逾期天数"),
    ("days_left", "剩余天数"),
    ("provisional", "期限为暂定"),
    ("system_id", "系统ID"),
]
SYSTEM_COLUMNS: Columns = [
    ("filing_number", "备案编号"),
    ("name", "系统名称"),
    ("unit_uscc", "统一社会信用代码"),
    ("place_category", "场所类别"),
    ("place_type", "场所类型"),
    ("address", "地址"),
    ("division_code", "行政区划代码"),
    ("commissioned_on", "启用日期"),
    ("storage_days", "存储天数"),
    ("camera_count", "摄像机数量"),
    ("channel", "备案渠道"),
    ("status", "系统状态"),
    ("filed_on", "备案日期"),
    ("due_on", "应备案日期"),
    ("filed_late", "逾期备案"),
    ("system_id", "系统ID"),
]


def overdue_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overdue items (GET /v1/overdue) with their codes shown in Chinese."""
    return [
        {
            **item,
            "kind": KIND_LABELS.get(item.get("kind") or "", item.get("kind")),
            "status": STATUS_LABELS.get(item.get("status") or "", item.get("status")),
            "duty": DUTY_LABELS.get(item.get("duty") or "", item.get("duty")),
        }
        for item in items
    ]


def system_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """System bodies (GET /v1/systems) with their codes shown in Chinese."""
    return [
        {
            **item,
            "status": STATUS_LABELS.get(item.get("status") or "", item.get("status")),
            "channel": CHANNEL_LABELS.get(item.get("channel") or "", item.get("channel")),
        }
        for item in items
    ]


def _plain(value: Any) -> str | int | float | None:
    """A cell value: numbers stay numbers, everything else becomes text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _defused(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(rows: list[dict[str, Any]], columns: Columns) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_defused(header) for _key, header in columns])
    for row in rows:
        cells = (_plain(row.get(key)) for key, _header in columns)
        writer.writerow(
            ["" if c is None else _defused(c) if isinstance(c, str) else c for c in cells]
        )
    return out.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[dict[str, Any]], columns: Columns) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("导出")
    for index, (_key, header) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, 2 * len(header) + 2)
    sheet.freeze_panes = "A2"

    def cell(value: Any) -> Any:
        plain = _plain(value)
        text = ILLEGAL_CHARACTERS_RE.sub("", plain) if isinstance(plain, str) else None
        if not text:  # a number, or nothing (an empty string is no cell either)
            return WriteOnlyCell(sheet, value=None if isinstance(plain, str) else plain)
        written = WriteOnlyCell(sheet, value=None)
        written.value = text
        written.data_type = "s"  # never a formula or an error code, whatever it starts with
        return written

    sheet.append([cell(header) for _key, header in columns])
    for row in rows:
        sheet.append([cell(row.get(key)) for key, _header in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_table(
    rows: list[dict[str, Any]], columns: list[tuple[str, str]], fmt: Literal["xlsx", "csv"]
) -> bytes:
    """`rows` as a table with `columns` ((key, Chinese header) in order), in `fmt`."""
    if fmt == "csv":
        return _csv(rows, columns)
    if fmt == "xlsx":
        return _xlsx(rows, columns)
    raise ValueError(f"unknown export format {fmt!r}")
