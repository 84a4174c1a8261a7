"""A sheet or text file as a table of text cells, and the steps every reader shares.

Cells become the text a spreadsheet program shows (whole floats as integers,
dates as ISO dates), the header row is found under title rows and blank rows,
blank rows are counted and dropped, and the limits on rows and columns hold.
"""

from __future__ import annotations

import ctypes
import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import compress
from operator import not_

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import FileRejected, UsageError


class Table:
    """One sheet or text file as text: header cells and column-major data cells.

    The cells are held either as Python lists or as Arrow string arrays (the
    fast text path); `columns` gives lists and `array(j)` gives Arrow, each
    built from the other only when asked for.
    """

    __slots__ = ("format", "sheet", "header_row", "headers", "source_rows", "blank_rows", "encoding", "delimiter",
                 "no_header", "warnings", "unsaved_rows", "partial", "_lists", "_arrays")

    def __init__(self, *, format: str, sheet: str | None, header_row: int, headers: list[str],
                 source_rows: list[int], blank_rows: int, encoding: str | None, delimiter: str | None,
                 columns: list[list[str]] | None = None, arrays: list | None = None, no_header: bool = False,
                 warnings: list[str] | None = None, unsaved_rows: list[int] | None = None) -> None:
        #: Detected from content: "xlsx", "xlsm", "xlsb", "xls", "ods" or "csv".
        self.format = format
        #: The sheet read; None for text.
        self.sheet = sheet
        #: 1-based row (spreadsheet) or line (text) number of the header; 0 when the file has none.
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
        #: Only the first rows of a longer file were read (a preview, `read_head`).
        self.partial = False
        #: The file has no header row: every row is data and `headers` were named by the columns' content.
        self.no_header = no_header
        #: What the reader had to guess, one plain sentence each (titles skipped, a stray quote...).
        self.warnings = warnings if warnings is not None else []
        #: Workbooks: the data rows (by source row) holding formulas with no saved value.
        self.unsaved_rows = unsaved_rows if unsaved_rows is not None else []
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
        if self._arrays is not None:
            return self._arrays[j]
        return pa.array(self._lists[j], pa.string())

    def rows(self, indices: list[int]) -> list[list[str]]:
        """The cells of some data rows, row by row, in the order asked."""
        if self._lists is not None:
            return [[col[i] for col in self._lists] for i in indices]
        picked = pa.array(indices, pa.int64())
        cols = [a.take(picked).to_pylist() for a in self._arrays or ()]
        return [list(r) for r in zip(*cols)] if cols else [[] for _ in indices]

    def _key(self) -> tuple:
        return (self.format, self.sheet, self.header_row, self.headers, self.columns, self.source_rows,
                self.blank_rows, self.encoding, self.delimiter, self.no_header, self.warnings, self.unsaved_rows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and self._key() == other._key()

    def __repr__(self) -> str:
        return (f"Table(format={self.format!r}, sheet={self.sheet!r}, header_row={self.header_row}, "
                f"headers={self.headers!r}, rows={len(self.source_rows)}, blank_rows={self.blank_rows}, "
                f"no_header={self.no_header}, warnings={self.warnings!r})")


# The sentences a user reads when a whole file is refused.
NOT_READABLE = "The file is not a spreadsheet or a text file; save it as .xlsx or .csv and drop it again."
PASSWORD = "The workbook is password-protected; save it without a password and drop it again."
DAMAGED = "The workbook is damaged or truncated and cannot be read."
NO_ROWS = "The file has no rows."
SHEET_EMPTY = "The sheet is empty."
ALL_SHEETS_EMPTY = "Every sheet of the workbook is empty."
NO_SHEETS = "The workbook has no sheets."
TOO_MANY_CELLS = (
    "The sheet has cells scattered too far down or to the right to be read; "
    "delete the stray cells beyond the data and save it again."
)
FORMULAS_UNSAVED = ("The rows hold formulas with no saved value; open the file in a spreadsheet program and save "
                    "it again.")
WEB_PAGE = "The file is a web page or XML document, not a spreadsheet; open it in a spreadsheet program and save it as .xlsx."

# How many non-blank rows the header may sit under, and how many lines the
# delimiter sniffer looks at.
HEADER_SCAN_ROWS = 30
#: What str.strip() strips, so the Arrow readers trim cells exactly as the careful paths do.
PY_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
CONTROL_CHARS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # NULs are judged apart


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


def give_back_memory() -> None:
    """Return the heap pages a finished stage freed to the system.

    Reading and normalizing a big file on two threads leaves hundreds of MB
    freed inside the C allocator's per-thread arenas, which glibc keeps for
    reuse; the next stage (the database) would add its own on top.  Elsewhere
    than glibc this does nothing.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


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


def column_text(column: list) -> list[str]:
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


def text_columns(rows: list[list], width: int) -> list[list[str]]:
    """Column-major text of row-major cells; a short row's missing cells are empty."""
    if min(map(len, rows), default=width) < width:
        rows = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]
    if not rows:
        return [[] for _ in range(width)]
    return [column_text(list(column)) for column in zip(*rows)]  # zip transposes in C


_NUMBER_LIKE = re.compile(r"[-+(]?[\d\s.,:/()+%-]*\d[\d\s.,:/()+%-]*")


def _is_word(value: object) -> bool:
    """A text cell that is not a number, date or phone written as text."""
    return type(value) is str and not _NUMBER_LIKE.fullmatch(value.strip())


def _is_filled(value: object) -> bool:
    return not (value is None or (type(value) is str and not value.strip()))


# A cell holding a phone number or an e-mail address: a header never does, so a row holding one is data.
# Dates and decimals have the digits of a phone but not its shape.
_PHONE_LIKE = re.compile(r"\s*\+?\(?\d[\d\s().\-/]{5,}\d\s*")
_EMAIL_LIKE = re.compile(r"\s*[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+\s*")
_NOT_PHONE = re.compile(r"\s*(?:\d{4}-\d\d?-\d\d?(?:[ T][\d:.]+)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|-?\d+\.\d+)\s*")


def _is_phone(value: object) -> bool:
    if type(value) is not str or not _PHONE_LIKE.fullmatch(value) or _NOT_PHONE.fullmatch(value):
        return False
    return 7 <= sum(map(str.isdigit, value)) <= 15


def _is_email(value: object) -> bool:
    return type(value) is str and bool(_EMAIL_LIKE.fullmatch(value))


def _is_detail(value: object) -> bool:
    return _is_phone(value) or _is_email(value)


@dataclass(frozen=True)
class Header:
    """Where the header is among a sheet's or file's rows, as `guess_header` found it."""

    #: Index of the header row; None when the rows have no header and every row is data.
    index: int | None
    #: Index of the first row that is data.
    first: int
    #: Indices of the non-blank rows above the header (or above the first data row), read as titles.
    titles: tuple[int, ...]


def guess_header(rows: list) -> Header | None:
    """Where the header is, or None when every row is blank.

    A header never holds a phone or an e-mail: when the first non-blank row
    holds one, the rows have no header at all and every row is data; else the
    header sits above the first row that holds one.  Title lines and blank rows
    may sit above it: the header is the first row mostly made of words and
    filled at least half as wide as the widest row above the data (and in at
    least two cells); titles of several cells are narrower than the header
    under them.  How wide the rows holding details are never matters, and a
    first line of words (two cells or more) is the header however wide the rows
    under it: a title taken for the header costs a rejected row, a data row
    taken for it would make the rows above it vanish.  A first line with one
    word is the header when it is wide enough (years as headers:
    `Museum,2011,2010`).  Rows with no word at all (`1,2` over `3,4`) are data
    with no header, and so are rows of details under one-cell titles only.
    """
    seen: list[tuple[int, int, int, bool]] = []  # (index, filled cells, word cells, holds a phone or e-mail)
    for index, row in enumerate(rows):
        filled = [v for v in row if _is_filled(v)]
        if not filled:
            continue
        seen.append((index, len(filled), sum(map(_is_word, filled)), any(map(_is_detail, filled))))
        if len(seen) >= HEADER_SCAN_ROWS:
            break
    if not seen:
        return None
    cut = next((n for n, row in enumerate(seen) if row[3]), len(seen))
    head = seen[:cut]  # the rows that may be titles or the header: none holds a phone or e-mail
    needed = max(2, max((count for _, count, _, _ in head), default=0) / 2)
    for n, (index, count, words, _) in enumerate(head):
        wordy = words * 2 >= count
        if (count >= needed and (wordy or (n == 0 and words))) or (n == 0 and count >= 2 and wordy):
            return Header(index, index + 1, tuple(i for i, *_ in head[:n]))
    worded = [n for n, (_, _, words, _) in enumerate(head) if words]
    if worded and (cut == len(seen) or max(count for _, count, _, _ in seen[cut:]) < 2):
        n = worded[0]  # a one-column file: its first word is its header
        return Header(head[n][0], head[n][0] + 1, tuple(i for i, *_ in head[:n]))
    start = cut if worded else 0  # one-cell titles over rows of details, or no word at all: no header
    return Header(None, seen[start][0], tuple(i for i, *_ in seen[:start]))


@dataclass(frozen=True)
class HeaderChoice:
    """Where the operator says the header is, in place of `guess_header`'s guess (`--header-row`, `--no-header`)."""

    #: The 1-based row (sheet) or line (text) number of the header; rows above it are titles.
    header_row: int | None = None
    #: Every row is data; the columns are named as a file with no header has them named.
    no_header: bool = False

    def __bool__(self) -> bool:
        return self.header_row is not None or self.no_header


def chosen_header(rows: list, numbers: list[int], choice: HeaderChoice, unit: str, last: int) -> Header:
    """The header the operator chose, as `guess_header` would give it.

    `rows` are the first rows (at least as far as the chosen header),
    `numbers` their row or line numbers, `last` the number of the file's last
    row or line.  A header row beyond the file, or on a blank one, is a usage
    error naming the option: the operator asked for something the file does not hold.
    """
    def filled(i: int) -> bool:  # rows are tested only up to the header: a file's rows may be a million
        return any(map(_is_filled, rows[i]))

    if choice.no_header:
        return Header(None, next((i for i in range(len(rows)) if filled(i)), 0), ())
    n = choice.header_row
    index = next((i for i, number in enumerate(numbers) if number == n), None)
    if n > last:
        raise UsageError(f"--header-row {n} is beyond the file, whose last {unit} is {last}.")
    if index is None or not filled(index):
        raise UsageError(f"--header-row {n} points at a blank {unit}; give the number of the {unit} holding the headers.")
    return Header(index, index + 1, tuple(i for i in range(index) if filled(i)))


def generated_headers(rows: list, width: int) -> list[str]:
    """Names for the columns of rows that have no header, from what the columns hold.

    The first column whose filled cells (in the first rows) are mostly phones
    and no e-mails is `Phone`, mostly e-mails and no phones `Email`, so the
    field mapping places them as it would under such a header; every other
    column is `Column N` (a list mixing both is read by content by the list
    commands, as a file with no header always was).
    """
    sample = [row for row in rows if any(map(_is_filled, row))][:HEADER_SCAN_ROWS]
    headers = [f"Column {j + 1}" for j in range(width)]
    for name, test, other in (("Phone", _is_phone, _is_email), ("Email", _is_email, _is_phone)):
        for j in range(width):
            cells = [row[j] for row in sample if j < len(row) and _is_filled(row[j])]
            # A column mixing phones and e-mails is neither: under either name half of it would be invalid.
            if (headers[j].startswith("Column") and cells and sum(map(test, cells)) * 2 >= len(cells)
                    and not any(map(other, cells))):
                headers[j] = name
                break
    return headers


def header_warnings(guess: Header, numbers: list[int], headers: list[str], unit: str) -> list[str]:
    """The sentences saying what `guess_header` guessed; `numbers` are the row (or line) numbers of its indices."""
    warnings = []
    if guess.titles:
        many = len(guess.titles) > 1
        where = f"{unit.capitalize()}{'s' if many else ''} {number_list([numbers[i] for i in guess.titles])} above the " + (
            "data" if guess.index is None else f"header ({unit} {numbers[guess.index]})")
        warnings.append(f"{where} {'were read as titles' if many else 'was read as a title'}, not as data.")
    if guess.index is None:
        named = [f"{h} (column {j + 1})" for j, h in enumerate(headers) if not h.startswith("Column ")]
        warnings.append(
            f"The file has no header row, so every {unit} was read as data; "
            + (f"its columns were named by what they hold: {', '.join(named)}." if named
               else "no column holds phones or e-mails to name it by.")
        )
    return warnings


def number_list(numbers: list[int]) -> str:
    """`3`, `3 and 4`, `1-3`, `1, 4, 7, 8, 9 and 2 more`: row or line numbers as a person reads them."""
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    shown = [str(n) for n in numbers[:5]]
    if len(numbers) > 5:
        return f"{', '.join(shown)} and {len(numbers) - 5:,} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def assemble(
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
        raise too_many_columns(len(header), max_columns)
    if len(row_numbers) > max_rows:
        raise too_many_rows(max_rows)
    return header, columns, row_numbers, len(blank)


def assemble_arrays(
    header: list[str],
    columns: list[pa.Array],
    first_row: int,
    max_rows: int,
    max_columns: int,
    not_blank: list[int] = (),
) -> tuple[list[str], list[pa.Array], list[int], int]:
    """`assemble` for Arrow text columns: blank rows dropped and counted, trailing empty columns dropped.

    The data rows are numbered on from `first_row`; `not_blank` are indices of
    rows kept even when every cell reads empty (formulas with no saved value).
    """
    empty = None
    for column in columns:
        e = pc.equal(column, "")
        empty = e if empty is None else pc.and_(empty, e)
    if empty is not None and not_blank:
        positions = pa.array(range(len(empty)), pa.int64())
        empty = pc.and_not(empty, pc.is_in(positions, value_set=pa.array(not_blank, pa.int64())))
    if empty is not None and pc.any(empty).as_py():
        keep = pc.indices_nonzero(pc.invert(empty))
        blank = len(empty) - len(keep)
        columns = [column.take(keep) for column in columns]
        source_rows = pc.add(keep, first_row).to_pylist()
    else:
        blank = 0
        source_rows = list(range(first_row, first_row + (len(columns[0]) if columns else 0)))
    header, columns = list(header), list(columns)
    while header and not header[-1] and not pc.any(pc.not_equal(columns[-1], "")).as_py():
        header.pop()
        columns.pop()
    if len(header) > max_columns:
        raise too_many_columns(len(header), max_columns)
    if len(source_rows) > max_rows:
        raise too_many_rows(max_rows)
    return header, columns, source_rows, blank


def too_many_columns(width: int, max_columns: int) -> FileRejected:
    return FileRejected(f"The file has {width:,} columns, more than the {max_columns:,} one import accepts.")


def too_many_rows(max_rows: int) -> FileRejected:
    return FileRejected(
        f"The file has more than {max_rows:,} data rows, the most one import accepts; split it into smaller files.")
