"""Hostile and broken device sheets: refused as `SheetInvalid` naming the file, before any
expensive step, and never a crash."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from api.sheets import files as sheet_files
from api.sheets.devices import SheetInvalid, device_sheet_template, parse_device_sheet
from ledger.attachments import MAX_ATTACHMENT_BYTES
from tests.support.sheets import laughs

TEMPLATE = device_sheet_template()


def reason(content: bytes) -> str:
    with pytest.raises(SheetInvalid) as raised:
        parse_device_sheet(content, filename="x.xlsx", media_type=None)
    (error,) = raised.value.errors
    assert (error.row, error.column) == (0, "")
    return error.reason


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def openpyxl_must_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl opened a file the guards should have refused")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def test_a_file_over_the_upload_cap_is_refused() -> None:
    assert "102400 bytes" in reason(b"a" * (MAX_ATTACHMENT_BYTES + 1))


@pytest.mark.usefixtures("openpyxl_must_not_open")
def test_a_zip_bomb_is_refused_before_openpyxl_opens_it() -> None:
    bomb = zipped(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/worksheets/sheet1.xml": b"<" + b"a" * (64 * 1024 * 1024) + b">",
        }
    )

    assert len(bomb) < MAX_ATTACHMENT_BYTES
    assert "unpacks to more than" in reason(bomb)


@pytest.mark.usefixtures("openpyxl_must_not_open")
def test_a_zip_of_too_many_parts_is_refused_before_openpyxl_opens_it() -> None:
    many = zipped({f"xl/part{n}.xml": b"" for n in range(sheet_files.MAX_ZIP_MEMBERS + 1)})

    assert "parts" in reason(many)


def test_an_entity_expansion_bomb_inside_the_workbook_is_refused() -> None:
    sheet = (
        b'<?xml version="1.0"?>'
        + laughs()
        + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    source = zipfile.ZipFile(io.BytesIO(TEMPLATE))
    members = {name: source.read(name) for name in source.namelist()}
    members["xl/worksheets/sheet1.xml"] = sheet

    assert "not a readable xlsx" in reason(zipped(members))


def test_a_truncated_workbook_is_refused() -> None:
    assert "not a readable xlsx" in reason(TEMPLATE[: len(TEMPLATE) // 2])


def test_a_zip_that_is_no_workbook_is_refused() -> None:
    assert "not a readable xlsx" in reason(zipped({"word/document.xml": b"<w/>"}))


def test_an_old_xls_workbook_is_refused_with_advice() -> None:
    assert ".xlsx" in reason(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)


def test_binary_that_is_neither_text_nor_a_workbook_is_refused() -> None:
    assert "UTF-8 or GB18030" in reason(bytes(range(256)) * 4)


def test_a_sheet_with_rows_far_below_the_last_readable_row_is_refused() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["设备名称", "安装地址", "设备类型", "室内/室外", "人脸抓拍", "存储天数"])
    sheet.cell(row=sheet_files.MAX_ROW_INDEX + 5, column=1, value="x")
    out = io.BytesIO()
    book.save(out)

    assert "rows below row" in reason(out.getvalue())


def test_more_device_rows_than_the_cap_are_refused() -> None:
    header = "设备名称,安装地址,设备类型,室内/室外,人脸抓拍,存储天数\n"
    rows = "a,b,other,true,1,90\n" * (sheet_files.MAX_ROWS + 11)
    content = (header + rows).encode()

    assert len(content) <= MAX_ATTACHMENT_BYTES
    assert "at most 5,000 rows" in reason(content)


def test_five_thousand_rows_are_accepted() -> None:
    header = "设备名称,安装地址,设备类型,室内/室外,人脸抓拍,存储天数\n"
    rows = "a,b,other,true,1,90\n" * sheet_files.MAX_ROWS

    devices = parse_device_sheet((header + rows).encode(), filename="x.csv", media_type=None)

    assert len(devices) == sheet_files.MAX_ROWS


def _mutated(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in edits:
        buffer[position % len(buffer)] = value
    return bytes(buffer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=2048).map(lambda tail: b"PK\x03\x04" + tail),
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8).map(
            lambda edits: _mutated(TEMPLATE, edits)
        ),
        st.text(max_size=400).map(lambda text: ("设备名称,安装地址\n" + text).encode("utf-8")),
    )
)
def test_arbitrary_bytes_give_devices_or_sheet_invalid_never_a_crash(content: bytes) -> None:
    try:
        devices = parse_device_sheet(content, filename="any", media_type=None)
    except SheetInvalid as invalid:
        assert invalid.errors
        return
    assert devices and all(isinstance(d["name"], str) for d in devices)
