"""Reading an uploaded spreadsheet (xlsx or CSV) into rows of cell values, defensively.

The bytes come from strangers, so every limit is counted while the file is read, never after:
the size before anything; the zip's part count and each part's declared size before a byte is
inflated; then the parts the reader needs (content types, workbook, its relationships, the
styles, the shared strings and the first worksheet) are streamed through expat in 64 KB
chunks, counting each part's unpacked bytes, the XML nesting depth, the shared strings and
styles, the cells of each row and of the sheet, and the characters kept. A document type
declaration (DTD) or an entity declaration refuses the file: no xlsx has one, and that is where
entity-expansion bombs and external entities live. Only the first MAX_COLUMNS columns are
kept. Any other error of the reader means "not a readable sheet", a `SheetInvalid` naming the
file.

This module is what runs inside the sheet worker process (`api.sheets.worker`), under CPU,
address-space and wall-clock limits; it imports nothing of the ledger, so that process stays
small. The values are those `openpyxl` gave in read-only, data-only mode (numbers as int or
float, dates by their number format, booleans, shared and inline strings, cached formula
results), which the earlier reader used.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from xml.parsers import expat

if TYPE_CHECKING:
    from ledger.values import FieldError

# The platform's cap on an attachment (ledger.attachments.MAX_ATTACHMENT_BYTES, checked equal
# by tests/unit/test_sheet_files.py); repeated here so the worker process imports no ledger.
MAX_ATTACHMENT_BYTES = 102_400

# Zip-bomb guards: a real device sheet of 5,000 rows has a dozen parts and its worksheet part
# unpacks to well under 2 MB; each part the reader reads has its own cap, counted while
# inflating (and checked against the declared size before).
MAX_ZIP_MEMBERS = 64
MAX_UNCOMPRESSED_BYTES = 16 * 1024 * 1024
MAX_SHEET_XML_BYTES = 4 * 1024 * 1024
MAX_TABLE_XML_BYTES = 2 * 1024 * 1024  # sharedStrings.xml, styles.xml
MAX_SMALL_XML_BYTES = 1024 * 1024  # [Content_Types].xml, workbook.xml, relationships
MAX_XML_DEPTH = 64
MAX_SHARED_STRINGS = 100_000
MAX_STYLES = 64_000  # Excel's own limit on cell formats
# Cells: a row may hold as many as Excel allows (XFD, 16,384); a sheet 5,000 rows of 40.
MAX_CELLS_PER_ROW = 16_384
MAX_CELLS = 200_000
# Characters of text kept (in the first MAX_COLUMNS columns), so the rows sent back from the
# worker stay small however often one long shared string is referenced.
MAX_TEXT_CHARS = 2_000_000
# At most this many device rows (and nothing below this row index is read).
MAX_ROWS = 5_000
MAX_ROW_INDEX = 20_000
MAX_COLUMNS = 40
# The header row is looked for among the first rows (a title row may sit above it).
HEADER_SEARCH_ROWS = 10
# A problem body names at most this many cells (plus one line saying how many more).
MAX_REPORTED_ERRORS = 1_000

Row = tuple[int, list[Any]]

_MB = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class CellError:
    """One bad cell: its row as the spreadsheet shows it (1 is the first row), its column's
    Chinese header, and what is wrong. Row 0 and column "" mean the file as a whole (its
    problem location is ["body", "device_sheet_id"])."""

    row: int
    column: str
    reason: str

    def field_error(self) -> FieldError:
        from ledger.values import FieldError

        if self.row == 0:  # the file as a whole: the field that names it
            return FieldError(("body", "device_sheet_id"), self.reason)
        return FieldError(("body", "device_sheet", self.row, self.column), self.reason)


class SheetInvalid(Exception):
    """The sheet cannot be filed: `errors` names every bad cell (nothing is filed)."""

    def __init__(self, errors: Sequence[CellError]) -> None:
        shown = list(errors[:MAX_REPORTED_ERRORS])
        if len(errors) > MAX_REPORTED_ERRORS:
            more = len(errors) - MAX_REPORTED_ERRORS
            shown.append(CellError(0, "", f"and {more} more bad cells not listed"))
        self.errors = shown
        super().__init__(f"the device sheet has {len(errors)} error(s)")

    def field_errors(self) -> list[FieldError]:
        """The errors as problem+json `errors` (loc ["body", "device_sheet", row, column])."""
        return [error.field_error() for error in self.errors]


def whole_file(reason: str) -> SheetInvalid:
    return SheetInvalid([CellError(0, "", reason)])


# The whole-file refusals in Chinese, for the officer pages (api/web/filing.py); the cells'
# own reasons are translated by api.web.messages.
_CHINESE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^the workbook has more than (\d+) parts", r"工作簿的部件超过 \1 个，不是设备信息表"),
        (r"^the workbook unpacks to more than (\d+) MB", r"工作簿解压后超过 \1 MB，不是设备信息表"),
        (
            r"^the workbook's (.+?) part unpacks to more than (\d+) MB",
            r"工作簿的\1解压后超过 \2 MB，不是设备信息表",
        ),
        (r"^the workbook's XML is nested more than (\d+) deep", r"工作簿的 XML 嵌套超过 \1 层"),
        (r"^the workbook has more than ([\d,]+) shared strings", r"工作簿的共享字符串超过 \1 个"),
        (r"^the workbook has more than ([\d,]+) cell styles", r"工作簿的单元格格式超过 \1 个"),
        (r"^a row has more than ([\d,]+) cells", r"某一行超过 \1 个单元格"),
        (r"^the sheet has more than ([\d,]+) cells", r"表格超过 \1 个单元格"),
        (r"^the sheet holds more than ([\d,]+) characters", r"表格文字超过 \1 个字符"),
        (r"^the sheet has rows below row ([\d,]+)", r"表格第 \1 行以下还有内容，请删除"),
        (r"declares a DTD or entities", "无法读取的 xlsx 文件（含有 DTD 或实体声明）"),
        (r"^reading the sheet took more than (\d+) s", r"读取表格超过 \1 秒，已停止"),
        (r"^reading the sheet needed more than (\d+) MB", r"读取表格所需内存超过 \1 MB，已停止"),
        (r"^the sheet reader is busy", "表格读取繁忙，请稍后重试"),
        (r"^the workbook has no worksheet", "工作簿中没有工作表"),
        (r"^not readable as CSV", "无法按 CSV 读取"),
        (
            r"^not an xlsx workbook nor CSV text",
            "不是 xlsx 工作簿，也不是 CSV 文本（UTF-8 或 GB18030）",
        ),
        (r"^not a readable xlsx workbook", "无法读取的 xlsx 文件"),
        (r"^the file is empty$", "文件为空"),
        (r"^an old \.xls workbook", "旧版 .xls 文件：请另存为 .xlsx 或 CSV"),
        (r"^a device sheet may not exceed", "设备信息表不能超过 100 KB"),
        (r"^a device sheet has at most ([\d,]+) rows$", r"设备信息表最多 \1 行"),
    )
)


def chinese_reason(reason: str) -> str:
    """A whole-file refusal in Chinese (the reason itself when none is known)."""
    for pattern, replacement in _CHINESE:
        found = pattern.search(reason)
        if found is not None:
            return found.expand(replacement)
    return reason


def read_rows(content: bytes, *, filename: str, media_type: str | None) -> list[Row]:
    """Every row (number, cells) up to MAX_ROW_INDEX of the first sheet, blank cells as None.

    The content decides the format (a zip is an xlsx, text is CSV); the name and the claimed
    media type only improve the message when the content is neither.
    """
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise whole_file(f"a device sheet may not exceed {MAX_ATTACHMENT_BYTES} bytes")
    if not content.strip():
        raise whole_file("the file is empty")
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_rows(content)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise whole_file("an old .xls workbook: save it as .xlsx (Excel 2007 or later) or CSV")
    text = _decode(content)
    if text is None:
        raise not_a_sheet(filename=filename, media_type=media_type)
    return _csv_rows(text)


NOT_A_SHEET = "not an xlsx workbook nor CSV text in UTF-8 or GB18030"


def not_a_sheet(*, filename: str, media_type: str | None) -> SheetInvalid:
    claimed = media_type or filename.rsplit(".", 1)[-1]
    return whole_file(f"{NOT_A_SHEET} (claimed: {claimed[:40]})")


class _Rows:
    """The rows kept, with every count checked as it grows."""

    def __init__(self) -> None:
        self.out: list[Row] = []
        self.filled = 0
        self.cells = 0
        self.text = 0

    def check_index(self, number: int) -> None:
        if number > MAX_ROW_INDEX:
            # Even an empty row down there is refused: a reader stepping through the rows
            # up to it would do work a sheet of this size never needs.
            raise whole_file(f"the sheet has rows below row {MAX_ROW_INDEX:,}: delete them")

    def count_cells(self, in_row: int, more: int = 1) -> None:
        if in_row > MAX_CELLS_PER_ROW:
            raise whole_file(f"a row has more than {MAX_CELLS_PER_ROW:,} cells")
        self.cells += more
        if self.cells > MAX_CELLS:
            raise whole_file(f"the sheet has more than {MAX_CELLS:,} cells")

    def add(self, number: int, cells: Sequence[Any]) -> None:
        self.check_index(number)
        values = [_blank(cell) for cell in cells[:MAX_COLUMNS]]
        if not any(value is not None for value in values):
            return
        self.filled += 1
        if self.filled > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise whole_file(f"a device sheet has at most {MAX_ROWS:,} rows")
        self.text += sum(len(value) for value in values if isinstance(value, str))
        if self.text > MAX_TEXT_CHARS:
            raise whole_file(f"the sheet holds more than {MAX_TEXT_CHARS:,} characters of text")
        self.out.append((number, values))


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# --- CSV -------------------------------------------------------------------------------------


def _decode(content: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else text
    return None


def _csv_rows(text: str) -> list[Row]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = _Rows()
    try:
        for number, cells in enumerate(reader, start=1):
            rows.check_index(number)
            rows.count_cells(len(cells), len(cells))
            rows.add(number, cells)
    except csv.Error as error:
        raise whole_file(f"not readable as CSV: {error}") from None
    return rows.out


# --- xlsx ------------------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKBOOK_TYPES = (  # as openpyxl looks for them, in this order
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
_STYLES_PART = "xl/styles.xml"
# openpyxl's reading of number formats (openpyxl.styles.numbers, MIT licence), repeated so the
# worker need not import openpyxl (and numpy with it): the built-in formats that show dates
# (no other built-in one does), and how a custom format is recognised as a date or a duration.
_BUILTIN_DATE_FORMATS = {
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
}
_NOT_DATE = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_LETTER = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_COLUMN = re.compile(r"([A-Za-z]{1,3})[0-9]+")


class _Unreadable(Exception):
    """The workbook is damaged (reported as "not a readable xlsx workbook")."""


def _unreadable(what: str) -> SheetInvalid:
    return whole_file(f"not a readable xlsx workbook ({what})")


def _open_zip(content: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError):
        raise _unreadable("a damaged zip") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise whole_file(f"the workbook has more than {MAX_ZIP_MEMBERS} parts; not a device sheet")
    inflated = sum(member.file_size for member in members)
    if inflated > MAX_UNCOMPRESSED_BYTES:
        raise whole_file(
            f"the workbook unpacks to more than {MAX_UNCOMPRESSED_BYTES // _MB} MB;"
            " not a device sheet"
        )
    return archive


class _Stream:
    """Streams one zip part through expat: DTDs refused, bytes and depth counted."""

    def __init__(self, what: str, cap: int) -> None:
        self.what = what
        self.cap = cap
        self.depth = 0
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.buffer_text = True
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._dtd
        self.parser.EntityDeclHandler = self._dtd
        self.parser.ExternalEntityRefHandler = self._dtd  # type: ignore[assignment]
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end

    def _dtd(self, *_args: Any) -> None:
        raise whole_file("not a readable xlsx workbook (it declares a DTD or entities)")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise whole_file(f"the workbook's XML is nested more than {MAX_XML_DEPTH} deep")
        self.start(name, attrs)

    def _end(self, name: str) -> None:
        self.depth -= 1
        self.end(name)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """One element opens (the name is "namespace local")."""

    def end(self, name: str) -> None:
        """One element closes."""

    def run(self, archive: zipfile.ZipFile, part: str) -> None:
        try:
            info = archive.getinfo(part)
        except KeyError:
            raise _Unreadable(f"no part {part[:60]}") from None
        if info.file_size > self.cap:
            raise self._too_big()
        seen = 0
        try:
            with archive.open(info) as source:
                while chunk := source.read(_CHUNK):
                    seen += len(chunk)
                    if seen > self.cap:
                        raise self._too_big()
                    self.parser.Parse(chunk, False)
                self.parser.Parse(b"", True)
        except expat.ExpatError as error:
            raise _Unreadable(f"bad XML in {self.what}: {expat.ErrorString(error.code)}") from None

    def _too_big(self) -> SheetInvalid:
        return whole_file(
            f"the workbook's {self.what} part unpacks to more than {self.cap // _MB} MB;"
            " not a device sheet"
        )


class _Simple(_Stream):
    """Collects the attributes of the elements named in `wanted`."""

    def __init__(self, what: str, wanted: set[str]) -> None:
        super().__init__(what, MAX_SMALL_XML_BYTES)
        self.wanted = wanted
        self.found: list[tuple[str, dict[str, str]]] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name in self.wanted:
            if len(self.found) >= 10_000:
                raise _Unreadable(f"too many entries in {self.what}")
            self.found.append((name, attrs))


def _relationships(archive: zipfile.ZipFile, source: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, part name) of a part's relationships, targets made absolute as openpyxl."""
    folder, name = posixpath.split(source)
    path = posixpath.join(folder, "_rels", f"{name}.rels")
    if path not in archive.NameToInfo:
        return {}
    rels = _Simple("relationships", {f"{_PACKAGE_RELS} Relationship"})
    rels.run(archive, path)
    out: dict[str, tuple[str, str]] = {}
    for _name, attrs in rels.found:
        target = attrs.get("Target", "")
        if attrs.get("TargetMode") == "External":
            continue
        if target.startswith("/"):
            target = target[1:]
        else:
            target = posixpath.normpath(posixpath.join(folder, target))
        out[attrs.get("Id", "")] = (attrs.get("Type", ""), target)
    return out


class _Styles(_Stream):
    def __init__(self) -> None:
        super().__init__("styles", MAX_TABLE_XML_BYTES)
        self.formats: dict[int, str] = {}
        self.cell_formats: list[int] = []
        self.in_cell_xfs = 0
        self.count = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == f"{_MAIN} numFmt":
            self._counted()
            self.formats[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif name == f"{_MAIN} cellXfs":
            self.in_cell_xfs += 1
        elif name == f"{_MAIN} xf" and self.in_cell_xfs:
            self._counted()
            self.cell_formats.append(int(attrs.get("numFmtId", "0")))

    def end(self, name: str) -> None:
        if name == f"{_MAIN} cellXfs":
            self.in_cell_xfs -= 1

    def _counted(self) -> None:
        self.count += 1
        if self.count > MAX_STYLES:
            raise whole_file(f"the workbook has more than {MAX_STYLES:,} cell styles")

    def dates(self) -> tuple[set[int], set[int]]:
        """The indexes of the cell formats that show dates, and those that show durations."""
        dates: set[int] = set()
        durations: set[int] = set()
        for index, number_format in enumerate(self.cell_formats):
            code = self.formats.get(number_format, _BUILTIN_DATE_FORMATS.get(number_format))
            if code is None:
                continue
            first = code.split(";")[0]
            if _DATE_LETTER.search(_NOT_DATE.sub("", first)) is not None:
                dates.add(index)
            if _DURATION.search(first) is not None:
                durations.add(index)
        return dates, durations


class _SharedStrings(_Stream):
    def __init__(self) -> None:
        super().__init__("shared strings", MAX_TABLE_XML_BYTES)
        self.strings: list[str] = []
        self.path: list[str] = []
        self.plain: list[str] = []
        self.runs: list[str] = []
        self.target: list[str] | None = None
        self.parser.CharacterDataHandler = self._text

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == f"{_MAIN} t" and self.path[-1:] == [f"{_MAIN} si"]:
            self.target = self.plain
        elif name == f"{_MAIN} t" and self.path[-2:] == [f"{_MAIN} si", f"{_MAIN} r"]:
            self.target = self.runs
        self.path.append(name)

    def end(self, name: str) -> None:
        self.path.pop()
        self.target = None
        if name == f"{_MAIN} si":
            if len(self.strings) >= MAX_SHARED_STRINGS:
                raise whole_file(
                    f"the workbook has more than {MAX_SHARED_STRINGS:,} shared strings"
                )
            text = "".join(self.plain) + "".join(self.runs)
            self.strings.append(text.replace("x005F_", ""))
            self.plain, self.runs = [], []

    def _text(self, data: str) -> None:
        if self.target is not None:
            self.target.append(data)


class _Worksheet(_Stream):
    """The first worksheet's rows, read as openpyxl's read-only, data-only reader reads them."""

    def __init__(
        self,
        strings: list[str],
        dates: set[int],
        durations: set[int],
        epoch: Any,
        convert: Callable[..., Any],
        iso: Callable[[str], Any],
    ) -> None:
        super().__init__("worksheet", MAX_SHEET_XML_BYTES)
        self.strings = strings
        self.dates = dates
        self.durations = durations
        self.epoch = epoch
        self.convert = convert
        self.iso = iso
        self.rows = _Rows()
        self.next_row = 1  # rows at or above the last one read are skipped, as openpyxl does
        self.row_number = 0
        self.in_row = False
        self.cells: dict[int, Any] = {}
        self.in_row_cells = 0
        self.column = 0
        self.cell: dict[str, str] | None = None
        self.value: list[str] | None = None
        self.inline: list[str] | None = None
        self.collect: list[str] | None = None
        self.path: list[str] = []
        self.parser.CharacterDataHandler = self._text

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.path.append(name)
        if name == f"{_MAIN} c" and self.in_row:
            self.cell = attrs
            self.in_row_cells += 1
            self.rows.count_cells(self.in_row_cells)
            self.value = None
            self.inline = None
        elif self.cell is not None:
            if name == f"{_MAIN} v" and self.value is None and self.path[-2] == f"{_MAIN} c":
                self.value = []
                self.collect = self.value
            elif name == f"{_MAIN} is":
                self.inline = []
            elif name == f"{_MAIN} t" and self.inline is not None and "rPh" not in self.path[-2]:
                self.collect = self.inline
        elif name == f"{_MAIN} row":
            self._open_row(attrs)

    def _open_row(self, attrs: dict[str, str]) -> None:
        given = attrs.get("r")
        if given is None:
            self.row_number += 1
        else:
            try:
                self.row_number = int(given)
            except ValueError:
                number = float(given)
                if not number.is_integer():
                    raise _Unreadable("a bad row number") from None
                self.row_number = int(number)
        self.rows.check_index(self.row_number)
        self.in_row = True
        self.cells = {}
        self.in_row_cells = 0
        self.column = 0

    def end(self, name: str) -> None:
        self.path.pop()
        if name == f"{_MAIN} c" and self.cell is not None:
            self._close_cell(self.cell)
            self.cell = None
            self.collect = None
        elif name in (f"{_MAIN} v", f"{_MAIN} t"):
            self.collect = None
        elif name == f"{_MAIN} row" and self.in_row:
            self.in_row = False
            if self.row_number >= self.next_row:
                self.next_row = self.row_number + 1
                width = MAX_COLUMNS
                self.rows.add(self.row_number, [self.cells.get(c) for c in range(1, width + 1)])

    def _close_cell(self, cell: dict[str, str]) -> None:
        coordinate = cell.get("r")
        if coordinate:
            found = _COLUMN.fullmatch(coordinate)
            if found is None:
                raise _Unreadable("a bad cell reference")
            column = 0
            for letter in found[1].upper():
                column = column * 26 + ord(letter) - 64
            self.column = column
        else:
            self.column += 1
        if not 1 <= self.column <= MAX_COLUMNS:
            return
        self.cells[self.column] = self._value(cell)

    def _value(self, cell: dict[str, str]) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            return "".join(self.inline) if self.inline is not None else None
        text = "".join(self.value) if self.value else None
        if text is None:
            return None
        if kind == "n":
            number: float = float(text) if "." in text or "e" in text.lower() else int(text)
            style = int(cell.get("s") or 0)
            if style in self.dates:
                try:
                    return self.convert(number, self.epoch, timedelta=style in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.strings[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return self.iso(text)
        return text  # "str" (a formula's text result), "e" (an error such as #N/A)

    def _text(self, data: str) -> None:
        if self.collect is not None:
            self.collect.append(data)


def _xlsx_rows(content: bytes) -> list[Row]:
    archive = _open_zip(content)
    try:
        return _read_workbook(archive)
    except SheetInvalid:
        raise
    except _Unreadable as damaged:
        raise _unreadable(str(damaged)) from None
    except MemoryError:
        raise
    except Exception:  # any other failure of the reader on untrusted bytes is "unreadable"
        raise _unreadable("a damaged worksheet") from None
    finally:
        archive.close()


def _from_excel(value: float, epoch: Any, *, timedelta: bool) -> Any:
    from openpyxl.utils.datetime import from_excel  # imported only when a date is met

    return from_excel(value, epoch, timedelta=timedelta)


def _from_iso(text: str) -> Any:
    from openpyxl.utils.datetime import from_ISO8601

    return from_ISO8601(text)  # type: ignore[no-untyped-call]


_WINDOWS_EPOCH = datetime(1899, 12, 30)  # openpyxl.utils.datetime's epochs
_MAC_EPOCH = datetime(1904, 1, 1)


def _read_workbook(archive: zipfile.ZipFile) -> list[Row]:
    types = _Simple("content types", {f"{_TYPES} Override", f"{_TYPES} Default"})
    types.run(archive, "[Content_Types].xml")
    overrides = {
        attrs.get("ContentType", ""): attrs.get("PartName", "")
        for name, attrs in reversed(types.found)
        if name == f"{_TYPES} Override"
    }
    defaults = {attrs.get("ContentType", "") for name, attrs in types.found if "Default" in name}
    workbook_part = next((overrides[t] for t in _WORKBOOK_TYPES if overrides.get(t)), None)
    if workbook_part is None:
        if not defaults & set(_WORKBOOK_TYPES):
            raise _Unreadable("no workbook part")
        workbook_part = "/xl/workbook.xml"
    workbook_part = workbook_part.removeprefix("/")

    book = _Simple("workbook", {f"{_MAIN} sheet", f"{_MAIN} workbookPr", f"{_MAIN} fileVersion"})
    book.run(archive, workbook_part)
    rels = _relationships(archive, workbook_part)
    epoch = _WINDOWS_EPOCH
    sheets: list[str] = []
    for name, attrs in book.found:
        if name == f"{_MAIN} workbookPr" and attrs.get("date1904") in ("1", "true"):
            epoch = _MAC_EPOCH
        elif name == f"{_MAIN} sheet":
            rel_id = attrs.get(f"{_DOC_RELS} id")
            if not rel_id:
                continue
            if rel_id not in rels:
                raise _Unreadable("a sheet without its part")
            kind, target = rels[rel_id]
            if target in archive.NameToInfo and "chartsheet" not in kind:
                sheets.append(target)
    if not sheets:
        raise whole_file("the workbook has no worksheet")

    dates: set[int] = set()
    durations: set[int] = set()
    if _STYLES_PART in archive.NameToInfo:
        styles = _Styles()
        styles.run(archive, _STYLES_PART)
        dates, durations = styles.dates()
    strings: list[str] = []
    shared = overrides.get(_SHARED_STRINGS_TYPE)
    if shared:
        table = _SharedStrings()
        table.run(archive, shared.removeprefix("/"))
        strings = table.strings

    sheet = _Worksheet(strings, dates, durations, epoch, _from_excel, _from_iso)
    sheet.run(archive, sheets[0])
    return sheet.rows.out
