"""Device sheets: xlsx and CSV in every accepted encoding, each bad cell named by row and
Chinese header, and hostile files (zip bombs, entity bombs, huge or broken files) refused."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from api.sheets import files as sheet_files
from api.sheets.devices import CellError, SheetInvalid, device_sheet_template, parse_device_sheet

HEADER: list[Any] = [
    "设备编码",
    "设备名称",
    "安装地址",
    "经度",
    "纬度",
    "设备类型",
    "室内/室外",
    "人脸抓拍",
    "存储天数",
]
ROW: list[Any] = [
    "50010800001310000001",
    "东门1号摄像机",
    "南坪西路1号东门",
    106.57,
    29.53,
    "球机",
    "室外",
    "否",
    90,
]
DEVICE = {
    "device_id": "50010800001310000001",
    "name": "东门1号摄像机",
    "address": "南坪西路1号东门",
    "longitude": 106.57,
    "latitude": 29.53,
    "device_type": "dome",
    "indoor": False,
    "face_capture": False,
    "storage_days": 90,
}


def device_id(serial: int) -> str:
    return f"5001080000131000{serial:04d}"


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    lines = [",".join("" if v is None else str(v) for v in row) for row in rows]
    return "\r\n".join(lines).encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, text_ids: bool = True) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parse(content: bytes, name: str = "devices.csv") -> list[dict[str, Any]]:
    return parse_device_sheet(content, filename=name, media_type=None)


def errors_of(content: bytes) -> list[CellError]:
    with pytest.raises(SheetInvalid) as raised:
        parse(content)
    return raised.value.errors


def whole_file_reason(content: bytes) -> str:
    errors = errors_of(content)
    assert [(e.row, e.column) for e in errors] == [(0, "")], errors
    return errors[0].reason


# --- what is accepted ------------------------------------------------------------------------


def test_the_template_parses_to_its_example_device() -> None:
    template = device_sheet_template()

    devices = parse(template, "template.xlsx")

    assert len(template) < 102_400
    assert len(devices) == 1
    assert devices[0]["device_type"] == "fixed_bullet"
    assert set(devices[0]) == set(DEVICE)


def test_the_template_has_chinese_headers_and_drop_down_lists() -> None:
    sheet = load_workbook(io.BytesIO(device_sheet_template())).worksheets[0]

    assert [c.value for c in sheet[1]] == HEADER
    listed = [v.formula1 for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert any("球机" in f for f in listed) and any("室内" in f for f in listed)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_or_gb18030_reads_the_same(encoding: str) -> None:
    assert parse(csv_bytes([HEADER, ROW], encoding)) == [DEVICE]


def test_an_xlsx_sheet_with_a_title_row_extra_columns_and_marked_headers_reads() -> None:
    headers = [
        "序号",
        "设备名称*",
        "设备类型（必填）",
        "安装地址",
        "室内外",
        "人脸识别",
        "存储天数",
        "设备编码",
    ]
    row = [1, "东门1号摄像机", "球机", "南坪西路1号东门", "室外", "否", 90, "50010800001310000001"]
    content = xlsx_bytes([["图像采集设备信息表"], headers, row])

    assert parse(content, "x.xlsx") == [{**DEVICE, "longitude": None, "latitude": None}]


def test_a_tab_separated_sheet_reads() -> None:
    content = "\n".join("\t".join(str(v) for v in r) for r in (HEADER, ROW)).encode()

    assert parse(content) == [DEVICE]


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers() -> None:
    bad = [*ROW[:5], "飞碟", *ROW[6:]]
    content = xlsx_bytes([HEADER, ROW[:1] + [None] * 8, [None] * 9, [device_id(2), *bad[1:]]])

    errors = errors_of(content)

    required = ("设备名称", "安装地址", "设备类型", "室内/室外", "人脸抓拍", "存储天数")
    assert {(e.row, e.column) for e in errors} == {(2, c) for c in required} | {(4, "设备类型")}


# --- every bad cell named --------------------------------------------------------------------


def test_each_bad_cell_is_named_by_row_and_chinese_header() -> None:
    rows = [
        HEADER,
        ROW,
        ["5001080000131", "", "", "东经", "", "飞碟", "半室内", "也许", "十天"],
        [device_id(3), "西门", "南坪", 200, 29.5, "球机", "室内", "是", 10],
    ]

    found = {(e.row, e.column): e.reason for e in errors_of(csv_bytes(rows))}

    assert set(found) == {
        (3, "设备编码"),
        (3, "设备名称"),
        (3, "安装地址"),
        (3, "经度"),
        (3, "设备类型"),
        (3, "室内/室外"),
        (3, "人脸抓拍"),
        (3, "存储天数"),
        (4, "经度"),
        (4, "存储天数"),
    }
    assert found[(3, "设备编码")] == "must be 20 digits"
    assert "30 days" in found[(4, "存储天数")]
    assert found[(4, "经度")] == "must be between -180 and 180"


def test_a_repeated_device_id_names_the_row_it_repeats() -> None:
    rows = [HEADER, ROW, [*ROW[:1], "西门", *ROW[2:]]]

    assert errors_of(csv_bytes(rows)) == [CellError(3, "设备编码", "repeats row 2")]


def test_longitude_without_latitude_is_named() -> None:
    rows = [HEADER, [*ROW[:4], None, *ROW[5:]]]

    assert errors_of(csv_bytes(rows)) == [
        CellError(2, "纬度", "longitude and latitude go together")
    ]


def test_a_device_id_stored_as_a_number_is_refused_with_advice() -> None:
    content = xlsx_bytes([HEADER, [50010800001310000001.0, *ROW[1:]]])

    (error,) = errors_of(content)

    assert (error.row, error.column) == (2, "设备编码") and "text" in error.reason


def test_a_missing_header_is_named_at_the_header_row() -> None:
    header = [h for h in HEADER if h not in ("设备类型", "存储天数")]
    row = [v for h, v in zip(HEADER, ROW, strict=True) if h in header]

    errors = errors_of(csv_bytes([["设备信息"], header, row]))

    assert errors == [
        CellError(2, "设备类型", "missing column"),
        CellError(2, "存储天数", "missing column"),
    ]


def test_a_sheet_without_any_header_names_every_required_column() -> None:
    errors = errors_of(csv_bytes([["a", "b"], ["c", "d"]]))

    required = {"设备名称", "安装地址", "设备类型", "室内/室外", "人脸抓拍", "存储天数"}
    assert {e.column for e in errors} == required
    assert {e.row for e in errors} == {1}


def test_a_header_without_rows_is_refused() -> None:
    assert "no device rows" in whole_file_reason(csv_bytes([HEADER]))
    assert "no device rows" in whole_file_reason(xlsx_bytes([HEADER]))


@pytest.mark.parametrize("content", [b"", b"  \r\n", xlsx_bytes([])])
def test_an_empty_file_or_sheet_is_refused(content: bytes) -> None:
    errors = errors_of(content)

    assert errors and all(e.row in (0, 1) for e in errors)


def test_errors_become_problem_locations() -> None:
    invalid = SheetInvalid([CellError(3, "设备类型", "bad"), CellError(0, "", "whole")])

    assert [e.loc for e in invalid.field_errors()] == [
        ("body", "device_sheet", 3, "设备类型"),
        ("body", "device_sheet_id"),  # the file as a whole: the field that names it
    ]


def test_a_flood_of_bad_cells_is_reported_with_a_count_of_the_rest() -> None:
    invalid = SheetInvalid([CellError(n, "设备名称", "is required") for n in range(2, 2003)])

    assert len(invalid.errors) == sheet_files.MAX_REPORTED_ERRORS + 1
    assert invalid.errors[-1].reason == "and 1001 more bad cells not listed"


# --- formulas --------------------------------------------------------------------------------


def test_formula_text_in_csv_is_kept_as_plain_text() -> None:
    rows = [HEADER, [*ROW[:1], '=HYPERLINK("http://evil")', *ROW[2:]]]

    assert parse(csv_bytes(rows))[0]["name"] == '=HYPERLINK("http://evil")'


def test_an_xlsx_formula_is_not_evaluated_and_its_missing_value_is_named() -> None:
    content = xlsx_bytes([HEADER, [*ROW[:1], "=CONCAT(A1,B1)", *ROW[2:]]])

    assert errors_of(content) == [CellError(2, "设备名称", "is required")]
