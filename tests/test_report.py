"""The xlsx writer against XlsxWriter: the same cells read back, by openpyxl and by python-calamine.

XlsxWriter (constant-memory mode, every cell a string) is the reference; the
project writes its own package for speed.  Values come from the naughty-strings
corpus, hand-picked edge cases and Hypothesis.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import xlsxwriter
from helpers import naughty_strings
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from pipeline.output import write_xlsx, xlsx_text
from pipeline.read import read_table

EDGES = [
    "plain", " leading", "trailing ", "\ttab", "new\nline", "cr\rlf\r\n", "\x00nul", "\x01\x1f\x7f", "bell\x07",
    "_x0041_", "_X0041_", "_x004_", "a_x0000_b", "_xFFFE_", "\ufffe\uffff", "&amp; <b> \"q\" 'a'", "]]>",
    "=1+1", "+972 52", "-3", "@sum", "0523456789", "1e5", "TRUE", "#N/A", "2026-11-27",
    "דנה כהן", "José", "😀👍🏽", "\u200f\u202e rtl", "\ud800lone", "x" * 40_000, " ", "\xa0nbsp\xa0", "\u3000",
    "<r><t>rich</t></r>",
]


def reference_xlsx(path: Path, headers, rows) -> None:
    """What the writer was before: XlsxWriter in constant-memory mode, every cell a string, bold headers."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_numbers": False, "strings_to_urls": False})
    ws = wb.add_worksheet("Rejected rows")
    bold = wb.add_format({"bold": True})
    for c, h in enumerate(headers):
        ws.write_string(0, c, xlsx_text(h), bold)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is not None and v != "":
                ws.write_string(r, c, xlsx_text(v))
    wb.close()


def read_back(path: Path):
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    by_openpyxl = [[c.value for c in row] for row in sheet.iter_rows()]
    bold = [c.font.b for c in next(sheet.iter_rows())]
    by_calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return sheet.title, by_openpyxl, bold, by_calamine


def same_as_reference(tmp_path: Path, headers, rows) -> None:
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    write_xlsx(ours, headers, rows, sheet="Rejected rows")
    reference_xlsx(theirs, headers, rows)
    assert read_back(ours) == read_back(theirs)


def test_edge_values_read_back_as_the_reference_writer_writes_them(tmp_path):
    # XlsxWriter writes a string that looks like rich text (`<r>...</r>`) as raw XML; ours stays text.
    values = [v for v in EDGES if not (v.startswith("<r>") and v.endswith("</r>"))]
    same_as_reference(tmp_path, ["Value", "Next"], [[v, "after"] for v in values])


def test_every_value_reads_back_as_itself(tmp_path):
    path = tmp_path / "ours.xlsx"
    rows = [[v, str(i)] for i, v in enumerate(EDGES)]
    write_xlsx(path, ["Value", "Row"], rows)
    _, by_openpyxl, bold, by_calamine = read_back(path)
    assert bold == [True, True]
    # calamine undoes Excel's _xHHHH_ escapes (openpyxl does not); the two non-characters stay escaped, as in Excel.
    want = [xlsx_text(v) if v != "\ufffe\uffff" else "_xFFFE__xFFFF_" for v in EDGES]
    assert [row[0] for row in by_calamine[1:]] == want
    assert len(want[EDGES.index("x" * 40_000)]) == 32_767, "a cell holds at most what Excel allows"
    assert [row[1] for row in by_openpyxl[1:]] == [str(i) for i in range(len(EDGES))]


def test_naughty_strings_read_back_as_the_reference_writer_writes_them(tmp_path):
    values = [v for v in naughty_strings() if not (v.startswith("<r>") and v.endswith("</r>"))]
    same_as_reference(tmp_path, ["Value", "Reason", "Source row"],
                      [[v, f"invalid: {v[:10]}", str(n)] for n, v in enumerate(values, start=2)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(max_size=30) | st.none() | st.integers(), min_size=1, max_size=4), max_size=12))
def test_generated_cells_read_back_as_the_reference_writer_writes_them(tmp_path_factory, rows):
    rows = [[v for v in row if not (isinstance(v, str) and v.startswith("<r>") and v.endswith("</r>"))] for row in rows]
    same_as_reference(tmp_path_factory.mktemp("w"), ["A", "B", "C", "D"], rows)


def test_a_written_workbook_is_read_by_the_project_reader(tmp_path):
    path = tmp_path / "back.xlsx"
    write_xlsx(path, ["Name", "Mobile", "Email"], [["Dana", "0523456789", ""], [" Avi ", "=1+1", "a@example.com"]])
    table = read_table(path)
    assert table.headers == ["Name", "Mobile", "Email"]
    assert table.columns == [["Dana", "Avi"], ["0523456789", "=1+1"], ["", "a@example.com"]]
    assert table.source_rows == [2, 3]
