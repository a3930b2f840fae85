"""Reading an uploaded spreadsheet (xlsx or CSV) into rows of cell values, defensively.

The bytes come from strangers, so every limit is checked before the expensive step: the size
before anything, the zip's member count and declared uncompressed size before openpyxl opens it
(zipfile never inflates a member past its declared size, so the declared sizes bound the work),
and the row and column counts while reading. openpyxl parses XML through defusedxml (installed
with the project), which refuses entity expansion and external entities. Any error of a library
reading the file means "not a readable sheet", reported as a `SheetInvalid` naming the file.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.attachments import MAX_ATTACHMENT_BYTES
from ledger.values import FieldError

# Zip-bomb guards: a real device sheet of 5,000 rows inflates to a few MB in a dozen members.
MAX_ZIP_MEMBERS = 64
MAX_UNCOMPRESSED_BYTES = 16 * 1024 * 1024
# At most this many device rows (and nothing below this row index is read).
MAX_ROWS = 5_000
MAX_ROW_INDEX = 20_000
MAX_COLUMNS = 40
# The header row is looked for among the first rows (a title row may sit above it).
HEADER_SEARCH_ROWS = 10
# A problem body names at most this many cells (plus one line saying how many more).
MAX_REPORTED_ERRORS = 1_000

Row = tuple[int, list[Any]]


@dataclass(frozen=True)
class CellError:
    """One bad cell: its row as the spreadsheet shows it (1 is the first row), its column's
    Chinese header, and what is wrong. Row 0 and column "" mean the file as a whole."""

    row: int
    column: str
    reason: str

    def field_error(self) -> FieldError:
        if self.row == 0:
            return FieldError(("body", "device_sheet"), self.reason)
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
        claimed = media_type or filename.rsplit(".", 1)[-1]
        raise whole_file(
            f"not an xlsx workbook nor CSV text in UTF-8 or GB18030 (claimed: {claimed[:40]})"
        )
    return _csv_rows(text)


def _check_zip(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError):
        raise whole_file("not a readable xlsx workbook (a damaged zip)") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise whole_file(f"the workbook has more than {MAX_ZIP_MEMBERS} parts; not a device sheet")
    inflated = sum(member.file_size for member in members)
    if inflated > MAX_UNCOMPRESSED_BYTES:
        raise whole_file(
            f"the workbook unpacks to more than {MAX_UNCOMPRESSED_BYTES // 1_048_576} MB;"
            " not a device sheet"
        )


def _xlsx_rows(content: bytes) -> list[Row]:
    _check_zip(content)
    import openpyxl

    try:
        book = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=True, keep_links=False
        )
    except Exception:  # any failure of the reader on untrusted bytes is "unreadable"
        raise whole_file("not a readable xlsx workbook") from None
    try:
        if not book.worksheets:
            raise whole_file("the workbook has no worksheet")
        sheet = book.worksheets[0]
        # The stored dimensions may lie (A1:XFD1048576): read only the rows really there.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        return _bounded(enumerate(rows, start=1))
    except SheetInvalid:
        raise
    except Exception:
        raise whole_file("not a readable xlsx workbook (a damaged worksheet)") from None
    finally:
        book.close()


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
    try:
        return _bounded(enumerate(reader, start=1))
    except csv.Error as error:
        raise whole_file(f"not readable as CSV: {error}") from None


def _bounded(rows: Iterable[tuple[int, Sequence[Any]]]) -> list[Row]:
    """The rows with blank cells as None, refusing a sheet with too many rows or row indexes."""
    out: list[Row] = []
    filled = 0
    for number, cells in rows:
        if number > MAX_ROW_INDEX:
            # Even an empty row down there is refused: a reader stepping through the rows
            # up to it would do work a sheet of this size never needs.
            raise whole_file(f"the sheet has rows below row {MAX_ROW_INDEX:,}: delete them")
        values = [_blank(cell) for cell in list(cells)[:MAX_COLUMNS]]
        if not any(value is not None for value in values):
            continue
        filled += 1
        if filled > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise whole_file(f"a device sheet has at most {MAX_ROWS:,} rows")
        out.append((number, values))
    return out


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
