"""Workbooks (xlsx, xlsm, xlsb, xls, ods) read with python-calamine, behind guards.

The format is told from the content; password-protected packages, zip bombs
and sheets whose cells span an absurd box are refused before calamine opens
them (calamine would abort the process on the last).  Error cells and merged
cells are restored as a user sees them.  An xlsx or xlsm sheet is first offered
to `xlsxstream`, which streams it into Arrow and gives the same table, or
declines and leaves it to calamine.
"""

from __future__ import annotations

import mmap
import posixpath
import re
import zipfile
from html import unescape
from pathlib import Path

import python_calamine

from .errors import FileRejected
from .table import (
    ALL_SHEETS_EMPTY,
    DAMAGED,
    NO_SHEETS,
    NOT_READABLE,
    PASSWORD,
    SHEET_EMPTY,
    TOO_MANY_CELLS,
    Table,
    assemble,
    column_text,
    find_header,
    text_columns,
)
from .xlsxstream import read_xlsx_stream

# Zip bomb guards: a workbook declaring more than this much content, or a big
# member packed more tightly than any real sheet, is refused before it is opened.
_ZIP_MAX_TOTAL = 2_000_000_000
_ZIP_MAX_RATIO = 200
_ZIP_RATIO_MIN_SIZE = 20_000_000

# calamine allocates one slot per cell of a sheet's bounding box and aborts the
# whole process when that allocation fails (a stray cell at XFD1048576 asks for
# half a terabyte), so the box is measured first.  Fifty million slots is about
# 1.6 GB, far above any real contact list (a million rows of 26 columns is 27M).
_MAX_GRID_CELLS = 50_000_000
_EXCEL_MAX_ROWS = 1_048_576

_SUFFIXES = {
    "xlsx": {".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam"},
    "xlsm": {".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam"},
    "xlsb": {".xlsb"},
    "xls": {".xls", ".xla"},
    "ods": {".ods"},
}
_KNOWN_SUFFIXES = set().union(*_SUFFIXES.values())


# ---------------------------------------------------------------- workbooks


def sniff_zip(path: Path) -> tuple[str, dict[str, str] | None]:
    """Format of a zip-based workbook and, for xlsx, where each sheet's XML lives."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(info.file_size for info in infos)
            if total > _ZIP_MAX_TOTAL or any(
                info.file_size > _ZIP_RATIO_MIN_SIZE and info.file_size > _ZIP_MAX_RATIO * max(info.compress_size, 1)
                for info in infos
            ):
                raise FileRejected(
                    "The workbook would expand to far more data than it holds (a possible zip bomb), so it was not opened."
                )
            names = {info.filename for info in infos}
            if "mimetype" in names:
                mimetype = _read_small(archive, "mimetype")
                if b"opendocument.spreadsheet" not in mimetype:
                    raise FileRejected(NOT_READABLE)
                if b"encryption-data" in _read_small(archive, "META-INF/manifest.xml"):
                    raise FileRejected(PASSWORD)
                return "ods", None
            if "xl/workbook.bin" in names:
                return "xlsb", None
            content_types = _read_small(archive, "[Content_Types].xml")
            if b"sheet.binary.macroEnabled.main" in content_types:
                return "xlsb", None
            if "xl/workbook.xml" in names or b"spreadsheetml.sheet.main" in content_types or (
                b"spreadsheetml.template.main" in content_types or b"macroEnabled.main" in content_types
            ):
                kind = "xlsm" if b"macroEnabled" in content_types else "xlsx"
                return kind, _xlsx_sheet_parts(archive, names)
            raise FileRejected(NOT_READABLE)
    except FileRejected:
        raise
    except Exception:  # a broken zip raises many kinds of errors; all mean the same to the user
        raise FileRejected(DAMAGED) from None


def _read_small(archive: zipfile.ZipFile, name: str, limit: int = 20_000_000) -> bytes:
    """A small member's bytes, or b"" when it is missing or implausibly large."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return b""
    if info.file_size > limit:
        return b""
    return archive.read(info)


_ATTRIBUTE = re.compile(r"""([\w:.-]+)\s*=\s*(["'])(.*?)\2""", re.S)
_RELATIONSHIP = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_SHEET_ELEMENT = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")


def _attributes(text: str) -> dict[str, str]:
    return {name.rpartition(":")[2] if name.endswith(":id") else name: unescape(value)
            for name, _, value in _ATTRIBUTE.findall(text)}


def _xlsx_sheet_parts(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str] | None:
    """Sheet name -> XML member, following the package relationships; None if unclear."""

    def targets(rels_member: str, base: str) -> dict[str, tuple[str, str]]:
        found = {}
        for attrs in map(_attributes, _RELATIONSHIP.findall(_read_small(archive, rels_member).decode("utf-8", "replace"))):
            target = attrs.get("Target", "")
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), member)
        return found

    workbook = next(
        (member for kind, member in targets("_rels/.rels", "").values() if kind.endswith("/officeDocument")),
        "xl/workbook.xml",
    )
    base, _, leaf = workbook.rpartition("/")
    relations = targets(posixpath.join(base, "_rels", leaf + ".rels"), base)
    parts = {}
    for attrs in map(_attributes, _SHEET_ELEMENT.findall(_read_small(archive, workbook).decode("utf-8", "replace"))):
        member = relations.get(attrs.get("id", ""), ("", ""))[1]
        if "name" not in attrs or member not in names:
            return None
        parts[attrs["name"]] = member
    return parts or None


def sniff_ole(path: Path) -> tuple[str, None]:
    """An OLE2 file is an old .xls, or an encrypted OOXML workbook, or not a spreadsheet."""
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if _has_ole_entry(data, "EncryptedPackage"):
                raise FileRejected(PASSWORD)
            if not (_has_ole_entry(data, "Workbook") or _has_ole_entry(data, "Book")):
                raise FileRejected(NOT_READABLE)
            # BIFF: a FILEPASS record (0x002F) right after the workbook's BOF record.
            if re.search(rb"\x09\x08\x10\x00[\s\S]{16}\x2f\x00", data):
                raise FileRejected(PASSWORD)
    except (OSError, ValueError):
        raise FileRejected(DAMAGED) from None
    return "xls", None


def _has_ole_entry(data: mmap.mmap, name: str) -> bool:
    """Whether a compound-file directory entry has this name.

    Directory entries are 128-byte records that start with the UTF-16 name and
    hold its byte length (terminator included) at offset 64.
    """
    encoded = (name + "\x00").encode("utf-16-le")
    length = len(encoded).to_bytes(2, "little")
    position = data.find(encoded)
    while position >= 0:
        if position % 128 == 0 and data[position + 64 : position + 66] == length:
            return True
        position = data.find(encoded, position + 1)
    return False


_CHUNK = 1 << 22
_ROW_NUMBER = re.compile(rb"r=\"(\d+)\"")  # rows; cell references have letters
_WIDE_CELL = re.compile(rb"r=\"([A-Z]{2,3})\d+\"[^>]*?(/?)>")
_ERROR_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?\bt=\"e\"[^>]*)(?<!/)>(.*?)</(?:\w+:)?c>", re.S)
_ERROR_TYPE = re.compile(rb't="e"')
_CELL_REF = re.compile(rb"\br=\"([A-Z]+)(\d+)\"")
_CACHED_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _scan_sheet_xml(archive: zipfile.ZipFile, member: str, errors: dict | None) -> int:
    """The size of a sheet's bounding box (rows x columns) without building it.

    Only cells past column Z are looked at, and row numbers only once such a
    cell makes the width matter, so a common sheet costs one quick pass.  Error
    cells (#N/A, #DIV/0!...) are collected into `errors` as (row, column) ->
    text on the way, since calamine hands them back as empty cells.
    """
    max_row = 0
    max_column = 26
    narrow = _MAX_GRID_CELLS // _EXCEL_MAX_ROWS  # up to this many columns, any row count is safe
    with archive.open(member) as stream:
        buffer = b""
        while True:
            block = stream.read(_CHUNK)
            buffer = buffer + block if buffer else block
            if block:
                # Stop at the end of the last complete row so no cell straddles two chunks.
                end = buffer.rfind(b"row>")
                if end < 0 and len(buffer) < 16 * _CHUNK:
                    continue
                end = end + 4 if end >= 0 else buffer.rfind(b">") + 1
            else:
                end = len(buffer)
            for letters, closed in _WIDE_CELL.findall(buffer, 0, end):
                if not closed:  # calamine skips cells with no content
                    max_column = max(max_column, _column_number(letters))
            if max_column > narrow:
                rows = _ROW_NUMBER.findall(buffer, 0, end)
                if rows:
                    max_row = max(max_row, max(map(int, rows)))
            if errors is not None and _ERROR_TYPE.search(buffer, 0, end):
                for attrs, content in _ERROR_CELL.findall(buffer, 0, end):
                    ref = _CELL_REF.search(attrs)
                    value = _CACHED_VALUE.search(content)
                    if ref and value:
                        key = (int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1)
                        errors[key] = unescape(value.group(1).decode("utf-8", "replace")).strip()
            if not block:
                break
            buffer = buffer[end:]
    if max_column <= narrow:
        return 0
    return (max_row or _EXCEL_MAX_ROWS) * max_column


def _open_workbook(path: Path, kind: str):
    # calamine picks its reader by file extension; a file whose name says
    # another format is handed over as bytes so calamine looks at the content.
    suffix = path.suffix.lower()
    if suffix in _KNOWN_SUFFIXES and suffix not in _SUFFIXES[kind]:
        with open(path, "rb") as handle:
            return python_calamine.CalamineWorkbook.from_filelike(handle)
    return python_calamine.CalamineWorkbook.from_path(str(path))


def _calamine_failure(exc: BaseException) -> FileRejected:
    if isinstance(exc, python_calamine.PasswordError):
        return FileRejected(PASSWORD)
    if "cell limit" in str(exc).lower():
        return FileRejected(TOO_MANY_CELLS)
    return FileRejected(DAMAGED)


def read_workbook(
    path: Path, sniffed: tuple[str, dict[str, str] | None], max_rows: int, max_columns: int
) -> Table:
    """The first sheet with data, visible sheets before hidden ones."""
    kind, parts = sniffed
    if kind in ("xlsx", "xlsm"):
        table = read_xlsx_stream(path, kind, parts, max_rows, max_columns)  # None: calamine reads it
        if table is not None:
            return table
    try:
        workbook = _open_workbook(path, kind)
        visible = python_calamine.SheetVisibleEnum.Visible
        metadata = workbook.sheets_metadata
        names = [m.name for m in metadata if m.visible == visible] + [m.name for m in metadata if m.visible != visible]
        archive = zipfile.ZipFile(path) if kind in ("xlsx", "xlsm") else None
        try:
            for name in names:
                errors = _guard_sheet(archive, parts, name) if archive is not None else {}
                sheet = workbook.get_sheet_by_name(name)
                if sheet.start is None:
                    continue
                rows = sheet.to_python()
                top, left = sheet.start
                for (row, column), text in errors.items():
                    i, j = row - top, column - left
                    if 0 <= i < len(rows) and 0 <= j < len(rows[i]) and rows[i][j] == "":
                        rows[i][j] = text
                header_index = find_header(rows)
                if header_index is None:
                    continue
                merged = sheet.merged_cell_ranges if kind in ("xlsx", "xlsm", "xls") else None
                return _sheet_table(kind, name, rows, sheet.start, header_index, merged or (), max_rows, max_columns)
        finally:
            if archive is not None:
                archive.close()
    except (FileRejected, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # calamine's Rust panics arrive as BaseException
        raise _calamine_failure(exc) from None
    if not names:
        raise FileRejected(NO_SHEETS)
    raise FileRejected(SHEET_EMPTY if len(names) == 1 else ALL_SHEETS_EMPTY)


def _guard_sheet(archive: zipfile.ZipFile, parts: dict[str, str] | None, name: str) -> dict[tuple[int, int], str]:
    """Refuse a sheet whose cells span too large a box; return its error cells.

    When the package does not say which XML holds the sheet, every XML member
    is measured (and error cells are not recovered).
    """
    errors: dict[tuple[int, int], str] = {}
    if parts and name in parts:
        members, found = [parts[name]], errors
    else:
        members, found = [i.filename for i in archive.infolist() if i.filename.endswith(".xml")], None
    for member in members:
        if _scan_sheet_xml(archive, member, found) > _MAX_GRID_CELLS:
            raise FileRejected(TOO_MANY_CELLS)
    return errors


def _sheet_table(
    kind: str,
    name: str,
    rows: list[list],
    start: tuple[int, int],
    header_index: int,
    merged,
    max_rows: int,
    max_columns: int,
) -> Table:
    top, left = start
    _fill_merged(rows, top, left, header_index, merged)

    header = column_text(rows[header_index])
    data = rows[header_index + 1 :]
    columns = text_columns(data, len(header))
    del data
    first_row = top + header_index + 2
    header, columns, source_rows, blank = assemble(header, columns, first_row, None, max_rows, max_columns)
    return Table(
        format=kind,
        sheet=name,
        header_row=top + header_index + 1,
        headers=header,
        columns=columns,
        source_rows=source_rows,
        blank_rows=blank,
        encoding=None,
        delimiter=None,
    )


_MAX_MERGED_FILL = 1_000_000


def _fill_merged(rows: list[list], top: int, left: int, header_index: int, merged) -> None:
    """Repeat a merged block's value in every cell it covers, where that is the data.

    Blocks starting above the header are titles and stay as they are; a block
    starting on the header row is spread along the header only.
    """
    budget = _MAX_MERGED_FILL
    height = len(rows)
    width = len(rows[0]) if rows else 0
    for (row1, column1), (row2, column2) in merged:
        i1, j1 = row1 - top, column1 - left
        if i1 < header_index or not (0 <= i1 < height and 0 <= j1 < width):
            continue
        i2 = i1 if i1 == header_index else min(row2 - top, height - 1)
        j2 = min(column2 - left, width - 1)
        budget -= (i2 - i1 + 1) * (j2 - j1 + 1)
        if budget < 0:
            return
        value = rows[i1][j1]
        for i in range(i1, i2 + 1):
            target = rows[i]
            for j in range(j1, j2 + 1):
                target[j] = value
