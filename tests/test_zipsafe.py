"""The zip guard: sizes and ratios enforced on the bytes that really inflate, whatever the zip declares.

The bombs are built by hand: a deflate stream of full-flushed blocks repeats
one compressed megabyte of blanks thousands of times, so a 4 MB file inflates
to gigabytes, and its directory may say anything.
"""

from __future__ import annotations

import struct
import threading
import time
import zlib
from pathlib import Path

import psutil
import pytest

from pipeline.errors import FileRejected
from pipeline.read import read_table
from pipeline.read.zipsafe import BOMB, MAX_RATIO, RATIO_FREE, inflate_checked

MB = 1 << 20
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>'
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>Dana</t></is></c></row></sheetData>'
)


def deflated_blanks(head: bytes, megabytes: int, tail: bytes = b"") -> tuple[bytes, int, int]:
    """A raw deflate stream of head, then `megabytes` MB of spaces, then tail; with its real size and CRC."""
    blank = b" " * MB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(blank) + compressor.flush(zlib.Z_FULL_FLUSH)  # the same bytes every time
    last = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    piece = zlib.crc32(blank)
    for _ in range(megabytes):
        crc = zlib.crc32(blank, crc) if megabytes < 64 else _crc_combine(crc, piece, MB)
    crc = zlib.crc32(tail, crc)
    return first + block * megabytes + last, len(head) + megabytes * MB + len(tail), crc


def _crc_combine(crc1: int, crc2: int, length2: int) -> int:
    # The CRC need not be right for these tests (the guard stops long before the end); any value will do.
    return (crc1 ^ crc2 ^ length2) & 0xFFFFFFFF


def raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip written byte by byte: (name, data, method, declared size, crc) per member."""
    body = b""
    directory = b""
    for name, data, method, declared, crc in members:
        encoded = name.encode()
        offset = len(body)
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data),
                             min(declared, 0xFFFFFFFF), len(encoded), 0)
        body += header + encoded + data
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data),
                                 min(declared, 0xFFFFFFFF), len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    path.write_bytes(body + directory + end)
    return path


def small(name: str, text: str) -> tuple[str, bytes, int, int, int]:
    data = text.encode()
    return name, data, 0, len(data), zlib.crc32(data)


def package(path: Path, sheet: tuple[str, bytes, int, int, int]) -> Path:
    """An xlsx whose only worksheet is the given (hand-made) member."""
    return raw_zip(path, [
        small("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
              'spreadsheetml.sheet.main+xml"/></Types>'),
        small("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        small("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
              'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
              '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        small("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
              'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        sheet,
    ])


class Peak:
    """The process's resident memory growth while the block runs, sampled every few milliseconds."""

    def __enter__(self):
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.growth_mb = (self.peak - self.start) / MB


def counted_inflation(path: Path) -> tuple[str, int]:
    """The guard's refusal and how many bytes it let inflate before it."""
    seen = [0]

    def watch(name):
        def count(chunk):
            seen[0] += len(chunk)
        return count if name == "xl/worksheets/sheet1.xml" else None

    with pytest.raises(FileRejected) as refusal:
        inflate_checked(path, watch=watch)
    return str(refusal.value), seen[0]


def test_a_member_declaring_less_than_it_holds_stops_at_the_declared_size(tmp_path):
    data, real, crc = deflated_blanks(SHEET_HEAD, 200, b"</worksheet>")
    path = package(tmp_path / "liar.xlsx", ("xl/worksheets/sheet1.xml", data, 8, 5 * MB, crc))
    message, inflated = counted_inflation(path)
    assert message == BOMB
    assert inflated <= 5 * MB


def test_a_member_declaring_a_huge_ratio_is_refused_before_inflating(tmp_path):
    data, real, crc = deflated_blanks(SHEET_HEAD, 300, b"</worksheet>")
    assert real > MAX_RATIO * len(data) and real > RATIO_FREE
    path = package(tmp_path / "dense.xlsx", ("xl/worksheets/sheet1.xml", data, 8, real, crc))
    message, inflated = counted_inflation(path)
    assert (message, inflated) == (BOMB, 0)


def test_the_ratio_holds_on_real_bytes_when_the_declared_size_is_out_of_reach(tmp_path):
    # Declared a little under the ratio's cap, the member inflates far past it: stopped at the cap.
    data, real, crc = deflated_blanks(SHEET_HEAD, 300, b"</worksheet>")
    cap = max(RATIO_FREE, MAX_RATIO * len(data))
    path = package(tmp_path / "dense.xlsx", ("xl/worksheets/sheet1.xml", data, 8, cap - 1, crc))
    message, inflated = counted_inflation(path)
    assert message == BOMB and inflated <= cap


@pytest.mark.timeout(30)
def test_four_gigabytes_of_blanks_after_the_sheet_data_are_refused_at_once(tmp_path):
    data, real, crc = deflated_blanks(SHEET_HEAD, 3800, b"</worksheet>")
    assert len(data) < 4_000_000 and real > 3.98e9
    # The directory says the sheet is small, as a well-made bomb's does.
    path = package(tmp_path / "trailer.xlsx", ("xl/worksheets/sheet1.xml", data, 8, len(SHEET_HEAD) + 40_000, crc))
    assert path.stat().st_size < 4_000_000
    started = time.monotonic()
    with Peak() as memory:
        with pytest.raises(FileRejected) as refusal:
            read_table(path)
    assert str(refusal.value) == BOMB
    assert time.monotonic() - started < 1
    assert memory.growth_mb < 200
    _, inflated = counted_inflation(path)
    assert inflated <= len(SHEET_HEAD) + 40_000


def test_an_honest_dense_member_under_the_limits_passes(tmp_path):
    data, real, crc = deflated_blanks(SHEET_HEAD, 5, b"</worksheet>")
    path = package(tmp_path / "fine.xlsx", ("xl/worksheets/sheet1.xml", data, 8, real, crc))
    found = inflate_checked(path, keep=lambda name: name == "xl/workbook.xml")
    assert found.total >= real and b"<sheets>" in found.member("xl/workbook.xml")
    table = read_table(path)
    assert (table.headers, table.columns) == (["Name"], [["Dana"]])


def test_a_wrong_crc_is_damage(tmp_path):
    data, real, crc = deflated_blanks(SHEET_HEAD, 1, b"</worksheet>")
    path = package(tmp_path / "crc.xlsx", ("xl/worksheets/sheet1.xml", data, 8, real, crc ^ 1))
    assert counted_inflation(path)[0] == "The workbook is damaged or truncated and cannot be read."


@pytest.mark.parametrize(("flag", "method", "message"), [
    (0x1, 8, "password-protected"),
    (0, 12, "cannot be checked safely"),  # bzip2
    (0, 9, "cannot be checked safely"),   # deflate64
])
def test_members_the_guard_cannot_inflate_safely_are_refused(tmp_path, flag, method, message):
    data, real, crc = deflated_blanks(SHEET_HEAD, 0, b"</worksheet>")
    path = package(tmp_path / "odd.xlsx", ("xl/worksheets/sheet1.xml", data, 8, real, crc))
    raw = bytearray(path.read_bytes())
    where = raw.find(b"PK\x01\x02", raw.find(b"xl/worksheets/sheet1.xml") + 30)
    raw[where + 8 : where + 12] = struct.pack("<2H", flag, method)
    path.write_bytes(bytes(raw))
    with pytest.raises(FileRejected, match=message):
        read_table(path)
