"""The one guard for zip packages (xlsx, xlsm, xlsb, ods), run before any reader opens them.

Nothing a zip declares is trusted: every member is inflated through `zipfile`
a megabyte at a time and the bytes that really come out are counted, so a
member that declares a few kilobytes but inflates to gigabytes (blanks after
`</sheetData>`, say) is stopped as soon as it passes a limit, holding no more
than one chunk in memory.  The declared sizes are used only to refuse early.
"""

from __future__ import annotations

import copy
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..errors import FileRejected

#: Inflated bytes all members together may come to.
MAX_TOTAL = 2_000_000_000
#: How much more than its packed size a member may inflate to, once past RATIO_FREE bytes.
MAX_RATIO = 100
RATIO_FREE = 10_000_000
#: Members kept whole for the caller (format sniffing) are at most this large.
KEEP_LIMIT = 4_000_000
_CHUNK = 1 << 20

BOMB = "The workbook would expand to far more data than it holds (a possible zip bomb), so it was not opened."
PASSWORD = "The workbook is password-protected; save it without a password and drop it again."
DAMAGED = "The workbook is damaged or truncated and cannot be read."
PACKED_ODDLY = "The workbook is packed in a way that cannot be checked safely; open it and save it again."

#: Called with each chunk of a member as it inflates.
Watcher = Callable[[bytes], None]


class Inflated:
    """What the guard learned: member names, and the few members asked for, whole."""

    def __init__(self, names: list[str], kept: dict[str, bytes], total: int) -> None:
        self.names = names
        self.kept = kept
        #: Bytes all members really inflated to.
        self.total = total

    def member(self, name: str) -> bytes:
        """A kept member's bytes, b"" when it is missing or was too large to keep."""
        return self.kept.get(name, b"")


def inflate_checked(
    path: Path,
    keep: Callable[[str], bool] = lambda name: False,
    watch: Callable[[str], Watcher | None] = lambda name: None,
    *,
    max_total: int = MAX_TOTAL,
) -> Inflated:
    """Inflate every member of the zip at `path`, refusing it the moment a limit is passed.

    `keep(name)` says which members to return whole (up to KEEP_LIMIT bytes);
    `watch(name)` may return a function that sees each inflated chunk of that
    member (a guard scanning it).  Raises `FileRejected` for a zip bomb, an
    encrypted member, a compression other than deflate, or a damaged archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_declared(infos, max_total)
            total = 0
            kept: dict[str, bytes] = {}
            for info in infos:
                wanted = keep(info.filename)
                parts: list[bytes] | None = [] if wanted else None
                size = 0
                watcher = watch(info.filename)
                for chunk in _chunks(archive, info, max_total - total):
                    size += len(chunk)
                    if parts is not None:
                        parts = parts if size <= KEEP_LIMIT else None
                        if parts is not None:
                            parts.append(chunk)
                    if watcher is not None:
                        watcher(chunk)
                total += size
                if parts is not None:
                    kept[info.filename] = b"".join(parts)
            return Inflated([i.filename for i in infos], kept, total)
    except FileRejected:
        raise
    except Exception:  # a broken zip raises many kinds of errors; all mean the same to the user
        raise FileRejected(DAMAGED) from None


def _check_declared(infos: list[zipfile.ZipInfo], max_total: int) -> None:
    """Refuse early what the archive itself admits to; the real counts come later."""
    if sum(info.file_size for info in infos) > max_total or any(
        info.file_size > RATIO_FREE and info.file_size > MAX_RATIO * max(info.compress_size, 1) for info in infos
    ):
        raise FileRejected(BOMB)
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileRejected(PASSWORD)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # bzip2 and lzma inflate without a cap on one call's output; no spreadsheet program writes them.
            raise FileRejected(PACKED_ODDLY)


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, allowance: int):
    """The member's real inflated bytes, a chunk at a time, stopped at any limit.

    zipfile stops reading at the size the directory declares; a copy of the
    entry declaring more lets the real stream run to its end, where any
    excess over the declared size is refused.
    """
    honest = copy.copy(info)
    honest.file_size = max(info.file_size, 0) + allowance + 1
    ratio_cap = max(RATIO_FREE, MAX_RATIO * max(info.compress_size, 1))
    size = 0
    with archive.open(honest) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size or size > ratio_cap or size > allowance:
                raise FileRejected(BOMB)
            yield chunk
