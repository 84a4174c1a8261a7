"""Any spreadsheet or delimited text file in, a table of text cells out.

The format is decided by the file's content, never by its name: workbooks go to
`workbook.py` (fastexcel into Arrow, zip packages guarded by `zipsafe.py`
first), text to `text.py`; `table.py` holds what both share.  Every cell comes out as the text a spreadsheet program shows, so
nothing is lost to floats or dates, and every data row keeps the row (or line)
number the user sees, for the reject workbook.

A file that cannot be read at all raises `FileRejected` with one plain sentence.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ReadLimits
from ..errors import FileRejected
from .table import NO_ROWS, NOT_READABLE, HeaderChoice, Table, bulk_allocation, give_back_memory
from .text import decode, read_plain_file, read_text
from .workbook import read_workbook, sniff_ole, sniff_zip

__all__ = ["HeaderChoice", "Table", "bulk_allocation", "give_back_memory", "read_table", "read_text_rows", "too_big"]


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
            magic = handle.read(8)
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
        plain = read_plain_file(path, max_rows, max_columns, choice)  # a big plain file is never held whole
        if plain is not None:
            return plain
        try:
            data = path.read_bytes()
        except OSError:
            raise FileRejected("The file cannot be read from the disk.") from None
        text, encoding = decode(data)
        del data
        return read_text(text, encoding, max_rows, max_columns, choice=choice)


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
