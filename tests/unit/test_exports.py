"""Exports: Chinese headers, CSV with a BOM, and no cell that a spreadsheet would run as a
formula, in either format."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from api.sheets.exports import (
    FORMULA_STARTS,
    OVERDUE_COLUMNS,
    SYSTEM_COLUMNS,
    export_table,
    overdue_rows,
    system_rows,
)

COLUMNS = [("name", "系统名称"), ("count", "摄像机数量"), ("on", "备案日期"), ("late", "逾期")]
HOSTILE = [
    '=HYPERLINK("http://evil","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


def csv_cells(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def xlsx_sheet(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content)).worksheets[0]


def sheet_xml(content: bytes) -> str:
    archive = zipfile.ZipFile(io.BytesIO(content))
    name = next(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
    return archive.read(name).decode()


def test_csv_is_utf8_with_a_bom_and_chinese_headers() -> None:
    content = export_table([{"name": "南坪商圈"}], COLUMNS, "csv")

    assert content.startswith(b"\xef\xbb\xbf")
    assert csv_cells(content) == [
        ["系统名称", "摄像机数量", "备案日期", "逾期"],
        ["南坪商圈", "", "", ""],
    ]


def test_csv_writes_numbers_dates_and_booleans_plainly() -> None:
    rows = [{"name": "a", "count": -5, "on": date(2025, 6, 30), "late": True}]

    assert csv_cells(export_table(rows, COLUMNS, "csv"))[1] == ["a", "-5", "2025-06-30", "是"]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_quotes_a_cell_that_starts_like_a_formula(text: str) -> None:
    cells = csv_cells(export_table([{"name": text}], COLUMNS, "csv"))

    assert cells[1][0] == "'" + text


@pytest.mark.parametrize("text", [*HOSTILE, "#N/A", "#REF!"])
def test_xlsx_stores_formula_like_text_as_text(text: str) -> None:
    content = export_table([{"name": text}], COLUMNS, "xlsx")

    cell = xlsx_sheet(content)["A2"]
    # XML readers (Excel's too) read a carriage return as a line feed; the cell stays text.
    assert (cell.value, cell.data_type) == (text.replace("\r", "\n"), "s")
    assert "<f>" not in sheet_xml(content)


def test_xlsx_keeps_numbers_as_numbers_and_drops_control_characters() -> None:
    rows = [{"name": "南坪\x01商圈\x08", "count": 12, "on": date(2025, 6, 30), "late": False}]

    sheet = xlsx_sheet(export_table(rows, COLUMNS, "xlsx"))

    assert [c.value for c in sheet[1]] == ["系统名称", "摄像机数量", "备案日期", "逾期"]
    assert [c.value for c in sheet[2]] == ["南坪商圈", 12, "2025-06-30", "否"]
    assert sheet["B2"].data_type == "n"


def test_an_empty_export_has_its_header_row() -> None:
    assert csv_cells(export_table([], SYSTEM_COLUMNS, "csv")) == [[h for _k, h in SYSTEM_COLUMNS]]
    assert xlsx_sheet(export_table([], OVERDUE_COLUMNS, "xlsx")).max_row == 1


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_table([], COLUMNS, "pdf")  # type: ignore[arg-type]


def test_overdue_and_system_rows_show_codes_in_chinese() -> None:
    (overdue,) = overdue_rows(
        [{"kind": "correction_overdue", "status": "filed", "duty": "correction"}]
    )
    (system,) = system_rows([{"status": "cancelled", "channel": "offline"}])

    assert (overdue["kind"], overdue["status"], overdue["duty"]) == (
        "整改逾期",
        "已备案",
        "限期整改",
    )
    assert (system["status"], system["channel"]) == ("已注销", "线下")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_any_text_survives_both_formats_and_never_becomes_a_formula(texts: list[str]) -> None:
    rows = [{"name": text} for text in texts]

    cells = [row[0] for row in csv_cells(export_table(rows, COLUMNS, "csv"))[1:]]
    content = export_table(rows, COLUMNS, "xlsx")
    sheet = xlsx_sheet(content)

    for text, written in zip(texts, cells, strict=True):
        assert written == ("'" + text if text.startswith(FORMULA_STARTS) else text)
    assert "<f>" not in sheet_xml(content)
    for index in range(len(texts)):
        assert sheet.cell(row=index + 2, column=1).data_type in ("s", "n")
