"""The first rows of a file, fast, for a preview: the import wizard's mapping step, `POST /imports/map`.

A preview needs the header and a few rows, not the whole file; reading a
million-row workbook whole takes seconds.  A text file is read up to its first
`HEAD_BYTES`.  An xlsx is cut down to a small package of its own first: each
sheet's XML up to the end of its first rows, and the shared strings those rows
use, the rest of its parts as they are; that package is then read by the one
workbook reader, so a preview shows each cell exactly as the import will.  The
cut is done on row and string boundaries found by their closing tags; no cell
is parsed here.  Other workbook formats are read whole (an xls holds at most
65,536 rows; an ods's rows cannot be cut so simply).

Nothing of the file is inflated beyond `HEAD_BYTES` a sheet and `PART_BYTES`
for every other part, so a preview of a hostile package stops early; the
import still puts the whole file through the zip guard.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

#: Rows a preview shows at most (titles above the header included).
PREVIEW_ROWS = 50
#: Bytes of a sheet's XML (or of a text file) a preview reads at most.
HEAD_BYTES = 4 << 20
#: Bytes of any other part of a package a preview copies at most; a larger part means the whole read.
PART_BYTES = 16 << 20

_ROW_END = re.compile(rb"</row>|<row\b[^>]*/>")
_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
_SHARED_INDEX = re.compile(rb'<c\b[^>]*\bt="s"[^>]*>\s*<v>(\d+)</v>')
_SST_COUNTS = re.compile(rb'\s(?:count|uniqueCount)="\d*"')
_STRING_END = re.compile(rb"</si>|<si\b[^>]*/>")


def head_package(path: Path, folder: Path, rows: int = PREVIEW_ROWS) -> Path | None:
    """A small xlsx in FOLDER holding the first ROWS rows of each sheet of the xlsx at PATH; None when the file
    is not an xlsx that can be cut so (the caller then reads it whole)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" not in names or "mimetype" in names:
                return None
            sheets = [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]
            cut: dict[str, bytes] = {}
            shortened = False
            for name in sheets:
                head = _first(archive, name, HEAD_BYTES + 1)
                longer = len(head) > HEAD_BYTES or _has_more_rows(head, rows)
                cut[name] = _cut_rows(head, rows) if longer else head
                shortened = shortened or longer
            if not shortened:
                return None  # no sheet has more rows than a preview shows: the file is read whole, as quickly
            wanted = max((int(m) for name in sheets for m in _SHARED_INDEX.findall(cut[name])), default=-1)
            if "xl/sharedStrings.xml" in names:
                cut["xl/sharedStrings.xml"] = _cut_strings(archive, wanted + 1)
            target = folder / "head.xlsx"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
                for name in names:
                    if name.endswith("/"):
                        continue
                    if name in cut:
                        data = cut[name]
                    else:
                        data = _first(archive, name, PART_BYTES + 1)
                        if len(data) > PART_BYTES:
                            return None
                    out.writestr(name, data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError, RuntimeError):
        return None  # the whole read says what is wrong with it, in its own sentence
    return target


def _first(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's first LIMIT inflated bytes at most (what its header declares is never trusted)."""
    with archive.open(name) as member:
        return member.read(limit)


def _has_more_rows(xml: bytes, rows: int) -> bool:
    return sum(1 for _ in zip(range(rows + 1), _ROW_END.finditer(xml))) > rows


def _cut_rows(xml: bytes, rows: int) -> bytes:
    """A sheet's XML with its first ROWS rows only (as many as XML holds when it was cut short), closed again."""
    ends = 0
    for found in _ROW_END.finditer(xml):
        ends += 1
        if ends == rows:
            return _closed(xml[:found.end()])
    last = xml.rfind(b"</row>")
    return _closed(xml[:last + len(b"</row>")] if last >= 0 else xml[:xml.find(b"<sheetData")] + b"<sheetData>")


def _closed(head: bytes) -> bytes:
    head = _DIMENSION.sub(b"", head, count=1)  # the original size would make the reader plan for every row
    return head + b"</sheetData></worksheet>"


def _cut_strings(archive: zipfile.ZipFile, count: int) -> bytes:
    """The shared-string part with its first COUNT strings (the ones the cut rows can name)."""
    with archive.open("xl/sharedStrings.xml") as member:
        data = b""
        seen = 0
        at = 0
        while True:
            block = member.read(1 << 20)
            data += block
            if count <= 0 and (opening := re.search(rb"<sst\b[^>]*>", data)):
                return _strings_closed(data[:opening.end()])
            for found in _STRING_END.finditer(data, at):
                seen += 1
                if seen >= count:
                    return _strings_closed(data[:found.end()])
                at = found.end()  # a string cut by the block's end is found whole in the next round
            if not block:
                return data
            if len(data) > PART_BYTES:
                raise ValueError("the shared strings the first rows use are too far into the part")


def _strings_closed(head: bytes) -> bytes:
    opening = head.find(b"<sst")
    if opening < 0:
        return head
    close = head.find(b">", opening)
    head = head[:opening] + _SST_COUNTS.sub(b"", head[opening:close]) + head[close:]
    if head.rstrip().endswith(b"/>") and head.find(b"<si") < 0:
        return head
    return head + b"</sst>"


def text_head(path: Path, folder: Path) -> Path | None:
    """A text file's first `HEAD_BYTES`, cut after a line's end, in FOLDER; None when the file is no longer."""
    with open(path, "rb") as fh:
        data = fh.read(HEAD_BYTES + 1)
    if len(data) <= HEAD_BYTES:
        return None
    end = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if end <= 0:
        return None
    target = folder / path.name
    target.write_bytes(data[:end + 1])
    return target
