"""Any spreadsheet or delimited text file in, a table of text cells out.

The format is decided by the file's content, never by its name.  Workbooks are
read with python-calamine; text files are decoded, their delimiter is sniffed and
they are parsed with the `csv` module.  Every cell comes out as the text a
spreadsheet program shows, so nothing is lost to floats or dates, and every data
row keeps the row (or line) number the user sees, for the reject workbook.

A file that cannot be read at all raises `FileRejected` with one plain sentence.
"""

from __future__ import annotations

import csv
import gc
import io
import mmap
import posixpath
import re
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from html import unescape
from itertools import compress
from operator import not_
from pathlib import Path

import python_calamine
from charset_normalizer import from_bytes

from pipeline.errors import FileRejected

__all__ = ["Table", "read_table", "read_text_rows"]


class Table:
    """One sheet or text file as text: header cells and column-major data cells.

    The cells are held either as Python lists or as Arrow string arrays (the
    fast text path); `columns` gives lists and `array(j)` gives Arrow, each
    built from the other only when asked for.
    """

    __slots__ = ("format", "sheet", "header_row", "headers", "source_rows", "blank_rows", "encoding", "delimiter",
                 "_lists", "_arrays")

    def __init__(self, *, format: str, sheet: str | None, header_row: int, headers: list[str],
                 source_rows: list[int], blank_rows: int, encoding: str | None, delimiter: str | None,
                 columns: list[list[str]] | None = None, arrays: list | None = None) -> None:
        #: Detected from content: "xlsx", "xlsm", "xlsb", "xls", "ods" or "csv".
        self.format = format
        #: The sheet read; None for text.
        self.sheet = sheet
        #: 1-based row (spreadsheet) or line (text) number of the header.
        self.header_row = header_row
        #: Header cells as stripped text, "" when blank; one per column.
        self.headers = headers
        #: For each data row, its spreadsheet row number or the text line where it starts.
        self.source_rows = source_rows
        #: Entirely blank rows after the header (not in the data).
        self.blank_rows = blank_rows
        #: Text files: the encoding used.
        self.encoding = encoding
        #: Text files: the delimiter detected.
        self.delimiter = delimiter
        self._lists = columns
        self._arrays = arrays

    @property
    def columns(self) -> list[list[str]]:
        """columns[j][i] is the text of data row i in column j; "" when empty."""
        if self._lists is None:
            self._lists = [a.to_pylist() for a in self._arrays or ()]
        return self._lists

    def array(self, j: int):
        """Column j as an Arrow string array."""
        import pyarrow as pa

        if self._arrays is not None:
            return self._arrays[j]
        return pa.array(self._lists[j], pa.string())

    def rows(self, indices: list[int]) -> list[list[str]]:
        """The cells of some data rows, row by row, in the order asked."""
        if self._lists is not None:
            return [[col[i] for col in self._lists] for i in indices]
        import pyarrow as pa

        picked = pa.array(indices, pa.int64())
        cols = [a.take(picked).to_pylist() for a in self._arrays or ()]
        return [list(r) for r in zip(*cols)] if cols else [[] for _ in indices]

    def _key(self) -> tuple:
        return (self.format, self.sheet, self.header_row, self.headers, self.columns, self.source_rows,
                self.blank_rows, self.encoding, self.delimiter)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and self._key() == other._key()

    def __repr__(self) -> str:
        return (f"Table(format={self.format!r}, sheet={self.sheet!r}, header_row={self.header_row}, "
                f"headers={self.headers!r}, rows={len(self.source_rows)}, blank_rows={self.blank_rows})")


# The sentences a user reads when a whole file is refused.
_NOT_READABLE = "The file is not a spreadsheet or a text file; save it as .xlsx or .csv and drop it again."
_PASSWORD = "The workbook is password-protected; save it without a password and drop it again."
_DAMAGED = "The workbook is damaged or truncated and cannot be read."
_NO_ROWS = "The file has no rows."
_SHEET_EMPTY = "The sheet is empty."
_ALL_SHEETS_EMPTY = "Every sheet of the workbook is empty."
_NO_SHEETS = "The workbook has no sheets."
_TOO_MANY_CELLS = (
    "The sheet has cells scattered too far down or to the right to be read; "
    "delete the stray cells beyond the data and save it again."
)
_WEB_PAGE = "The file is a web page or XML document, not a spreadsheet; open it in a spreadsheet program and save it as .xlsx."
_UNCLOSED_QUOTE = "The text file has a quoted value that never ends, so its rows cannot be told apart; fix the stray quote mark."

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

# How many non-blank rows the header may sit under, and how many lines the
# delimiter sniffer looks at.
_HEADER_SCAN_ROWS = 30
_SNIFF_LINES = 50
_DELIMITERS = (",", ";", "\t", "|")

_SUFFIXES = {
    "xlsx": {".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam"},
    "xlsm": {".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam"},
    "xlsb": {".xlsb"},
    "xls": {".xls", ".xla"},
    "ods": {".ods"},
}
_KNOWN_SUFFIXES = set().union(*_SUFFIXES.values())

# Magic numbers of common files that are certainly not text.
_BINARY_MAGIC = (
    b"\x89PNG", b"%PDF-", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"\x1f\x8b", b"BZh",
    b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x7fELF", b"\xfd7zXZ\x00", b"II*\x00",
    b"MM\x00*", b"PK\x05\x06", b"PK\x07\x08", b"{\\rtf", b"OggS", b"ID3", b"\x00\x00\x01\x00",
)
_MARKUP_START = re.compile(r"\s*<(?:\?xml|!doctype|html|table|workbook)\b", re.IGNORECASE)

# Single-byte code pages that charset-normalizer may choose between when a
# text file is in a non-Latin script (Latin text is decided without it).
_NON_LATIN_CODEPAGES = ["cp1255", "cp1251", "cp1253", "cp1256"]
_ACCENTED_WORD = re.compile(rb"[A-Za-z]*[\xc0-\xff][A-Za-z\xc0-\xff]*")
_HIGH_LETTER = re.compile(rb"[\xc0-\xff]")
_HEBREW_LETTER = re.compile(rb"[\xe0-\xfa]")
_ASCII_LETTER = re.compile(rb"[A-Za-z]")
_CONTROL_CHARS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # NULs are judged apart


# ---------------------------------------------------------------- public API


def read_table(
    path: Path,
    *,
    max_bytes: int = 500_000_000,
    max_rows: int = 5_000_000,
    max_columns: int = 1000,
) -> Table:
    """Read the first sheet with data (or the whole text file) as a `Table`.

    >>> table = read_table(Path("inbox/crm.xlsx"))            # doctest: +SKIP
    >>> table.headers, table.columns[0][:2], table.source_rows[:2]  # doctest: +SKIP
    (['Name', 'Mobile'], ['Dana', 'Avi'], [2, 3])

    Raises `FileRejected` when the file cannot be read at all: not a
    spreadsheet or text, password-protected, damaged, a zip bomb, no rows, or
    over `max_bytes`, `max_rows` data rows or `max_columns` columns.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileRejected(
                f"The file is {_human_size(size)}, over the {_human_size(max_bytes)} limit; split it into smaller files."
            )
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except FileRejected:
        raise
    except FileNotFoundError:
        raise FileRejected("The file no longer exists.") from None
    except IsADirectoryError:
        raise FileRejected("The path is a folder, not a file.") from None
    except PermissionError:
        raise FileRejected("The file cannot be opened because access to it is denied.") from None
    except OSError:
        raise FileRejected("The file cannot be read from the disk.") from None

    if size == 0:
        raise FileRejected(_NO_ROWS)
    with bulk_allocation():
        if magic.startswith(b"PK\x03\x04"):
            return _read_workbook(path, _sniff_zip(path), max_rows, max_columns)
        if magic.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
            return _read_workbook(path, _sniff_ole(path), max_rows, max_columns)
        if magic.startswith(_BINARY_MAGIC):
            raise FileRejected(_NOT_READABLE)
        try:
            data = path.read_bytes()
        except OSError:
            raise FileRejected("The file cannot be read from the disk.") from None
        text, encoding = _decode(data)
        del data
        return _read_text(text, encoding, max_rows, max_columns)


def read_text_rows(text: str) -> Table:
    """Read rows typed or pasted as text: header first, comma, tab or semicolon separated.

    >>> read_text_rows("name;phone\\nDana;0521234567\\n").columns
    [['Dana'], ['0521234567']]
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    with bulk_allocation():
        return _read_text(text, None, 5_000_000, 1000)


@contextmanager
def bulk_allocation():
    """Pause the cycle collector while millions of row lists are built.

    Every list created counts towards the collector's thresholds, so reading a
    big sheet would otherwise scan the growing heap again and again (about a
    tenth of the read time for a million rows); nothing read here forms cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------- cell text


def _float_text(value: float) -> str:
    # Whole numbers (phones, ids) never turn into 9.72523456789E+11 or "…0.0".
    if value.is_integer() and -1e15 <= value <= 1e15:
        return str(int(value))
    return repr(value)


def _cell_text(value: object) -> str:
    """The text a spreadsheet program shows for one cell value."""
    kind = type(value)
    if kind is str:
        return value.strip()
    if kind is float:
        return _float_text(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if kind is datetime:
        if value.microsecond and value < datetime.max - timedelta(seconds=1):
            value += timedelta(microseconds=500_000)  # the second a spreadsheet shows
        day = value.date().isoformat()
        if value.hour or value.minute or value.second:
            return f"{day} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        return day
    if kind is date:
        return value.isoformat()
    if kind is time:
        seconds = value.hour * 3600 + value.minute * 60 + value.second + (value.microsecond >= 500_000)
        seconds %= 86400
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if kind is timedelta:
        return str(value)
    if value is None:
        return ""
    return str(value).strip()


def _column_text(column: list) -> list[str]:
    """Text of one column of raw cell values, with as little Python work per cell as possible."""
    try:
        out = list(map(str.strip, column))  # all strings: one C loop
    except TypeError:
        kinds = set(map(type, column))
        if kinds == {float}:
            if all(map(float.is_integer, column)) and -1e15 <= min(column) and max(column) <= 1e15:
                return list(map(str, map(int, column)))  # ids and phones stored as numbers
            return list(map(_float_text, column))
        if kinds == {date}:
            return list(map(date.isoformat, column))
        if kinds == {bool}:
            return ["TRUE" if v else "FALSE" for v in column]
        convert = _cell_text
        out = [v.strip() if type(v) is str else convert(v) for v in column]
    if "\x00" in "".join(out):
        out = [v.replace("\x00", "").strip() for v in out]
    return out


def _text_columns(rows: list[list], width: int) -> list[list[str]]:
    """Column-major text of row-major cells; a short row's missing cells are empty."""
    if min(map(len, rows), default=width) < width:
        rows = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]
    if not rows:
        return [[] for _ in range(width)]
    return [_column_text(list(column)) for column in zip(*rows)]  # zip transposes in C


_NUMBER_LIKE = re.compile(r"[-+(]?[\d\s.,:/()+%-]*\d[\d\s.,:/()+%-]*")


def _is_word(value: object) -> bool:
    """A text cell that is not a number, date or phone written as text."""
    return type(value) is str and not _NUMBER_LIKE.fullmatch(value.strip())


def _is_filled(value: object) -> bool:
    return not (value is None or (type(value) is str and not value.strip()))


def _find_header(rows: list) -> int | None:
    """Index of the header row, or None when every row is blank.

    Title lines and blank rows may sit above the header: among the first
    non-blank rows, the header is the first one filled at least half as wide as
    the widest of them (and in at least two cells) and mostly made of words;
    the very first line needs only one word (years as headers: `Museum,2011,2010`).
    """
    seen: list[tuple[int, int, int]] = []  # (index, filled cells, word cells)
    for index, row in enumerate(rows):
        filled = [v for v in row if _is_filled(v)]
        if not filled:
            continue
        seen.append((index, len(filled), sum(map(_is_word, filled))))
        if len(seen) >= _HEADER_SCAN_ROWS:
            break
    if not seen:
        return None
    widest = max(count for _, count, _ in seen)
    needed = max(2, widest / 2)
    for n, (index, count, words) in enumerate(seen):
        # The first line gets the benefit of the doubt: `Museum,2011,2010` is a header.
        if count >= needed and (words * 2 >= count or (n == 0 and words)):
            return index
    return seen[0][0]


def _assemble(
    header: list[str],
    columns: list[list[str]],
    first_row: int,
    row_numbers: list[int] | None,
    max_rows: int,
    max_columns: int,
) -> tuple[list[str], list[list[str]], list[int], int]:
    """Drop blank rows and trailing empty columns, check the limits, number the rows.

    `columns` are already text; `row_numbers` gives each data row's number, or
    None when they run on from `first_row`.
    """
    height = len(columns[0]) if columns else 0
    width = max(len(header), len(columns))
    header = header + [""] * (width - len(header))
    columns = columns + [[""] * height for _ in range(width - len(columns))]

    # A row is blank when every column is "" there; start from the emptiest-looking
    # candidates of the first column and narrow down, so full files cost little.
    blank: list[int] = []
    if height and columns:
        blank = list(compress(range(height), map(not_, columns[0])))
        for column in columns[1:]:
            if not blank:
                break
            blank = [i for i in blank if not column[i]]
    if row_numbers is None:
        row_numbers = list(range(first_row, first_row + height))
    if blank:
        keep = [True] * height
        for i in blank:
            keep[i] = False
        columns = [list(compress(column, keep)) for column in columns]
        row_numbers = list(compress(row_numbers, keep))

    while header and not header[-1] and not any(columns[-1]):
        header.pop()
        columns.pop()
    if len(header) > max_columns:
        raise FileRejected(
            f"The file has {len(header):,} columns, more than the {max_columns:,} one import accepts."
        )
    if len(row_numbers) > max_rows:
        raise FileRejected(
            f"The file has more than {max_rows:,} data rows, the most one import accepts; split it into smaller files."
        )
    return header, columns, row_numbers, len(blank)


# ---------------------------------------------------------------- workbooks


def _sniff_zip(path: Path) -> tuple[str, dict[str, str] | None]:
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
                    raise FileRejected(_NOT_READABLE)
                if b"encryption-data" in _read_small(archive, "META-INF/manifest.xml"):
                    raise FileRejected(_PASSWORD)
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
            raise FileRejected(_NOT_READABLE)
    except FileRejected:
        raise
    except Exception:  # a broken zip raises many kinds of errors; all mean the same to the user
        raise FileRejected(_DAMAGED) from None


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


def _sniff_ole(path: Path) -> tuple[str, None]:
    """An OLE2 file is an old .xls, or an encrypted OOXML workbook, or not a spreadsheet."""
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if _has_ole_entry(data, "EncryptedPackage"):
                raise FileRejected(_PASSWORD)
            if not (_has_ole_entry(data, "Workbook") or _has_ole_entry(data, "Book")):
                raise FileRejected(_NOT_READABLE)
            # BIFF: a FILEPASS record (0x002F) right after the workbook's BOF record.
            if re.search(rb"\x09\x08\x10\x00[\s\S]{16}\x2f\x00", data):
                raise FileRejected(_PASSWORD)
    except (OSError, ValueError):
        raise FileRejected(_DAMAGED) from None
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
        return FileRejected(_PASSWORD)
    if "cell limit" in str(exc).lower():
        return FileRejected(_TOO_MANY_CELLS)
    return FileRejected(_DAMAGED)


def _read_workbook(
    path: Path, sniffed: tuple[str, dict[str, str] | None], max_rows: int, max_columns: int
) -> Table:
    """The first sheet with data, visible sheets before hidden ones."""
    kind, parts = sniffed
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
                header_index = _find_header(rows)
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
        raise FileRejected(_NO_SHEETS)
    raise FileRejected(_SHEET_EMPTY if len(names) == 1 else _ALL_SHEETS_EMPTY)


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
            raise FileRejected(_TOO_MANY_CELLS)
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

    header = _column_text(rows[header_index])
    data = rows[header_index + 1 :]
    columns = _text_columns(data, len(header))
    del data
    first_row = top + header_index + 2
    header, columns, source_rows, blank = _assemble(header, columns, first_row, None, max_rows, max_columns)
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


# ---------------------------------------------------------------- text files


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in; refuses bytes that are not text."""
    for bom, codec, label in (
        (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32"),
        (b"\xef\xbb\xbf", "utf-8", "utf-8-sig"),
        (b"\xff\xfe", "utf-16-le", "utf-16"),
        (b"\xfe\xff", "utf-16-be", "utf-16"),
    ):
        if data.startswith(bom):
            return _checked(data[len(bom) :].decode(codec, "replace")), label

    sample = data[:65536]
    nuls = sample.count(0)
    if nuls:
        half = max(len(sample) // 2, 1)
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        for codec, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if zeros > half * 0.2 and others < zeros * 0.05 and len(data) % 2 == 0:
                try:
                    return _checked(data.decode(codec)), codec
                except UnicodeDecodeError:
                    pass
        if nuls > len(sample) * 0.3:  # a few NULs are stripped; a file of them is not text
            raise FileRejected(_NOT_READABLE)

    try:
        return _checked(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few broken bytes (two exports pasted together, a cut
    # character): keep UTF-8 rather than garble every accented letter.
    text = data.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii - broken >= 10 * broken:
        return _checked(text), "utf-8"
    del text
    codec = _single_byte_codepage(data)
    return _checked(data.decode(codec, "replace")), codec


def _single_byte_codepage(data: bytes) -> str:
    """Choose the Windows code page of a text that is not UTF-8.

    Western text has accented letters inside otherwise ASCII words ("Hélène");
    Hebrew, Cyrillic, Greek or Arabic text has whole words of high bytes.  Hebrew
    (cp1255) letters all sit in 0xE0-0xFA, where Russian also needs capitals.
    charset-normalizer alone picks cp1250 for short German or French lists and
    cp1251 for short Hebrew ones, so it only decides between non-Latin scripts.
    """
    sample = data[:1_000_000]
    whole_words = mixed_words = 0
    for word in _ACCENTED_WORD.findall(sample):
        if _ASCII_LETTER.search(word):
            mixed_words += 1
        elif len(word) >= 2:
            whole_words += 1
    if whole_words > mixed_words:
        hebrew = len(_HEBREW_LETTER.findall(sample))
        if hebrew >= 0.9 * len(_HIGH_LETTER.findall(sample)) and _decodes(sample, "cp1255"):
            return "cp1255"
        best = from_bytes(sample, cp_isolation=_NON_LATIN_CODEPAGES).best()
        if best is not None:
            return best.encoding
        return "cp1255"
    return "cp1252" if _decodes(data, "cp1252") else "latin-1"


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _checked(text: str) -> str:
    """The text, unless it is clearly binary or markup rather than rows."""
    sample = text[:65536]
    # Random bytes read as a code page are about a quarter control characters.
    if len(_CONTROL_CHARS.findall(sample)) > len(sample) * 0.1:
        raise FileRejected(_NOT_READABLE)
    if _MARKUP_START.match(sample.lstrip("\ufeff")):
        raise FileRejected(_WEB_PAGE)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


def _sniff_delimiter(text: str) -> str:
    """The delimiter whose field count is the most consistent over the first lines."""
    lines = []
    for line in io.StringIO(text, newline=""):
        lines.append(line)
        if len(lines) >= _SNIFF_LINES:
            break
    best, best_score = ",", (0.0, 0)
    for delimiter in _DELIMITERS:
        counts: list[int] = []
        try:
            for record in csv.reader(lines, delimiter=delimiter, strict=False):
                if record:
                    counts.append(len(record))
        except csv.Error:  # the sample may end inside a quoted value
            pass
        if not counts:
            continue
        mode = max(set(counts), key=lambda n: (counts.count(n), n))
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_text(text: str, encoding: str | None, max_rows: int, max_columns: int, fast: bool = True) -> Table:
    delimiter = _sniff_delimiter(text)
    plain = _read_plain_text(text, encoding, delimiter, max_rows, max_columns) if fast else None
    if plain is not None:
        return plain
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    starts: list[int] = []
    blank_before: list[int] = []  # blank records seen before each record kept
    blanks = 0
    previous_line = 0
    limit = max_rows + _HEADER_SCAN_ROWS + 1
    try:
        for record in reader:
            start = previous_line + 1
            previous_line = reader.line_num
            if not any(record):
                blanks += 1
                continue
            if len(record) > max_columns:
                while record and not record[-1].strip():
                    record.pop()
                if len(record) > max_columns:
                    raise FileRejected(
                        f"The file has {len(record):,} columns, more than the {max_columns:,} one import accepts."
                    )
            blank_before.append(blanks)
            records.append(record)
            starts.append(start)
            if len(records) > limit:
                raise FileRejected(
                    f"The file has more than {max_rows:,} data rows, the most one import accepts; split it into smaller files."
                )
    except csv.Error:
        raise FileRejected(_UNCLOSED_QUOTE) from None

    header_index = _find_header(records)
    if header_index is None:
        raise FileRejected(_NO_ROWS)
    header = [cell.strip().replace("\x00", "") for cell in records[header_index]]
    header_line = starts[header_index]
    data = records[header_index + 1 :]
    source_rows = starts[header_index + 1 :]
    del records, starts
    columns = _text_columns(data, max(len(header), max(map(len, data), default=0)))
    del data
    header, columns, source_rows, blank = _assemble(header, columns, 0, source_rows, max_rows, max_columns)
    return Table(
        format="csv",
        sheet=None,
        header_row=header_line,
        headers=header,
        columns=columns,
        source_rows=source_rows,
        blank_rows=blank + blanks - blank_before[header_index],
        encoding=encoding,
        delimiter=delimiter,
    )


#: What Python's str.strip() strips, so the Arrow path trims cells exactly as the careful path does.
_PY_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_HEAD_LINES = 200


def _read_plain_text(text: str, encoding: str | None, delimiter: str, max_rows: int,
                     max_columns: int) -> Table | None:
    """The fast path for plain delimited text: no quotes, no NULs, no blank lines inside, every row as wide
    as the header.  Arrow's csv reader parses it on both cores; None sends the text down the careful path,
    which reads anything and gives the same table.
    """
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    head = text.split("\n", _HEAD_LINES)[:_HEAD_LINES]  # the body stays in `text`: no copy of a big file
    found = [(n, line.split(delimiter)) for n, line in enumerate(head, start=1) if line]
    found = [(n, record) for n, record in found if any(record)]
    header_index = _find_header([record for _, record in found])
    if header_index is None:
        return None
    header_line, record = found[header_index]
    width = len(record)
    if width > max_columns:
        return None
    start = sum(len(line) + 1 for line in head[:header_line])  # where the line after the header begins
    end = len(text)
    while end > start and text[end - 1] == "\n":
        end -= 1
    trailing_blank = max(0, len(text) - max(end, start) - (1 if end > start else 0))
    if text.find("\n\n", start, end) >= 0 or (end > start and text[start] == "\n"):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    names = [f"c{j}" for j in range(width)]
    ragged: list[object] = []

    def off_width(row) -> str:
        ragged.append(row)
        return "skip"

    try:
        raw = text.encode("utf-8")  # one copy for Arrow; the data rows are a view into it
        offset = len(text[:start].encode("utf-8"))
        size = len(raw) - offset - (len(text) - max(end, start))  # the tail past `end` is newlines: a byte each
        data = pa.py_buffer(raw)[offset:offset + size] if size > 0 else None
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                            escape_char=False, newlines_in_values=False, ignore_empty_lines=False,
                                            invalid_row_handler=off_width),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        ) if data is not None else pa.table({n: pa.array([], pa.string()) for n in names})
    except (pa.ArrowException, UnicodeError):
        return None
    if ragged:
        return None
    arrays = [pc.utf8_trim(table.column(j).combine_chunks(), characters=_PY_WHITESPACE) for j in range(width)]
    headers = [cell.strip() for cell in record]
    empty = None
    for a in arrays:
        e = pc.equal(a, "")
        empty = e if empty is None else pc.and_(empty, e)
    first = header_line + 1
    if empty is not None and pc.any(empty).as_py():
        keep = pc.indices_nonzero(pc.invert(empty))
        blank = len(empty) - len(keep)
        arrays = [a.take(keep) for a in arrays]
        source_rows = pc.add(keep, first).to_pylist()
    else:
        blank = 0
        source_rows = list(range(first, first + (len(arrays[0]) if arrays else 0)))
    while headers and not headers[-1] and not pc.any(pc.not_equal(arrays[-1], "")).as_py():
        headers.pop()
        arrays.pop()
    if len(source_rows) > max_rows:
        raise FileRejected(
            f"The file has more than {max_rows:,} data rows, the most one import accepts; split it into smaller files."
        )
    return Table(format="csv", sheet=None, header_row=header_line, headers=headers, arrays=arrays,
                 source_rows=source_rows, blank_rows=blank + trailing_blank, encoding=encoding,
                 delimiter=delimiter)


def _human_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:,.0f} MB"
