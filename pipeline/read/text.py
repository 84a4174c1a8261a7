"""Delimited text files: decoding, delimiter sniffing, and parsing.

Any common encoding is decoded (UTF-8 with or without BOM, UTF-16, cp1252,
cp1255, latin-1...), the delimiter is sniffed among `,` `;` tab and `|`.  Plain
text (no quotes, rows as wide as the header) is parsed by Arrow's csv reader on
both cores; anything else by the `csv` module, which reads it all.  Each data
row keeps the line number where it starts.
"""

from __future__ import annotations

import csv
import io
import re
from collections import deque
from itertools import islice
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from charset_normalizer import from_bytes

from ..errors import FileRejected
from .table import (
    CONTROL_CHARS,
    HEADER_SCAN_ROWS,
    NO_ROWS,
    NOT_READABLE,
    PY_WHITESPACE,
    WEB_PAGE,
    HeaderChoice,
    Table,
    assemble,
    assemble_arrays,
    chosen_header,
    generated_headers,
    guess_header,
    header_warnings,
    number_list,
    text_columns,
    too_many_columns,
    too_many_rows,
)

_SNIFF_CHARS = 1 << 20
_SNIFF_LINES = 50
_DELIMITERS = (",", ";", "\t", "|")
_MARKUP_START = re.compile(r"\s*<(?:\?xml|!doctype|html|table|workbook)\b", re.IGNORECASE)

# Single-byte code pages that charset-normalizer may choose between when a
# text file is in a non-Latin script (Latin text is decided without it).
_NON_LATIN_CODEPAGES = ["cp1255", "cp1251", "cp1253", "cp1256"]
_ACCENTED_WORD = re.compile(rb"[A-Za-z]*[\xc0-\xff][A-Za-z\xc0-\xff]*")
_HIGH_LETTER = re.compile(rb"[\xc0-\xff]")
_HEBREW_LETTER = re.compile(rb"[\xe0-\xfa]")
_ASCII_LETTER = re.compile(rb"[A-Za-z]")


# ---------------------------------------------------------------- text files


#: Byte-order marks: (the mark, the codec of what follows, the encoding's name); UTF-32's before UTF-16's,
#: whose mark starts the same.
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le", "utf-16"),
    (b"\xfe\xff", "utf-16-be", "utf-16"),
)


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in; refuses bytes that are not text."""
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            return _checked(data[len(bom) :].decode(codec, "replace")), label

    sample = data[:65536]
    nuls = sample.count(0)
    if nuls:
        half = max(len(sample) // 2, 1)
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        for codec, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if zeros > half * 0.2 and others < zeros * 0.05 and len(data) % 2 == 0:
                try:
                    return _checked(data.decode(codec)), codec
                except UnicodeDecodeError:
                    pass
        if nuls > len(sample) * 0.3:  # a few NULs are stripped; a file of them is not text
            raise FileRejected(NOT_READABLE)

    try:
        return _checked(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few broken bytes (two exports pasted together, a cut
    # character): keep UTF-8 rather than garble every accented letter.
    text = data.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii - broken >= 10 * broken:
        return _checked(text), "utf-8"
    del text
    codec = _single_byte_codepage(data)
    return _checked(data.decode(codec, "replace")), codec


def _single_byte_codepage(data: bytes) -> str:
    """Choose the Windows code page of a text that is not UTF-8.

    Western text has accented letters inside otherwise ASCII words ("Hélène");
    Hebrew, Cyrillic, Greek or Arabic text has whole words of high bytes.  Hebrew
    (cp1255) letters all sit in 0xE0-0xFA, where Russian also needs capitals.
    charset-normalizer alone picks cp1250 for short German or French lists and
    cp1251 for short Hebrew ones, so it only decides between non-Latin scripts.
    """
    sample = data[:1_000_000]
    whole_words = mixed_words = 0
    for word in _ACCENTED_WORD.findall(sample):
        if _ASCII_LETTER.search(word):
            mixed_words += 1
        elif len(word) >= 2:
            whole_words += 1
    if whole_words > mixed_words:
        hebrew = len(_HEBREW_LETTER.findall(sample))
        if hebrew >= 0.9 * len(_HIGH_LETTER.findall(sample)) and _decodes(sample, "cp1255"):
            return "cp1255"
        best = from_bytes(sample, cp_isolation=_NON_LATIN_CODEPAGES).best()
        if best is not None:
            return best.encoding
        return "cp1255"
    return "cp1252" if _decodes(data, "cp1252") else "latin-1"


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _checked(text: str) -> str:
    """The text, unless it is clearly binary or markup rather than rows."""
    sample = text[:65536]
    # Random bytes read as a code page are about a quarter control characters.
    if len(CONTROL_CHARS.findall(sample)) > len(sample) * 0.1:
        raise FileRejected(NOT_READABLE)
    if _MARKUP_START.match(sample.lstrip("\ufeff")):
        raise FileRejected(WEB_PAGE)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


def _sniff_delimiter(text: str) -> str:
    """The delimiter whose field count is the most consistent over the first lines."""
    head = text[:_SNIFF_CHARS]  # a big file is not copied whole to look at its first lines
    lines = []
    for line in io.StringIO(head, newline=""):
        lines.append(line)
        if len(lines) >= _SNIFF_LINES:
            break
    if len(head) < len(text) and len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # cut short by the slice
    best, best_score = ",", (0.0, 0)
    for delimiter in _DELIMITERS:
        counts: list[int] = []
        try:
            for record in csv.reader(lines, delimiter=delimiter, strict=False):
                if record:
                    counts.append(len(record))
        except csv.Error:  # the sample may end inside a quoted value
            pass
        # A line of one value (a title, a single-column row) has one field under every delimiter: it says nothing.
        wide = {n for n in counts if n >= 2}
        if not wide:
            continue
        mode = max(wide, key=lambda n: (counts.count(n), n))
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_text(text: str, encoding: str | None, max_rows: int, max_columns: int, fast: bool = True,
              choice: HeaderChoice = HeaderChoice()) -> Table:
    delimiter = _sniff_delimiter(text)
    plain = _read_plain_text(text, encoding, delimiter, max_rows, max_columns, choice) if fast else None
    if plain is not None:
        return plain
    records, starts, blank_before, blanks, stray = _read_records(text, delimiter, max_rows, max_columns)
    if choice:
        last = text.count("\n") + (not text.endswith("\n"))
        guess = chosen_header(records, starts, choice, "line", last)
    else:
        guess = guess_header(records)
    if guess is None:
        raise FileRejected(NO_ROWS)
    data = records[guess.first :]
    source_rows = starts[guess.first :]
    width = max(map(len, data), default=0)
    if guess.index is None:
        header = generated_headers(data, width)
    else:
        header = [cell.strip().replace("\x00", "") for cell in records[guess.index]]
    warnings = header_warnings(guess, starts, header, "line")
    if stray:
        warnings.append(stray_quote_warning(stray))
    header_line = 0 if guess.index is None else starts[guess.index]
    skipped_blanks = blank_before[guess.first - 1 if guess.index is not None else guess.first]
    del records, starts
    columns = text_columns(data, max(len(header), width))
    del data
    header, columns, source_rows, blank = assemble(header, columns, 0, source_rows, max_rows, max_columns)
    return Table(format="csv", sheet=None, header_row=header_line, headers=header, columns=columns,
                 source_rows=source_rows, blank_rows=blank + blanks - skipped_blanks, encoding=encoding,
                 delimiter=delimiter, no_header=guess.index is None, warnings=warnings)


def stray_quote_warning(lines: list[int]) -> str:
    many = len(lines) > 1
    return (f"{'Lines' if many else 'Line'} {number_list(lines)} {'hold' if many else 'holds'} a quote mark that "
            "never closes; it was read as part of the text, and each line after it as a row of its own.")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: The longest value the csv module reads; no contact cell comes near it.
FIELD_LIMIT = csv.field_size_limit()
_QUOTED_REST = re.compile(r'[^"]*(?:""[^"]*)*')  # a quoted value's inside, up to its closing quote


def _read_records(text: str, delimiter: str, max_rows: int, max_columns: int) -> tuple:
    """The text's non-blank records as the csv module reads them, losing no line.

    Returns the records, the line each starts on, how many blank records came
    before each, the blank records in all, and the lines holding a quote that
    never closes.  Such a quote (a quoted value that never closes, or runs on
    past any contact value's length) would swallow every line after it into one
    cell: it is read as part of the text instead (`_stray_quote_record`), its
    line stays one row and the csv module goes on at the next line.  A line too
    long to be a row is refused.  One function: its loop is the hot path of
    every quoted file, so it stays flat.
    """
    records: list[list[str]] = []
    starts: list[int] = []
    blank_before: list[int] = []
    blanks = 0
    stray: list[int] = []
    limit = max_rows + HEADER_SCAN_ROWS + 1
    source = io.StringIO(text, newline="")
    consumed, base = 0, 0  # lines read, and where the line after them begins, when the current reader started
    while True:
        reader = csv.reader(source, delimiter=delimiter, strict=False)
        start = end = consumed
        record = None
        try:
            for record in reader:
                start = end + 1
                end = consumed + reader.line_num
                if not any(record):
                    blanks += 1
                    continue
                if len(record) > max_columns:
                    _too_wide(record, max_columns)
                blank_before.append(blanks)
                records.append(record)
                starts.append(start)
                if len(records) > limit:
                    raise too_many_rows(max_rows)
        except csv.Error:  # a value past the field limit
            start = end + 1
        else:
            if record is None or not _ends_in_open_quote(text, record, delimiter):
                return records, starts, blank_before, blanks, stray
            if any(record):  # the last record swallowed the lines after its quote: it is read again
                del records[-1], starts[-1], blank_before[-1]
            else:
                blanks -= 1
        source.seek(base)
        deque(islice(source, start - 1 - consumed), maxlen=0)
        line, record, resume = _stray_quote_record(text, source.tell(), start, delimiter)
        stray.append(line)
        if len(record) > max_columns:
            _too_wide(record, max_columns)
        blank_before.append(blanks)
        records.append(record)
        starts.append(start)
        if resume >= len(text):
            return records, starts, blank_before, blanks, stray
        source.seek(resume)
        consumed, base = line, resume


def _too_wide(record: list[str], max_columns: int) -> None:
    """Refuse a record over the column limit, once its trailing empty cells (which count for nothing) are gone."""
    while record and not record[-1].strip():
        record.pop()
    if len(record) > max_columns:
        raise too_many_columns(len(record), max_columns)


def _ends_in_open_quote(text: str, record: list[str], delimiter: str) -> bool:
    """Whether the text's last record ended inside a quoted value (the csv module says nothing then)."""
    if not record:
        return False
    needle = '"' + record[-1].replace('"', '""')
    if not text.endswith(needle):
        return False
    before = len(text) - len(needle) - 1
    return before < 0 or text[before] in (delimiter, "\n", "\r")


def _stray_quote_record(text: str, offset: int, start: int, delimiter: str) -> tuple[int, list[str], int]:
    """The record starting at `offset` (line `start`) with its quote that never closes read as text.

    Returns the line the quote is on, the record (its cells before the quote as
    csv reads them, the rest of that line split at the delimiter) and where the
    next line begins.
    """
    kind, pos = _broken_field(text, offset, delimiter)
    line = start + len(_LINE_BREAK.findall(text, offset, pos))
    if kind == "long":
        raise FileRejected(
            f"Line {line:,} holds a value of more than {FIELD_LIMIT:,} characters, longer than any contact row "
            "can be; this is not a list of contacts, or its lines are not separated.")
    before = next(csv.reader(io.StringIO(text[offset:pos], newline=""), delimiter=delimiter, strict=False), [""])
    eol = _LINE_BREAK.search(text, pos)
    if kind == "end":
        return line, before, eol.end() if eol else len(text)
    rest = text[pos : eol.start() if eol else len(text)]
    return line, before[:-1] + rest.split(delimiter), eol.end() if eol else len(text)


def _broken_field(text: str, pos: int, delimiter: str) -> tuple[str, int]:
    """Where the record starting at `pos` goes wrong, read field by field as the csv module reads it.

    ("quote", i): a quote at i opens a value that never closes or runs past
    FIELD_LIMIT; ("long", i): an unquoted value at i runs past it; ("end", i):
    the record ends well at i (the callers never pass one; it is read as it is).
    """
    n = len(text)
    unquoted = re.compile(f"[^{re.escape(delimiter)}\r\n]*")
    while True:
        if pos < n and text[pos] == '"':
            close = _QUOTED_REST.match(text, pos + 1, min(n, pos + FIELD_LIMIT + 2)).end()
            if close >= n or close - pos > FIELD_LIMIT or text[close] != '"':
                return "quote", pos
            after = unquoted.match(text, close + 1, min(n, close + FIELD_LIMIT + 2)).end()
        else:
            after = unquoted.match(text, pos, min(n, pos + FIELD_LIMIT + 2)).end()
            if after - pos > FIELD_LIMIT:
                return "long", pos
        if after >= n or text[after] != delimiter:
            return "end", min(after, n)
        pos = after + 1


_HEAD_LINES = 200


def _read_plain_text(text: str, encoding: str | None, delimiter: str, max_rows: int,
                     max_columns: int, choice: HeaderChoice = HeaderChoice()) -> Table | None:
    """The fast path for plain delimited text: no quotes, no NULs, no blank lines inside, every row as wide
    as the header.  Arrow's csv reader parses it on both cores; None sends the text down the careful path,
    which reads anything and gives the same table.
    """
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    head = text.split("\n", _HEAD_LINES)[:_HEAD_LINES]  # the body stays in `text`: no copy of a big file
    header = _plain_header(head, delimiter, max_columns, choice)
    if header is None:
        return None
    width = header.width
    start = sum(len(line) + 1 for line in head[:header.first_line - 1])  # where the first data line begins
    end = len(text)
    while end > start and text[end - 1] == "\n":
        end -= 1
    trailing_blank = max(0, len(text) - max(end, start) - (1 if end > start else 0))
    if text.find("\n\n", start, end) >= 0 or (end > start and text[start] == "\n"):
        return None

    ragged: list[object] = []
    options = _plain_options(width, delimiter, ragged, ignore_empty_lines=False)
    try:
        raw = text.encode("utf-8")  # one copy for Arrow; the data rows are a view into it
        offset = len(text[:start].encode("utf-8"))
        size = len(raw) - offset - (len(text) - max(end, start))  # the tail past `end` is newlines: a byte each
        data = pa.py_buffer(raw)[offset:offset + size] if size > 0 else None
        table = pcsv.read_csv(pa.BufferReader(data), **options) if data is not None else \
            pa.table({f"c{j}": pa.array([], pa.string()) for j in range(width)})
    except (pa.ArrowException, UnicodeError):
        return None
    if ragged:
        return None
    columns = [table.column(j).chunks for j in range(width)]
    del table
    return _plain_table(columns, header, trailing_blank, encoding, delimiter, max_rows, max_columns)


class _PlainHead(NamedTuple):
    """Where plain text's header and data are, found among its first lines."""

    first_line: int  #: the first data line
    header_line: int  #: the header's line; 0 when the text has no header
    headers: list[str]  #: stripped header cells, or the names given to a text with no header
    width: int  #: how many cells every data line has
    warnings: list[str]


def _plain_header(head: list[str], delimiter: str, max_columns: int,
                  choice: HeaderChoice = HeaderChoice()) -> _PlainHead | None:
    """The header and the first data line among the first lines of plain text; None when the fast paths should not read it.

    A chosen header row past these lines is left to the careful path, which knows where the text ends.
    """
    found = [(n, line.split(delimiter)) for n, line in enumerate(head, start=1) if line]
    found = [(n, record) for n, record in found if any(record)]
    records = [record for _, record in found]
    numbers = [n for n, _ in found]
    if not numbers or (choice.header_row is not None and choice.header_row >= numbers[-1]):
        return None
    guess = chosen_header(records, numbers, choice, "line", numbers[-1]) if choice else guess_header(records)
    if guess is None:
        return None
    if guess.index is None:
        width = len(records[guess.first])
        headers = generated_headers(records[guess.first:], width)
        header_line = 0
    else:
        headers = [cell.strip() for cell in records[guess.index]]
        width, header_line = len(headers), numbers[guess.index]
    if width > max_columns:
        return None
    first_line = header_line + 1 if header_line else numbers[guess.first]
    return _PlainHead(first_line, header_line, headers, width, header_warnings(guess, numbers, headers, "line"))


def _plain_options(width: int, delimiter: str, ragged: list, *, ignore_empty_lines: bool,
                   block_size: int | None = None) -> dict:
    """Arrow csv options for plain text: no quoting at all, every cell a string; rows of another width go to `ragged`."""

    names = [f"c{j}" for j in range(width)]

    def off_width(row) -> str:
        ragged.append(row)
        return "skip"

    read = pcsv.ReadOptions(column_names=names, use_threads=True)
    if block_size:
        read.block_size = block_size
    return {"read_options": read,
            "parse_options": pcsv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                               escape_char=False, newlines_in_values=False,
                                               ignore_empty_lines=ignore_empty_lines, invalid_row_handler=off_width),
            "convert_options": pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                   strings_can_be_null=False, quoted_strings_can_be_null=False)}


def _plain_table(chunks: list[list], head: _PlainHead, trailing_blank: int, encoding: str | None, delimiter: str,
                 max_rows: int, max_columns: int) -> Table:
    """The table of plain text Arrow has parsed: cells trimmed, blank rows dropped and counted, rows numbered."""
    arrays = []
    for j in range(len(chunks)):  # one column at a time, its chunks let go as it is joined
        column = pa.chunked_array(chunks[j], pa.string()).combine_chunks()
        chunks[j] = None
        arrays.append(pc.utf8_trim(column, characters=PY_WHITESPACE))
        del column
    headers, arrays, source_rows, blank = assemble_arrays(head.headers, arrays, head.first_line, max_rows,
                                                          max_columns)
    return Table(format="csv", sheet=None, header_row=head.header_line, headers=headers, arrays=arrays,
                 source_rows=source_rows, blank_rows=blank + trailing_blank, encoding=encoding,
                 delimiter=delimiter, no_header=head.header_line == 0, warnings=list(head.warnings))


# ---------------------------------------------------------------- big plain files, straight from the disk

_STREAM_MIN_BYTES = 1 << 20
_STREAM_BLOCK = 1 << 24
_LONE_CR = re.compile(rb"\r(?!\n)")
_EMPTY_LINE = re.compile(rb"\n\r?\n")
_LINE_END = b"\r\n"


def read_plain_file(path, max_rows: int, max_columns: int, choice: HeaderChoice = HeaderChoice()) -> Table | None:
    """A big plain UTF-8 file read from the disk in blocks, never held whole in memory.

    The same table as `read_text(decode(bytes))`, for files that path would read
    with its Arrow fast path: UTF-8 (with or without a BOM), no quotes, no NULs,
    no lone CR, no blank line inside the data, every row as wide as the header.
    The first megabyte decides the delimiter and the header exactly as the
    whole-text path does; the rest is checked block by block and handed to
    Arrow's streaming csv reader.  None when anything is not plain (or the file
    is small): the caller then reads the file the whole-text way.
    """

    size = path.stat().st_size
    if size <= _STREAM_MIN_BYTES:
        return None
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_CHARS)  # the lines the delimiter and the header are found in
    bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or b"\x00" in head:
        return None
    cut = head.rfind(b"\n")
    try:
        text = head[bom:cut + 1].decode("utf-8")
    except UnicodeDecodeError:
        return None
    sample = text[:65536]
    if len(CONTROL_CHARS.findall(sample)) > len(sample) * 0.1 or _MARKUP_START.match(sample.lstrip("\ufeff")):
        return None  # the whole-text path refuses it with its sentence
    delimiter = _sniff_delimiter(text)
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if len(lines) <= max(_HEAD_LINES, _SNIFF_LINES) or '"' in text or "\r" in text:
        return None  # few long lines, quotes or a lone CR: the whole-text path decides
    header = _plain_header(lines[:_HEAD_LINES], delimiter, max_columns, choice)
    if header is None:
        return None
    width = header.width
    # Where the data begins, in bytes (each line's own ending, LF or CRLF), and where its trailing line ends stop.
    skipped = header.first_line - 1
    start = bom + sum(len(line) + 1 for line in head[bom:].split(b"\n", skipped)[:skipped])
    trailing = _trailing_line_ends(path, size)
    if trailing is None or size - len(trailing) <= start or b"\r" in trailing.replace(b"\r\n", b""):
        return None
    if not _plain_bytes(path, max(0, start - 1), size - len(trailing)):
        return None
    trailing_blank = max(0, trailing.count(b"\n") - 1)

    ragged: list[object] = []
    # No blank line is left inside the data (checked above): the only empty lines are trailing ones.
    options = _plain_options(width, delimiter, ragged, ignore_empty_lines=True, block_size=_STREAM_BLOCK)
    columns: list[list] = [[] for _ in range(width)]
    try:
        source = pa.OSFile(str(path))
        source.seek(start)
        reader = pcsv.open_csv(source, **options)
        for batch in reader:
            if ragged:
                return None
            for j in range(width):
                columns[j].append(batch.column(j))
        source.close()
    except (pa.ArrowException, UnicodeError, OSError):
        return None
    if ragged:
        return None
    encoding = "utf-8-sig" if bom else "utf-8"
    return _plain_table(columns, header, trailing_blank, encoding, delimiter, max_rows, max_columns)


def _trailing_line_ends(path, size: int) -> bytes | None:
    """The run of line-end bytes that closes the file; None when it is too long to be plain."""
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    kept = tail.rstrip(_LINE_END)
    if not kept:
        return None
    return tail[len(kept):]


def _plain_bytes(path, start: int, end: int) -> bool:
    """Whether bytes start..end hold no quote, NUL, lone CR or blank line (checked a block at a time)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        carry = b""
        at = start
        while at < end:
            block = fh.read(min(_STREAM_BLOCK, end - at))
            if not block:
                return False
            at += len(block)
            if b'"' in block or b"\x00" in block:
                return False
            joined = carry + block
            lone = _LONE_CR.search(joined)
            if lone and not (lone.start() == len(joined) - 1 and at < end):  # a CR ending a block: see the next
                return False
            if _EMPTY_LINE.search(joined):
                return False
            carry = joined[-2:]
    return True
