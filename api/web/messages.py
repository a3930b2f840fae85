"""Error messages in Chinese: pydantic's by error type, the ledger's by their English text.

The ledger and the HTTP contract speak English (`loc` + `msg`); the pages show the same errors in
Chinese. A message this table does not know is shown as it is, so nothing is ever hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PYDANTIC: dict[str, str] = {
    "missing": "必填",
    "string_too_short": "必填",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "请选择有效的选项",
    "enum": "请选择有效的选项",
    "bool_parsing": "应为“是”或“否”",
    "uuid_parsing": "不是有效的编号",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
}

_LEDGER: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), t)
    for p, t in (
        (r"^must be 18 characters$", "应为 18 位"),
        (
            r"^may only contain digits and the letters",
            "只能包含数字和字母 A-H、J-N、P-R、T、U、W-Y",
        ),
        (r"^check character does not match$", "校验码不符"),
        (r"^must be 6 digits$", "应为 6 位数字"),
        (r"^must be a county-level code", "应为县级行政区划代码（不以 00 结尾）"),
        (r"^is not a known GB/T 2260 code$", "不是有效的 GB/T 2260 行政区划代码"),
        (r"^must be 20 digits$", "应为 20 位数字"),
        (r"^must be 1 to 5$", "应为 1 至 5"),
        (r"^'(.+)' is not a place type of category (\d)", r"“\1”不属于第 \2 类场所"),
        (r"^unknown place type '(.+)'$", r"未知的场所类型“\1”"),
        (
            r"^images must be kept at least (\d+) days .*got (\d+)$",
            r"图像至少保存 \1 天（第十七条），填写的是 \2 天",
        ),
        (r"^must be between (-?\d+) and (-?\d+)$", r"应在 \1 至 \2 之间"),
        (r"^longitude and latitude go together$", "经度和纬度须同时填写"),
        (r"^is in the future$", "不能晚于今天"),
        (r"^repeats device (\d+)$", r"与第 \1 台设备重复（从 0 起计）"),
        (r"^a system has at least one device$", "一个系统至少有一台设备"),
        (r"^an offline filing carries the paper form's scan$", "线下备案须上传纸质备案表扫描件"),
        (r"^register the unit first$", "该单位尚未登记，请先登记单位"),
        (r"^no such attachment of yours$", "附件不存在"),
        (r"^the discovered system is in (\d+)$", r"被发现的系统位于 \1"),
        (r"^must be after the day it is ordered \((.+)\)$", r"应晚于下达之日（\1）"),
        (r"^may not be after today \((.+)\)$", r"不能晚于今天（\1）"),
        (r"^outside your district$", "不在您的辖区"),
        (r"^no such (system|unit|discovered system)", "不存在或不在您的辖区"),
        (r"^an? (auditor|admin) account reads the ledger", "审计和管理员账户只能查阅，不能备案"),
        (
            r"^'(.+)': cameras are forbidden in such places",
            r"“\1”：此类场所禁止安装摄像机（第八条），请民警核查",
        ),
        # The device sheet's cells (api/sheets/devices.py) and whole-file problems
        # (api/sheets/files.py).
        (r"^is required$", "必填"),
        (r"^missing column", "缺少此列"),
        (r"^must be a number$", "应为数字"),
        (r"^must be a whole number of days$", "应为整数天数"),
        (r"^must be 是 or 否$", "应为“是”或“否”"),
        (r"^must be 室内 or 室外$", "应为“室内”或“室外”"),
        (r"^must be one of (.+)$", r"应为以下之一：\1"),
        (r"^expected text$", "应为文字"),
        (r"^repeats row (\d+)$", r"与第 \1 行重复"),
        (
            r"^stored as a number",
            "以数字形式保存，只保留 15 位：请将此列设为文本格式后重新输入 20 位编码",
        ),
        (r"^the file is empty$", "文件为空"),
        (r"^the sheet has no device rows", "表格中没有设备行"),
        (r"^an old \.xls workbook", "旧版 .xls 文件：请另存为 .xlsx 或 CSV"),
        (r"^not a readable xlsx workbook", "无法读取的 xlsx 文件"),
        (r"^a device sheet may not exceed", "设备信息表不能超过 100 KB"),
        (r"^a device sheet has at most ([\d,]+) rows$", r"设备信息表最多 \1 行"),
        (r"^and (\d+) more bad cells not listed$", r"另有 \1 处错误未列出"),
    )
]


def pydantic_message(error: Mapping[str, Any]) -> str:
    template = _PYDANTIC.get(str(error.get("type")))
    if template is None:
        return str(error.get("msg", "无效"))
    context = error.get("ctx") or {}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return template


def ledger_message(text: str) -> str:
    for pattern, replacement in _LEDGER:
        found = pattern.search(text)
        if found is not None:
            return found.expand(replacement)
    return text
