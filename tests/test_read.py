"""Reading spreadsheets and text files into tables of text cells.

Every file here is real: written by openpyxl, assembled by hand from zip and XML
(or compound-file) bytes, or taken from the shared corpora of broken and odd
files.  Nothing is mocked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import time
import zipfile
from pathlib import Path

import pytest
from helpers import CORPORA, corpus, naughty_strings
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from python_calamine import CalamineWorkbook

from pipeline.config import ReadLimits
from pipeline.errors import FileRejected
from pipeline.read import Table, read_table, read_text_rows

PASSWORD = "The workbook is password-protected; save it without a password and drop it again."
NOT_READABLE = "The file is not a spreadsheet or a text file; save it as .xlsx or .csv and drop it again."
DAMAGED = "The workbook is damaged or truncated and cannot be read."
TOO_MANY_CELLS = (
    "The sheet has cells scattered too far down or to the right to be read; "
    "delete the stray cells beyond the data and save it again."
)


# ---------------------------------------------------------------- builders


def rows_of(table: Table) -> list[list[str]]:
    """The data rows of a table, row-major, for easy comparison."""
    return [list(row) for row in zip(*table.columns)]


def write_openpyxl(path: Path, rows: list[list], sheet: str = "Contacts") -> Path:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    workbook.save(path)
    return path


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
    "{sheets}</Types>"
)
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def cell_xml(ref: str, value) -> str:
    if isinstance(value, str):
        if value.startswith("<"):
            return value  # raw XML given by the test
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def sheet_xml(cells: dict[str, object], dimension: str | None = None, extra_rows: str = "") -> str:
    by_row: dict[int, list[str]] = {}
    for ref, value in cells.items():
        number = int("".join(ch for ch in ref if ch.isdigit()))
        by_row.setdefault(number, []).append(cell_xml(ref, value))
    body = "".join(f'<row r="{n}">{"".join(by_row[n])}</row>' for n in sorted(by_row))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{body}{extra_rows}</sheetData></worksheet>"
    )


def write_xlsx(path: Path, sheets: dict[str, str], main: str = XLSX_MAIN) -> Path:
    """A workbook written by hand: sheet name -> worksheet XML, in order."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
        + "</sheets></workbook>"
    )
    relations = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        + "</Relationships>"
    )
    package = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main, sheets=overrides))
        archive.writestr("_rels/.rels", package)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", relations)
        for i, xml in enumerate(sheets.values(), 1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", xml)
    return path


ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"


def write_ods(path: Path, rows: list[list], *, encrypted: bool = False, mimetype: str = ODS_MIME) -> Path:
    def cell(value) -> str:
        if isinstance(value, str):
            return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(map(cell, row)) + "</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Contacts">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    secret = (
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/>' if encrypted else ""
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        f'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">{secret}'
        "</manifest:file-entry></manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def ole_bytes(streams: list[str], tail: bytes = b"") -> bytes:
    """A compound file's header and directory sector naming these streams."""
    directory = b""
    for name in ["Root Entry", *streams]:
        raw = (name + "\x00").encode("utf-16-le")
        directory += raw.ljust(64, b"\x00") + len(raw).to_bytes(2, "little") + bytes(62)
    directory = directory.ljust(512 * -(-len(directory) // 512), b"\x00")
    return OLE_MAGIC + bytes(504) + directory + tail


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rejected(path: Path, **limits) -> str:
    with pytest.raises(FileRejected) as caught:
        read_table(path, ReadLimits(**limits))
    return str(caught.value)


# ---------------------------------------------------------------- format by content


def test_xlsx_reads_headers_cells_and_rows(tmp_path):
    path = write_openpyxl(tmp_path / "crm.xlsx", [["Name", "Mobile"], ["Dana", 972523456789], ["Avi", "0521234567"]])
    table = read_table(path)
    assert table == Table(
        format="xlsx",
        sheet="Contacts",
        header_row=1,
        headers=["Name", "Mobile"],
        columns=[["Dana", "Avi"], ["972523456789", "0521234567"]],
        source_rows=[2, 3],
        blank_rows=0,
        encoding=None,
        delimiter=None,
    )


@pytest.mark.parametrize("name", ["contacts.csv", "contacts.xls", "contacts.ods", "contacts", "contacts.xlsb"])
def test_format_comes_from_content_not_name(tmp_path, name):
    path = write_openpyxl(tmp_path / name, [["Name", "Mobile"], ["Dana", 972523456789]])
    table = read_table(path)
    assert table.format == "xlsx"
    assert rows_of(table) == [["Dana", "972523456789"]]


def test_xlsm_is_told_apart_by_its_content_type(tmp_path):
    xml = sheet_xml({"A1": "Name", "B1": "Mobile", "A2": "Dana", "B2": 523456789})
    path = write_xlsx(tmp_path / "macro.xlsx", {"Data": xml}, main=XLSM_MAIN)
    table = read_table(path)
    assert table.format == "xlsm"
    assert rows_of(table) == [["Dana", "523456789"]]


def test_ods_is_read_and_named_by_content(tmp_path):
    path = write_ods(tmp_path / "list.xlsx", [["name", "phone"], ["Dana", 972523456789], ["Avi", 523456789.0]])
    table = read_table(path)
    assert (table.format, table.sheet, table.headers) == ("ods", "Contacts", ["name", "phone"])
    assert rows_of(table) == [["Dana", "972523456789"], ["Avi", "523456789"]]


def test_an_encrypted_ods_is_password_protected(tmp_path):
    path = write_ods(tmp_path / "secret.ods", [["name"], ["Dana"]], encrypted=True)
    assert rejected(path) == PASSWORD


def test_an_opendocument_text_is_not_a_spreadsheet(tmp_path):
    path = write_ods(tmp_path / "letter.ods", [["name"]], mimetype="application/vnd.oasis.opendocument.text")
    assert rejected(path) == NOT_READABLE


def test_xls_renamed_is_still_xls(tmp_path):
    source = CORPORA / "calamine-spreadsheets" / "date.xls"
    if not source.exists():
        pytest.skip("the shared corpora are not present")
    path = tmp_path / "export.csv"
    path.write_bytes(source.read_bytes())
    assert read_table(path).format == "xls"


@pytest.mark.parametrize("name", ["book.xlsx", "book.csv", "book.xls"])
def test_an_ole_file_holding_an_encrypted_package_is_password_protected(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(ole_bytes(["EncryptionInfo", "EncryptedPackage"]))
    assert rejected(path) == PASSWORD


def test_an_xls_with_a_filepass_record_is_password_protected(tmp_path):
    bof = b"\x09\x08\x10\x00" + bytes(16)
    filepass = b"\x2f\x00\x36\x00" + bytes(54)
    path = tmp_path / "old.xls"
    path.write_bytes(ole_bytes(["Workbook"], tail=bof + filepass))
    assert rejected(path) == PASSWORD


def test_an_ole_file_without_a_workbook_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "letter.xls"
    path.write_bytes(ole_bytes(["WordDocument", "1Table"]))
    assert rejected(path) == NOT_READABLE


def test_a_broken_xls_is_damaged(tmp_path):
    path = tmp_path / "broken.xls"
    path.write_bytes(ole_bytes(["Workbook"]))
    assert rejected(path) == DAMAGED


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 4,
        bytes(4096),
        random.Random(7).randbytes(8192),
        b"GIF89a" + bytes(100),
    ],
    ids=["png", "pdf", "nul-bytes", "random-bytes", "gif"],
)
def test_binary_files_are_not_spreadsheets_or_text(tmp_path, content):
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    assert rejected(path) == NOT_READABLE


def test_a_web_page_saved_as_xls_is_refused_plainly(tmp_path):
    path = write_csv(tmp_path / "export.xls", "<html><body><table><tr><td>Name</td></tr></table></body></html>")
    message = rejected(path)
    assert "web page" in message and "\n" not in message


def test_a_plain_zip_or_a_word_document_is_not_a_spreadsheet(tmp_path):
    plain = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("notes.txt", "hello")
    word = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(word, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<document/>")
    assert rejected(plain) == NOT_READABLE
    assert rejected(word) == NOT_READABLE


def test_a_truncated_workbook_is_damaged(tmp_path):
    whole = write_openpyxl(tmp_path / "whole.xlsx", [["Name", "Mobile"]] + [[f"n{i}", i] for i in range(500)])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert rejected(cut) == DAMAGED


def test_a_workbook_with_broken_sheet_xml_is_damaged(tmp_path):
    path = write_xlsx(tmp_path / "bad.xlsx", {"Data": "<worksheet><sheetData><row r='1'><c r='A1' t='s'><v>7</v>"})
    assert rejected(path) == DAMAGED


# ---------------------------------------------------------------- zip bombs and huge sheets


def test_a_member_packed_like_a_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=XLSX_MAIN, sheets=""))
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 30_000_000)
    message = rejected(path)
    assert "zip bomb" in message


def test_a_zip_declaring_gigabytes_is_refused_before_opening(tmp_path):
    path = write_openpyxl(tmp_path / "liar.xlsx", [["Name"], ["Dana"]])
    data = bytearray(path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position >= 0:  # every central-directory entry now claims about 4 GB
        data[position + 24 : position + 28] = (0xFFFFFF00).to_bytes(4, "little")
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))
    assert "zip bomb" in rejected(path)


@pytest.mark.timeout(20)
def test_an_xml_entity_bomb_is_refused_quickly(tmp_path):
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    assert rejected(write_xlsx(tmp_path / "laughs.xlsx", {"Data": xml})) == DAMAGED


@pytest.mark.timeout(20)
def test_a_declared_xfd1048576_dimension_reads_quickly(tmp_path):
    xml = sheet_xml({"A1": "Name", "B1": "Mobile", "A2": "Dana", "B2": 972523456789}, dimension="A1:XFD1048576")
    path = write_xlsx(tmp_path / "dimension.xlsx", {"Data": xml})
    started = time.monotonic()
    table = read_table(path)
    assert time.monotonic() - started < 5
    assert (table.headers, rows_of(table), table.blank_rows) == (["Name", "Mobile"], [["Dana", "972523456789"]], 0)


@pytest.mark.timeout(20)
def test_a_million_declared_empty_rows_read_quickly(tmp_path):
    empty_rows = "".join(f'<row r="{n}" ht="15" customHeight="1"/>' for n in range(3, 1_048_577))
    xml = sheet_xml({"A1": "Name", "B1": "Mobile", "A2": "Dana", "B2": 523456789}, extra_rows=empty_rows)
    path = write_xlsx(tmp_path / "styled-rows.xlsx", {"Data": xml})
    started = time.monotonic()
    table = read_table(path)
    assert time.monotonic() - started < 10
    assert (rows_of(table), table.source_rows, table.blank_rows) == ([["Dana", "523456789"]], [2], 0)


@pytest.mark.timeout(20)
def test_a_real_cell_at_row_one_million_reads_quickly(tmp_path):
    xml = sheet_xml({"A1": "Name", "B1": "Mobile", "A2": "Dana", "B2": 523456789, "A1000000": "Last"})
    path = write_xlsx(tmp_path / "far.xlsx", {"Data": xml})
    started = time.monotonic()
    table = read_table(path)
    assert time.monotonic() - started < 10
    assert rows_of(table) == [["Dana", "523456789"], ["Last", ""]]
    assert table.source_rows == [2, 1_000_000]
    assert table.blank_rows == 1_000_000 - 3


@pytest.mark.timeout(20)
def test_a_stray_cell_at_the_far_corner_is_refused_not_allocated(tmp_path):
    # calamine would try to allocate half a terabyte for this and abort the process.
    xml = sheet_xml({"A1": "Name", "B1": "Mobile", "A2": "Dana", "XFD1048576": "stray"})
    path = write_xlsx(tmp_path / "corner.xlsx", {"Data": xml})
    assert rejected(path) == TOO_MANY_CELLS


def test_far_cells_with_no_content_do_not_count(tmp_path):
    xml = sheet_xml(
        {
            "A1": "Name",
            "B1": "Mobile",
            "A2": "Dana",
            "B2": 5,
            "XFD1048576": '<c r="XFD1048576" s="3"/>',
            "ZZ900000": '<c r="ZZ900000" s="1"/>',
        }
    )
    table = read_table(write_xlsx(tmp_path / "styled.xlsx", {"Data": xml}))
    assert rows_of(table) == [["Dana", "5"]]


# ---------------------------------------------------------------- cells as text


def test_cells_read_as_the_text_a_spreadsheet_shows(tmp_path):
    header = ["int", "whole", "short", "sci", "half", "flag", "midnight", "moment", "day", "clock", "span", "padded"]
    values = [
        972523456789,
        972523456789.0,
        523456789.0,
        9.72523456789e11,
        12.5,
        True,
        dt.datetime(2024, 5, 1),
        dt.datetime(2024, 5, 1, 13, 45, 10),
        dt.date(2024, 5, 2),
        dt.time(8, 30),
        dt.timedelta(hours=30, minutes=5),
        "  padded  ",
    ]
    path = write_openpyxl(tmp_path / "values.xlsx", [header, values])
    workbook = load_workbook(path)
    sheet = workbook.active
    more = [
        '=HYPERLINK("https://example.com","site")',
        1e16,
        -5.0,
        "0521234567",
        0.1,
        False,
        "a  b",
        "\tinner\ttab\t",
    ]
    for column, value in enumerate(more, 1):
        cell = sheet.cell(row=3, column=column, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # keep "=..." as the text it is, not a formula
    workbook.save(path)
    table = read_table(path)
    assert table.headers == header
    assert rows_of(table)[0] == [
        "972523456789",
        "972523456789",
        "523456789",
        "972523456789",
        "12.5",
        "TRUE",
        "2024-05-01",
        "2024-05-01 13:45:10",
        "2024-05-02",
        "08:30:00",
        "1 day, 6:05:00",
        "padded",
    ]
    assert rows_of(table)[1] == [
        '=HYPERLINK("https://example.com","site")',
        "10000000000000000",  # numbers are written out in full, as fastexcel renders them: never 1e+16
        "-5",
        "0521234567",
        "0.1",
        "FALSE",
        "a  b",
        "inner\ttab",
        "",
        "",
        "",
        "",
    ]


def test_whole_numbers_never_come_out_in_exponent_notation(tmp_path):
    numbers = [1e15, 999999999999999.0, 123456789012.0, 0.0, -0.0, 1.5e-7]
    path = write_openpyxl(tmp_path / "numbers.xlsx", [["n"]] + [[n] for n in numbers])
    # Nor tiny ones: fastexcel writes 1.5e-7 in full.
    assert read_table(path).columns == [["1000000000000000", "999999999999999", "123456789012", "0", "0",
                                         "0.00000015"]]


def test_formulas_give_their_cached_value(tmp_path):
    xml = sheet_xml({"A1": "base", "B1": "double", "A2": 21, "B2": '<c r="B2"><f>A2*2</f><v>42</v></c>'})
    table = read_table(write_xlsx(tmp_path / "formula.xlsx", {"Data": xml}))
    assert rows_of(table) == [["21", "42"]]


def test_error_cells_keep_their_text(tmp_path):
    xml = sheet_xml(
        {
            "A1": "name",
            "B1": "phone",
            "C1": "ratio",
            "A2": "Dana",
            "B2": '<c r="B2" t="e"><f>VLOOKUP(A2,X:Y,2,0)</f><v>#N/A</v></c>',
            "C2": '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        }
    )
    table = read_table(write_xlsx(tmp_path / "errors.xlsx", {"Data": xml}))
    assert rows_of(table) == [["Dana", "#N/A", "#DIV/0!"]]


def test_merged_cells_repeat_their_value_in_the_data(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Contacts export"])
    sheet.append(["Group", "Phone", None, "Name"])
    sheet.append(["VIP", "0521111111", "0522222222", "Dana"])
    sheet.append([None, "0523333333", None, "Avi"])
    sheet.merge_cells("A1:D1")  # a title above the header stays a title
    sheet.merge_cells("B2:C2")  # a header over two columns
    sheet.merge_cells("A3:A4")  # a group written once for two rows
    path = tmp_path / "merged.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.header_row == 2
    assert table.headers == ["Group", "Phone", "Phone", "Name"]
    assert rows_of(table) == [["VIP", "0521111111", "0522222222", "Dana"], ["VIP", "0523333333", "", "Avi"]]


# ---------------------------------------------------------------- header and rows


def test_the_header_may_sit_under_titles_and_blank_rows(tmp_path):
    rows = [
        ["Customer list"],
        [],
        ["Exported 2024-05-01", None, None],
        [],
        ["First name", "Last name", "Mobile", "Email"],
        ["Dana", "Levi", 972523456789, "dana@example.com"],
        [],
        ["Avi", "Cohen", "052-345-6789", None],
        [None, "  ", None, None],
    ]
    table = read_table(write_openpyxl(tmp_path / "titled.xlsx", rows))
    assert table.header_row == 5
    assert table.headers == ["First name", "Last name", "Mobile", "Email"]
    assert table.source_rows == [6, 8]
    assert table.blank_rows == 2
    assert rows_of(table) == [
        ["Dana", "Levi", "972523456789", "dana@example.com"],
        ["Avi", "Cohen", "052-345-6789", ""],
    ]


def test_the_header_row_is_made_of_words_not_numbers(tmp_path):
    text = "Report,,\n1,2,3\n4,5,6\nname,phone,city\nDana,0521234567,Haifa\n"
    table = read_table(write_csv(tmp_path / "numbers-first.csv", text))
    assert (table.header_row, table.headers, table.source_rows) == (4, ["name", "phone", "city"], [5])


def test_without_a_wordy_row_every_row_is_data(tmp_path):
    # Rows of numbers only are all data rows to whoever opens the file: none becomes the header.
    table = read_table(write_csv(tmp_path / "digits.csv", "\n\n1,2\n3,4\n"))
    assert (table.header_row, table.no_header, table.headers) == (0, True, ["Column 1", "Column 2"])
    assert (rows_of(table), table.source_rows) == ([["1", "2"], ["3", "4"]], [3, 4])


def test_a_single_column_file_takes_its_first_non_blank_row_as_header(tmp_path):
    table = read_table(write_csv(tmp_path / "emails.csv", "\nemail\na@example.com\n\nb@example.com\n"))
    assert (table.header_row, table.headers, table.delimiter) == (2, ["email"], ",")
    assert (table.columns, table.source_rows, table.blank_rows) == ([["a@example.com", "b@example.com"]], [3, 5], 1)


def test_a_header_without_data_rows_is_fine(tmp_path):
    table = read_table(write_openpyxl(tmp_path / "header.xlsx", [["Name", "Mobile"]]))
    assert (table.headers, table.columns, table.source_rows, table.blank_rows) == (["Name", "Mobile"], [[], []], [], 0)
    table = read_table(write_csv(tmp_path / "header.csv", "name;mobile\n"))
    assert (table.headers, table.columns, table.delimiter) == (["name", "mobile"], [[], []], ";")


def test_files_and_sheets_without_rows_are_refused(tmp_path):
    assert rejected(write_csv(tmp_path / "blank.csv", "\n\n  \n")) == "The file has no rows."
    assert rejected(write_csv(tmp_path / "commas.csv", ",,\n , ,\n")) == "The file has no rows."
    (tmp_path / "zero.csv").write_bytes(b"")
    assert rejected(tmp_path / "zero.csv") == "The file has no rows."
    assert rejected(write_openpyxl(tmp_path / "empty.xlsx", [])) == "The sheet is empty."
    two = write_xlsx(tmp_path / "two.xlsx", {"A": sheet_xml({}), "B": sheet_xml({"A1": "   "})})
    assert rejected(two) == "Every sheet of the workbook is empty."


def test_the_first_sheet_with_data_is_read_and_visible_sheets_come_first(tmp_path):
    workbook = Workbook()
    workbook.active.title = "Empty"
    lookup = workbook.create_sheet("Lookup")
    lookup.append(["code", "value"])
    lookup.append(["x", 1])
    lookup.sheet_state = "hidden"
    contacts = workbook.create_sheet("Contacts")
    contacts.append(["Name", "Mobile"])
    contacts.append(["Dana", 523456789])
    path = tmp_path / "sheets.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert (table.sheet, rows_of(table)) == ("Contacts", [["Dana", "523456789"]])


def test_ragged_rows_are_padded_and_widened(tmp_path):
    text = "name,phone\nDana,0521234567,extra,\nAvi\n\nNoa,0531234567\n"
    table = read_table(write_csv(tmp_path / "ragged.csv", text))
    assert table.headers == ["name", "phone", ""]
    assert rows_of(table) == [["Dana", "0521234567", "extra"], ["Avi", "", ""], ["Noa", "0531234567", ""]]
    assert (table.source_rows, table.blank_rows) == ([2, 3, 5], 1)


def test_trailing_empty_columns_are_dropped_but_inner_blank_headers_stay(tmp_path):
    table = read_table(write_csv(tmp_path / "trailing.csv", "name,,phone,,\nDana,x,052,,\n"))
    assert (table.headers, rows_of(table)) == (["name", "", "phone"], [["Dana", "x", "052"]])
    table = read_table(write_openpyxl(tmp_path / "trailing.xlsx", [["name", "phone", None, "  "], ["Dana", 52, None, ""]]))
    assert table.headers == ["name", "phone"]


# ---------------------------------------------------------------- text files


HEBREW = "שם פרטי,שם משפחה,טלפון,עיר\nדוד,כהן,0521234567,תל אביב\nשרה,לוי,0539876543,באר שבע\n"
FRENCH = "Prénom;Nom;Ville\nFrançois;Lefèvre;Besançon\nAnaïs;Dupré;Orléans\nHélène;Müller;Zürich\n"


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (HEBREW, "cp1255", "cp1255"),
        ("שם,טלפון\nדוד כהן,0521234567\n", "cp1255", "cp1255"),
        ("name,city\nיוסי,באר שבע\nMoshe,Tel Aviv\n", "cp1255", "cp1255"),
        (FRENCH, "cp1252", "cp1252"),
        ("Name;Preis\nCafé;3€\nThé;2€ – “bon”\n", "cp1252", "cp1252"),
        ("Vorname;Nachname;Straße\nJürgen;Müller;Hauptstraße 5\nÄnne;Groß;Köln\n", "latin-1", "cp1252"),
        ("nom\nHélène\n", "latin-1", "cp1252"),
        ("Имя,Фамилия\nИван,Петров\nМария,Сидорова\n", "cp1251", "cp1251"),
        (HEBREW, "utf-8", "utf-8"),
        (HEBREW, "utf-8-sig", "utf-8-sig"),
        (HEBREW, "utf-16", "utf-16"),
        (HEBREW, "utf-32", "utf-32"),
        ("name,phone\nDana,0521234567\n", "utf-16-le", "utf-16-le"),
        ("name,phone\nDana,0521234567\n", "utf-16-be", "utf-16-be"),
    ],
)
def test_text_encodings_are_detected(tmp_path, text, encoding, expected):
    table = read_table(write_csv(tmp_path / "people.csv", text, encoding))
    assert table.encoding == expected
    rows = list(csv.reader(io.StringIO(text), delimiter=table.delimiter))
    assert [table.headers] + rows_of(table) == [[cell.strip() for cell in row] for row in rows]


def test_bytes_cp1252_leaves_undefined_decode_as_latin1(tmp_path):
    # 0x81 has no character in cp1252; only latin-1 can hold it.
    path = tmp_path / "odd.csv"
    path.write_bytes(b"name\nCaf\xe9\x81\n")
    table = read_table(path)
    assert table.encoding == "latin-1"
    assert table.columns == [["Café\x81"]]


def test_utf8_with_a_few_broken_bytes_stays_utf8(tmp_path):
    good = "name,city\n" + "".join(f"Dana{i},תל אביב\n" for i in range(20))
    path = tmp_path / "mixed.csv"
    path.write_bytes(good.encode("utf-8") + b"Andr\xe9,Paris\n")
    table = read_table(path)
    assert table.encoding == "utf-8"
    assert table.columns[1][0] == "תל אביב"
    assert table.columns[0][-1] == "Andr\ufffd"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    rows = [["name", "phone", "note"], ["Dana", "0521234567", "likes, commas; and | pipes"], ["Avi", "0531234567", ""]]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    table = read_table(write_csv(tmp_path / "people.txt", buffer.getvalue()))
    assert table.delimiter == delimiter
    assert [table.headers] + rows_of(table) == rows


def test_semicolon_with_decimal_commas_is_not_mistaken_for_commas(tmp_path):
    table = read_table(write_csv(tmp_path / "euro.csv", "name;amount;rate\nDana;1,5;2,25\nAvi;3,75;0,5\n"))
    assert (table.delimiter, rows_of(table)) == (";", [["Dana", "1,5", "2,25"], ["Avi", "3,75", "0,5"]])


def test_quotes_newlines_and_crlf_keep_line_numbers(tmp_path):
    text = 'name,note\r\n"Dana","said ""hi""\r\nthen left"\r\n\r\nAvi,"a, b"\r\n'
    table = read_table(write_csv(tmp_path / "quoted.csv", text))
    assert rows_of(table) == [["Dana", 'said "hi"\r\nthen left'], ["Avi", "a, b"]]
    assert (table.source_rows, table.blank_rows) == ([2, 5], 1)


def test_nul_and_control_characters_do_not_break_reading(tmp_path):
    path = tmp_path / "controls.csv"
    path.write_bytes(b"na\x00me,phone\nDa\x00na,052\x00123\x01\nAvi\x07,\x1b[31m\n")
    table = read_table(path)
    assert table.headers == ["name", "phone"]
    assert rows_of(table) == [["Dana", "052123\x01"], ["Avi\x07", "\x1b[31m"]]


def test_a_quote_that_never_closes_swallows_no_line(tmp_path):
    # Past the csv module's field limit too: each line stays its own row, and the table says which line.
    text = 'name,note\nDana,"never closed\n' + "Avi,plain\n" * 20_000
    table = read_table(write_csv(tmp_path / "quote.csv", text))
    assert table.source_rows == list(range(2, 20_003))
    assert rows_of(table)[:2] == [["Dana", '"never closed'], ["Avi", "plain"]]
    assert table.warnings == ["Line 2 holds a quote mark that never closes; it was read as part of the text, "
                              "and each line after it as a row of its own."]


def test_read_text_rows_reads_pasted_rows():
    table = read_text_rows("\ufeffname\tphone\nDana\t0521234567\n\nAvi\t 0531234567 \n")
    assert (table.format, table.delimiter, table.encoding) == ("csv", "\t", None)
    assert (table.headers, rows_of(table), table.source_rows) == (
        ["name", "phone"],
        [["Dana", "0521234567"], ["Avi", "0531234567"]],
        [2, 4],
    )
    assert read_text_rows("email\na@example.com").columns == [["a@example.com"]]
    assert read_text_rows("name;phone\nDana;052").delimiter == ";"
    with pytest.raises(FileRejected, match="no rows"):
        read_text_rows("\n \n")


cell_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r\x00,;|\" "))
header_word = st.from_regex(r"[A-Za-z][A-Za-z ]{0,9}", fullmatch=True)


@st.composite
def text_tables(draw):
    width = draw(st.integers(1, 5))
    header = draw(st.lists(header_word, min_size=width, max_size=width))
    body = draw(st.lists(st.lists(cell_text, min_size=width, max_size=width), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    return header, body, delimiter


@settings(max_examples=150, deadline=None)
@given(text_tables())
def test_any_quoted_table_reads_back_as_its_stripped_cells(table):
    header, body, delimiter = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    result = read_text_rows(buffer.getvalue())
    stripped = [[cell.replace("\x00", "").strip() for cell in row] for row in body]
    kept = [row for row in stripped if any(row)]
    assert result.headers == [cell.strip() for cell in header]
    assert rows_of(result) == kept
    assert result.blank_rows == len(stripped) - len(kept)
    assert len(result.source_rows) == len(kept) and result.header_row == 1


# ---------------------------------------------------------------- limits


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = write_csv(tmp_path / "big.csv", "name\n" + "Dana\n" * 1000)
    assert rejected(path, max_bytes=1000) == "The file is 5 KB, over the 1 KB limit; split it into smaller files."


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_row_and_column_limits(tmp_path, kind):
    rows = [["name", "phone", "city"], ["Dana", "1", "x"], [None, None, None], ["Avi", "2", "y"]]
    if kind == "csv":
        path = write_csv(tmp_path / "limits.csv", "name,phone,city\nDana,1,x\n,,\nAvi,2,y\n")
    else:
        path = write_openpyxl(tmp_path / "limits.xlsx", rows)
    assert len(read_table(path, ReadLimits(max_rows=2, max_columns=3)).source_rows) == 2
    assert "more than 1 data rows" in rejected(path, max_rows=1)
    assert rejected(path, max_columns=2) == "The file has 3 columns, more than the 2 one import accepts."


def test_trailing_empty_cells_do_not_count_against_the_column_limit(tmp_path):
    path = write_csv(tmp_path / "wide.csv", "name,phone" + "," * 5000 + "\nDana,1" + "," * 5000 + "\n")
    assert read_table(path, ReadLimits(max_columns=10)).headers == ["name", "phone"]


# ---------------------------------------------------------------- naughty strings


def expected_text(value: str) -> str:
    return value.replace("\x00", "").strip()


def test_naughty_strings_survive_a_csv(tmp_path):
    strings = naughty_strings(split_lines=False)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(["value"])
    writer.writerows([s] for s in strings)
    path = tmp_path / "naughty.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    table = read_table(path)
    kept = [expected_text(s) for s in strings if expected_text(s)]
    assert table.headers == ["value"]
    assert table.columns == [kept]
    assert table.blank_rows == len(strings) - len(kept)


def test_naughty_strings_survive_an_xlsx(tmp_path):
    # openpyxl refuses C0 control characters, so those strings are left out here.
    strings = [s for s in naughty_strings(split_lines=False) if not ILLEGAL_CHARACTERS_RE.search(s)]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["value"])
    for row, value in enumerate(strings, 2):
        sheet.cell(row=row, column=1, value=value).data_type = "s"
    path = tmp_path / "naughty.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.columns == [[expected_text(s) for s in strings if expected_text(s)]]


# ---------------------------------------------------------------- the shared corpora


def corpus_files(folder: str) -> list[Path]:
    directory = CORPORA / folder
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file())


def corpus_params(folder: str):
    files = corpus_files(folder)
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{CORPORA / folder} does not exist"))]
    return [pytest.param(p, id=p.name) for p in files]


ALL_CORPUS_FILES = (
    corpus_params("calamine-spreadsheets") + corpus_params("frictionless-csv") + corpus_params("csv-spectrum/csvs")
)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("path", ALL_CORPUS_FILES)
def test_every_corpus_file_reads_or_is_refused_in_one_sentence(path):
    try:
        table = read_table(path)
    except FileRejected as refusal:
        message = str(refusal)
        assert message and "\n" not in message and message.endswith(".")
        assert "Traceback" not in message and "Error" not in message
        return
    assert table.format in {"xlsx", "xlsm", "xlsb", "xls", "ods", "csv"}
    assert len(table.headers) == len(table.columns)
    assert all(len(column) == len(table.source_rows) for column in table.columns)
    assert all(isinstance(cell, str) for column in table.columns for cell in column)
    assert table.source_rows == sorted(table.source_rows) and all(n > table.header_row for n in table.source_rows)


CALAMINE_REFUSALS = {
    "pass_protected.xlsx": PASSWORD,
    "pass_protected.xlsb": PASSWORD,
    "pass_protected.ods": PASSWORD,
    "issue_385.xls": PASSWORD,
    "issue_594_dos.ods": TOO_MANY_CELLS,
    "empty_sheet.xlsx": "The sheet is empty.",
    "issue_666_panic.xlsb": "The sheet is empty.",
    "issue281.xlsm": "Every sheet of the workbook is empty.",
    "vba.xlsm": "Every sheet of the workbook is empty.",
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(CALAMINE_REFUSALS))
def test_calamine_corpus_refusals(name):
    path = CORPORA / "calamine-spreadsheets" / name
    if not path.exists():
        pytest.skip(f"{path} does not exist")
    assert rejected(path) == CALAMINE_REFUSALS[name]


def calamine_file(name: str) -> Path:
    return corpus("calamine-spreadsheets", name)


def test_calamine_corpus_facts():
    table = read_table(calamine_file("errors.xlsx"))
    assert table.headers == ["#DIV/0!"] and table.columns == [["#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A"]]

    table = read_table(calamine_file("header-row.xlsx"))
    assert (table.header_row, table.headers) == (9, ["Columns", "Column A", "Column B", "Column C"])
    assert (rows_of(table), table.source_rows) == ([["put data here", "1", "2", "3"]], [10])

    table = read_table(calamine_file("date.xlsx"))  # no word anywhere: every row is data, none the header
    assert (table.no_header, table.headers) == (True, ["Column 1", "Column 2"])
    assert rows_of(table) == [["2021-01-01", "15"], ["2021-01-02", "16"], ["10 days, 15:10:10", "17"]]
    assert rows_of(read_table(calamine_file("date.xls"))) == rows_of(table)
    assert rows_of(read_table(calamine_file("date_1904.xlsx"))) == rows_of(table)

    table = read_table(calamine_file("merge_cells.xlsx"))
    assert table.headers == ["Row Merge", "Row Merge", "Not Merged"]
    assert rows_of(table) == [["Column Merge", "Chunk Merged", "Chunk Merged"]]

    table = read_table(calamine_file("whitespace_trim.xlsx"))
    assert table.headers == ["trimmed value", "value with tabs", "", "clean text"]
    assert rows_of(table)[0][:2] == ["line1\nline2", "line1\nline2"]

    assert read_table(calamine_file("issue221.xlsm")).format == "xlsm"
    assert read_table(calamine_file("minimal_package.xlsx")).headers[:3] == ["BKG_NUM", "BKG_DT", "BKG_TM"]
    assert read_table(calamine_file("strict_iso_paths.xlsx")).headers[:2] == ["Item", "Thickness"]
    assert read_table(calamine_file("nonstandard-xml-ns-prefix.xlsx")).columns == [["1", "2"], ["3", "4"]]
    assert read_table(calamine_file("has_x000D_.xlsx")).headers == ["ABC\r\nDEF"]
    assert read_table(calamine_file("any_sheets.xlsx")).sheet == "Visible"
    # A text file named .xls is read for what it is.
    assert read_table(calamine_file("too_small.xls")).format == "csv"


@pytest.mark.timeout(20)
def test_a_declared_whole_sheet_in_the_corpus_reads_fast():
    started = time.monotonic()
    table = read_table(calamine_file("issue_174.xlsx"))
    assert time.monotonic() - started < 5
    assert table.headers[:3] == ["Your Ref #", "Contact Name", "Contact Number"]
    assert rows_of(table) == [
        ["123", "Test Contact Name", "Test Contact Number", "Hello Address", "My City", "1.5", "1", "1.201",
         "Nothing SPL", "No Remarks", "My Company?"]
    ]


@pytest.mark.parametrize("name", ["pass_protected.xlsx", "pass_protected.ods", "issue_385.xls"])
def test_renamed_password_files_still_say_password(tmp_path, name):
    path = tmp_path / "contacts.csv"
    path.write_bytes(calamine_file(name).read_bytes())
    assert rejected(path) == PASSWORD


def frictionless_file(name: str) -> Path:
    return corpus("frictionless-csv", name)


def test_frictionless_corpus_facts():
    table = read_table(frictionless_file("bom.csv"))
    assert (table.headers, table.encoding) == (["id", "name"], "utf-8-sig")
    assert table.columns[1] == ["english", "中国人"]

    table = read_table(frictionless_file("latin1.csv"))
    assert table.encoding in {"cp1252", "latin-1"} and table.columns[1] == ["english", "©"]

    table = read_table(frictionless_file("issue-1009-semicolon.csv"))
    assert (table.delimiter, table.headers, rows_of(table)) == (";", ["fieldNameA", "fieldNameB"], [["0123", "c"]])
    assert rows_of(read_table(frictionless_file("issue-1009-comma.csv"))) == [["0123", "c"]]

    table = read_table(frictionless_file("blank-rows.csv"))
    assert (table.source_rows, table.blank_rows) == ([2, 3], 1)
    assert read_table(frictionless_file("blank-rows-multiple.csv")).blank_rows == 11

    table = read_table(frictionless_file("invalid.csv"))
    assert table.headers == ["id", "name", "", "name", ""]
    assert rows_of(table) == [
        ["1", "english", "", "", ""],
        ["1", "english", "", "", ""],
        ["2", "german", "1", "2", "3"],
    ]
    assert (table.source_rows, table.blank_rows) == ([2, 3, 5], 1)

    assert read_table(frictionless_file("blank-headers.csv")).headers == ["id", "", "age"]
    assert read_table(frictionless_file("duplicate-headers.csv")).headers == ["id", "name", "id", "age", "id"]
    assert rows_of(read_table(frictionless_file("duplicate-headers.csv")))[0][4] == "001101"
    assert rows_of(read_table(frictionless_file("duplicate-column.csv"))) == [["a", "b", "C", "c"]]
    assert read_table(frictionless_file("blank-cells.csv")).columns[1][-1] == ""
    assert read_table(frictionless_file("issue-905_bad.csv")).columns[1] == ["Kāwanatanga"]
    assert "Ministry of Māori Development" in read_table(frictionless_file("encoding-issue-274.csv")).columns[1]
    assert read_table(frictionless_file("doublequote.csv")).headers[4] == "AÑO"
    assert rejected(frictionless_file("empty.csv")) == "The file has no rows."

    table = read_table(frictionless_file("issue-1024.xlsx"))
    assert (table.header_row, table.headers[:3]) == (12, ["Country", "Level 1 Name", "Area"])
    table = read_table(frictionless_file("multiline-headers.xlsx"))
    assert table.headers[0] == "Region"


SPECTRUM = CORPORA / "csv-spectrum"


@pytest.mark.parametrize(
    "name",
    [p.stem for p in corpus_files("csv-spectrum/csvs")]
    or [pytest.param("missing", marks=pytest.mark.skip(reason=f"{SPECTRUM} does not exist"))],
)
def test_csv_spectrum_matches_its_expected_json(name):
    raw = (SPECTRUM / "csvs" / f"{name}.csv").read_bytes()
    expected = json.loads((SPECTRUM / "json" / f"{name}.json").read_text(encoding="utf-8"))
    if isinstance(expected, dict):
        expected = [expected]
    if name == "location_coordinates":
        # The upstream JSON was written for another phone number than its CSV holds.
        expected[0]["Contact Phone Number"] = "2095257564"
    if b"\r" not in raw:
        # The copied CSVs lost their CRLF line ends; their JSON kept them.
        expected = [{k: v.replace("\r\n", "\n") for k, v in row.items()} for row in expected]
    table = read_table(SPECTRUM / "csvs" / f"{name}.csv")
    assert table.headers == list(expected[0])
    assert rows_of(table) == [[value.strip() for value in row.values()] for row in expected]


# ---------------------------------------------------------------- speed


@pytest.mark.bench
def test_a_large_workbook_reads_in_little_more_than_calamines_time(tmp_path):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    sheet.append(["First", "Last", "Phone", "Email", "City", "Born", "Score", "Code", "Note", "Active"])
    for i in range(200_000):
        sheet.append([f"N{i}", f"L{i}", 972520000000 + i, f"u{i}@example.com", "Haifa",
                      dt.date(1980, 1, 1) + dt.timedelta(days=i % 9000), i / 2, f"{i:07d}", "", i % 2 == 0])
    path = tmp_path / "big.xlsx"
    workbook.save(path)
    started = time.perf_counter()
    CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    alone = time.perf_counter() - started
    started = time.perf_counter()
    table = read_table(path)
    ours = time.perf_counter() - started
    assert len(table.source_rows) == 200_000
    assert ours < 2 * alone, (alone, ours)


def test_first_line_with_years_for_headers_is_the_header():
    table = read_table(frictionless_file("issue-825.csv"))
    assert table.headers == ["Musei", "2011", "2010"] and table.header_row == 1
    assert len(table.source_rows) == 2 and table.columns[1] == ["23.824", "in restauro"]


# ---------------------------------------------------------------- the fast path for plain text

plain_cell = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='",;|\t"')
                     | st.sampled_from("  \x1f\xa0"), max_size=8)


@st.composite
def plain_texts(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 5))
    header = draw(st.lists(header_word, min_size=width, max_size=width))
    titles = draw(st.lists(st.from_regex(r"[A-Za-z ]{1,12}", fullmatch=True), max_size=2))
    body = draw(st.lists(st.lists(plain_cell, min_size=width, max_size=width), max_size=15))
    lines = titles + [delimiter.join(header)] + [delimiter.join(row) for row in body]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending, ending * 3]))


@settings(max_examples=300, deadline=None)
@given(plain_texts())
def test_the_plain_text_fast_path_reads_what_the_careful_path_reads(text):
    from pipeline.read.text import read_text as _read_text

    careful = _read_text(text, "utf-8", 1000, 100, fast=False)
    fast = _read_text(text, "utf-8", 1000, 100)
    assert fast == careful


def test_a_plain_csv_takes_the_fast_path_and_a_quoted_one_does_not(tmp_path):
    plain = write_csv(tmp_path / "plain.csv", "Name,Mobile\n Dana ,052\n,\nAvi,053\n\n")
    table = read_table(plain)
    assert table._arrays is not None
    assert table.columns == [["Dana", "Avi"], ["052", "053"]] and table.source_rows == [2, 4]
    assert table.blank_rows == 2
    quoted = write_csv(tmp_path / "quoted.csv", 'Name,Mobile\n"Levi, Dana",052\n')
    assert read_table(quoted)._arrays is None


# ---------------------------------------------------------------- big plain files, read from the disk in blocks


def _careful(path: Path) -> Table:
    from pipeline.read.text import decode
    from pipeline.read.text import read_text as _read_text

    return _read_text(*decode(path.read_bytes()), 5_000_000, 1000, fast=False)


def _streamed(path: Path):
    from pipeline.read.text import read_plain_file

    return read_plain_file(path, 5_000_000, 1000)


def _big_plain(rows: int, *, delimiter: str = ",", ending: str = "\n", bom: bool = False, tail: str = "\n",
               above: str = "") -> str:
    names = ["Dana", " Avi ", "דנה", "José", "Noa\xa0", "\x1fMaya", "😀", ""]
    body = [delimiter.join([f"C{i:07d}", names[i % len(names)], f"05{i % 10}-{i:07d}",
                            f"u{i}@example.com" if i % 5 else "", ""]) for i in range(rows)]
    body[7] = delimiter * 4  # a row of empty cells: blank, counted
    text = above + "\n".join([delimiter.join(["Id", "Name", "Mobile", "Email", "Notes"])] + body) + tail
    return ("\ufeff" if bom else "") + text.replace("\n", ending)


@pytest.mark.parametrize("shape", [
    {}, {"ending": "\r\n"}, {"bom": True}, {"delimiter": ";"}, {"delimiter": "\t", "tail": ""},
    {"tail": "\n\n\n"}, {"ending": "\r\n", "tail": "\n\n"}, {"above": "Export of 2026-11-27\n\n"},
])
def test_a_big_plain_file_streamed_from_disk_reads_as_the_careful_path_reads(tmp_path, shape):
    path = write_csv(tmp_path / "big.csv", _big_plain(40_000, **shape))
    assert path.stat().st_size > 1 << 20
    streamed = _streamed(path)
    assert streamed is not None, "a plain big file takes the streaming path"
    assert streamed == _careful(path)
    assert read_table(path) == streamed


@pytest.mark.parametrize("spoil", [
    lambda t: t + 'Z,"quoted, late",052,,\n',          # a quote past the first megabyte
    lambda t: t.replace("C0039000,", "C0039000\r,"),   # a lone CR deep in the data
    lambda t: t.replace("\nC0039000", "\n\nC0039000"),  # a blank line inside the data
    lambda t: t + "Z,only,three\n",                     # a row narrower than the header
    lambda t: t + "Z,a,b,c,d,e,f\n",                    # a row wider than the header
    lambda t: t + "Z,nul\x00,052,,\n",                  # a NUL late in the file
    lambda t: t + "Z,end,052,,\r",                      # a lone CR at the very end
])
def test_a_big_file_that_is_not_plain_after_all_reads_as_the_careful_path_reads(tmp_path, spoil):
    path = write_csv(tmp_path / "big.csv", spoil(_big_plain(40_000)))
    assert _streamed(path) is None
    assert read_table(path) == _careful(path)


def test_a_big_file_with_a_bad_utf8_byte_late_is_left_to_the_careful_decoder(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(_big_plain(40_000).encode() + b"Z,caf\xe9,052,,\n")
    assert _streamed(path) is None
    assert read_table(path) == _careful(path)


@settings(max_examples=150, deadline=None)
# Blocks of two bytes and more: Arrow's streaming reader loses the last line of a CRLF file read in one-byte
# blocks (`A\r\nA\r\n0` reads one row), a size the reader never uses (its blocks are 16 MB).
@given(plain_texts(), st.sampled_from(["", "", "", "", '"', "\r", "\n\n", "\x00", ",x"]), st.integers(0, 400),
       st.integers(2, 64))
@example(text="A\nA\nA;A;A;A;A\n;;;;", late="", where=0, block=6)  # the sniffer once saw one line fewer
@example(text="A\r\nA\r\n0", late="", where=0, block=2)  # a CRLF file whose blocks split its line ends
def test_streaming_small_blocks_reads_as_the_careful_path_reads(tmp_path_factory, text, late, where, block):
    from pipeline.read import text as textfile

    cut = min(where, len(text))
    text = text[:cut] + late + text[cut:]
    path = write_csv(tmp_path_factory.mktemp("s") / "t.csv", text)
    with pytest.MonkeyPatch.context() as mp:  # small files and blocks take the streaming path, blocks split anywhere
        mp.setattr(textfile, "_STREAM_MIN_BYTES", 0)
        mp.setattr(textfile, "_STREAM_BLOCK", block)
        mp.setattr(textfile, "_HEAD_LINES", 2)
        mp.setattr(textfile, "_SNIFF_LINES", 2)
        streamed = _streamed(path)
        try:
            careful = _careful(path)
        except FileRejected:
            careful = None
    assert streamed is None or streamed == careful


@pytest.mark.parametrize("path", corpus_params("frictionless-csv") + corpus_params("csv-spectrum/csvs"))
def test_every_corpus_text_file_streamed_reads_as_the_careful_path_reads(path):
    from pipeline.read import text as textfile

    with pytest.MonkeyPatch.context() as mp:  # every file, however small, tries the streaming path
        mp.setattr(textfile, "_STREAM_MIN_BYTES", 0)
        mp.setattr(textfile, "_HEAD_LINES", 3)
        mp.setattr(textfile, "_SNIFF_LINES", 3)
        streamed = _streamed(path)
        try:
            careful = _careful(path)
        except FileRejected:
            careful = None
    assert streamed is None or streamed == careful
