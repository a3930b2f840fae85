"""The downloadable device-sheet template (图像采集设备信息表.xlsx): Chinese headers, one example
row, drop-down lists for the device type, indoor/outdoor and face capture, and a notes sheet."""

from __future__ import annotations

import io

# GB/T 28181 PTZ types (ledger.values.DeviceType) as the sheet shows them.
DEVICE_TYPE_LABELS = {
    "dome": "球机",
    "half_dome": "半球",
    "fixed_bullet": "固定枪机",
    "ptz_bullet": "遥控枪机",
    "ptz_half_dome": "遥控半球",
    "panoramic": "全景",
    "other": "其他",
}
SHEET_TITLE = "图像采集设备信息表"
TEMPLATE_ROWS = 5_000
_HEADERS = (
    ("设备编码", 24, "选填：GB/T 28181 编码，20 位数字（请按文本格式填写）"),
    ("设备名称", 24, "必填"),
    ("安装地址", 36, "必填：安装位置的详细地址"),
    ("经度", 12, "选填：WGS-84 经度，与纬度同时填写"),
    ("纬度", 12, "选填：WGS-84 纬度，与经度同时填写"),
    ("设备类型", 12, "必填：" + "、".join(DEVICE_TYPE_LABELS.values())),
    ("室内/室外", 10, "必填：室内 或 室外"),
    ("人脸抓拍", 10, "必填：是 或 否"),
    ("存储天数", 10, "必填：图像存储天数，不少于 30 天"),
)
_EXAMPLE = (
    "50010800001310000001",
    "南坪广场东门1号摄像机",
    "重庆市南岸区南坪西路1号广场东门",
    106.5703,
    29.5298,
    "固定枪机",
    "室外",
    "否",
    90,
)


def device_sheet_template() -> bytes:
    """The template as xlsx bytes (a few KB, well under the 100 KB upload cap)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_TITLE
    sheet.append([header for header, _width, _note in _HEADERS])
    for index, (_header, width, _note) in enumerate(_HEADERS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[get_column_letter(index)].width = width
    # Device ids are 20 digits: as numbers Excel would keep only 15 of them.
    sheet.column_dimensions["A"].number_format = "@"
    sheet.append(list(_EXAMPLE))
    sheet["A2"].number_format = "@"
    sheet.freeze_panes = "A2"
    last = TEMPLATE_ROWS + 1
    for column, choices in (
        ("F", DEVICE_TYPE_LABELS.values()),
        ("G", ("室内", "室外")),
        ("H", ("是", "否")),
    ):
        listed = DataValidation(
            type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True
        )
        listed.error = "请从下拉列表中选择"
        sheet.add_data_validation(listed)
        listed.add(f"{column}2:{column}{last}")
    days = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="30")
    days.error = "存储天数不少于 30 天"
    sheet.add_data_validation(days)
    days.add(f"I2:I{last}")
    notes = book.create_sheet("填写说明")
    notes.append(["列", "填写要求"])
    for header, _width, note in _HEADERS:
        notes.append([header, note])
    notes.append(["", "每行一台图像采集设备；第 1 行为表头，请勿修改；示例行请替换为实际设备。"])
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
