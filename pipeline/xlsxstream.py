"""A streaming reader for plain xlsx/xlsm sheets, straight into Arrow text columns.

The calamine path builds every cell of a sheet as a Python object before
`table.py` turns it into text: a million rows cost seconds and well over a
gigabyte.  Here the sheet XML is decompressed a few megabytes at a time, each
block is cut after its last complete row, and Arrow compute (RE2 regular
expressions, casts, takes) turns every cell into the text the calamine path
would give it, with no Python work per cell.  Only the columns' text is kept.

Numbers whose cell format calamine takes for a date, a time or a duration
become the text the calamine path gives the Python `datetime`, `date`, `time`
or `timedelta` python-calamine hands over for them (see `_serial_text`): the
same serial arithmetic (1904 date system, the 1900 leap-year bug, rounding to
the millisecond) is done on whole Arrow columns.

Exactness comes before coverage: whenever the workbook uses something whose
reading by calamine is not mirrored here exactly (rich text, escapes, merged
cells, namespace prefixes, cells without a reference, serials far outside the
calendar, unusual packages...), `read_xlsx_stream` returns None and the
calamine path reads the file as before.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import posixpath
import re
import struct
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from .errors import FileRejected
from .table import (
    HEADER_SCAN_ROWS,
    PY_WHITESPACE,
    TOO_MANY_CELLS,
    Table,
    find_header,
    too_many_columns,
    too_many_rows,
)

# Decompressed bytes handed to Arrow at a time: big enough that the fixed cost
# of each compute call vanishes, small enough that the blocks in flight stay a
# small part of the memory the columns take.
_BLOCK = 1 << 22
_PARSERS = 2  # threads turning blocks into cells

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_SHARED_STRINGS = "xl/sharedStrings.xml"
_STYLES = "xl/styles.xml"


# The error values calamine knows; any other makes it refuse the whole sheet.
_ERRORS = pa.array(["#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"])
# The cell types this reader reads the way calamine does.
_TYPES = pa.array(["", "n", "s", "b", "e", "inlineStr", "str"])
_FLAGS = pa.array(["0", "1"])


@functools.lru_cache(maxsize=None, typed=True)
def _lit(value: object) -> pa.Scalar:
    """An Arrow scalar for a Python value, made once.

    Handed a Python value, a compute function infers its Arrow type anew each
    call, and pyarrow's inference tries to import dateutil each time: where it
    is not installed, a failed import of tens of microseconds under the GIL.
    The date arithmetic alone makes dozens of such calls a block.
    """
    return pa.scalar(value)


@functools.cache
def _column_numbers() -> dict[str, int]:
    """"A".."XFD" -> a column's 0-based number."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    two = [a + b for a in letters for b in letters]
    three = [a + b + c for a in letters for b in letters for c in letters]
    return {name: number for number, name in enumerate((list(letters) + two + three)[:16384])}


# One <c> element, from just after "<c " to the next "<c ", with the row tags
# that may follow it.  Attributes are single-space separated in the order r,
# s, t (as Excel, openpyxl and xlsxwriter write them), other attributes after
# them; anything else fails to match and sends the file to calamine.  Matching
# only (no captures) runs as a DFA, so the strict check is cheap.
_CELL = (
    r'^r="[A-Z]{1,3}[1-9][0-9]{0,6}"(?: s="[0-9]{1,9}")?(?: t="[A-Za-z]{1,9}")?'
    r'(?: (?:[A-Za-z][A-Za-z0-9]+|[a-qu-zA-Z])="[^"]*")* ?'
    r"(?:/>|>[ \t\n]*"
    r"(?:(?:<f(?: [^>]*)?/>|<f(?: [^>]*)?>[^<]*</f>)[ \t\n]*)?"
    r"(?:(?:<v>[^<]*</v>|<v ?/>"
    r'|<is>[ \t\n]*(?:(?:<t>[^<]*</t>|<t xml:space="preserve">[^<]*</t>|<t ?/>)[ \t\n]*)?</is>|<is ?/>)[ \t\n]*)?'
    r"</c>)"
    r'(?:</row>|<row(?: [A-Za-z][A-Za-z0-9:]*="[^"]*")* ?/?>|[ \t\n])*$'
)
# The fields of a cell that matched _CELL: its reference, format, type, the
# first tag of its value (after any formula) and the text that follows it.
_FIELDS = (
    r'^r="(?P<ref>[A-Z0-9]+)"(?: s="(?P<s>[0-9]+)")?(?: t="(?P<t>[A-Za-z]+)")?(?P<attrs>[^>]*)>[ \t\n]*'
    r"(?:(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)[ \t\n]*)?"
    r"(?P<open><is>[ \t\n]*<t[^>]*>|<[^>]*>)?(?P<value>[^<]*)"
)
_ROW_TAGS = r'^(?:</row>|<row(?: [A-Za-z][A-Za-z0-9:]*="[^"]*")* ?/?>|[ \t\n])*$'
# The plainest cells, a subset of _CELL: no other attribute, no formula, no space or
# xml:space inside, the value a <v> or a single <is><t>.  When every cell of a block
# is one, its fields are cut out by splitting (`_plain_fields`), several times
# cheaper than regular expression captures.
_PLAIN_CELL_BODY = (
    r'r="[A-Z]{1,3}[1-9][0-9]{0,6}"(?: s="[0-9]{1,9}")?(?: t="[A-Za-z]{1,9}")? ?'
    r"(?:/>|>(?:<v>[^<]*</v>|<is><t>[^<]*</t></is>)?</c>)"
)
_PLAIN_CELL = "^" + _PLAIN_CELL_BODY + _ROW_TAGS[1:]
# A whole block of the plainest cells, matched in one pass over its text (cheaper than a
# match per cell).  Here the row tags' attribute values hold no "<" either, so no "<c "
# hides anywhere but where a cell starts: the block's pieces split at "<c " are then
# exactly the row tags before the first cell and the cells, each matching _PLAIN_CELL.
_STRICT_ROW_TAGS = _ROW_TAGS[1:-1].replace('="[^"]*"', '="[^"<]*"')
_PLAIN_BLOCK = "^" + _STRICT_ROW_TAGS + "(?:<c " + _PLAIN_CELL_BODY + _STRICT_ROW_TAGS + ")*$"
# Character references, _xHHHH_ escapes, carriage returns (which XML turns
# into line feeds) and control characters are read by calamine's own rules.
_UNHANDLED_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|&#|_x[0-9A-Fa-f]{4}_"
# A cell reference past column AU makes the calamine path's box guard measure
# the sheet (up to 47 = _MAX_GRID_CELLS // _EXCEL_MAX_ROWS columns, any row count is safe).
_WIDE = r'r="(?:A[V-Z]|[B-Z][A-Z]|[A-Z]{3})[0-9]'
# Every byte but those control characters (a UTF-8 byte below 0x80 is the character itself).
_NOT_CONTROL = bytes(b for b in range(256) if not re.fullmatch(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\r]", bytes([b])))
_ENTITY = "&(?:amp|lt|gt|quot|apos);"
_NUMBER = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,3})?$"


class _Unsupported(Exception):
    """The workbook uses something this reader does not mirror exactly."""


@dataclass
class _Book:
    """What the chosen sheet needs from the rest of the package."""

    sheet: str
    member: str
    strings: pa.Array  # shared strings, already as cell text
    style_kinds: pa.Array | None  # per cell format: _PLAIN, _DATETIME or _DURATION; None without styles.xml
    date1904: bool  # serials count days from 1904-01-01


def read_xlsx_stream(path: Path, kind: str, parts: dict[str, str] | None, max_rows: int,
                     max_columns: int) -> Table | None:
    """The sheet the calamine path would pick, read the same way; None when unsure.

    Raises the same `FileRejected` as the calamine path for a sheet it reads
    (too many rows or columns, cells scattered over too big a box).
    """
    if not parts:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            book = _read_book(archive, parts)
            return _read_sheet(archive, kind, book, max_rows, max_columns)
    except (_Unsupported, pa.ArrowException, zipfile.BadZipFile, isal_zlib.error,
            ElementTree.ParseError, OSError, EOFError, ValueError, KeyError, UnicodeError):
        return None


# ---------------------------------------------------------------- the package


def _read_book(archive: zipfile.ZipFile, parts: dict[str, str]) -> _Book:
    names = archive.namelist()
    lowered = {n.lower() for n in names}
    if len(lowered) != len(names):
        raise _Unsupported("members differing only in case")
    for fixed in (_WORKBOOK, _WORKBOOK_RELS, _SHARED_STRINGS, _STYLES):
        if fixed.lower() in lowered and fixed not in names:
            raise _Unsupported("a standard member spelt in another case")
    relations = _workbook_relations(archive)
    for kind, member in (("sharedStrings", _SHARED_STRINGS), ("styles", _STYLES)):
        targets = [target for rel_kind, target in relations.values() if rel_kind.endswith("/" + kind)]
        if targets != ([member] if member in names else []):
            raise _Unsupported(f"{kind} not where calamine looks for it")

    sheets = _workbook_sheets(archive, relations)
    if len({name for name, _, _ in sheets}) != len(sheets):
        raise _Unsupported("two sheets with one name")
    ordered = [s for s in sheets if s[2]] + [s for s in sheets if not s[2]]
    name, member, _ = ordered[0]
    if parts.get(name) != member or not member.startswith("xl/worksheets/") or member not in names:
        raise _Unsupported("sheet outside the usual place")
    strings = _shared_strings(archive) if _SHARED_STRINGS in names else pa.array([], pa.string())
    kinds = _style_kinds(archive) if _STYLES in names else None
    return _Book(name, member, strings, kinds, _date1904(archive))


def _parse_xml(archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    data = _member(archive, member)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _Unsupported("document type declarations")
    return ElementTree.fromstring(data)


def _calamine_path(target: str) -> str:
    """Where calamine looks for a relationship's target (it does not resolve "..")."""
    if target.startswith("/xl/"):
        return target[1:]
    if target.startswith("xl/"):
        return target
    return "xl/" + target


def _workbook_relations(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    root = _parse_xml(archive, _WORKBOOK_RELS)
    if root.tag != f"{{{_PACKAGE_RELATIONSHIPS}}}Relationships":
        raise _Unsupported("relationships in another namespace")
    found = {}
    for rel in root:
        target = rel.get("Target", "")
        if "&" in target or rel.get("TargetMode"):
            raise _Unsupported("unusual relationship target")
        member = _calamine_path(target)
        if posixpath.normpath(member) != member:
            raise _Unsupported("relative relationship target")
        found[rel.get("Id", "")] = (rel.get("Type", ""), member)
    return found


_SHEET_TAG = re.compile(rb"<sheet\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'\s([\w:.-]+)="([^"]*)"')


def _workbook_sheets(archive: zipfile.ZipFile, relations: dict[str, tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """(name, member, visible) of every sheet, in workbook order, as calamine lists them."""
    root = _parse_xml(archive, _WORKBOOK)
    if root.tag != f"{{{_MAIN}}}workbook":
        raise _Unsupported("workbook in another namespace")
    elements = [e for e in root.iter() if e.tag.rpartition("}")[2] == "sheet"]
    raw = _SHEET_TAG.findall(_member(archive, _WORKBOOK))
    if len(raw) != len(elements) or not elements:
        raise _Unsupported("sheets written with prefixes")
    sheets = []
    for element, attributes in zip(elements, raw):
        if re.search(rb"[\t\n\r]|&#", attributes):
            raise _Unsupported("attribute values XML would normalise")
        keys = [key for key, _ in _ATTRIBUTE.findall(attributes)]
        if keys.count(b"r:id") != 1 or any(key.endswith(b":id") and key != b"r:id" for key in keys):
            raise _Unsupported("sheet relationship under another prefix")
        relation = relations.get(dict(_ATTRIBUTE.findall(attributes))[b"r:id"].decode())
        state = element.get("state", "visible")
        name = element.get("name")
        if relation is None or name is None or state not in ("visible", "hidden", "veryHidden"):
            raise _Unsupported("sheet calamine would refuse")
        member = relation[1]
        if member.split("/")[1:2] not in (["worksheets"], ["chartsheets"], ["dialogsheets"]):
            raise _Unsupported("sheet of an unknown type")
        sheets.append((name, member, state == "visible"))
    return sheets


def _shared_strings(archive: zipfile.ZipFile) -> pa.Array:
    """Each shared string as the text of a cell holding it: plain <t> runs only.

    The part is decompressed a block at a time, each block cut after its last
    whole <si>, and the blocks parsed on the parsing threads meanwhile.
    """
    with ThreadPoolExecutor(max_workers=_PARSERS) as pool:
        blocks = _shared_string_blocks(_inflated(archive, _SHARED_STRINGS))
        parts = [pool.submit(_shared_strings_part, block) for block in blocks]
        return pa.concat_arrays([part.result() for part in parts])


def _shared_string_blocks(chunks):
    """The <si> elements of the shared strings part in blocks of whole elements; the root is checked."""
    buffer = next(chunks, b"")
    start = buffer.find(b"<sst")
    head_end = buffer.find(b">", start) + 1
    if start < 0 or head_end <= 0 or buffer[head_end - 2:head_end] == b"/>":
        raise _Unsupported("no plain <sst> root")
    if re.search(rb"<(?!\?xml )[^>]*?:|<!", buffer[:start]):
        raise _Unsupported("unusual shared strings part")
    buffer = buffer[head_end:]
    for chunk in chunks:
        buffer += chunk
        cut = buffer.rfind(b"</si>") + len(b"</si>")
        if cut < len(b"</si>"):
            if len(buffer) > 16 * _BLOCK:
                raise _Unsupported("shared string too long")
            continue
        yield buffer[:cut]
        buffer = buffer[cut:]
    end = buffer.rfind(b"</sst>")  # no text holds a "<": the only one is the last thing in the part
    if end < 0 or buffer[end + len(b"</sst>"):].strip():
        raise _Unsupported("unusual shared strings part")
    yield buffer[:end]


def _shared_strings_part(data: bytes) -> pa.Array:
    """The strings of some whole <si> elements (with what comes before the first, which must be blank)."""
    text = _as_text(data)
    if _has_unhandled_text(data, text):
        raise _Unsupported("escapes in shared strings")
    entities = b"&" in data and _has_entities(text)
    del data
    pieces = pc.list_flatten(pc.split_pattern(text, "<si>"))
    del text
    if not pc.all(pc.match_substring_regex(pieces[:1], r"^[ \t\n]*$")).as_py():
        raise _Unsupported("unusual shared strings part")
    pieces = pieces[1:]
    # Most are <t>TEXT</t></si>: the text is cut out by bytes; the others are read by a regular expression.
    plain = pc.match_substring_regex(pieces, r"^<t>[^<]*</t></si>$")
    strings = pc.binary_slice(pieces.cast(pa.binary()), 3, -9).cast(pa.string())
    if not pc.all(plain).as_py():
        others = pc.invert(plain)
        found = pc.extract_regex(
            pieces.filter(others),
            r'^(?:<t>(?P<a>[^<]*)</t>|<t xml:space="preserve">(?P<b>[^<]*)</t>|<t ?/>)</si>[ \t\n]*$',
        )
        if found.null_count:
            raise _Unsupported("rich text or phonetic runs in shared strings")
        strings = pc.replace_with_mask(
            strings, others, pc.binary_join_element_wise(found.field("a"), found.field("b"), _lit("")))
    return _cell_text(strings, entities)


def _style_kinds(archive: zipfile.ZipFile) -> pa.Array:
    """For each cell format, how calamine reads the numbers using it: plainly, as dates or as durations."""
    root = _parse_xml(archive, _STYLES)
    if root.tag != f"{{{_MAIN}}}styleSheet":
        raise _Unsupported("styles in another namespace")
    custom = {}
    for numfmts in _local(root, "numFmts"):
        for fmt in _local(numfmts, "numFmt"):
            if fmt.get("formatCode"):
                custom[_format_id(fmt.get("numFmtId", "0"))] = fmt.get("formatCode")
    kinds = []
    for xfs in _local(root, "cellXfs"):
        for xf in _local(xfs, "xf"):
            number_format = xf.get("numFmtId")
            if number_format is None:
                kinds.append(_PLAIN)
            elif _format_id(number_format) in custom:
                kinds.append(_custom_format_kind(custom[_format_id(number_format)]))
            else:
                kinds.append(_builtin_format_kind(_format_id(number_format)))
    return pa.array(kinds, pa.int8())


def _local(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    """Descendants with this local name, whatever their namespace, as calamine matches them."""
    return [e for e in element.iter() if e is not element and e.tag.rpartition("}")[2] == name]


def _format_id(text: str) -> int:
    """A numFmtId written plainly; others (leading zeros, signs) calamine versions read differently."""
    if not re.fullmatch(r"0|[1-9][0-9]{0,8}", text):
        raise _Unsupported("number format id written unusually")
    return int(text)


# How calamine reads a number by its cell format; _UNSURE: python-calamine releases disagree.
_PLAIN, _DATETIME, _DURATION, _UNSURE = 0, 1, 2, 3
# Built-in formats calamine takes for dates and times and for durations ([h]:mm:ss).
_BUILTIN_DATETIME = frozenset((*range(14, 23), 45, 47))
_BUILTIN_DURATION = frozenset((46,))
# The East Asian locale date formats: dates for the calamine of python-calamine 0.9.1, plain numbers
# for that of 0.9.0.  A number using one is left to whichever calamine is installed.
_BUILTIN_LOCALE_DATES = frozenset((*range(27, 37), *range(50, 59)))


def _builtin_format_kind(number_format: int) -> int:
    if number_format in _BUILTIN_DURATION:
        return _DURATION
    if number_format in _BUILTIN_LOCALE_DATES:
        return _UNSURE
    return _DATETIME if number_format in _BUILTIN_DATETIME else _PLAIN


def _custom_format_kind(code: str) -> int:
    """calamine's reading of a custom format code: a date, a duration, or a plain number.

    Only the first section counts (up to ";").  Outside quotes and brackets a
    d, m, h, y or s makes a date; an "a" makes the next p, m or "/" one (AM/PM);
    "\\", "_" and "*" take the next character literally.  A bracket holding
    only repeats of one of h, m or s (elapsed time, "[h]") makes a duration.
    """
    if code.count("[") > 200:
        raise _Unsupported("format code calamine may count differently")
    escaped = quoted = ampm = elapsed = False
    brackets = 0
    previous = " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\*":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == ";":
            return _PLAIN
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and elapsed:
            return _DURATION
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif brackets == 0 and not ampm and char in "aA":
            ampm = True
        elif brackets == 0 and ampm and char in "pmPM/":
            return _DATETIME
        elif brackets == 0 and not ampm and char in "dmhysDMHYS":
            return _DATETIME
        elif not (elapsed and char.isascii() and char.lower() == previous.lower()):
            elapsed = previous == "[" and char in "hmsHMS"
        previous = char
    return _PLAIN


_WORKBOOK_PROPERTIES = re.compile(rb"<([A-Za-z_][\w.-]*:)?workbookPr\b([^>]*)>")
_PLAIN_ATTRIBUTES = re.compile(rb'(?:\s+[A-Za-z_][\w:.-]*="[^"&<]*")*\s*/?')


def _date1904(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook counts dates from 1904, as calamine reads <workbookPr date1904>."""
    tags = _WORKBOOK_PROPERTIES.findall(_member(archive, _WORKBOOK))
    if not tags:
        return False
    if len(tags) > 1 or tags[0][0] or not _PLAIN_ATTRIBUTES.fullmatch(tags[0][1]):
        raise _Unsupported("workbook properties calamine may read otherwise")
    values = [value for key, value in _ATTRIBUTE.findall(tags[0][1]) if key == b"date1904"]
    return bool(values) and values[-1] in (b"1", b"true")


def _member(archive: zipfile.ZipFile, member: str) -> bytes:
    """A (small) member's bytes, read as `_inflated` reads them."""
    return b"".join(_inflated(archive, member))


def _inflated(archive: zipfile.ZipFile, member: str):
    """A member's bytes, decompressed in chunks of at most _BLOCK.

    A deflated member is read from the file and inflated by ISA-L (a few times
    zlib's speed; inflating is most of the reading thread's work), its size
    and CRC-32 checked as zipfile checks them; a stored one goes through
    zipfile.  An encrypted member, or one compressed another way, is left to
    the calamine path.
    """
    info = archive.getinfo(member)
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Unsupported("an encrypted member, or one compressed another way")
    if info.compress_type == zipfile.ZIP_STORED or archive.filename is None:
        with archive.open(info) as stream:
            while chunk := stream.read(_BLOCK):
                yield chunk
        return
    with open(archive.filename, "rb") as file:
        file.seek(info.header_offset)
        header = file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        inflater = isal_zlib.decompressobj(-15)
        left, size, crc = info.compress_size, 0, 0
        while left > 0 and not inflater.eof:
            data = file.read(min(left, 1 << 20))
            if not data:
                raise EOFError("member cut short")
            left -= len(data)
            while True:  # at most _BLOCK out at a time, however well the data compressed
                chunk = inflater.decompress(data, _BLOCK)
                data = inflater.unconsumed_tail
                size += len(chunk)
                crc = isal_zlib.crc32(chunk, crc)
                if chunk:
                    yield chunk
                if not data and len(chunk) < _BLOCK:  # a full chunk may leave more output behind
                    break
        if not inflater.eof or size != info.file_size or crc != info.CRC:
            raise zipfile.BadZipFile(f"bad CRC-32 or size for {member}")


# ---------------------------------------------------------------- cell text


def _as_text(data: bytes) -> pa.Array:
    """Bytes as a one-element Arrow string array (UTF-8 checked)."""
    return pa.array([data], pa.binary()).cast(pa.string())


def _has_unhandled_text(data: bytes, text: pa.Array) -> bool:
    """Whether `_UNHANDLED_TEXT` occurs in this XML (`text` is `data` as Arrow text).

    Byte scans answer first, several times quicker than the regular
    expression, which looks only where an "&" or a "_" leaves it open.
    """
    if data.translate(None, _NOT_CONTROL):
        return True
    return (b"&" in data or b"_" in data) and pc.any(pc.match_substring_regex(text, _UNHANDLED_TEXT)).as_py()


def _has_entities(text: pa.Array) -> bool:
    """Whether the text holds entity references; any but the five XML ones is refused."""
    ampersands = pc.count_substring(text, "&")[0].as_py()
    if ampersands and pc.count_substring_regex(text, _ENTITY)[0].as_py() != ampersands:
        raise _Unsupported("character or unknown entity references")
    return bool(ampersands)


def _cell_text(raw: pa.Array, entities: bool) -> pa.Array:
    """XML character data as the text a string cell shows: unescaped, stripped like str.strip()."""
    if entities:
        for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
            raw = pc.replace_substring(raw, entity, char)
    return pc.utf8_trim(raw, characters=PY_WHITESPACE)


def _number_values(raw: pa.Array) -> pa.Array:
    """Numbers written as XML text as the floats calamine parses them into."""
    if not pc.all(pc.match_substring_regex(raw, _NUMBER)).as_py():
        raise _Unsupported("number calamine parses by its own rules")
    values = raw.cast(pa.float64())
    if not pc.all(pc.is_finite(values)).as_py():
        raise _Unsupported("number out of range")
    return values


# Integers a float holds exactly, which `table._float_text` writes back as they were written.
_PLAIN_INTEGER = r"^(?:-?[1-9][0-9]{0,14}|0)$"


def _number_text(raw: pa.Array) -> pa.Array:
    """`table._float_text` of numbers written as XML text: whole ones within ±1e15 as integers."""
    if pc.all(pc.match_substring_regex(raw, _PLAIN_INTEGER)).as_py():
        return raw
    values = _number_values(raw)
    whole = pc.and_(pc.equal(pc.floor(values), values), pc.less_equal(pc.abs(values), _lit(1e15)))
    texts = pc.if_else(whole, values, _lit(0.0)).cast(pa.int64()).cast(pa.string())
    if pc.all(whole).as_py():
        return texts
    # Other floats are shown as Python's repr; they are rare in contact lists.
    fractional = pc.invert(whole)
    shown = pa.array([repr(float(v)) for v in raw.filter(fractional).to_pylist()], pa.string())
    return pc.replace_with_mask(texts, fractional, shown)


@dataclass
class _Cells:
    """The cells of one block that calamine would not drop, in sheet order."""

    rows: pa.Array  # 1-based spreadsheet row
    columns: pa.Array  # 0-based column
    texts: pa.Array  # the text the calamine path gives the cell
    is_text: pa.Array  # a text value (string or error) rather than a number or a bool
    first_key: int | None = None  # row * 16384 + column of the block's first and last cell element
    last_key: int | None = None


def _parse_block(block: bytes, book: _Book) -> tuple[_Cells, bool]:
    """The cells of complete rows of sheet XML, and whether a wide cell reference appears."""
    text = _as_text(block)
    if _has_unhandled_text(block, text):
        raise _Unsupported("escapes or control characters")
    wide = pc.any(pc.match_substring_regex(text, _WIDE)).as_py()
    entities = b"&" in block and _has_entities(text)
    plain = pc.all(pc.match_substring_regex(text, _PLAIN_BLOCK)).as_py()
    pieces = pc.list_flatten(pc.split_pattern(text, "<c "))
    del text
    if not plain:
        if not pc.all(pc.match_substring_regex(pieces[:1], _ROW_TAGS)).as_py():
            raise _Unsupported("unexpected element between rows")
        plain = pc.all(pc.match_substring_regex(pieces[1:], _PLAIN_CELL)).as_py()
        if not plain and not pc.all(pc.match_substring_regex(pieces[1:], _CELL)).as_py():
            raise _Unsupported("cell written in an unusual way")
    pieces = pieces[1:]
    if len(pieces) == 0:
        empty = pa.array([], pa.int32())
        return _Cells(empty, empty, pa.array([], pa.string()), pa.array([], pa.bool_())), wide
    found = _plain_fields(pieces) if plain else pc.extract_regex(pieces, _FIELDS)
    del pieces

    kind = found.field("t")
    opening = found.field("open")
    closed = pc.ends_with(found.field("attrs"), "/")  # <c .../>: no value
    value_tag = pc.and_not(pc.equal(opening, _lit("<v>")), closed)
    empty_value_tag = pc.and_not(pc.starts_with(opening, "<v"), pc.or_(value_tag, closed))
    inline_tag = pc.and_not(pc.starts_with(opening, "<is"), closed)
    has_value = pc.and_(value_tag, pc.not_equal(found.field("value"), _lit("")))
    if not pc.all(pc.is_in(kind, value_set=_TYPES)).as_py():
        raise _Unsupported("cell type read by calamine's own rules")
    if pc.any(pc.and_(inline_tag, pc.not_equal(kind, _lit("inlineStr")))).as_py():
        raise _Unsupported("inline string in a cell of another type")
    number = pc.and_(pc.or_(pc.equal(kind, _lit("")), pc.equal(kind, _lit("n"))), has_value)
    shared = pc.and_(pc.equal(kind, _lit("s")), has_value)
    boolean = pc.and_(pc.equal(kind, _lit("b")), has_value)
    error = pc.and_(pc.equal(kind, _lit("e")), has_value)
    inline = pc.and_(pc.equal(kind, _lit("inlineStr")), inline_tag)
    formula_text = pc.and_(pc.equal(kind, _lit("str")), pc.or_(value_tag, empty_value_tag))
    present = pc.or_(pc.or_(pc.or_(number, shared), pc.or_(boolean, error)), pc.or_(inline, formula_text))

    # Everything below looks at the cells calamine keeps (empty ones it drops).
    if not pc.all(present).as_py():
        found = found.filter(present)
        number, shared, boolean, error = (m.filter(present) for m in (number, shared, boolean, error))
    raw, styles, refs = found.field("value"), found.field("s"), found.field("ref")
    del found
    rows = pc.utf8_ltrim(refs, characters="ABCDEFGHIJKLMNOPQRSTUVWXYZ").cast(pa.int32())
    letters = pc.dictionary_encode(pc.utf8_rtrim(refs, characters="0123456789"))
    number_of = _column_numbers()
    columns = pa.array([number_of.get(name) for name in letters.dictionary.to_pylist()], pa.int32()).take(
        letters.indices)
    if columns.null_count or (len(rows) and pc.max(rows).as_py() > 1_048_576):
        raise _Unsupported("cell outside the grid")
    keys = pc.add(pc.multiply(rows.cast(pa.int64()), _lit(16384)), columns.cast(pa.int64()))
    if len(keys) > 1 and not pc.all(pc.greater(keys[1:], keys[:-1])).as_py():
        raise _Unsupported("cells out of order")

    texts = _cell_text(raw, entities)
    if pc.any(error).as_py() and not pc.all(pc.is_in(raw.filter(error), value_set=_ERRORS)).as_py():
        raise _Unsupported("error value calamine refuses")
    if pc.any(boolean).as_py():
        flags = raw.filter(boolean)
        if not pc.all(pc.is_in(flags, value_set=_FLAGS)).as_py():
            raise _Unsupported("boolean written another way")
        texts = pc.replace_with_mask(texts, boolean, pc.if_else(pc.equal(flags, _lit("1")), _lit("TRUE"), _lit("FALSE")))
    if pc.any(shared).as_py():
        indices = raw.filter(shared).cast(pa.int64())
        if pc.max(indices).as_py() >= len(book.strings):
            raise _Unsupported("shared string index out of range")
        texts = pc.replace_with_mask(texts, shared, book.strings.take(indices))
    if pc.any(number).as_py():
        texts = pc.replace_with_mask(texts, number, _numbers_text(raw.filter(number), styles.filter(number), book))
    is_text = pc.invert(pc.or_(number, boolean))
    first, last = (keys[0].as_py(), keys[-1].as_py()) if len(keys) else (None, None)
    return _Cells(rows, columns, texts, is_text, first, last), wide


def _plain_fields(pieces: pa.Array) -> pa.StructArray:
    """The fields `_FIELDS` would capture from cells that all match `_PLAIN_CELL`, found by splitting.

    A cell is `r="REF"`, then ` s="S"` and ` t="T"` when present, then either
    `/>` or `>` followed by `<v>VALUE</v>`, `<is><t>VALUE</t></is>` or nothing,
    then `</c>`.  `open` is "<v>", "<is><t>" or ""; `attrs` is "/" for a cell
    closed on itself; `value` means something only after an opening tag.

    What lies between the reference and the first ">" takes few distinct
    values in a sheet (a handful of formats and types), so it is read once
    per distinct value, in Python, and spread to the cells by their codes.
    """
    ref, rest = _list_items(pc.split_pattern(pieces, '"', max_splits=2), [1, 2])
    attributes, tail = _list_items(pc.split_pattern(rest, ">", max_splits=1), [0, 1])
    del rest
    coded = pc.dictionary_encode(attributes)
    read = [_PLAIN_ATTRIBUTES_SPLIT.fullmatch(text) for text in coded.dictionary.to_pylist()]
    if not all(read):
        raise _Unsupported("cell attributes written in an unusual way")
    style = pa.array([m["s"] or "" for m in read], pa.string()).take(coded.indices)
    kind = pa.array([m["t"] or "" for m in read], pa.string()).take(coded.indices)
    closed = pa.array([m["closed"] is not None for m in read], pa.bool_()).take(coded.indices)
    value_tag = pc.and_not(pc.starts_with(tail, "<v>"), closed)
    inline_tag = pc.and_not(pc.starts_with(tail, "<is><t>"), closed)
    # The tags are ASCII, so cutting bytes after them leaves whole characters.
    tail = tail.cast(pa.binary())
    if not pc.any(inline_tag).as_py():
        after_tag = pc.binary_slice(tail, 3, _PAST_THE_END)
    elif not pc.any(value_tag).as_py():
        after_tag = pc.binary_slice(tail, 7, _PAST_THE_END)
    else:
        after_tag = pc.if_else(inline_tag, pc.binary_slice(tail, 7, _PAST_THE_END), pc.binary_slice(tail, 3, _PAST_THE_END))
    del tail
    (value,) = _list_items(pc.split_pattern(after_tag, "<", max_splits=1), [0])
    opening = pc.if_else(value_tag, _lit("<v>"), pc.if_else(inline_tag, _lit("<is><t>"), _lit("")))
    return pa.StructArray.from_arrays(
        [ref, style, kind, pc.if_else(closed, _lit("/"), _lit("")), opening, value.cast(pa.string())],
        names=["ref", "s", "t", "attrs", "open", "value"])


# binary_slice's stop, given: without one, pyarrow (15 to 26 at least) fails on large arrays.
# No block comes near it (see `_sheet_blocks`).
_PAST_THE_END = 1 << 30
# What lies between a plain cell's reference and its first ">" (see `_plain_fields`).
_PLAIN_ATTRIBUTES_SPLIT = re.compile(r'(?: s="(?P<s>[0-9]+)")?(?: t="(?P<t>[A-Za-z]+)")? ?(?P<closed>/)?')


def _list_items(lists: pa.Array, positions: list[int]) -> list[pa.Array]:
    """Items at these positions of each list, "" where a list is shorter (no Python work per list)."""
    values = lists.values  # the offsets point into the whole child array, sliced or not
    starts = lists.offsets[:-1]
    lengths = pc.list_value_length(lists)
    shortest = pc.min(lengths).as_py() if len(lists) else 0
    found = []
    for k in positions:
        if shortest > k:  # every list has the item
            found.append(values.take(pc.add(starts, _lit(k))))
        else:
            inside = pc.greater(lengths, _lit(k))
            found.append(pc.if_else(inside, values.take(pc.if_else(inside, pc.add(starts, _lit(k)), _lit(0))), _lit("")))
    return found


def _numbers_text(raw: pa.Array, styles: pa.Array, book: _Book) -> pa.Array:
    """The text of number cells: plain numbers, or dates, times and durations by their cell format."""
    styled = pc.not_equal(styles, _lit(""))
    if book.style_kinds is None or not pc.any(styled).as_py():
        return _number_text(raw)  # no format, or no styles part at all: calamine reads plain floats
    ids = pc.if_else(styled, styles, _lit("0")).cast(pa.int64())
    if pc.max(ids).as_py() >= len(book.style_kinds):
        raise _Unsupported("number with a cell format calamine does not know")
    kinds = pc.if_else(styled, book.style_kinds.take(ids), _lit(_PLAIN))
    if pc.any(pc.equal(kinds, _lit(_UNSURE))).as_py():
        raise _Unsupported("a number format calamine releases read differently")
    plain = pc.equal(kinds, _lit(_PLAIN))
    if pc.all(plain).as_py():
        return _number_text(raw)
    texts = pa.repeat(pa.scalar("", pa.string()), len(raw))
    dated = pc.equal(kinds, _lit(_DATETIME))
    if pc.any(dated).as_py():
        serials = _serial_text(_number_values(raw.filter(dated)), book.date1904)
        texts = pc.replace_with_mask(texts, dated, serials)
    lasting = pc.equal(kinds, _lit(_DURATION))
    if pc.any(lasting).as_py():
        texts = pc.replace_with_mask(texts, lasting, _duration_text(_number_values(raw.filter(lasting))))
    # Plain numbers, and serials past year 9999 that python-calamine hands over as floats.
    plain = pc.or_(plain, pc.and_(dated, pc.equal(texts, _lit(""))))
    if pc.any(plain).as_py():
        texts = pc.replace_with_mask(texts, plain, _number_text(raw.filter(plain)))
    return texts


_DAY_MS = 86_400_000
_EPOCH = dt.date(1899, 12, 30)  # serial 0, once the 1900 leap-year bug is allowed for
_EPOCH_TO_UNIX_DAYS = (dt.date(1970, 1, 1) - _EPOCH).days
_YEAR_10000_DAYS = float((dt.date(9999, 12, 31) - _EPOCH).days + 1)
_YEAR_10000_MS = _YEAR_10000_DAYS * _DAY_MS
_LAST_SECOND_MS = ((dt.date(9999, 12, 31) - _EPOCH).days * 86_400 + 86_399) * 1000
_EARLIEST_TIME_DAYS = -9e7  # chrono's calendar ends about 95 million days before 1900


def _serial_text(values: pa.Array, date1904: bool) -> pa.Array:
    """What the calamine path shows for serials under a date or time format; "" for plain floats.

    calamine shifts a 1904 serial by 1462 days, adds a day below 60 (Excel's
    phantom 1900-02-29), rounds to the millisecond (half away from zero) and
    counts from 1899-12-30.  python-calamine hands a serial below 1 over as a
    `time`, a whole one as a `date`, any other as a `datetime`, and a date
    past year 9999 as the float itself.  `table._cell_text` then shows a
    datetime to the second, rounding half a second up, without the time when
    it is midnight: so a whole serial needs no case of its own.
    """
    shifted = pc.add(values, _lit(1462.0)) if date1904 else values
    if pc.all(pc.and_(pc.and_(pc.equal(pc.floor(values), values), pc.greater_equal(values, _lit(60.0))),
                      pc.less(shifted, _lit(_YEAR_10000_DAYS)))).as_py():
        # Whole serials past the phantom leap day, before year 10000 (a column of dates): just dates.
        return pc.subtract(shifted, _lit(float(_EPOCH_TO_UNIX_DAYS))).cast(pa.int32()).cast(pa.date32()).cast(pa.string())
    shifted = pc.if_else(pc.less(shifted, _lit(60.0)), pc.add(shifted, _lit(1.0)), shifted)
    clock_only = pc.less(values, _lit(1.0))
    if pc.any(pc.and_(clock_only, pc.less(shifted, _lit(_EARLIEST_TIME_DAYS)))).as_py():
        raise _Unsupported("time of a serial outside calamine's calendar")
    millis = _round_half_away(pc.multiply(shifted, _lit(float(_DAY_MS))))
    too_late = pc.and_not(pc.greater_equal(millis, _lit(_YEAR_10000_MS)), clock_only)
    millis = pc.if_else(too_late, _lit(0.0), millis).cast(pa.int64())

    _, milli = _floor_divmod(millis, 1000)
    rounded = pc.and_(pc.not_equal(milli, _lit(0)), pc.less(millis, _lit(_LAST_SECOND_MS)))
    seconds, _ = _floor_divmod(pc.add(millis, pc.if_else(rounded, _lit(500), _lit(0))), 1000)
    days, second_of_day = _floor_divmod(seconds, 86_400)
    days = pc.if_else(pc.or_(clock_only, too_late), _lit(_EPOCH_TO_UNIX_DAYS), days)
    day = pc.subtract(days, _lit(_EPOCH_TO_UNIX_DAYS)).cast(pa.int32()).cast(pa.date32()).cast(pa.string())
    stamp = pc.if_else(pc.equal(second_of_day, _lit(0)), day,
                       pc.binary_join_element_wise(day, _clock(second_of_day), _lit(" ")))

    _, milli_of_day = _floor_divmod(millis, _DAY_MS)
    time_seconds = pc.divide(pc.add(milli_of_day, _lit(500)), _lit(1000))
    time = _clock(pc.if_else(pc.equal(time_seconds, _lit(86_400)), _lit(0), time_seconds))
    return pc.if_else(too_late, _lit(""), pc.if_else(clock_only, time, stamp))


def _duration_text(values: pa.Array) -> pa.Array:
    """`str(timedelta)` of the serials under a duration format ([h]:mm:ss), to the millisecond."""
    if pc.any(pc.greater(pc.abs(values), _lit(1e8))).as_py():
        raise _Unsupported("duration python-calamine may not convert")
    millis = _round_half_away(pc.multiply(values, _lit(float(_DAY_MS)))).cast(pa.int64())
    days, milli_of_day = _floor_divmod(millis, _DAY_MS)
    seconds, milli = _floor_divmod(milli_of_day, 1000)
    hours = pc.divide(seconds, _lit(3600))
    minutes = pc.subtract(pc.divide(seconds, _lit(60)), pc.multiply(hours, _lit(60)))
    clock = pc.binary_join_element_wise(
        hours.cast(pa.string()), _two_digits(minutes),
        _two_digits(pc.subtract(seconds, pc.multiply(pc.divide(seconds, _lit(60)), _lit(60)))), _lit(":"))
    fraction = pc.binary_join_element_wise(
        clock, _lit("."), pc.utf8_lpad(milli.cast(pa.string()), width=3, padding="0"), _lit("000"), _lit(""))
    clock = pc.if_else(pc.equal(milli, _lit(0)), clock, fraction)  # the microseconds, when there are any
    unit = pc.if_else(pc.equal(pc.abs(days), _lit(1)), _lit(" day, "), _lit(" days, "))
    dated = pc.binary_join_element_wise(days.cast(pa.string()), unit, clock, _lit(""))
    return pc.if_else(pc.equal(days, _lit(0)), clock, dated)


def _round_half_away(values: pa.Array) -> pa.Array:
    """Rust's f64::round (half away from zero), exactly: Arrow's own rounding modes may not be exact."""
    size = pc.abs(values)
    whole = pc.floor(size)
    rounded = pc.add(whole, pc.greater_equal(pc.subtract(size, whole), _lit(0.5)).cast(pa.float64()))
    return pc.if_else(pc.less(values, _lit(0.0)), pc.negate(rounded), rounded)


def _floor_divmod(values: pa.Array, divisor: int) -> tuple[pa.Array, pa.Array]:
    """Python's divmod by a positive integer (Arrow's integer division truncates towards zero)."""
    quotient = pc.divide(values, _lit(divisor))
    remainder = pc.subtract(values, pc.multiply(quotient, _lit(divisor)))
    below = pc.less(remainder, _lit(0))
    return (pc.if_else(below, pc.subtract(quotient, _lit(1)), quotient),
            pc.if_else(below, pc.add(remainder, _lit(divisor)), remainder))


def _two_digits(values: pa.Array) -> pa.Array:
    return pc.utf8_lpad(values.cast(pa.string()), width=2, padding="0")


def _clock(seconds: pa.Array) -> pa.Array:
    """HH:MM:SS of seconds within a day."""
    minutes = pc.divide(seconds, _lit(60))
    return pc.binary_join_element_wise(
        _two_digits(pc.divide(seconds, _lit(3600))), _two_digits(pc.subtract(minutes, pc.multiply(pc.divide(seconds, _lit(3600)), _lit(60)))),
        _two_digits(pc.subtract(seconds, pc.multiply(minutes, _lit(60)))), _lit(":"))


# ---------------------------------------------------------------- the sheet


def _sheet_blocks(chunks) -> tuple[bytes, object]:
    """The sheet XML cut into blocks of whole rows; the text around <sheetData> is checked too.

    Yields (block, wide) where wide tells whether the text outside the cells
    holds a reference past column Z.
    """
    buffer = b""
    started = False
    while True:
        chunk = next(chunks, b"")
        buffer = buffer + chunk if buffer else chunk
        if not started:
            start = buffer.find(b"<sheetData>")
            if start < 0:
                if not chunk or len(buffer) > 4 * _BLOCK:
                    raise _Unsupported("no plain <sheetData>")
                continue
            yield None, _check_outside(buffer[:start])
            buffer = buffer[start + len(b"<sheetData>"):]
            started = True
        end = buffer.find(b"</sheetData>")
        if end >= 0:
            tail = buffer[end + len(b"</sheetData>"):] + b"".join(chunks)
            if not tail.rstrip().endswith(b"</worksheet>"):
                raise _Unsupported("sheet XML does not end properly")
            yield buffer[:end], _check_outside(tail)
            return
        if not chunk:
            raise _Unsupported("sheet XML ends inside <sheetData>")
        cut = buffer.rfind(b"</row>")
        if cut < 0:
            if len(buffer) > 16 * _BLOCK:
                raise _Unsupported("row too long")
            continue
        cut += len(b"</row>")
        yield buffer[:cut], False
        buffer = buffer[cut:]


_PREFIXED_SHEET_TAG = re.compile(rb"</?[A-Za-z_][\w.-]*:(?:worksheet|sheetData|row|c|dimension)\b")
_DIMENSION = re.compile(rb"<dimension\b([^>]*)>")
_DIMENSION_REF = re.compile(rb'\s*ref="[A-Z]{1,3}[1-9][0-9]{0,6}(?::[A-Z]{1,3}[1-9][0-9]{0,6})?"\s*/?')


def _check_outside(xml: bytes) -> bool:
    """Refuse what outside <sheetData> changes calamine's reading; tell if a wide reference appears."""
    if _PREFIXED_SHEET_TAG.search(xml) or b"mergeCell" in xml or b"<sheetData" in xml:
        raise _Unsupported("prefixed sheet elements or merged cells")
    if any(not _DIMENSION_REF.fullmatch(attributes) for attributes in _DIMENSION.findall(xml)):
        raise _Unsupported("a dimension calamine may refuse")
    return re.search(_WIDE.encode(), xml) is not None


def _parsed_blocks(archive: zipfile.ZipFile, book: _Book):
    """(cells, wide) of each block in order, parsed by two threads while this one decompresses.

    ISA-L and Arrow compute release the GIL, so decompressing and parsing share
    the cores; at most a few blocks are in flight, so memory stays bounded.
    """
    in_flight: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=_PARSERS) as pool:
        try:
            for block, wide_outside in _sheet_blocks(_inflated(archive, book.member)):
                if block is None:
                    yield None, wide_outside
                    continue
                in_flight.append((pool.submit(_parse_block, block, book), wide_outside))
                del block
                if len(in_flight) > _PARSERS:
                    future, wide = in_flight.popleft()
                    yield future.result(), wide
            while in_flight:
                future, wide = in_flight.popleft()
                yield future.result(), wide
        finally:
            for future, _ in in_flight:
                future.cancel()


@dataclass
class _Columns:
    """Data rows gathered so far: per block, the kept rows and each column's text."""

    kept: list[pa.Array] = field(default_factory=list)
    columns: list[dict[int, pa.Array]] = field(default_factory=list)

    def add(self, cells: _Cells, header_row: int) -> None:
        filled = pc.and_(pc.not_equal(cells.texts, _lit("")), pc.greater(cells.rows, _lit(header_row)))
        if not pc.any(filled).as_py():
            return
        rows, columns, texts = cells.rows, cells.columns, cells.texts
        if not pc.all(filled).as_py():
            rows, columns, texts = rows.filter(filled), columns.filter(filled), texts.filter(filled)
        kept = pc.unique(rows)
        # Cells in sheet order, regrouped column by column (a stable sort keeps each column's rows in order).
        order = pc.sort_indices(columns)
        rows, columns, texts = rows.take(order), columns.take(order), texts.take(order)
        runs = pc.run_end_encode(columns)
        by_column = {}
        start = 0
        for column, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist()):
            column_texts = texts[start:end]
            if end - start == len(kept):  # one cell on every kept row: already dense
                by_column[column] = column_texts
            else:
                where = pc.index_in(kept, value_set=rows[start:end])
                by_column[column] = column_texts.take(where).fill_null(_lit(""))
            start = end
        self.kept.append(kept)
        self.columns.append(by_column)

    def column(self, j: int) -> pa.Array:
        parts = [by_column.get(j) for by_column in self.columns]
        parts = [p if p is not None else pa.repeat(pa.scalar("", pa.string()), len(k))
                 for p, k in zip(parts, self.kept)]
        return pa.concat_arrays(parts) if parts else pa.array([], pa.string())

    def widest(self) -> int:
        return max((max(by_column) for by_column in self.columns if by_column), default=-1)


def _read_sheet(archive: zipfile.ZipFile, kind: str, book: _Book, max_rows: int, max_columns: int) -> Table:
    wide = False
    last_key = -1
    waiting: list[_Cells] = []  # blocks read before the header is known
    header: dict[int, str] | None = None
    header_row = 0
    left = 16384
    end_row = 0
    data = _Columns()
    for parsed, wide_outside in _parsed_blocks(archive, book):
        wide = wide or wide_outside
        if parsed is None:
            continue
        cells, wide_inside = parsed
        wide = wide or wide_inside
        if cells.first_key is not None:
            if cells.first_key <= last_key:
                raise _Unsupported("cells out of order")
            last_key = cells.last_key
        if len(cells.rows):
            left = min(left, pc.min(cells.columns).as_py())
            end_row = max(end_row, pc.max(cells.rows).as_py())
        if header is None:
            waiting.append(cells)
            found = _find_header(waiting, final=False)
            if found is None:
                continue
            header_row, header = found
            for pending in waiting:
                data.add(pending, header_row)
            waiting = []
        else:
            data.add(cells, header_row)
    if header is None:
        found = _find_header(waiting, final=True)
        if found is None:
            raise _Unsupported("no header on the first sheet")
        header_row, header = found
        for pending in waiting:
            data.add(pending, header_row)

    if wide:
        from .workbook import (  # the calamine path's own guard
            _MAX_GRID_CELLS,
            _scan_sheet_xml,
        )

        if _scan_sheet_xml(archive, book.member, None) > _MAX_GRID_CELLS:
            raise FileRejected(TOO_MANY_CELLS)

    right = max([j for j, text in header.items() if text] + [data.widest()])
    width = right - left + 1
    if width > max_columns:
        raise too_many_columns(width, max_columns)
    rows = sum(len(k) for k in data.kept)
    if rows > max_rows:
        raise too_many_rows(max_rows)
    source_rows = pa.concat_arrays(data.kept).to_pylist() if data.kept else []
    arrays = [data.column(j) for j in range(left, right + 1)]
    return Table(
        format=kind,
        sheet=book.sheet,
        header_row=header_row,
        headers=[header.get(j, "") for j in range(left, right + 1)],
        arrays=arrays,
        source_rows=source_rows,
        blank_rows=end_row - header_row - rows,
        encoding=None,
        delimiter=None,
    )


# find_header only asks whether a value is text; numbers and booleans stand for themselves as this.
_NOT_TEXT = 0.0


def _find_header(blocks: list[_Cells], final: bool) -> tuple[int, dict[int, str]] | None:
    """The header's row number and its cells' text, once enough rows are known to decide.

    Returns None while fewer than the rows find_header looks at are filled
    (unless the sheet has ended) and when every row is blank.
    """
    rows = pa.concat_arrays([b.rows for b in blocks])
    texts = pa.concat_arrays([b.texts for b in blocks])
    is_text = pa.concat_arrays([b.is_text for b in blocks])
    filled = pc.or_(pc.invert(is_text), pc.not_equal(texts, _lit("")))
    filled_rows = pc.unique(rows.filter(filled))
    if len(filled_rows) < HEADER_SCAN_ROWS and not final:
        return None
    if len(filled_rows) == 0:
        return None
    last = filled_rows[min(len(filled_rows), HEADER_SCAN_ROWS) - 1].as_py()
    near = pc.less_equal(rows, last)
    columns = pa.concat_arrays([b.columns for b in blocks]).filter(near).to_pylist()
    values = zip(rows.filter(near).to_pylist(), columns, texts.filter(near).to_pylist(),
                 is_text.filter(near).to_pylist())
    typed: dict[int, list] = {}
    by_cell: dict[int, dict[int, str]] = {}
    for row, column, text, textual in values:
        typed.setdefault(row, []).append(text if textual else _NOT_TEXT)
        by_cell.setdefault(row, {})[column] = text
    numbers = list(typed)
    index = find_header([typed[n] for n in numbers])
    if index is None:
        return None
    return numbers[index], by_cell[numbers[index]]
