"""Any spreadsheet or delimited text file in, a table of text cells out.

The format is decided by the file's content, never by its name: workbooks go to
`workbook.py` (fastexcel into Arrow, zip packages guarded by `zipsafe.py`
first), vCards (text opening with `BEGIN:VCARD`) to `vcard.py`, other text to `text.py`; `table.py` holds what both share.  Every cell comes out as the text a spreadsheet program shows, so
nothing is lost to floats or dates, and every data row keeps the row (or line)
number the user sees, for the reject workbook.

A file that cannot be read at all raises `FileRejected` with one plain sentence.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..config import ReadLimits
from ..errors import FileRejected
from .head import PREVIEW_ROWS, head_package, text_head
from .table import (
    NO_ROWS,
    NOT_READABLE,
    HeaderChoice,
    Table,
    bulk_allocation,
    give_back_memory,
)
from .text import decode, read_plain_file, read_text
from .vcard import is_vcard, read_vcard
from .workbook import read_workbook, sniff_ole, sniff_zip

__all__ = ["PREVIEW_ROWS", "HeaderChoice", "Table", "bulk_allocation", "give_back_memory", "read_head", "read_table",
           "read_text_rows", "too_big"]


# Magic numbers of common files that are certainly not text.
_BINARY_MAGIC = (
    b"\x89PNG", b"%PDF-", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"\x1f\x8b", b"BZh",
    b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x7fELF", b"\xfd7zXZ\x00", b"II*\x00",
    b"MM\x00*", b"PK\x05\x06", b"PK\x07\x08", b"{\\rtf", b"OggS", b"ID3", b"\x00\x00\x01\x00",
)


# ---------------------------------------------------------------- public API


def read_table(path: Path, limits: ReadLimits = ReadLimits(), *, header_row: int | None = None,
               no_header: bool = False) -> Table:
    """Read the first sheet with data (or the whole text file) as a `Table`.

    `header_row` (the 1-based sheet row or text line of the header, rows above
    it being titles) or `no_header` (every row is data) replace the reader's
    guess of where the header is; a row beyond the file or a blank one raises
    `UsageError` naming the option.

    >>> table = read_table(Path("inbox/crm.xlsx"))            # doctest: +SKIP
    >>> table.headers, table.columns[0][:2], table.source_rows[:2]  # doctest: +SKIP
    (['Name', 'Mobile'], ['Dana', 'Avi'], [2, 3])

    Raises `FileRejected` when the file cannot be read at all: not a
    spreadsheet or text, password-protected, damaged, a zip bomb, no rows, or
    over the limits' bytes, data rows or columns.
    """
    path = Path(path)
    max_bytes, max_rows, max_columns = limits.max_bytes, limits.max_rows, limits.max_columns
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise too_big(size, max_bytes)
        with open(path, "rb") as handle:
            head = handle.read(1024)
        magic = head[:8]
    except FileRejected:
        raise
    except FileNotFoundError:
        raise FileRejected("The file no longer exists.") from None
    except IsADirectoryError:
        raise FileRejected("The path is a folder, not a file.") from None
    except PermissionError:
        raise FileRejected("The file cannot be opened because access to it is denied.") from None
    except OSError:
        raise FileRejected("The file cannot be read from the disk.") from None

    if size == 0:
        raise FileRejected(NO_ROWS)
    choice = HeaderChoice(header_row, no_header)
    with bulk_allocation():
        if magic.startswith(b"PK\x03\x04"):
            package = sniff_zip(path)
            return read_workbook(path, package.kind, package.merges, max_rows, max_columns, package.unsaved, choice)
        if magic.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
            return read_workbook(path, sniff_ole(path), False, max_rows, max_columns, choice=choice)
        if magic.startswith(_BINARY_MAGIC):
            raise FileRejected(NOT_READABLE)
        if is_vcard(head):
            return read_vcard(*_decoded(path), max_rows, choice)
        plain = read_plain_file(path, max_rows, max_columns, choice)  # a big plain file is never held whole
        if plain is not None:
            return plain
        text, encoding = _decoded(path)
        return read_text(text, encoding, max_rows, max_columns, choice=choice)


def _decoded(path: Path) -> tuple[str, str]:
    """A text file's text and the encoding it was in."""
    try:
        data = path.read_bytes()
    except OSError:
        raise FileRejected("The file cannot be read from the disk.") from None
    return decode(data)


def read_head(path: Path, limits: ReadLimits = ReadLimits(), *, header_row: int | None = None,
              no_header: bool = False) -> Table:
    """The first rows of a file (`PREVIEW_ROWS` at most of an xlsx; a text file's first megabytes), read as
    `read_table` reads them, for a preview that must not wait for a whole big file (see `head.py`).

    Anything that cannot be cut so is read whole; a file `read_table` refuses is refused with its sentence.
    """
    path = Path(path)
    folder = Path(tempfile.mkdtemp(prefix="contacts-head-"))
    try:
        try:
            with open(path, "rb") as fh:
                magic = fh.read(8)
            small = (head_package(path, folder) if magic.startswith(b"PK\x03\x04")
                     else None if magic.startswith(b"\xd0\xcf\x11\xe0") else text_head(path, folder))
        except OSError:
            small = None  # read_table says why, in its sentence
        if small is not None:
            try:
                table = read_table(small, limits, header_row=header_row, no_header=no_header)
            except FileRejected:
                pass  # the whole file says what is wrong with it
            else:
                table.partial = True
                return table
        return read_table(path, limits, header_row=header_row, no_header=no_header)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_text_rows(text: str) -> Table:
    """Read rows typed or pasted as text: header first, comma, tab or semicolon separated.

    >>> read_text_rows("name;phone\\nDana;0521234567\\n").columns
    [['Dana'], ['0521234567']]
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    with bulk_allocation():
        return read_text(text, None, ReadLimits.max_rows, ReadLimits.max_columns)


def too_big(size: int, max_bytes: int) -> FileRejected:
    """The refusal of a file of SIZE bytes over the limit, as every way in says it (inbox, import, upload)."""
    return FileRejected(f"The file is {_human_size(size)}, over the {_human_size(max_bytes)} limit; split it into "
                        "smaller files.")


def _human_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:,.0f} MB"
