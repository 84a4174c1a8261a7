"""The project's own xlsx writer: every cell an inline text cell, streamed, written aside and renamed.

Used for reject workbooks and xlsx exports.  A big reject workbook is written
by a child process (`python -m pipeline.output`), so its Python work does
not take turns with the import's for the interpreter lock.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

from .files import aside, put_in_place

EXCEL_MAX_CELL = 32_767


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def xlsx_text(value: object) -> str:
    """A value as an xlsx text cell can hold it: length capped, lone surrogates replaced."""
    text = "" if value is None else str(value)
    if len(text) > EXCEL_MAX_CELL:
        text = text[:EXCEL_MAX_CELL]
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def write_xlsx(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Sheet1") -> None:
    """An xlsx whose every cell is a text cell (never a formula, a number or a link), written aside and renamed.

    The sheet is streamed into the package row by row (constant memory), with
    bold headers; each cell is an inline string, escaped as Excel escapes it
    (control characters as `_xHHHH_`, a literal `_xHHHH_` as `_x005F_xHHHH_`,
    whitespace at either end preserved), so no value is lost or changed.  It is
    written here rather than with XlsxWriter, which takes about 4 µs a cell: a
    big file's reject workbook would compete with the upsert for seconds.  The
    tests hold both to the same workbook as read back.
    """
    tmp = aside(path)
    name = re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "Sheet1"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as package:
            for member, text in _XLSX_PARTS.items():
                package.writestr(member, text.replace("{sheet}", _xml_escape(name, quote=True)))
            with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet_xml:
                sheet_xml.write(_SHEET_START)
                chunk = [_xlsx_row(1, headers, ' s="1"')]
                for r, row in enumerate(rows, start=2):
                    chunk.append(_xlsx_row(r, row, ""))
                    if len(chunk) >= 2000:
                        sheet_xml.write("".join(chunk).encode("utf-8"))
                        chunk = []
                chunk.append("</sheetData></worksheet>")
                sheet_xml.write("".join(chunk).encode("utf-8"))
        put_in_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _column_letters(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


_COLUMNS = [_column_letters(n) for n in range(16384)]
#: What a cell's text needs escaped: XML's own characters, control characters, Excel's escape look-alikes.
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_EXCEL_ESCAPE_LOOKALIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f]")
_EDGE_SPACE = re.compile(r"^\s|\s$")


def _xlsx_row(r: int, cells: Sequence[object], style: str) -> str:
    parts = [f'<row r="{r}">']
    for c, value in enumerate(cells):
        if value is None or value == "":
            continue
        text = xlsx_text(value)
        if _NEEDS_ESCAPE.search(text):
            text = _EXCEL_ESCAPE_LOOKALIKE.sub(r"_x005F\1", text)
            text = _CONTROL_CHAR.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
            text = _xml_escape(text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_"))
        space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
        parts.append(f'<c r="{_COLUMNS[c]}{r}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>')
    parts.append("</row>")
    return "".join(parts)


def _xml_escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_START = (f'{_DECLARATION}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheetData>').encode()
#: The package around the sheet: content types, relationships, the workbook, and two styles (plain, bold).
_XLSX_PARTS = {
    "[Content_Types].xml": (
        f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'{_DECLARATION}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'{_DECLARATION}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>'
        '<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'{_DECLARATION}<Relationships xmlns="{_PKG_REL_NS}">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        f'{_DECLARATION}<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}


# --------------------------------------------------------------------------- a workbook written by a child process


#: How much lower than the importing process the writer process is scheduled (a Unix nice value).
WRITER_NICENESS = 10


def start_writer(path: Path, sheet: str) -> subprocess.Popen:
    """A child process that writes an xlsx of the rows `feed_writer` sends it (see `write_xlsx`)."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    child = subprocess.Popen([sys.executable, "-m", "pipeline.output", str(path), sheet], stdin=subprocess.PIPE,
                             env=env, start_new_session=True)
    # Beside an import it takes the time the database leaves idle rather than a share of both cores.
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, child.pid, WRITER_NICENESS)
        except OSError:
            pass
    return child


def feed_writer(child: subprocess.Popen, headers: Sequence[str], rows: list[Sequence[object]]) -> None:
    """Send a writer process its header and rows; it writes the workbook once the pipe closes."""
    try:
        child.stdin.write(json.dumps([list(headers), rows], ensure_ascii=False).encode("utf-8", "surrogatepass"))
    finally:
        child.stdin.close()


def write_from_pipe(path: str, sheet: str) -> None:
    """The writer process's work: the header and rows `feed_writer` sends on stdin, written as `write_xlsx` does."""
    headers, rows = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"))
    write_xlsx(Path(path), headers, rows, sheet=sheet)

