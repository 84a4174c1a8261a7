"""A preview's first rows are the first rows the import reads: `read_head` held to `read_table`."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from helpers import CORPORA, naughty_strings
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from pipeline.errors import FileRejected
from pipeline.read import PREVIEW_ROWS, head, read_head, read_table


def _same_start(preview, whole) -> None:
    """The preview is the whole reading's header and first rows, cell for cell."""
    n = len(preview.source_rows)
    assert n <= len(whole.source_rows) and (n > 0) == (len(whole.source_rows) > 0)
    assert preview.headers == whole.headers
    assert preview.header_row == whole.header_row
    assert preview.no_header == whole.no_header
    assert preview.source_rows == whole.source_rows[:n]
    assert [c[:n] for c in preview.columns] == [c[:n] for c in whole.columns]


def _previews_as_it_imports(path: Path) -> None:
    """The preview starts as the whole reading does, or both refuse the file with the same sentence."""
    try:
        whole = read_table(path)
    except FileRejected as e:
        with pytest.raises(FileRejected) as preview:
            read_head(path)
        assert str(preview.value) == str(e)
        return
    _same_start(read_head(path), whole)


def _excel_shaped(path: Path, rows: int, titles: int = 0) -> Path:
    book = xlsxwriter.Workbook(str(path))  # shared strings, as Excel writes them
    sheet = book.add_worksheet("Contacts")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    for t in range(titles):
        sheet.write(t, 0, f"Export {t} of the CRM")
    top = titles + 1 if titles else 0
    sheet.write_row(top, 0, ["Name", "שם משפחה", "Mobile", "Email", "Born", "Score", "VIP"])
    for i in range(rows):
        r = top + 1 + i
        sheet.write(r, 0, ["Dana", "Avi", "José", "😀", "=1+1"][i % 5])
        sheet.write(r, 1, "כהן" if i % 2 else "Levi")
        sheet.write(r, 2, f"05{i % 10}-{i:07d}")
        sheet.write(r, 3, f"u{i}@example.com")
        sheet.write_datetime(r, 4, dt.datetime(1980, 1, 1) + dt.timedelta(days=i), dates)
        sheet.write_number(r, 5, i / 7)
        sheet.write_boolean(r, 6, bool(i % 3))
    book.close()
    return path


@pytest.mark.parametrize("rows", [3, PREVIEW_ROWS - 1, PREVIEW_ROWS, PREVIEW_ROWS + 1, 3000])
@pytest.mark.parametrize("titles", [0, 2])
def test_an_excel_shaped_workbook_previews_as_it_imports(tmp_path, rows, titles):
    path = _excel_shaped(tmp_path / "book.xlsx", rows, titles)
    preview, whole = read_head(path), read_table(path)
    _same_start(preview, whole)
    assert len(preview.source_rows) == min(rows, PREVIEW_ROWS - 1 - titles)  # each title and the header a row
    assert preview.partial == (titles + 1 + rows > PREVIEW_ROWS) and not whole.partial


def test_an_inline_string_workbook_previews_as_it_imports(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["First name", "Phone", "City"])
    for i in range(500):
        sheet.append([f"n{i}", f"052{i:07d}", "תל אביב"])
    book.save(tmp_path / "inline.xlsx")
    _same_start(read_head(tmp_path / "inline.xlsx"), read_table(tmp_path / "inline.xlsx"))


def test_the_preview_package_is_small_and_names_only_the_strings_its_rows_use(tmp_path):
    path = _excel_shaped(tmp_path / "book.xlsx", 5000)
    small = head.head_package(path, tmp_path)
    assert small is not None and small.stat().st_size < path.stat().st_size / 20
    with zipfile.ZipFile(small) as z:
        strings = z.read("xl/sharedStrings.xml")
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert strings.count(b"<si>") <= 5 * PREVIEW_ROWS
    assert sheet.count(b"</row>") == PREVIEW_ROWS and b"<dimension" not in sheet


def test_a_long_text_file_previews_its_first_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(head, "HEAD_BYTES", 4096)
    path = tmp_path / "long.csv"
    path.write_text("Name,Mobile\r\n" + "".join(f"דנה {i},054-{i:07d}\r\n" for i in range(2000)), encoding="utf-8")
    preview, whole = read_head(path), read_table(path)
    _same_start(preview, whole)
    assert 10 < len(preview.source_rows) < 2000


def test_a_file_the_reader_refuses_is_refused_with_the_same_sentence(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<Types><Override ContentType="spreadsheetml.sheet.main"/></Types>')
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<worksheet><sheetData>" + b" " * (300 << 20) + b"</sheetData>")
    with pytest.raises(FileRejected) as whole:
        read_table(bomb)
    with pytest.raises(FileRejected) as preview:
        read_head(bomb)
    assert str(preview.value) == str(whole.value)
    pdf = tmp_path / "x.csv"
    pdf.write_bytes(b"%PDF-1.4 binary")
    with pytest.raises(FileRejected) as refused:
        read_head(pdf)
    assert "not a spreadsheet" in str(refused.value)


WORKBOOKS = sorted(p for p in (CORPORA / "calamine-spreadsheets").glob("*") if p.suffix in (".xlsx", ".xlsm"))


@pytest.mark.parametrize("path", WORKBOOKS, ids=[p.name for p in WORKBOOKS])
def test_every_corpus_workbook_previews_as_it_imports_or_is_refused_alike(path):
    _previews_as_it_imports(path)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.sampled_from(naughty_strings()[:200]), st.integers(-10**6, 10**6),
                                   st.booleans()), min_size=1, max_size=4), min_size=1, max_size=120))
def test_generated_sheets_preview_as_they_import(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("h") / "gen.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Name", "Phone", "Email", "Notes"])
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    book.close()
    _previews_as_it_imports(path)
