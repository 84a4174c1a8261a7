"""Workbooks (xlsx, xlsm, xlsb, xls, ods) read with fastexcel into Arrow text columns.

The format is told from the content.  A zip package passes `zipsafe` first
(bombs, encrypted members) and, for xlsx, a scan of the inflating sheet bytes
for a stray cell far out (calamine allocates the whole box and aborts the
process when it cannot); an OLE file is checked for encryption.  fastexcel then
reads every cell as a string, and whole-column Arrow compute turns its
renderings into the text the user sees (`shown_text`).  What fastexcel does not
hand back is added here: error cells' text (from its cell errors), merged
blocks (their ranges asked of python-calamine only when the file has some) and
durations told from dates (python-calamine again, only for columns holding
dates that could be durations).
"""

from __future__ import annotations

import html
import mmap
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from ..errors import FileRejected, UsageError
from .table import (
    ALL_SHEETS_EMPTY,
    DAMAGED,
    FORMULAS_UNSAVED,
    HEADER_SCAN_ROWS,
    NO_SHEETS,
    NOT_READABLE,
    PASSWORD,
    PY_WHITESPACE,
    SHEET_EMPTY,
    TOO_MANY_CELLS,
    Header,
    HeaderChoice,
    Table,
    assemble_arrays,
    chosen_header,
    column_text,
    generated_headers,
    guess_header,
    header_warnings,
    number_list,
)
from .zipsafe import inflate_checked

# calamine allocates one slot per cell of a sheet's bounding box and aborts the
# whole process when that allocation fails (a stray cell at XFD1048576 asks for
# half a terabyte), so the box is measured first.  Fifty million slots is about
# 1.6 GB, far above any real contact list (a million rows of 26 columns is 27M).
MAX_GRID_CELLS = 50_000_000
_EXCEL_MAX_ROWS = 1_048_576

_WORKERS = max(1, min(2, os.cpu_count() or 1))

_SUFFIXES = {"xlsx": ".xlsx", "xlsm": ".xlsm", "xlsb": ".xlsb", "xls": ".xls", "ods": ".ods"}
_SNIFFED_MEMBERS = {"mimetype", "META-INF/manifest.xml", "[Content_Types].xml", "xl/workbook.xml",
                    "xl/_rels/workbook.xml.rels"}


@dataclass
class ZipFacts:
    """What the guarded inflation of a package found out."""

    kind: str
    #: Some sheet declares merged cells.
    merges: bool
    #: Per sheet name, the rows holding a formula with no saved value (openpyxl and other generators write
    #: formulas without computing them; no reader has a value to give for such a cell).
    unsaved: dict[str, set[int]] = field(default_factory=dict)


# ---------------------------------------------------------------- telling the format, guarding the package


def sniff_zip(path: Path) -> ZipFacts:
    """Format of a zip-based workbook, after every member has passed the zip guard and the box scan."""
    scans: list[_SheetScan] = []

    def watch(name: str):
        if name.endswith(".xml") and not name.endswith("sharedStrings.xml"):
            scans.append(_SheetScan(name))
            return scans[-1].feed
        return None

    package = inflate_checked(path, keep=_SNIFFED_MEMBERS.__contains__, watch=watch)
    for scan in scans:
        scan.finish()
    if any(scan.box_cells() > MAX_GRID_CELLS for scan in scans):
        raise FileRejected(TOO_MANY_CELLS)
    merges = any(scan.merges for scan in scans)
    names = set(package.names)
    if "mimetype" in names:
        if b"opendocument.spreadsheet" not in package.member("mimetype"):
            raise FileRejected(NOT_READABLE)
        if b"encryption-data" in package.member("META-INF/manifest.xml"):
            raise FileRejected(PASSWORD)
        return ZipFacts("ods", merges)
    content_types = package.member("[Content_Types].xml")
    if "xl/workbook.bin" in names or b"sheet.binary.macroEnabled.main" in content_types:
        return ZipFacts("xlsb", merges)
    if "xl/workbook.xml" in names or any(
        kind in content_types for kind in (b"spreadsheetml.sheet.main", b"spreadsheetml.template.main",
                                           b"macroEnabled.main")
    ):
        unsaved: dict[str, set[int]] = {}
        if any(scan.unsaved for scan in scans):
            sheets = _sheet_members(package.member("xl/workbook.xml"), package.member("xl/_rels/workbook.xml.rels"))
            unsaved = {sheets[scan.name]: scan.unsaved for scan in scans if scan.unsaved and scan.name in sheets}
        return ZipFacts("xlsm" if b"macroEnabled" in content_types else "xlsx", merges, unsaved)
    raise FileRejected(NOT_READABLE)


_TAG_ATTRIBUTE = {name: re.compile(rb'\s' + name + rb'="([^"]*)"') for name in (b"Id", b"Target", b"name", b"r:id")}


def _sheet_members(workbook: bytes, relations: bytes) -> dict[str, str]:
    """Each worksheet's package member and its sheet name, from the workbook part and its relations."""
    targets: dict[bytes, str] = {}
    for tag in re.findall(rb"<Relationship\b[^>]*>", relations):
        rid, target = _TAG_ATTRIBUTE[b"Id"].search(tag), _TAG_ATTRIBUTE[b"Target"].search(tag)
        if rid and target:
            path = html.unescape(target.group(1).decode("utf-8", "replace"))
            targets[rid.group(1)] = path[1:] if path.startswith("/") else "xl/" + path
    members = {}
    for tag in re.findall(rb"<sheet\b[^>]*>", workbook):
        name, rid = _TAG_ATTRIBUTE[b"name"].search(tag), _TAG_ATTRIBUTE[b"r:id"].search(tag)
        if name and rid and rid.group(1) in targets:
            members[targets[rid.group(1)]] = html.unescape(name.group(1).decode("utf-8", "replace"))
    return members


_WIDE_CELL = re.compile(rb"r=\"([A-Z]{2,3})\d+\"[^>]{0,400}?(/?)>")
# A formula with no saved value: `<f>A2</f><v/>`, `<f>A2</f>` or a shared `<f t="shared" si="0"/>` closing its cell.
_UNSAVED = r"</f>(?:<v ?/>)?</c>|<f [^>]*/>(?:<v ?/>)?</c>"
_NOTABLE = r'r="[A-Z]{2}|mergeCell|' + _UNSAVED
_UNSAVED_CELL = re.compile(rb'<c r="[A-Z]{1,3}(\d+)"[^>]*>(?:<f>[^<]*</f>|<f [^>]*/>|<f [^>]*>[^<]*</f>)(?:<v ?/>)?</c>')
_ROW_NUMBER = re.compile(rb"r=\"(\d+)\"")  # rows; cell references have letters
_NARROW = MAX_GRID_CELLS // _EXCEL_MAX_ROWS  # up to this many columns, any row count is safe


class _SheetScan:
    """The bounding box of a sheet's cells with content, measured on its bytes as they inflate.

    Only cells past column Z are looked at, and row numbers only once such a
    cell makes the width matter, so a common sheet costs one quick pass.  The
    same pass notes the rows of cells holding a formula with no saved value.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.max_row = 0
        self.max_column = 26
        self.merges = False
        #: Rows with a formula cell and no saved value for it.
        self.unsaved: set[int] = set()
        self._rest = b""

    def feed(self, chunk: bytes) -> None:
        buffer = self._rest + chunk
        end = buffer.rfind(b">") + 1  # scan whole tags only; the rest waits for the next chunk
        opened = buffer.rfind(b"<c ", 0, end)
        if opened > buffer.rfind(b"</c>", 0, end):
            end = opened  # and a cell cut in two waits whole
        if end == 0 and len(buffer) < 1 << 22:
            self._rest = buffer
            return
        self._rest = buffer[end:]
        self._scan(buffer[:end])

    def finish(self) -> None:
        """Scan what the last chunk left waiting."""
        self._scan(self._rest)
        self._rest = b""

    def _scan(self, block: bytes) -> None:
        # RE2 (through Arrow) tells in one pass, without the interpreter lock, whether the block has any
        # reference past column Z, a merged block or a formula with no value at all; nearly every sheet has none.
        if pc.count_substring_regex(pa.scalar(block, pa.binary()), _NOTABLE).as_py():
            self.merges = self.merges or b"mergeCell" in block
            for letters, closed in _WIDE_CELL.findall(block):
                if not closed:  # calamine skips cells with no content
                    self.max_column = max(self.max_column, _column_number(letters))
            if b"</f>" in block or b"<f " in block:
                self.unsaved.update(map(int, _UNSAVED_CELL.findall(block)))
        if self.max_column > _NARROW:
            rows = _ROW_NUMBER.findall(block)
            if rows:
                self.max_row = max(self.max_row, max(map(int, rows)))

    def box_cells(self) -> int:
        if self.max_column <= _NARROW:
            return 0
        return (self.max_row or _EXCEL_MAX_ROWS) * self.max_column


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def sniff_ole(path: Path) -> str:
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
    return "xls"


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


# ---------------------------------------------------------------- reading


def read_workbook(path: Path, kind: str, merges: bool, max_rows: int, max_columns: int,
                  unsaved: dict[str, set[int]] | None = None, choice: HeaderChoice = HeaderChoice()) -> Table:
    """The first sheet with data, visible sheets before hidden ones.

    `merges` says whether the package may hold merged cells (an xls is always
    asked, since its records cannot be told apart cheaply); `unsaved` gives,
    per sheet, the rows holding formulas with no saved value.
    """
    unsaved = unsaved or {}
    with _named_for(path, kind) as source:
        try:
            reader = fastexcel.read_excel(source)
            names = reader.sheet_names
            hidden: tuple | None = None
            for index, name in enumerate(names):
                found = _sheet_columns(reader, index, source, merges or kind == "xls", choice)
                if found is None:
                    continue
                columns, header, visible = found
                if visible:
                    return _sheet_table(kind, name, columns, header, max_rows, max_columns, unsaved.get(name, ()))
                hidden = hidden or (name, columns, header)
        except (FileRejected, UsageError, KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as exc:  # calamine's Rust panics arrive as BaseException
            raise _failure(exc) from None
    if hidden is not None:
        return _sheet_table(kind, *hidden, max_rows, max_columns, unsaved.get(hidden[0], ()))
    if not names:
        raise FileRejected(NO_SHEETS)
    raise FileRejected(SHEET_EMPTY if len(names) == 1 else ALL_SHEETS_EMPTY)


@contextmanager
def _named_for(path: Path, kind: str):
    """The path under a name calamine takes for the format found in its content.

    calamine picks its reader by the file's extension; a file whose name says
    another format is offered through a link named for what it holds.
    """
    suffix = _SUFFIXES[kind]
    if path.suffix.lower() == suffix or (kind == "xlsm" and path.suffix.lower() == ".xlsx"):
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="contacts-read-") as folder:
        link = os.path.join(folder, "book" + suffix)
        os.symlink(os.path.abspath(path), link)
        yield link


def _failure(exc: BaseException) -> FileRejected:
    message = str(exc).lower()
    if "password" in message or "encrypt" in message:
        return FileRejected(PASSWORD)
    if "cell limit" in message:
        return FileRejected(TOO_MANY_CELLS)
    return FileRejected(DAMAGED)


def _sheet_columns(reader, index: int, source: str, merges: bool,
                   choice: HeaderChoice = HeaderChoice()) -> tuple[list[pa.Array], Header, bool] | None:
    """A sheet's columns as shown text, where its header is and whether the sheet is visible.

    None when the sheet has no header (nothing in it, or only blanks).
    """
    sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string")
    batch, errors = sheet.to_arrow_with_errors()
    if batch.num_rows == 0 or batch.num_columns == 0:
        return None
    texts = _text_cells(reader, index, batch)
    columns, typed = [], {}  # typed: the cells that were booleans or durations, which make no header
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # Arrow's passes release the GIL: columns side by side
        early = list(pool.map(_early_cells, batch.columns))
        shown = list(pool.map(shown_text, batch.columns, [texts.get(j) for j in range(batch.num_columns)]))
    suspects = [j for j, mask in enumerate(early) if mask is not None]
    for j, (text, flags) in enumerate(shown):
        columns.append(text)
        if flags is not None:
            typed[j] = flags
    del shown
    del batch
    if errors is not None and errors.errors:
        _put_error_texts(columns, errors.errors)
    calamine = _calamine_sheet(source, sheet.name) if suspects or merges else None
    if calamine is not None and suspects:
        _take_calamine_text(columns, calamine, {j: early[j] for j in suspects})
        typed.update({j: early[j] if j not in typed else pc.or_(typed[j], early[j]) for j in suspects})
    header = _find_header(columns, typed, choice)
    if header is None:
        return None
    if calamine is not None and merges:
        top = header.index if header.index is not None else header.first - 1
        _fill_merged(columns, calamine.start[1], top, calamine.merged_cell_ranges or ())
    return columns, header, sheet.visible == "visible"


def _early_cells(column: pa.Array) -> pa.Array | None:
    """The cells rendered as a moment before 1900-03-01 (a time, a duration or a date), or None when there are none."""
    mask = pc.fill_null(pc.match_substring_regex(column, _EARLY), False)
    return mask if pc.any(mask).as_py() else None


def _text_cells(reader, index: int, batch: pa.RecordBatch) -> dict[int, pa.Array]:
    """Which cells are text, in the columns where fastexcel's strings leave it open.

    fastexcel writes a boolean as `true` and a negative zero as `-0`, as a text
    cell holding those words would read.  Where a column holds any, the sheet
    is loaded once more, those columns as booleans: every text cell then comes
    back as a cell error, which marks it.
    """
    unsure = [j for j, column in enumerate(batch.columns) if pc.any(pc.is_in(column, value_set=_UNSURE)).as_py()]
    if not unsure:
        return {}
    names = [batch.schema.names[j] for j in unsure]  # by name: fastexcel's column numbers count from column A
    typed = reader.load_sheet(index, header_row=None, skip_rows=0, use_columns=names,
                              dtypes={name: "boolean" for name in names})
    _, errors = typed.to_arrow_with_errors()
    rows: dict[int, list[int]] = {j: [] for j in unsure}
    for error in errors.errors if errors is not None else ():
        if "got 'String(" in error.detail and error.position[1] in rows:
            rows[error.position[1]].append(error.position[0])
    positions = pa.array(range(batch.num_rows), pa.int64())
    return {j: pc.is_in(positions, value_set=pa.array(found, pa.int64())) for j, found in rows.items()}


def _find_header(columns: list[pa.Array], typed: dict[int, pa.Array],
                 choice: HeaderChoice = HeaderChoice()) -> Header | None:
    """guess_header over the first rows, as many as it takes to see HEADER_SCAN_ROWS filled ones.

    Typed cells stand in as numbers: guess_header takes no boolean or duration for a header word.
    The operator's `choice`, when given, replaces the guess.
    """
    height = len(columns[0])
    look = max(1000, choice.header_row or 0)
    if choice:
        rows = [list(row) for row in zip(*(column[:look].to_pylist() for column in columns))]
        return chosen_header(rows, list(range(1, len(rows) + 1)), choice, "row", height)
    while True:
        head = [(pc.if_else(typed[j][:look], "0", column[:look]) if j in typed else column[:look]).to_pylist()
                for j, column in enumerate(columns)]
        rows = [list(row) for row in zip(*head)]
        filled = sum(1 for row in rows if any(row))
        if filled >= HEADER_SCAN_ROWS or look >= height:
            return guess_header(rows)
        look *= 4


def _sheet_table(kind: str, name: str, columns: list[pa.Array], header: Header, max_rows: int,
                 max_columns: int, unsaved: set[int] = ()) -> Table:
    """The sheet's table from its header on; rows of formulas with no saved value are data rows, said so."""
    first = header.first
    if header.index is None:  # no header row: every row is data, the columns named by what they hold
        sample = [column[first : first + 4 * HEADER_SCAN_ROWS].to_pylist() for column in columns]
        names = generated_headers([list(row) for row in zip(*sample)], len(columns))
    else:
        names = [column[header.index].as_py() for column in columns]
    warnings = header_warnings(header, range(1, first + 2), names, "row")
    data = [column[first:] for column in columns]
    unsaved_rows = sorted(r for r in unsaved if r > first)  # sheet rows are 1-based
    missing = unsaved_rows[-1] - first - len(data[0]) if unsaved_rows else 0
    if missing > 0:  # past the last cell with a value: the readers' sheet ends before these rows
        data = [pa.concat_arrays([column, pa.array([""] * missing, pa.string())]) for column in data]
    names, arrays, source_rows, blank = assemble_arrays(names, data, first + 1, max_rows, max_columns,
                                                        [r - first - 1 for r in unsaved_rows])
    if unsaved_rows:
        if set(source_rows) <= set(unsaved_rows) and not any(pc.any(pc.not_equal(a, "")).as_py() for a in arrays):
            raise FileRejected(FORMULAS_UNSAVED)
        many = len(unsaved_rows) > 1
        warnings.append(f"{'Rows' if many else 'Row'} {number_list(unsaved_rows)} {'hold' if many else 'holds'} "
                        "formulas with no saved value; open the file in a spreadsheet program and save it again.")
    return Table(format=kind, sheet=name, header_row=0 if header.index is None else header.index + 1, headers=names,
                 arrays=arrays, source_rows=source_rows, blank_rows=blank, encoding=None, delimiter=None,
                 no_header=header.index is None, warnings=warnings, unsaved_rows=unsaved_rows)


# ---------------------------------------------------------------- the text a spreadsheet program shows

# fastexcel renders dates and times as datetimes (`2020-01-02 00:00:00`, a time as `1899-12-31 12:30:00`);
# ods gives ISO datetimes (`2020-01-02T03:04:05`).
_DATETIME = r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?$"
# Serials below 60 (before 1900-03-01, or 60 days into the 1904 system) as fastexcel renders them: a
# time of day or a duration as much as a date, which only calamine's cell type tells apart.
_EARLY = r"^(?:1899-12-3[01]|1900-0[12]-\d\d|1904-0[12]-\d\d) \d\d:\d\d:\d\d(?:\.\d+)?$"


_UNSURE = pa.array(["true", "false", "-0"])
# fastexcel writes a number with up to nine decimals, not in its shortest form: past fifteen digits in
# all, the last ones are binary noise (`8388608.117187999`, `549755813888.46875`); Python's shortest form
# reads back as the same number (`8388608.117188`, `549755813888.4688`).
_DECIMAL = r"^-?[0-9]+\.[0-9]+$"


def shown_text(column: pa.Array, text_cells: pa.Array | None = None) -> tuple[pa.Array, pa.Array | None]:
    """fastexcel's string rendering of a column turned into the text a spreadsheet program shows.

    Cells are trimmed as str.strip() trims (NULs dropped), booleans are `TRUE`
    and `FALSE`, a negative zero is `0`, datetimes lose a midnight time and
    are rounded to the second, a number with more digits than a double holds
    is written in its shortest form.  Each step looks at the whole column first and
    is skipped when nothing in it applies.  `text_cells` marks the cells known
    to be text, whose `true`, `false` or `-0` stays as written.  Also returns
    the mask of the cells read as booleans (None when there are none).
    """
    column = pc.utf8_trim(column.fill_null(""), characters=PY_WHITESPACE)
    if pc.any(pc.match_substring(column, "\x00")).as_py():
        column = pc.utf8_trim(pc.replace_substring(column, "\x00", ""), characters=PY_WHITESPACE)
    flags = pc.is_in(column, value_set=_UNSURE)
    if text_cells is not None:
        flags = pc.and_not(flags, text_cells)
    if pc.any(flags).as_py():
        column = pc.if_else(flags, pc.if_else(pc.equal(column, "-0"), "0", pc.utf8_upper(column)), column)
    else:
        flags = None
    noisy = pc.and_(pc.match_substring_regex(column, _DECIMAL), pc.greater(pc.utf8_length(column), 16))
    if pc.any(noisy).as_py():
        shortest = [repr(float(text)) for text in column.filter(noisy).to_pylist()]
        column = pc.replace_with_mask(column, noisy, pa.array(shortest, pa.string()))
    moments = pc.match_substring_regex(column, _DATETIME)
    if pc.any(moments).as_py():
        column = pc.replace_with_mask(column, moments, _datetime_text(column.filter(moments)))
    return column, flags


def _datetime_text(texts: pa.Array) -> pa.Array:
    """`2020-01-02 03:04:05.6` -> `2020-01-02 03:04:06`, `2020-01-02 00:00:00` -> `2020-01-02`.

    Whole seconds (nearly every cell) are only cut or copied; Arrow's strftime,
    a few microseconds a value, is left to the cells with a fraction to round.
    """
    texts = pc.replace_substring(texts, "T", " ")
    fraction = pc.match_substring(texts, ".")
    if pc.any(fraction).as_py():
        rounded = pc.floor_temporal(pc.add(pc.cast(texts.filter(fraction), pa.timestamp("us")),
                                           pa.scalar(500_000, pa.duration("us"))), unit="second")
        shown = pc.strftime(rounded.cast(pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
        texts = pc.replace_with_mask(texts, fraction, shown)
    midnight = pc.ends_with(texts, " 00:00:00")
    return pc.if_else(midnight, pc.utf8_slice_codeunits(texts, 0, 10), texts)


_ERROR_TEXT = {"Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
               "Ref": "#REF!", "Value": "#VALUE!", "GettingData": "#GETTING_DATA"}
_GOT = re.compile(r"got '(\w+)\((.*)\)'$", re.S)
_ISO_DURATION = re.compile(r'"PT(\d+)H(\d+)M(\d+)(?:\.(\d+))?S"')


def _put_error_texts(columns: list[pa.Array], errors) -> None:
    """Give back the cells fastexcel could not render as strings: error values and ods times."""
    by_column: dict[int, dict[int, str]] = {}
    for error in errors:
        got = _GOT.search(error.detail)
        if got is None:
            continue
        kind, inner = got.groups()
        text = _ERROR_TEXT.get(inner) if kind == "Error" else _iso_duration_text(inner) if kind == "DurationIso" else None
        if text is not None:
            row, column = error.position
            by_column.setdefault(column, {})[row] = text
    for j, cells in by_column.items():
        values = columns[j].to_pylist()
        for i, text in cells.items():
            values[i] = text
        columns[j] = pa.array(values, pa.string())


def _iso_duration_text(inner: str) -> str | None:
    """An ods time cell as python-calamine gave it: a time of day under 24 hours, else the ISO text."""
    found = _ISO_DURATION.fullmatch(inner)
    if found is None:
        return inner.strip('"')
    hours, minutes, seconds, fraction = found.groups()
    if int(hours) >= 24:
        return inner.strip('"')
    total = int(hours) * 3600 + int(minutes) * 60 + int(seconds) + (fraction is not None and fraction[0] >= "5")
    total %= 86400
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


# ---------------------------------------------------------------- what only python-calamine knows

_MAX_MERGED_FILL = 1_000_000


def _calamine_sheet(source: str, name: str):
    """The sheet as python-calamine reads it (every cell a Python object): only for what fastexcel cannot tell."""
    sheet = python_calamine.CalamineWorkbook.from_path(source).get_sheet_by_name(name)
    return None if sheet.start is None else sheet


def _take_calamine_text(columns: list[pa.Array], sheet, masks: dict[int, pa.Array]) -> None:
    """Early datetimes in these columns take the text of calamine's typed value (time, duration or date)."""
    top = sheet.start[0]
    rows = sheet.to_python()
    for j, mask in masks.items():
        values = column_text([row[j] if j < len(row) else "" for row in rows])
        texts = pa.array([""] * top + values, pa.string())
        if len(texts) == len(columns[j]):
            columns[j] = pc.if_else(mask, texts, columns[j])


def _fill_merged(columns: list[pa.Array], left: int, header_index: int, merged) -> None:
    """Repeat a merged block's value in every cell it covers, where that is the data.

    Blocks starting above the header are titles and stay as they are; a block
    starting on the header row is spread along the header only.
    """
    budget = _MAX_MERGED_FILL
    height = len(columns[0])
    lists: dict[int, list] = {}
    for (row1, column1), (row2, column2) in merged:
        j1, j2 = column1 - left, min(column2 - left, len(columns) - 1)
        if row1 < header_index or not (0 <= row1 < height and 0 <= j1 < len(columns)):
            continue
        row2 = row1 if row1 == header_index else min(row2, height - 1)
        budget -= (row2 - row1 + 1) * (j2 - j1 + 1)
        if budget < 0:
            break
        for j in range(j1, j2 + 1):
            if j not in lists:
                lists[j] = columns[j].to_pylist()
        value = lists[j1][row1]
        for j in range(j1, j2 + 1):
            lists[j][row1 : row2 + 1] = [value] * (row2 - row1 + 1)
    for j, values in lists.items():
        columns[j] = pa.array(values, pa.string())
