"""The streaming xlsx reader against the calamine path: the same table, or no answer at all.

Every workbook here is read twice: by `read_xlsx_stream` and by the calamine
path with the fast reader switched off.  The fast reader may decline (None),
but whatever it returns, or refuses, must be exactly what calamine gives.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from helpers import CORPORA, naughty_strings
from pipeline import workbook
from pipeline.errors import FileRejected
from pipeline.read import read_table
from pipeline.xlsxstream import read_xlsx_stream

DATA = Path(__file__).resolve().parent / "data"
LIMITS = {"max_rows": 5_000_000, "max_columns": 1000}


def corpus_workbooks() -> list[Path]:
    found = []
    for folder in (CORPORA, DATA):
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm") and p.is_file()]
    return sorted(found)


def outcome(read, *args):
    """A table, None, or the sentence of a refusal."""
    try:
        return read(*args)
    except FileRejected as refusal:
        return f"refused: {refusal}"


def calamine_path(path: Path, limits: dict) -> object:
    """The calamine path alone, as it read every workbook before the fast reader."""
    sniffed = workbook.sniff_zip(path)
    original = workbook.read_xlsx_stream
    workbook.read_xlsx_stream = lambda *args: None
    try:
        return outcome(workbook.read_workbook, path, sniffed, limits["max_rows"], limits["max_columns"])
    finally:
        workbook.read_xlsx_stream = original


def fast_path(path: Path, limits: dict) -> object:
    kind, parts = workbook.sniff_zip(path)
    return outcome(read_xlsx_stream, path, kind, parts, limits["max_rows"], limits["max_columns"])


def check(path: Path, limits: dict = LIMITS) -> object:
    """Assert the fast reader declines or agrees with calamine; return its answer."""
    try:
        workbook.sniff_zip(path)
    except FileRejected:
        return None  # refused before any reader runs
    fast = fast_path(path, limits)
    if fast is not None:
        slow = calamine_path(path, limits)
        assert fast == slow, f"{path.name}: fast {fast!r} but calamine {slow!r}"
        if not isinstance(fast, str):
            assert fast.columns == slow.columns
    return fast


# ---------------------------------------------------------------- writers


def write_openpyxl(path: Path, rows: list[list], *, write_only: bool = False, start: tuple[int, int] = (1, 1)) -> Path:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("Contacts") if write_only else book.active
    if write_only:
        for row in rows:
            sheet.append(row)
    else:
        sheet.title = "Contacts"
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is not None:
                    sheet.cell(row=start[0] + i, column=start[1] + j, value=value)
    book.save(path)
    return path


def write_xlsxwriter(path: Path, rows: list[list], *, start: tuple[int, int] = (0, 0), formats: dict | None = None) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Contacts")
    styles = {j: book.add_format({"num_format": f}) for j, f in (formats or {}).items()}
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is None:
                continue
            style = styles.get(j)
            r, c = start[0] + i, start[1] + j
            if isinstance(value, str):
                sheet.write_string(r, c, value, style)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value, style)
            elif isinstance(value, (dt.date, dt.datetime)):
                sheet.write_datetime(r, c, value, style or book.add_format({"num_format": "yyyy-mm-dd"}))
            else:
                sheet.write_number(r, c, value, style)
    book.close()
    return path


SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def write_raw(path: Path, sheet_data: str, shared: list[str] | None = None, styles: str | None = None,
              extra: str = "") -> Path:
    """A workbook assembled from XML text: one sheet, optional shared strings and cell formats."""
    relations = [("worksheet", "worksheets/sheet1.xml")]
    files = {"xl/worksheets/sheet1.xml": f"{SHEET_HEAD}<sheetData>{sheet_data}</sheetData>{extra}</worksheet>"}
    if shared is not None:
        relations.append(("sharedStrings", "sharedStrings.xml"))
        files["xl/sharedStrings.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + "".join(f"<si>{s}</si>" for s in shared) + "</sst>")
    if styles is not None:
        relations.append(("styles", "styles.xml"))
        files["xl/styles.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{styles}</styleSheet>')
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}" '
        f'Target="{target}"/>' for i, (kind, target) in enumerate(relations, 1))
    files.update({
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Raw" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>"),
    })
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def bench_shaped(path: Path, size: int) -> Path:
    """A contact list written the way the benchmark writes its big workbooks."""
    from bench.run import HEAD, rows

    return write_openpyxl(path, [HEAD, *rows(size, as_number=True)], write_only=True)


# ---------------------------------------------------------------- corpora


@pytest.mark.parametrize("path", corpus_workbooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_workbooks_read_alike_or_fall_back(path):
    check(path)


def test_corpora_are_walked():
    if not CORPORA.is_dir():
        pytest.skip("the corpora are not beside the project")
    assert corpus_workbooks()


# ---------------------------------------------------------------- the fast path is taken


def test_bench_shaped_contacts_take_the_fast_path(tmp_path):
    table = check(bench_shaped(tmp_path / "contacts.xlsx", 3000))
    assert table is not None and not isinstance(table, str)
    assert table.headers[:2] == ["External ID", "First name"] and len(table.source_rows) == 3000


def test_read_table_uses_the_fast_path_and_agrees(tmp_path, monkeypatch):
    path = bench_shaped(tmp_path / "contacts.xlsx", 500)
    expected = calamine_path(path, LIMITS)
    monkeypatch.setattr(workbook, "python_calamine", None)  # calamine unreachable: the fast path alone answers
    assert read_table(path) == expected


def test_blocks_cut_inside_the_sheet_agree(tmp_path, monkeypatch):
    """Many small blocks: rows, the header and shared strings meet block edges everywhere."""
    import pipeline.xlsxstream as xlsxstream

    monkeypatch.setattr(xlsxstream, "_BLOCK", 700)
    rows = [["Title of the list"], [], ["Name", "Mobile", "City"]]
    rows += [[f"name {i}", 972520000000 + i, None if i % 7 else "Haifa"] for i in range(400)]
    rows += [[None, None, None]] * 3 + [[" ", None, "end"]]
    assert check(write_xlsxwriter(tmp_path / "small-blocks.xlsx", rows)) is not None
    assert check(write_openpyxl(tmp_path / "small-blocks-inline.xlsx", rows, write_only=True)) is not None


# ---------------------------------------------------------------- byte scans before regular expressions


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "_", "x", "_x", "00", "fF", "&", "#", "&#", "\r", "\n", "\t", "\x0b",
                                 "\x1f", "\x00", " ", "é", "\u2028", "<v>", "&amp;"]), max_size=12).map("".join))
def test_byte_scans_find_unhandled_text_as_the_regular_expression_does(text):
    import pipeline.xlsxstream as xlsxstream

    data = text.encode()
    expected = pc.any(pc.match_substring_regex(pa.array([text]), xlsxstream._UNHANDLED_TEXT)).as_py()
    assert xlsxstream._has_unhandled_text(data, xlsxstream._as_text(data)) == expected


def test_byte_scans_find_unhandled_text_in_naughty_strings():
    import pipeline.xlsxstream as xlsxstream

    for line in naughty_strings(split_lines=False):
        data = line.encode()
        expected = pc.any(pc.match_substring_regex(pa.array([line]), xlsxstream._UNHANDLED_TEXT)).as_py()
        assert xlsxstream._has_unhandled_text(data, xlsxstream._as_text(data)) == expected, line


# ---------------------------------------------------------------- members inflated by ISA-L


MEMBERS = {
    "zeros.bin": bytes(3_000_000),  # compresses a thousandfold: many full chunks from one read
    "text.xml": "".join(f"<row r=\"{i}\"><c r=\"A{i}\"><v>{i * 7919 % 10007}</v></c></row>"
                        for i in range(40_000)).encode(),
    "empty.xml": b"",
    "noise.bin": bytes((i * 2654435761 >> 13) & 0xFF for i in range(300_000)),  # barely compresses
}


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
@pytest.mark.parametrize("block", [1, 700, 1 << 16, 1 << 22])
def test_members_inflate_to_what_zipfile_reads(tmp_path, monkeypatch, compression, block):
    import pipeline.xlsxstream as xlsxstream

    monkeypatch.setattr(xlsxstream, "_BLOCK", block)
    path = tmp_path / "members.zip"
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in MEMBERS.items():
            archive.writestr(name, data)
    with zipfile.ZipFile(path) as archive:
        for name, data in MEMBERS.items():
            chunks = list(xlsxstream._inflated(archive, name))
            assert all(0 < len(chunk) <= block for chunk in chunks)
            assert b"".join(chunks) == data == archive.read(name)


@pytest.mark.parametrize("damage", ["crc", "data", "garbage", "cut"])
def test_a_damaged_member_is_refused_and_the_calamine_path_decides(tmp_path, damage):
    import pipeline.xlsxstream as xlsxstream

    path = bench_shaped(tmp_path / "contacts.xlsx", 300)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    if damage == "crc":
        entry = raw.rfind(info.filename.encode()) - 46  # the central directory's entry comes last
        assert raw[entry:entry + 4] == b"PK\x01\x02"
        raw[entry + 16] ^= 0xFF  # its CRC-32
    elif damage == "data":
        raw[start + info.compress_size // 2] ^= 0x55
    elif damage == "garbage":  # not deflate at all
        raw[start:start + 64] = b"\xff" * 64
    else:
        del raw[start + info.compress_size // 2:start + info.compress_size]
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as archive, pytest.raises((zipfile.BadZipFile, EOFError, OSError, zlib_errors())):
        b"".join(xlsxstream._inflated(archive, "xl/worksheets/sheet1.xml"))
    assert fast_path(path, LIMITS) is None  # declined: the calamine path decides
    assert outcome(read_table, path) == "refused: The workbook is damaged or truncated and cannot be read."


@pytest.mark.parametrize("member", ["xl/worksheets/sheet1.xml", "xl/styles.xml"])
@pytest.mark.parametrize("flag, method", [(0x1, None), (0, 9), (0, 12)])  # encrypted; deflate64; bzip2
def test_a_member_zipfile_cannot_open_declines_to_the_calamine_path(tmp_path, flag, method, member):
    import struct

    path = bench_shaped(tmp_path / "contacts.xlsx", 50)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = bytearray(path.read_bytes())
    entry = raw.rfind(info.filename.encode()) - 46
    for header, at in ((entry, 8), (info.header_offset, 6)):  # central directory, local header: flags then method
        flags, old_method = struct.unpack("<HH", raw[header + at:header + at + 4])
        raw[header + at:header + at + 4] = struct.pack("<HH", flags | flag, method or old_method)
    path.write_bytes(bytes(raw))
    assert fast_path(path, LIMITS) is None
    assert isinstance(outcome(read_table, path), str)  # refused with a sentence, not an exception


def zlib_errors():
    from isal import isal_zlib

    return isal_zlib.error


# ---------------------------------------------------------------- generated workbooks

MIXED = [
    ["Contacts exported", None, None],
    [None, None, None],
    ["Name", "Phone", "Score", "Active", "Note"],
    ["Dana", 972523456789, 1.5, True, "  padded  "],
    ["דנה כהן", "0521234567", -0.0, False, "🎉 emoji"],
    ["   ", 1e15, 1e15 + 2, None, "tab\there"],
    [None, None, None, None, None],
    ["José", -1e15, 123456789012345678.0, True, "line\nbreak"],
    ["Avi", 1e-7, 2.5e-300, False, "<&>\"'"],
    ["Big", 1e300, 0.1 + 0.2, None, "x"],
    ["Huge", 1.7976931348623157e308, None, None, None],
    [None, None, None, None, "  "],
]


@pytest.mark.parametrize("writer", ["openpyxl", "openpyxl-write-only", "xlsxwriter"])
@pytest.mark.parametrize("start", [(1, 1), (3, 2)])
def test_mixed_types_agree(tmp_path, writer, start):
    path = tmp_path / f"mixed-{writer}.xlsx"
    if writer == "xlsxwriter":
        write_xlsxwriter(path, MIXED, start=(start[0] - 1, start[1] - 1))
    else:
        write_openpyxl(path, MIXED, write_only=writer.endswith("write-only"), start=start)
    check(path)
    rows = [row for row in MIXED if row[0] != "Huge"]  # written rounded up by openpyxl: infinity
    assert check(write_xlsxwriter(tmp_path / "plain.xlsx", rows, start=(start[0] - 1, start[1] - 1))) is not None


@pytest.mark.parametrize("fmt", ["yyyy-mm-dd", "dd/mm/yyyy hh:mm:ss", "h:mm", "[h]:mm:ss", "mm:ss", "0.00",
                                 "#,##0", "0%", "00000", "@", "General", '"kg" 0', "0.00E+00", "d-mmm"])
def test_number_formats_agree_or_fall_back(tmp_path, fmt):
    rows = [["Name", "Value"], ["a", 45000.25], ["b", 1.0], ["c", 0.5], ["d", 60000]]
    check(write_xlsxwriter(tmp_path / "formats.xlsx", rows, formats={1: fmt}))


def test_dates_times_and_durations_agree_or_fall_back(tmp_path):
    rows = [["Name", "Born", "At", "Time"],
            ["a", dt.date(1980, 2, 29), dt.datetime(2020, 1, 2, 3, 4, 5, 600000), dt.time(23, 59, 59, 700000)],
            ["b", dt.date(1900, 3, 1), dt.datetime(1999, 12, 31, 23, 59, 59), dt.time(0, 0)]]
    check(write_openpyxl(tmp_path / "dates.xlsx", rows))


def test_formulas_errors_and_rich_text_agree_or_fall_back(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "formulas.xlsx"))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Name", "Sum", "Text", "Err", "Flag"])
    sheet.write_row(1, 0, ["a"])
    sheet.write_formula(1, 1, "=1+1", None, 2)
    sheet.write_formula(1, 2, '="x"&"y"', None, "xy")
    sheet.write_formula(1, 3, "=1/0", None, "#DIV/0!")
    sheet.write_formula(1, 4, "=TRUE()", None, True)
    sheet.write_row(2, 0, ["b"])
    sheet.write_formula(2, 3, "=NA()", None, "#N/A")
    sheet.write_rich_string(3, 0, "plain ", book.add_format({"bold": True}), "bold", " tail")
    book.close()
    check(tmp_path / "formulas.xlsx")

    rich = Workbook()
    rich.active.append(["Name", "Note"])
    rich.active.append([CellRichText("Dana ", TextBlock(InlineFont(b=True), "Cohen")), "x"])
    rich.save(tmp_path / "rich-inline.xlsx")
    check(tmp_path / "rich-inline.xlsx")


RAW_CELLS = [
    '<c r="B2" t="inlineStr"><is><t>a</t></is></c>',
    '<c r="B2" t="inlineStr"/>',
    '<c r="B2" t="inlineStr"></c>',
    '<c r="B2" t="inlineStr"><is></is></c>',
    '<c r="B2" t="inlineStr"><is/></c>',
    '<c r="B2" t="inlineStr"><is><t/></is></c>',
    '<c r="B2" t="inlineStr"><is><t xml:space="preserve">  x </t></is></c>',
    '<c r="B2" t="inlineStr"><v>zz</v></c>',
    '<c r="B2" t="str"><f>x</f><v></v></c>',
    '<c r="B2" t="str"><f>x</f><v/></c>',
    '<c r="B2" t="str"><f>x</f></c>',
    '<c r="B2" t="str"><v> q &amp; &lt;r&gt; </v></c>',
    '<c r="B2" t="s"><v></v></c>',
    '<c r="B2" t="s"><v>0</v></c>',
    '<c r="B2" t="s"><v>1</v></c>',
    '<c r="B2" t="n"><v></v></c>',
    '<c r="B2"><v>1.50</v></c>',
    '<c r="B2"><v>+3</v></c>',
    '<c r="B2"><v>.5</v></c>',
    '<c r="B2"><v>1E3</v></c>',
    '<c r="B2"><v>abc</v></c>',
    '<c r="B2" s="1"><v>45000</v></c>',
    '<c r="B2" s="2"><v>45000.5</v></c>',
    '<c r="B2" s="7"><v>45000</v></c>',
    '<c r="B2" t="b"><v>1</v></c>',
    '<c r="B2" t="b"><v>2</v></c>',
    '<c r="B2" t="e"><v>#N/A</v></c>',
    '<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
    '<c r="B2" t="e"><v>#SPILL!</v></c>',
    '<c r="B2" t="d"><v>2020-01-01</v></c>',
    '<c r="B2" t="inlineStr"><is><t>a_x000D_b</t></is></c>',
    '<c r="B2" t="inlineStr"><is><t>&#65;</t></is></c>',
    '<c r="B2" t="inlineStr"><is><r><t>a</t></r><r><t> b</t></r></is></c>',
    '<c r="B2" t="inlineStr" s="1"><is><t>order</t></is></c>',
    '<c r="B2" cm="1"><v>4</v></c>',
    '<c t="inlineStr"><is><t>no reference</t></is></c>',
    '<c r="b2" t="inlineStr"><is><t>lower case</t></is></c>',
    '<c r="B2" t="inlineStr"><is><t>x</t></is></c><c r="B2" t="inlineStr"><is><t>twice</t></is></c>',
    '<c r="C2" t="inlineStr"><is><t>x</t></is></c><c r="B2" t="inlineStr"><is><t>backwards</t></is></c>',
    '<x:c r="B2" t="inlineStr"><x:is><x:t>prefixed</x:t></x:is></x:c>',
]
RAW_STYLES = ('<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
              '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="2"/></cellXfs>')


@pytest.mark.parametrize("cell", RAW_CELLS)
def test_hand_written_cells_agree_or_fall_back(tmp_path, cell):
    data = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>Value</t></is></c><c r="C1" t="inlineStr"><is><t>Next</t></is></c></row>'
            f'<row r="2"><c r="A2" t="inlineStr"><is><t>first</t></is></c>{cell}</row>'
            '<row r="3"><c r="A3" t="inlineStr"><is><t>last</t></is></c></row>')
    check(write_raw(tmp_path / "cell.xlsx", data, shared=["<t>shared</t>", "<t xml:space=\"preserve\"> s </t>"],
                    styles=RAW_STYLES))
    check(write_raw(tmp_path / "cell-no-styles.xlsx", data, shared=["<t>shared</t>", "<t/>"]))


@pytest.mark.parametrize("shared", [
    ["<t>a &amp; b</t>", "<t>&lt;tag&gt;</t>"],
    ["<t>x</t>", ""],
    ["<t>x</t>", "<r><t>rich</t></r><r><rPr><b/></rPr><t> text</t></r>"],
    ["<t>x</t>", "<t>base</t><rPh sb=\"0\" eb=\"1\"><t>phonetic</t></rPh>"],
    ["<t>x_x000D_y</t>", "<t>y</t>"],
])
def test_shared_strings_agree_or_fall_back(tmp_path, shared):
    data = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c><c r="B1" t="inlineStr"><is><t>Value</t>'
            '</is></c></row><row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>')
    check(write_raw(tmp_path / "shared.xlsx", data, shared=shared))


def test_merged_cells_and_sheet_order_agree_or_fall_back(tmp_path):
    book = Workbook()
    hidden = book.active
    hidden.title = "Hidden"
    hidden.sheet_state = "hidden"
    hidden.append(["Secret", "Column"])
    hidden.append(["s", "t"])
    empty = book.create_sheet("Empty")
    empty["C3"] = "   "
    merged = book.create_sheet("Merged")
    merged.append(["Name", "Group", "City"])
    merged.append(["a", "g1", "x"])
    merged.append(["b", None, "y"])
    merged.merge_cells("B2:B3")
    book.save(tmp_path / "sheets.xlsx")
    check(tmp_path / "sheets.xlsx")


# ---------------------------------------------------------------- refusals


def test_limits_are_refused_alike(tmp_path):
    path = write_xlsxwriter(tmp_path / "wide.xlsx", [[f"h{j}" for j in range(12)],
                                                      *[[i] * 12 for i in range(30)]])
    assert check(path, {"max_rows": 1000, "max_columns": 5}) == (
        "refused: The file has 12 columns, more than the 5 one import accepts.")
    assert check(path, {"max_rows": 10, "max_columns": 1000}).startswith("refused: The file has more than 10 data")


def test_cells_scattered_over_a_huge_box_are_refused_alike(tmp_path):
    data = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c><c r="B1" t="inlineStr"><is><t>Phone</t>'
            '</is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Dana</t></is></c><c r="B2"><v>5</v></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    path = write_raw(tmp_path / "stray.xlsx", data)
    assert check(path).startswith("refused: The sheet has cells scattered")
    wide = "".join(f'<c r="{ref}1" t="inlineStr"><is><t>h{ref}</t></is></c>' for ref in ("AA", "AB", "AZ"))
    check(write_raw(tmp_path / "wide-but-small.xlsx", f'<row r="1">{wide}</row><row r="2"><c r="AA2"><v>1</v></c></row>'))


# ---------------------------------------------------------------- generated sheets

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12).map(
    lambda s: ILLEGAL_CHARACTERS_RE.sub("", s))
CELL = st.one_of(
    st.none(), TEXT, st.sampled_from(["", " ", "\t", "Name", "0521234567", "+972 52", "a&b", "<x>", "_x000D_"]),
    st.integers(-10**16, 10**16),
    st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
)
SHEETS = st.lists(st.lists(CELL, min_size=0, max_size=5), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=SHEETS, writer=st.sampled_from(["openpyxl", "xlsxwriter"]), start=st.sampled_from([(1, 1), (2, 3)]))
def test_generated_sheets_agree_or_fall_back(tmp_path, rows, writer, start):
    path = tmp_path / f"generated-{writer}.xlsx"
    if writer == "xlsxwriter":
        write_xlsxwriter(path, rows, start=(start[0] - 1, start[1] - 1))
    else:
        rows = [[v if not (isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53) else float(v)
                 for v in row] for row in rows]
        write_openpyxl(path, rows, start=start)
    check(path)


def test_whole_floats_near_the_integer_limit(tmp_path):
    values = [1e15, -1e15, 1e15 + 2, 999999999999999.0, 1e16, 2.0**53, 0.1, 1e-5, 1e22, -0.0, 5e-324]
    rows = [["Name", "Value"], *[[f"r{i}", v] for i, v in enumerate(values)]]
    table = check(write_xlsxwriter(tmp_path / "floats.xlsx", rows))
    assert table is not None
    assert table.columns[1] == [str(int(v)) if v.is_integer() and abs(v) <= 1e15 else repr(v) for v in values]
    assert not any(math.isnan(float(t)) for t in table.columns[1])


# ---------------------------------------------------------------- dates, times and durations

# Serials around the edges calamine and python-calamine treat apart: 0 and 1 (a time or a date),
# 59-61 (Excel's phantom 1900-02-29), half seconds and milliseconds, the end of year 9999, negatives.
SERIALS = [0.0, 1e-9, 0.25, 0.5, 0.99999999, 1.0, 1.5, 59.0, 59.5, 60.0, 60.25, 61.0, 61.75, 25569.0,
           45000.0, 45000.123456789, 45000 + 0.5 / 86400, 45000 + 0.49999 / 86400, 45000 + 1.5 / 86_400_000,
           45000 + 0.0005 / 86400, 45000 + 1 - 1e-10, 2958465.0, 2958465.9999999, 2958465.99999999, 2958466.0,
           2958466.5, 1e9, 1e20, -1e-9, -0.25, -1.0, -1.5, -1462.5, -700000.3, 1e15, 123.000011574]
DATE_FORMATS = [14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47, "yyyy-mm-dd",
                "dd/mm/yyyy hh:mm:ss", "h:mm AM/PM", "[h]:mm:ss", "[mm]:ss", "[s].000", "mm:ss.0",
                '"at "hh:mm', "[$-409]d-mmm-yy;@", "0.00", "#,##0*y", "General", "A/P", "[Red][h]:mm"]


def write_serials(path: Path, serials: list[float], formats: list, *, date1904: bool = False) -> Path:
    """One column per format, one row per serial, written as plain numbers under that format."""
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, ["Name", *[f"f{j}" for j in range(len(formats))]])
    styles = [book.add_format({"num_format": f}) for f in formats]
    for i, serial in enumerate(serials, 1):
        sheet.write_string(i, 0, f"r{i}")
        for j, style in enumerate(styles, 1):
            duration = formats[j - 1] in (46, "[h]:mm:ss", "[mm]:ss", "[s].000", "[Red][h]:mm")
            if not (duration and abs(serial) > 1e8):  # python-calamine itself cannot convert those
                sheet.write_number(i, j, serial, style)
    book.close()
    return path


@pytest.mark.parametrize("date1904", [False, True])
def test_serials_under_date_formats_agree(tmp_path, date1904):
    usable = [s for s in SERIALS if s > -9e7]
    assert check(write_serials(tmp_path / "serials.xlsx", usable, DATE_FORMATS, date1904=date1904)) is not None


@pytest.mark.parametrize("number_format", [27, 30, 36, 50, 55, 58])
def test_numbers_in_east_asian_date_formats_are_left_to_calamine(tmp_path, number_format):
    # python-calamine 0.9.0 reads them as plain numbers, 0.9.1 as dates: whichever is installed decides.
    path = write_serials(tmp_path / "locale.xlsx", [45000.0, 1.5], [number_format])
    assert check(path) is None
    assert read_table(path).columns[1] == calamine_path(path, LIMITS).columns[1]


def test_serials_outside_the_calendar_fall_back(tmp_path):
    assert check(write_serials(tmp_path / "ancient.xlsx", [1.0, -1e9], ["h:mm"])) is None
    assert check(write_serials(tmp_path / "long.xlsx", [1.0, 2e8], ["[h]:mm"])) is None


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter"])
@pytest.mark.parametrize("date1904", [False, True])
def test_python_dates_times_and_durations_agree(tmp_path, writer, date1904):
    rows = [["Name", "Born", "At", "Time", "Took"],
            ["a", dt.date(1980, 2, 29), dt.datetime(2020, 1, 2, 3, 4, 5, 600000), dt.time(23, 59, 59, 700000),
             dt.timedelta(hours=30, minutes=5)],
            ["b", dt.date(1900, 3, 1), dt.datetime(1999, 12, 31, 23, 59, 59), dt.time(0, 0), dt.timedelta(0)],
            ["c", dt.date(1904, 1, 2), dt.datetime(1904, 1, 1, 12, 0), dt.time(12, 0, 0, 499000),
             dt.timedelta(days=-1, seconds=5)],
            ["d", dt.date(9999, 12, 31), dt.datetime(9999, 12, 31, 23, 59, 59, 999000), dt.time(0, 0, 0, 500000),
             dt.timedelta(milliseconds=1)]]
    path = tmp_path / f"dates-{writer}.xlsx"
    if writer == "openpyxl":
        from openpyxl.utils.datetime import CALENDAR_MAC_1904

        book = Workbook()
        if date1904:
            book.epoch = CALENDAR_MAC_1904
        book.active.title = "Contacts"
        for row in rows:
            book.active.append(row)
        book.save(path)
    else:
        book = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
        sheet = book.add_worksheet("Contacts")
        formats = {1: "yyyy-mm-dd", 2: "yyyy-mm-dd hh:mm:ss", 3: "hh:mm:ss", 4: "[h]:mm:ss"}
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if i and j:
                    sheet.write_datetime(i, j, value, book.add_format({"num_format": formats[j]}))
                else:
                    sheet.write(i, j, value)
        book.close()
    assert check(path) is not None


FORMAT_CODES = st.text(st.sampled_from(list('dmhysDMHYSaApP/[]"\\_*;0#.:, E@b')), min_size=1, max_size=10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formats=st.lists(FORMAT_CODES, min_size=1, max_size=12, unique=True))
def test_generated_format_codes_are_read_alike(tmp_path, formats):
    """calamine's reading of custom format codes, mirrored: every cell agrees and none declines."""
    assert check(write_serials(tmp_path / "codes.xlsx", [0.25, 1.0, 45000.75, -2.5], formats)) is not None


SERIAL = st.one_of(
    st.floats(-1e6, 3e6, allow_nan=False),
    st.integers(-100, 3_000_000).map(float),
    st.tuples(st.integers(0, 3_000_000), st.integers(0, 86_400_000)).map(lambda p: p[0] + p[1] / 86_400_000),
    st.tuples(st.integers(0, 100_000), st.integers(0, 86_400)).map(lambda p: p[0] + (p[1] + 0.5) / 86_400),
    st.sampled_from(SERIALS),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(serials=st.lists(SERIAL, min_size=1, max_size=20), formats=st.lists(st.sampled_from(DATE_FORMATS), min_size=1,
       max_size=4, unique=True), date1904=st.booleans())
def test_generated_serials_agree(tmp_path, serials, formats, date1904):
    assert check(write_serials(tmp_path / "serials.xlsx", serials, formats, date1904=date1904)) is not None


@pytest.mark.parametrize("properties", ['<workbookPr date1904="1"/>', '<workbookPr date1904="true"/>',
                                        '<workbookPr date1904="0"/>', '<workbookPr date1904="TRUE"/>',
                                        '<workbookPr defaultThemeVersion="124226"/>',
                                        '<workbookPr date1904="1" />'])
def test_workbook_date_systems_agree(tmp_path, properties):
    data = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c><c r="B1" t="inlineStr"><is><t>Born</t>'
            '</is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c><c r="B2" s="1"><v>45000.25</v>'
            '</c></row><row r="3"><c r="A3" t="inlineStr"><is><t>b</t></is></c><c r="B3" s="2"><v>0.75</v></c></row>')
    path = write_raw(tmp_path / "system.xlsx", data, styles=RAW_STYLES)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace(b"<sheets>", properties.encode() + b"<sheets>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert check(path) is not None


def test_bench_shaped_contacts_with_real_birth_dates_take_the_fast_path(tmp_path):
    from bench.run import HEAD, rows

    dated = []
    for row in rows(3000, as_number=True):
        day, month, year = map(int, row[6].split("/"))
        dated.append([*row[:6], dt.datetime(year, month, day), *row[7:]])
    path = write_openpyxl(tmp_path / "dated.xlsx", [HEAD, *dated], write_only=True)
    table = check(path)
    assert table is not None and not isinstance(table, str)
    assert table.columns[6][:2] == [f"{d[6]:%Y-%m-%d}" for d in dated[:2]]


# ---------------------------------------------------------------- the split path for the plainest cells

plain_cells = st.builds(
    lambda column, row, style, kind, value, shape, tail: (
        f'r="{column}{row}"' + (f' s="{style}"' if style is not None else "") + (f' t="{kind}"' if kind else "")
        + {"closed": "/>", "spaced": " />", "empty": "></c>", "v": f"><v>{value}</v></c>",
           "is": f"><is><t>{value}</t></is></c>"}[shape] + tail),
    st.sampled_from(["A", "B", "Z", "AA", "XFD"]), st.integers(1, 1_048_576), st.none() | st.integers(0, 300),
    st.sampled_from(["", "s", "n", "b", "e", "str", "inlineStr"]),
    st.text(st.characters(blacklist_characters="<&\r", blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["closed", "spaced", "empty", "v", "is"]),
    st.sampled_from(["", "</row>", '</row><row r="7" spans="1:3">', "\n"]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["", '<row r="3" spans="1:2">', "\n", '<row r="1" x14ac:dy="0.2" a="<c ">', "<x>"]),
       st.lists(plain_cells | st.sampled_from(['r="A1"><f>1</f><v>1</v></c>', 'r="B2" foo="<c ">/>',
                                               'r="C3"><v>1<c r="A1"/></v></c>']), max_size=12))
def test_a_block_matched_whole_is_a_block_of_plain_cells(head, cells):
    """The one-pass match of a block may only say "plain" where every piece is a plain cell."""
    from pipeline import xlsxstream

    text = pa.array([head + "".join("<c " + c for c in cells)])
    if pc.all(pc.match_substring_regex(text, xlsxstream._PLAIN_BLOCK)).as_py():
        pieces = pc.list_flatten(pc.split_pattern(text, "<c "))
        assert pieces[1:].to_pylist() == cells
        assert pc.match_substring_regex(pieces[:1], xlsxstream._ROW_TAGS).to_pylist() == [True]
        assert all(pc.match_substring_regex(pieces[1:], xlsxstream._PLAIN_CELL).to_pylist())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-10**17, 10**17).map(str) | st.sampled_from(["0", "-0", "00", "007", "1.0", "1e3"]),
                min_size=1, max_size=8))
def test_integers_written_back_as_written_are_the_text_calamine_shows(numbers):
    from pipeline import xlsxstream
    from pipeline.table import _float_text

    try:
        shown = xlsxstream._number_text(pa.array(numbers)).to_pylist()
    except xlsxstream._Unsupported:
        return
    assert shown == [_float_text(float(n)) for n in numbers]


def test_blocks_written_by_excel_openpyxl_and_xlsxwriter_are_matched_whole(tmp_path):
    from pipeline import xlsxstream

    rows = [["Name", "Mobile", "Born"], ["Dana", 972523456789, dt.date(1990, 5, 17)], ["  Avi ", None, "x"]]
    for path in (write_openpyxl(tmp_path / "o.xlsx", rows, write_only=True), write_xlsxwriter(tmp_path / "x.xlsx", rows),
                 bench_shaped(tmp_path / "b.xlsx", 50)):
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("xl/worksheets/sheet1.xml").decode()
        block = xml[xml.index("<sheetData>") + len("<sheetData>"):xml.index("</sheetData>")]
        block = block.replace(' xml:space="preserve"', "")  # the one cell shape the plain path leaves out
        assert pc.all(pc.match_substring_regex(pa.array([block]), xlsxstream._PLAIN_BLOCK)).as_py(), path.name
    excel_row = ('<row r="2" spans="1:3" x14ac:dyDescent="0.25"><c r="A2" t="s"><v>0</v></c>'
                 '<c r="B2"><v>972523456789</v></c><c r="C2" s="1"><v>33010</v></c></row>')
    assert pc.all(pc.match_substring_regex(pa.array([excel_row]), xlsxstream._PLAIN_BLOCK)).as_py()


@settings(max_examples=200, deadline=None)
@given(st.lists(plain_cells, min_size=1, max_size=30))
def test_the_split_path_finds_the_fields_the_regular_expression_finds(cells):
    from pipeline import xlsxstream

    pieces = pa.array(cells, pa.string())
    assert pc.all(pc.match_substring_regex(pieces, xlsxstream._PLAIN_CELL)).as_py()
    assert pc.all(pc.match_substring_regex(pieces, xlsxstream._CELL)).as_py(), "plain cells are a subset"
    split = xlsxstream._plain_fields(pieces)
    regex = pc.extract_regex(pieces, xlsxstream._FIELDS)
    for name in ("ref", "s", "t"):
        assert split.field(name).to_pylist() == regex.field(name).to_pylist(), name
    closed = [a.endswith("/") for a in regex.field("attrs").to_pylist()]
    assert [a.endswith("/") for a in split.field("attrs").to_pylist()] == closed
    opened = regex.field("open").to_pylist()
    for c, o_split, o_regex, v_split, v_regex in zip(closed, split.field("open").to_pylist(), opened,
                                                     split.field("value").to_pylist(),
                                                     regex.field("value").to_pylist()):
        if c:
            continue
        assert (o_split == "<v>") == (o_regex == "<v>")
        assert o_split.startswith("<is") == o_regex.startswith("<is")
        if o_regex == "<v>" or o_regex.startswith("<is"):
            assert v_split == v_regex
