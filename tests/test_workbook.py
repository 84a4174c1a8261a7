"""The fastexcel reader against a second reading: python-calamine's Python values through the old text rules.

Every workbook here is read twice: by `read_table` and by `second_reading`,
which builds each cell as a Python object with python-calamine and turns it
into text with `column_text`, finds the header with `find_header` and drops
blank rows with `assemble`, as the reader before fastexcel did.  Both must
give a table (a refusal or a missing answer on either side fails the test),
and the tables must be equal.

Where the two readings differ on purpose, the second reading is given the new
rule or the generated values stay clear of it, and `test_read.py` pins the new
behaviour: a number shows at most 9 decimals, close to what
Excel shows it (`0.1 + 0.2` is `0.3`, `44333.920000000006` is `44333.92`);
numbers past 1e15 or below 1e-4 are written out in full, error cells keep their text (python-calamine gives
them as empty), a duration of 60 days or more shows as the date it counts to,
and text that reads exactly like fastexcel's datetimes (`2020-01-02 00:00:00`)
shows as a date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import python_calamine
import xlsxwriter
import xlwt
from helpers import CORPORA, naughty_strings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table as OdsTable
from odf.table import TableCell, TableRow
from odf.text import P
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline.read import Table, read_table
from pipeline.read.table import (
    assemble,
    column_text,
    generated_headers,
    guess_header,
    header_warnings,
    text_columns,
)

BIG = 10**9
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
# Refused whole by both readers (test_read.py pins the sentences), or holding error cells.
NOT_COMPARED = {"pass_protected.xlsx", "pass_protected.xlsb", "pass_protected.ods", "issue_385.xls",
                "issue_594_dos.ods", "empty_sheet.xlsx", "issue_666_panic.xlsb", "issue281.xlsm", "vba.xlsm",
                "too_small.xls", "errors.xlsx"}


def second_reading(path: Path) -> Table:
    """The old calamine path: Python values, the old text rules, merged blocks filled."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    visible = python_calamine.SheetVisibleEnum.Visible
    metadata = book.sheets_metadata
    names = [m.name for m in metadata if m.visible == visible] + [m.name for m in metadata if m.visible != visible]
    for name in names:
        sheet = book.get_sheet_by_name(name)
        if sheet.start is None:
            continue
        rows = [[shown_float(v) if type(v) is float else v for v in row] for row in sheet.to_python()]
        guess = guess_header(rows)
        if guess is None:
            continue
        top, left = sheet.start
        index = guess.index if guess.index is not None else guess.first - 1
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            fill_merged(rows, top, left, index, sheet.merged_cell_ranges or ())
        width = max(map(len, rows))
        if guess.index is None:
            header = generated_headers([column_text(row) for row in rows[guess.first:]], width)
        else:
            header = column_text(rows[index])
        warnings = header_warnings(guess, range(top + 1, top + guess.first + 2), header, "row")
        columns = text_columns(rows[guess.first :], len(header))
        header, columns, source_rows, blank = assemble(header, columns, top + guess.first + 1, None, BIG, BIG)
        return Table(format=read_table(path).format, sheet=name, header_row=0 if guess.index is None else top + index + 1,
                     headers=header, columns=columns, source_rows=source_rows, blank_rows=blank, encoding=None,
                     delimiter=None, no_header=guess.index is None, warnings=warnings)
    raise AssertionError(f"{path.name}: the second reading found no sheet with data")


def shown_float(value: float) -> float:
    """A number as fastexcel renders it: rounded to 9 decimals."""
    return round(value, 9)


def fill_merged(rows, top, left, header_index, merged):
    for (row1, column1), (row2, column2) in merged:
        i1, j1 = row1 - top, column1 - left
        if i1 < header_index or not (0 <= i1 < len(rows) and 0 <= j1 < len(rows[0])):
            continue
        i2 = i1 if i1 == header_index else min(row2 - top, len(rows) - 1)
        for i in range(i1, i2 + 1):
            for j in range(j1, min(column2 - left, len(rows[0]) - 1) + 1):
                rows[i][j] = rows[i1][j1]


def check(path: Path) -> Table:
    ours = read_table(path)
    theirs = second_reading(path)
    assert isinstance(ours, Table) and isinstance(theirs, Table)
    assert ours == theirs, f"{path.name}: ours {ours!r} {ours.columns!r}, second reading {theirs!r} {theirs.columns!r}"
    return ours


def corpus_workbooks() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*") if p.suffix.lower() in WORKBOOK_SUFFIXES and p.is_file()
                  and p.name not in NOT_COMPARED)


@pytest.mark.parametrize("path", corpus_workbooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_workbooks_read_as_the_second_reading_reads_them(path):
    check(path)


def test_corpora_are_walked():
    if not CORPORA.is_dir():
        pytest.skip("the shared corpora are not present")
    assert len(corpus_workbooks()) >= 20


# ---------------------------------------------------------------- writers


def write_openpyxl(path: Path, rows: list[list], start: tuple[int, int] = (1, 1)) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    for r, row in enumerate(rows, start[0]):
        for c, value in enumerate(row, start[1]):
            if value is not None:
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text, even when it starts with "="
    book.save(path)
    return path


def write_xlsxwriter(path: Path, rows: list[list], start: tuple[int, int] = (1, 1)) -> Path:
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    sheet = book.add_worksheet("Contacts")
    dates = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for r, row in enumerate(rows, start[0] - 1):
        for c, value in enumerate(row, start[1] - 1):
            if isinstance(value, (dt.datetime, dt.date)):
                sheet.write_datetime(r, c, value, dates)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def write_xls(path: Path, rows: list[list], start: tuple[int, int] = (1, 1)) -> Path:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Contacts")
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for r, row in enumerate(rows, start[0] - 1):
        for c, value in enumerate(row, start[1] - 1):
            if isinstance(value, (dt.datetime, dt.date)):
                sheet.write(r, c, value, dates)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, rows: list[list], start: tuple[int, int] = (1, 1)) -> Path:
    doc = OpenDocumentSpreadsheet()
    table = OdsTable(name="Contacts")
    for _ in range(start[0] - 1):
        table.addElement(TableRow())
    for row in rows:
        element = TableRow()
        for value in [None] * (start[1] - 1) + list(row):
            element.addElement(ods_cell(value))
        table.addElement(element)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def ods_cell(value) -> TableCell:
    if value is None:
        return TableCell()
    if isinstance(value, bool):
        cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
    elif isinstance(value, (int, float)):
        cell = TableCell(valuetype="float", value=repr(float(value)))
    elif isinstance(value, dt.datetime):
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
    else:
        cell = TableCell(valuetype="string")
    cell.addElement(P(text=str(value)))
    return cell


WRITERS = {"openpyxl.xlsx": write_openpyxl, "xlsxwriter.xlsx": write_xlsxwriter, "xlwt.xls": write_xls,
           "odfpy.ods": write_ods}


# ---------------------------------------------------------------- generated sheets

words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=10).filter(
    lambda s: not ILLEGAL_CHARACTERS_RE.search(s))
cells = st.one_of(
    st.none(),
    words,
    st.sampled_from(["true", "FALSE", "-0", "0521234567", "  padded ", "#N/A"]),
    st.integers(-10**12, 10**12),
    st.floats(-1e12, 1e12, allow_nan=False).filter(lambda f: f == 0 or abs(f) >= 1e-4).map(lambda f: round(f, 6)),
    st.booleans(),
    st.datetimes(dt.datetime(1901, 1, 1), dt.datetime(2099, 12, 31)).map(lambda d: d.replace(microsecond=0)),
)
header_word = st.from_regex(r"[A-Za-z][A-Za-z ]{0,8}", fullmatch=True)


@st.composite
def sheets(draw):
    width = draw(st.integers(1, 5))
    header = draw(st.lists(header_word, min_size=width, max_size=width))
    body = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=12))
    titles = draw(st.lists(st.just(["Export"]), max_size=1))
    return titles + [header] + body


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=sheets(), start=st.sampled_from([(1, 1), (3, 2)]))
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_generated_sheets_read_as_the_second_reading_reads_them(tmp_path_factory, writer, rows, start):
    path = tmp_path_factory.mktemp("g") / f"sheet.{writer.split('.')[1]}"
    check(WRITERS[writer](path, rows, start))


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_kind_of_value_reads_alike(tmp_path, writer):
    rows = [["Name", "Phone", "Born", "Active", "Score"],
            ["Dana", 972523456789, dt.datetime(1980, 2, 3), True, 12.5],
            ["Avi", "0521234567", dt.datetime(2024, 5, 1, 13, 45, 10), False, -5],
            [None, None, None, None, None],
            ["true", "-0", "2024-05-01", "FALSE", 0.1]]
    table = check(WRITERS[writer](tmp_path / f"values.{writer.split('.')[1]}", rows))
    assert table.columns[3] == ["TRUE", "FALSE", "FALSE"]


def test_naughty_strings_read_alike(tmp_path):
    strings = [s for s in naughty_strings(split_lines=False) if not ILLEGAL_CHARACTERS_RE.search(s)]
    check(write_xlsxwriter(tmp_path / "naughty.xlsx", [["value"]] + [[s] for s in strings]))


def test_merged_blocks_read_alike(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Contacts export"])
    sheet.append(["Group", "Phone", None, "Name"])
    sheet.append(["VIP", "0521111111", "0522222222", "Dana"])
    sheet.append([None, "0523333333", None, "Avi"])
    for block in ("A1:D1", "B2:C2", "A3:A4"):
        sheet.merge_cells(block)
    book.save(tmp_path / "merged.xlsx")
    assert check(tmp_path / "merged.xlsx").columns[0] == ["VIP", "VIP"]


def test_times_and_short_durations_take_calamines_reading(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["clock", "span", "day"])
    sheet.append([dt.time(8, 30), dt.timedelta(hours=30, minutes=5), dt.datetime(1900, 1, 5)])
    sheet.append([dt.time(23, 59, 59), dt.timedelta(seconds=90), dt.datetime(2020, 1, 2)])
    book.save(tmp_path / "times.xlsx")
    table = check(tmp_path / "times.xlsx")
    assert table.columns[:2] == [["08:30:00", "23:59:59"], ["1 day, 6:05:00", "0:01:30"]]


def test_formulas_without_a_cached_value_leave_an_empty_cell(tmp_path):
    # openpyxl writes formulas with no cached value: neither fastexcel nor calamine gives anything for them.
    rows = [["Name", "Phone", "Double"], ["Dana", 5, "=B2*2"], [None, None, "=B3*2"]]
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / "formulas.xlsx")
    # The zip guard's scan finds them, so their rows stay data rows (test_rows_read.py pins the rest); the second
    # reading, which cannot know, is not asked.
    table = read_table(tmp_path / "formulas.xlsx")
    assert table.columns == [["Dana", ""], ["5", ""], ["", ""]] and table.source_rows == [2, 3]
    assert table.warnings == ["Rows 2 and 3 hold formulas with no saved value; open the file in a spreadsheet "
                              "program and save it again."]
