"""Hostile device sheets, built in memory (no binary file is committed).

`corpus()` gives each file with the words its refusal must contain. Most are within the 100 KB
upload cap, so they reach the reader; the ones at the sizes attackers name (a part unpacking to
1 GB, CSV of 10^6 columns or rows) are larger and are refused by the cap before any reading.
Used by tests/e2e/test_hostile_sheets.py and bench/hostile_sheets.py.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache

from api.sheets.template import device_sheet_template

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_PART = "xl/worksheets/sheet1.xml"


@dataclass(frozen=True)
class Hostile:
    name: str
    content: bytes
    refusal: str  # words the refusal's reason contains
    media_type: str  # what an upload of it is sniffed as


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@cache
def _template_parts() -> dict[str, bytes]:
    source = zipfile.ZipFile(io.BytesIO(device_sheet_template()))
    return {name: source.read(name) for name in source.namelist()}


def workbook(**replaced: bytes) -> bytes:
    """The template workbook with some parts replaced (keyword: part name with / as __)."""
    parts = dict(_template_parts())
    for key, data in replaced.items():
        parts[key.replace("__", "/").replace("_xml", ".xml")] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def _sheet(rows: bytes, *, before: bytes = b"", prolog: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + prolog
        + f'<worksheet xmlns="{MAIN}">'.encode()
        + before
        + b"<sheetData>"
        + rows
        + b"</sheetData></worksheet>"
    )


def _with_sheet(sheet: bytes) -> bytes:
    return workbook(xl__worksheets__sheet1_xml=sheet)


def _shared_strings(items: bytes, count: int) -> bytes:
    return (
        f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">'.encode()
        + items
        + b"</sst>"
    )


def _with_shared_strings(table: bytes, sheet: bytes) -> bytes:
    content_types = _template_parts()["[Content_Types].xml"]
    if b"sharedStrings" not in content_types:
        override = (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
        content_types = content_types.replace(b"</Types>", override + b"</Types>")
    parts = dict(_template_parts())
    parts["[Content_Types].xml"] = content_types
    parts["xl/sharedStrings.xml"] = table
    parts[SHEET_PART] = sheet
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def laughs(levels: int = 9) -> bytes:
    """A billion-laughs document type: entity n expands to ten of entity n - 1."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels + 1)
    ]
    return f"<!DOCTYPE worksheet [{''.join(entities)}]>".encode()


def _gigabyte_zip() -> bytes:
    """A zip whose one part inflates to 1 GiB of zeros (about 1 MB): deflate blocks of 1 MiB
    ended by a full flush are byte-identical, so the stream is one block repeated."""
    mib = b"\0" * (1 << 20)
    block_compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_compressor.compress(mib) + block_compressor.flush(zlib.Z_FULL_FLUSH)
    data = block * 1024 + b"\x03\x00"  # an empty final block
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(mib, crc)
    size = 1 << 30
    name = SHEET_PART.encode()
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
        len(name), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(local) + len(name)
        + len(data), 0,
    )  # fmt: skip
    return local + name + data + central + name + end


def _bomb_within_the_cap() -> bytes:
    """A worksheet of 60 MB (blanks between its tags), compressed to well under 100 KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in _template_parts().items():
            if name != SHEET_PART:
                archive.writestr(name, data)
        with archive.open(SHEET_PART, "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            blanks = b" " * (1 << 20)
            for _ in range(60):
                sheet.write(blanks)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def corpus() -> list[Hostile]:
    cells = lambda n: b"<c/>" * n  # noqa: E731
    external = b'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    entity_row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    external_row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>'
    long_string = b"<si><t>" + b"x" * 1_900_000 + b"</t></si>"
    reused = b"".join(
        f'<row r="{r}">'.encode()
        + b"".join(f'<c r="{chr(65 + c)}{r}" t="s"><v>0</v></c>'.encode() for c in range(26))
        + b"</row>"
        for r in range(1, 4)
    )
    items = [
        Hostile(
            "wide row: 700,000 cells in one row",
            _with_sheet(_sheet(b"<row>" + b"<c><v>1</v></c>" * 700_000 + b"</row>")),
            "worksheet part unpacks to more than 4 MB",
            XLSX,
        ),
        Hostile(
            "wide row: 100,000 empty cells in one row",
            _with_sheet(_sheet(b"<row>" + cells(100_000) + b"</row>")),
            "a row has more than 16,384 cells",
            XLSX,
        ),
        Hostile(
            "many cells: 2,100 rows of 100 cells",
            _with_sheet(_sheet(b"".join(b"<row>" + cells(100) + b"</row>" for _ in range(2_100)))),
            "the sheet has more than 200,000 cells",
            XLSX,
        ),
        Hostile(
            "shared-string flood: 900,000 strings",
            _with_shared_strings(
                _shared_strings(b"<si><t>x</t></si>" * 900_000, 900_000), _sheet(b"")
            ),
            "shared strings part unpacks to more than 2 MB",
            XLSX,
        ),
        Hostile(
            "shared-string flood: 150,000 empty strings",
            _with_shared_strings(_shared_strings(b"<si><t/></si>" * 150_000, 150_000), _sheet(b"")),
            "more than 100,000 shared strings",
            XLSX,
        ),
        Hostile(
            "one 1.9 MB shared string in 78 cells",
            _with_shared_strings(_shared_strings(long_string, 1), _sheet(reused)),
            "more than 2,000,000 characters",
            XLSX,
        ),
        Hostile(
            "deep styles: elements nested 100,000 deep",
            workbook(xl__styles_xml=f'<styleSheet xmlns="{MAIN}">'.encode() + b"<a>" * 100_000),
            "nested more than 64 deep",
            XLSX,
        ),
        Hostile(
            "many styles: 70,000 cell formats",
            workbook(
                xl__styles_xml=f'<styleSheet xmlns="{MAIN}"><cellXfs>'.encode()
                + b'<xf numFmtId="14"/>' * 70_000
                + b"</cellXfs></styleSheet>"
            ),
            "more than 64,000 cell styles",
            XLSX,
        ),
        Hostile(
            "huge dimensions: A1:XFD1048576 and a cell at XFD1048576",
            _with_sheet(
                _sheet(
                    b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
                    before=b'<dimension ref="A1:XFD1048576"/>',
                )
            ),
            "rows below row 20,000",
            XLSX,
        ),
        Hostile(
            "zip bomb: a part unpacking to 1 GB",
            _gigabyte_zip(),
            "may not exceed 102400 bytes",
            XLSX,
        ),
        Hostile(
            "zip bomb: a part unpacking to 60 MB within 100 KB",
            _bomb_within_the_cap(),
            "unpacks to more than 16 MB",
            XLSX,
        ),
        Hostile(
            "entity expansion (billion laughs)",
            _with_sheet(_sheet(entity_row, prolog=laughs())),
            "declares a DTD or entities",
            XLSX,
        ),
        Hostile(
            "external entity",
            _with_sheet(_sheet(external_row, prolog=external)),
            "declares a DTD or entities",
            XLSX,
        ),
        Hostile("CSV of 10^6 columns", b"," * 1_000_000 + b"\n", "may not exceed", "text/csv"),
        Hostile("CSV of 10^6 tiny rows", b"a\n" * 1_000_000, "may not exceed", "text/csv"),
        Hostile(
            "CSV of 100,000 columns (at the size cap)",
            b"a" + b"," * 99_999 + b"\n",
            "a row has more than 16,384 cells",
            "text/csv",
        ),
        Hostile(
            "CSV of 100,000 tiny rows (at the size cap)",
            b"a" + b"\n" * 100_000,
            "rows below row 20,000",
            "text/csv",
        ),
    ]
    return items
