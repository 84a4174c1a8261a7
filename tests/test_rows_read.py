"""Every data row a person sees in a file is a row of the table: the reader's side of that promise.

A quote that never closes, rows wider than the header, a file with no header
row, title and blank rows: none makes a data row vanish, become the header or
swallow the rows after it, and where the reader guesses, the table says so.
Each case is read through both text paths (the Arrow fast path and the csv
module's) where it can take both, and through `read_text_rows` as a paste.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ReadLimits
from pipeline.errors import FileRejected
from pipeline.read import Table, read_table, read_text_rows
from pipeline.read.text import read_text

STRAY = ("{} a quote mark that never closes; it was read as part of the text, and each line after it as a row "
         "of its own.")


def rows_of(table: Table) -> list[list[str]]:
    return [list(row) for row in zip(*table.columns)]


def both_paths(text: str) -> Table:
    """The table of a text, checked to be the same through the fast path, the careful path and a paste."""
    careful = read_text(text, None, ReadLimits.max_rows, ReadLimits.max_columns, fast=False)
    fast = read_text(text, None, ReadLimits.max_rows, ReadLimits.max_columns)
    assert fast == careful
    assert read_text_rows(text) == careful
    return careful


# ---------------------------------------------------------------- 1. a quote that never closes


def test_a_quote_that_never_closes_keeps_each_line_a_row(tmp_path):
    text = 'name,phone\n"Dana,0521234567\nAvi,0521234568\nNoa,0521234569\n'
    table = both_paths(text)
    assert rows_of(table) == [['"Dana', "0521234567"], ["Avi", "0521234568"], ["Noa", "0521234569"]]
    assert table.source_rows == [2, 3, 4]
    assert table.warnings == [STRAY.format("Line 2 holds")]
    path = tmp_path / "quote.csv"
    path.write_text(text, encoding="utf-8")
    assert read_table(path) == Table(**{**vars_of(table), "encoding": "utf-8"})


def vars_of(table: Table) -> dict:
    return {name: getattr(table, name) for name in ("format", "sheet", "header_row", "headers", "source_rows",
                                                    "blank_rows", "encoding", "delimiter", "no_header", "warnings")
            } | {"columns": table.columns}


def test_a_stray_quote_inside_a_value_is_text():
    table = both_paths('name,phone\nDana "the boss,0521234567\nAvi,0521234568\n')
    assert rows_of(table) == [['Dana "the boss', "0521234567"], ["Avi", "0521234568"]]
    assert table.warnings == []


def test_an_opening_quote_late_in_a_row_keeps_its_cells_and_the_next_rows():
    table = both_paths('name,phone,note\nDana,0521234567,"about, him\nAvi,0521234568,x\n')
    assert rows_of(table) == [["Dana", "0521234567", '"about', "him"], ["Avi", "0521234568", "x", ""]]
    assert table.source_rows == [2, 3]


def test_a_later_quote_closes_an_open_one_as_spreadsheet_programs_read_it():
    # The second quote closes the first one's value: lines 2-4 read as one row, as any spreadsheet program reads
    # them, and the quote is not one that never closes.
    table = both_paths('name,phone\n"Dana,0521234567\nAvi,0521234568\n"Noa,0521234569\nTal,0521234560\n')
    assert (table.source_rows, table.warnings) == ([2, 5], [])
    assert rows_of(table)[0] == ["Dana,0521234567\nAvi,0521234568\nNoa", "0521234569"]


def test_a_quoted_value_that_closes_keeps_its_lines_together():
    table = both_paths('name,note\nDana,"two\nlines"\nAvi,plain\n')
    assert rows_of(table) == [["Dana", "two\nlines"], ["Avi", "plain"]]
    assert (table.source_rows, table.warnings) == ([2, 4], [])


def test_a_quote_opened_after_a_closed_multiline_value_reads_from_there():
    table = both_paths('a,b,c\nx,"multi\nline",z,"bad, 1\nq,w\n')
    assert rows_of(table) == [["x", "multi\nline", "z", '"bad', " 1".strip()], ["q", "w", "", "", ""]]
    assert table.source_rows == [2, 4]
    assert table.warnings == [STRAY.format("Line 3 holds")]


def test_crlf_and_lone_cr_lines_after_a_stray_quote():
    table = both_paths('a,b\r\nx,"bad\r\ny,z\rq,w')
    assert rows_of(table) == [["x", '"bad'], ["y", "z"], ["q", "w"]]
    assert table.source_rows == [2, 3, 4]


def test_a_quote_that_runs_past_the_field_limit_is_read_the_same_way():
    text = 'name,phone\n"Dana,0521234567\n' + "Avi,0521234568\n" * 20_000 + "Noa,\"0521234569\n"
    table = both_paths(text)
    assert len(table.source_rows) == 20_002 and table.source_rows[-1] == 20_003
    assert table.warnings == [STRAY.format("Lines 2 and 20,003 hold").replace("20,003", "20003")]


# ---------------------------------------------------------------- 2. rows wider than the header


@pytest.mark.parametrize("body", [
    "Dana,0521234567,Tel Aviv,Haifa,x,y\nAvi,0521234568,a,b,c,d\n",   # with phones
    "Dana,Cohen,Tel Aviv,Haifa,x\nAvi,Levi,Tel Aviv,Haifa,y\n",       # words only
])
def test_rows_wider_than_the_first_line_header_never_push_it_out(body):
    table = both_paths("name,phone\n" + body)
    assert (table.header_row, table.headers[:2], table.source_rows) == (1, ["name", "phone"], [2, 3])
    assert rows_of(table)[0][:2] == body.split("\n")[0].split(",")[:2]


def test_a_header_under_a_title_is_found_over_wider_rows():
    table = both_paths("Contacts 2026\n\nname,phone\nDana,0521234567,Tel Aviv,Haifa,x\nAvi,0521234568,a,b,c\n")
    assert (table.header_row, table.source_rows) == (3, [4, 5])
    assert table.warnings == ["Line 1 above the header (line 3) was read as a title, not as data."]


def test_rows_above_the_header_are_reported(tmp_path):
    path = tmp_path / "numbers-first.csv"
    path.write_text("Report,,\n1,2,3\n4,5,6\nname,phone,city\nDana,0521234567,Haifa\n", encoding="utf-8")
    table = read_table(path)
    assert table.header_row == 4
    assert table.warnings == ["Lines 1-3 above the header (line 4) were read as titles, not as data."]


# ---------------------------------------------------------------- 3. no header row


@pytest.mark.parametrize(("text", "headers", "rows"), [
    ("0587776655\n0587776656\n", ["Phone"], [["0587776655"], ["0587776656"]]),
    ("Dana,0587776655,dana@example.com\nAvi,12,avi@example.com\n", ["Column 1", "Phone", "Email"],
     [["Dana", "0587776655", "dana@example.com"], ["Avi", "12", "avi@example.com"]]),
    ("dana@example.com;Dana\nAvi;x\n", ["Email", "Column 2"], [["dana@example.com", "Dana"], ["Avi", "x"]]),
    ("\n\n1,2\n3,4\n", ["Column 1", "Column 2"], [["1", "2"], ["3", "4"]]),
])
def test_a_file_with_no_header_row_is_all_data(text, headers, rows):
    table = both_paths(text)
    assert (table.no_header, table.header_row, table.headers, rows_of(table)) == (True, 0, headers, rows)
    first = text.index(rows[0][0])
    assert table.source_rows[0] == text[:first].count("\n") + 1
    assert table.warnings[-1].startswith("The file has no header row, so every line was read as data")


def test_a_title_over_rows_with_no_header():
    table = both_paths("Contacts\n0587776655,Dana\n0587776656,Avi\n")
    assert (table.no_header, table.headers, table.source_rows) == (True, ["Phone", "Column 2"], [2, 3])
    assert table.warnings[0] == "Line 1 above the data was read as a title, not as data."


def test_a_big_headerless_file_streams_as_the_careful_path_reads(tmp_path):
    text = "".join(f"05{n:08d},name {n}\n" for n in range(120_000))
    path = tmp_path / "big.csv"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    assert table._arrays is not None, "a plain file takes the fast path"
    assert table == read_text(text, "utf-8", ReadLimits.max_rows, ReadLimits.max_columns, fast=False)
    assert (table.no_header, len(table.source_rows), table.source_rows[0]) == (True, 120_000, 1)


def test_a_workbook_with_no_header_row_is_all_data(tmp_path):
    from helpers import xlsx
    path = xlsx(tmp_path / "bare.xlsx", [[523456781, "Avi"], ["052-345-6782", "Dana"]])
    table = read_table(path)
    assert (table.no_header, table.header_row, table.headers) == (True, 0, ["Phone", "Column 2"])
    assert (rows_of(table), table.source_rows) == ([["523456781", "Avi"], ["052-345-6782", "Dana"]], [1, 2])


def test_a_header_never_holds_a_phone_or_an_e_mail():
    assert not both_paths("Museum,2011,2010\nLouvre,1,2\n").no_header
    assert not both_paths("email\na@example.com\n").no_header
    assert both_paths("Name,a@example.com\nDana,b@example.com\n").no_header


# ---------------------------------------------------------------- 5. a line too long to be a row


def test_a_huge_line_with_no_quotes_is_refused_as_too_long(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("name,phone\nDana,0521234567\n" + "x" * 300_000 + "\nAvi,0521234568\n", encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        read_table(path)
    assert str(caught.value) == ("Line 3 holds a value of more than 131,072 characters, longer than any contact row "
                                 "can be; this is not a list of contacts, or its lines are not separated.")


# ---------------------------------------------------------------- 4. formulas with no saved value

UNSAVED = "formulas with no saved value; open the file in a spreadsheet program and save it again."


def formula_book(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)  # openpyxl writes formulas without computing them
    return path


def test_rows_of_formulas_with_no_saved_value_are_data_rows_said_so(tmp_path):
    path = formula_book(tmp_path / "formulas.xlsx",
                        [["name", "phone"], ["Dana", "0523456781"], ["=A2", "=B2"], [None, "=B2"], ["Avi", "=1+1"],
                         [None, None], ["=A2", None]])
    table = read_table(path)
    assert table.source_rows == [2, 3, 4, 5, 7] and table.blank_rows == 1
    assert rows_of(table)[1:] == [["", ""], ["", ""], ["Avi", ""], ["", ""]]
    assert table.warnings == ["Rows 3, 4, 5 and 7 hold " + UNSAVED]


def test_a_sheet_whose_data_is_all_unsaved_formulas_is_refused(tmp_path):
    path = formula_book(tmp_path / "formulas.xlsx", [["name", "phone"], ["=1", "=2"], ["=A2", "=B2"]])
    with pytest.raises(FileRejected) as caught:
        read_table(path)
    assert str(caught.value) == "The rows hold " + UNSAVED


def test_formulas_with_saved_values_are_read_as_before(tmp_path):
    from test_read import sheet_xml, write_xlsx
    cell = '<c r="B2" t="str"><f>C2</f><v>0523456781</v></c>'
    blank = '<c r="B3" t="str"><f>""</f><v></v></c>'
    path = write_xlsx(tmp_path / "saved.xlsx", {"S": sheet_xml({"A1": "name", "B1": "phone", "A2": "Dana",
                                                                "B2": cell, "A3": "Avi", "B3": blank})})
    table = read_table(path)
    assert (rows_of(table), table.warnings) == ([["Dana", "0523456781"], ["Avi", ""]], [])


def test_unsaved_formula_rows_are_found_on_the_sheet_they_are_on(tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["note"])
    book.active.append(["=1+1"])
    book.active.sheet_state = "hidden"
    contacts = book.create_sheet("Contacts & more")
    for row in (["name", "phone"], ["Dana", "0523456781"], ["Avi", "0523456782"]):
        contacts.append(row)
    book.save(tmp_path / "two.xlsx")
    table = read_table(tmp_path / "two.xlsx")
    assert (table.sheet, table.source_rows, table.warnings) == ("Contacts & more", [2, 3], [])


def test_a_headerless_column_mixing_phones_and_e_mails_is_named_for_neither():
    # The list commands read such a column by content; under `Phone` its e-mails would be invalid phones.
    table = both_paths("0523456781\nnoa@example.com\n0523456782\n")
    assert (table.no_header, table.headers) == (True, ["Column 1"])
