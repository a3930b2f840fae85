"""Device sheets (图像采集设备信息表): parsing an uploaded xlsx or CSV into the API's devices,
and the downloadable template.

`parse_device_sheet` returns devices in the shape of `api.schemas.systems.DeviceIn` or raises
`SheetInvalid` naming every bad cell by its row (as the spreadsheet shows it) and its Chinese
header; the same checks as the API's (`DeviceIn`, `ledger.validation.device_errors`) decide.
Reading the file safely (size, zip bombs, row and cell caps) is `api.sheets.files`'s job, run
in a worker process with CPU, memory and time limits by `api.sheets.worker`; `parse_device_sheet`
blocks its thread, so HTTP handlers call it from a thread, never on the event loop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from api.schemas.systems import DeviceIn
from api.sheets.files import (
    HEADER_SEARCH_ROWS,
    CellError,
    Row,
    SheetInvalid,
    whole_file,
)
from api.sheets.template import DEVICE_TYPE_LABELS, device_sheet_template
from api.sheets.worker import read_rows_isolated
from ledger.rules import load_rules
from ledger.validation import FieldRules, device_errors

__all__ = [
    "COLUMNS",
    "CellError",
    "SheetInvalid",
    "device_sheet_template",
    "parse_device_sheet",
]


class _Bad(ValueError):
    """A cell's value cannot be read as its column's type; the message is the reason."""


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad("expected text")
    if isinstance(value, float):
        if not value.is_integer():
            return str(value)
        value = int(value)
    return str(value)


def _device_id(value: Any) -> str:
    if isinstance(value, float):
        raise _Bad(
            "stored as a number, which keeps only 15 digits: format the column as text"
            " and type the 20 digits again"
        )
    return _text(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad("must be a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).replace("，", "."))
        except ValueError:
            raise _Bad("must be a number") from None
    if not math.isfinite(number):
        raise _Bad("must be a number")
    return number


def _days(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value.removesuffix("天")):
        value = int(value.removesuffix("天"))
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("must be a whole number of days")
    return value


def _choice(labels: dict[str, Any], wanted: str) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if isinstance(value, bool) and value in labels.values():
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        key = str(value).strip().lower()
        if key in labels:
            return labels[key]
        raise _Bad(f"must be {wanted}")

    return read


_YES_NO = {
    **dict.fromkeys(("是", "有", "具备", "支持", "yes", "y", "true", "1"), True),
    **dict.fromkeys(("否", "无", "不具备", "不支持", "no", "n", "false", "0"), False),
}
_INDOOR = {
    **dict.fromkeys(("室内", "indoor", "true"), True),
    **dict.fromkeys(("室外", "outdoor", "false"), False),
}
_DEVICE_TYPES = {
    **{label: code for code, label in DEVICE_TYPE_LABELS.items()},
    **{code: code for code in DEVICE_TYPE_LABELS},
    "球型摄像机": "dome",
    "半球机": "half_dome",
    "枪机": "fixed_bullet",
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    read: Callable[[Any], Any]
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("device_id", "设备编码", False, _device_id, ("国标编码", "设备编号", "国标id")),
    Column("name", "设备名称", True, _text, ("名称",)),
    Column("address", "安装地址", True, _text, ("安装位置", "地址")),
    Column("longitude", "经度", False, _number),
    Column("latitude", "纬度", False, _number),
    Column(
        "device_type",
        "设备类型",
        True,
        _choice(_DEVICE_TYPES, "one of " + ", ".join(DEVICE_TYPE_LABELS.values())),
        ("摄像机类型",),
    ),
    Column("indoor", "室内/室外", True, _choice(_INDOOR, "室内 or 室外"), ("室内外",)),
    Column(
        "face_capture",
        "人脸抓拍",
        True,
        _choice(_YES_NO, "是 or 否"),
        ("人脸识别", "是否具备人脸抓拍", "是否具备人脸识别"),
    ),
    Column("storage_days", "存储天数", True, _days, ("图像存储天数", "存储期限", "存储时间")),
)
_BY_KEY = {column.key: column for column in COLUMNS}


def _normal_header(value: Any) -> str:
    text = re.sub(r"[\s*＊]", "", str(value)) if value is not None else ""
    return re.sub(r"[（(][^)）]*[)）]$", "", text).lower()


_HEADER_NAMES = {
    _normal_header(name): column
    for column in COLUMNS
    for name in (column.header, column.key, *column.aliases)
}


def _header(rows: Sequence[Row]) -> tuple[int, dict[str, int]]:
    """The header row's number and where each known column is; every missing one is named."""
    for number, cells in rows[:HEADER_SEARCH_ROWS]:
        found: dict[str, int] = {}
        for index, cell in enumerate(cells):
            column = _HEADER_NAMES.get(_normal_header(cell))
            if column is not None:
                found.setdefault(column.key, index)
        if "name" in found or len(found) >= 3:
            missing = [c for c in COLUMNS if c.required and c.key not in found]
            if missing:
                raise SheetInvalid([CellError(number, c.header, "missing column") for c in missing])
            return number, found
    first = rows[0][0] if rows else 1
    raise SheetInvalid(
        [
            CellError(first, column.header, "missing column: no header row names it")
            for column in COLUMNS
            if column.required
        ]
    )


def _read_row(
    number: int, cells: list[Any], where: dict[str, int]
) -> tuple[dict[str, Any], list[CellError]]:
    device: dict[str, Any] = {}
    errors: list[CellError] = []
    for column in COLUMNS:
        index = where.get(column.key)
        value = cells[index] if index is not None and index < len(cells) else None
        if value is None:
            if column.required:
                errors.append(CellError(number, column.header, "is required"))
            else:
                device[column.key] = None
            continue
        try:
            device[column.key] = column.read(value)
        except _Bad as bad:
            errors.append(CellError(number, column.header, str(bad)))
    if not errors:
        try:
            device = DeviceIn.model_validate(device).model_dump(mode="json")
        except ValidationError as invalid:
            for problem in invalid.errors():
                key = str(problem["loc"][0]) if problem["loc"] else "name"
                header = _BY_KEY[key].header if key in _BY_KEY else key
                errors.append(CellError(number, header, problem["msg"]))
    return device, errors


def _default_rules() -> FieldRules:
    return FieldRules(
        min_storage_days=load_rules().storage_min_days,
        forbidden_location=lambda _text: None,
        today=date.today(),
    )


def parse_device_sheet(
    content: bytes,
    *,
    filename: str,
    media_type: str | None,
    rules: FieldRules | None = None,
    rows: Sequence[Row] | None = None,
) -> list[dict[str, Any]]:
    """The devices of an xlsx or CSV device sheet, in the API's device shape.

    Raises `SheetInvalid` naming every bad cell; nothing is returned unless every cell is good.
    `rules` are the rules in force (the ledger's `field_rules(today)`); the built-in ones when
    not given. The file is read in a sheet worker (or its rows taken from the cache of what was
    read before); `rows`, when given, are the file's rows already read.
    """
    if rows is None:
        rows = read_rows_isolated(content, filename=filename, media_type=media_type)
    header_row, where = _header(rows)
    data = [(number, cells) for number, cells in rows if number > header_row]
    if not data:
        raise whole_file("the sheet has no device rows below its header")
    devices: list[dict[str, Any]] = []
    errors: list[CellError] = []
    numbers = [number for number, _cells in data]
    for number, cells in data:
        device, bad = _read_row(number, cells, where)
        devices.append(device)
        errors += bad
    for found in device_errors(devices, rules or _default_rules(), loc=()):
        index, key = int(found.loc[0]), str(found.loc[-1])
        reason = re.sub(
            r"repeats device (\d+)", lambda m: f"repeats row {numbers[int(m[1])]}", found.msg
        )
        errors.append(CellError(numbers[index], _BY_KEY[key].header, reason))
    if errors:
        raise SheetInvalid(sorted(set(errors), key=_order))
    return devices


def _order(error: CellError) -> tuple[int, int]:
    keys = [column.header for column in COLUMNS]
    return error.row, keys.index(error.column) if error.column in keys else len(keys)
