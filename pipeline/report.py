"""Everything the pipeline writes for people: summaries, the reject workbook, exports.

Every file appears whole: it is written beside its final place under a hidden
name, then renamed into place.  No spreadsheet cell is ever a live formula:
xlsx cells are typed as text, and csv cells that a spreadsheet would run get a
leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import xlsxwriter

EXCEL_MAX_CELL = 32_767
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _aside(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file aside and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _aside(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: object) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def safe_name(name: str, limit: int = 100) -> str:
    """A file name that is safe in any folder: no separators, control characters or leading dots."""
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", "_", name).strip(" .")
    if not name:
        name = "file"
    if len(name.encode("utf-8")) > limit:
        stem, dot, ext = name.rpartition(".")
        if not dot or len(ext) > 10:
            stem, ext = name, ""
        keep = stem.encode("utf-8")[: limit - len(ext.encode("utf-8")) - 1].decode("utf-8", "ignore")
        name = keep + ("." + ext if ext else "")
    return name


def unique_path(folder: Path, name: str) -> Path:
    """folder/name, or folder/name-2, -3 ... when taken: nothing is ever overwritten."""
    path = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while path.exists() or path.is_symlink():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def xlsx_text(value: object) -> str:
    """A value as an xlsx text cell can hold it: length capped, lone surrogates replaced."""
    text = "" if value is None else str(value)
    if len(text) > EXCEL_MAX_CELL:
        text = text[:EXCEL_MAX_CELL]
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def csv_safe(value: object) -> str:
    """A csv cell that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_xlsx(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Sheet1") -> None:
    """An xlsx whose every cell is a text cell (never a formula, a number or a link), written aside and renamed.

    XlsxWriter streams rows to disk (constant memory) and keeps control
    characters as Excel's `_xHHHH_` escapes, so no value is lost.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _aside(path)
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False,
                                            "tmpdir": str(path.parent)})
        ws = wb.add_worksheet(re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "Sheet1")
        bold = wb.add_format({"bold": True})
        for c, h in enumerate(headers):
            ws.write_string(0, c, xlsx_text(h), bold)
        write = ws.write_string
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v is not None and v != "":
                    write(r, c, xlsx_text(v))
        wb.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A UTF-8 csv (with BOM, so spreadsheet programs read it right) of formula-safe cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_safe(h) for h in headers])
    for row in rows:
        w.writerow([csv_safe(v) for v in row])
    write_bytes_atomic(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


def write_table(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """An export, .xlsx or .csv by the file name."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, headers, rows)
    elif path.suffix.lower() == ".csv":
        write_csv(path, headers, rows)
    else:
        from .errors import UsageError

        raise UsageError(f"An export file must end in .xlsx or .csv, not '{path.suffix or path.name}'.")


# --------------------------------------------------------------------------- a workbook written by a child process


def start_writer(path: Path, sheet: str) -> subprocess.Popen:
    """A child process that writes an xlsx of the rows `feed_writer` sends it (see `write_xlsx`)."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-m", "pipeline.report", str(path), sheet], stdin=subprocess.PIPE,
                            env=env, start_new_session=True)


def feed_writer(child: subprocess.Popen, headers: Sequence[str], rows: list[Sequence[object]]) -> None:
    """Send a writer process its header and rows; it writes the workbook once the pipe closes."""
    try:
        child.stdin.write(json.dumps([list(headers), rows], ensure_ascii=False).encode("utf-8", "surrogatepass"))
    finally:
        child.stdin.close()


def _write_from_pipe(path: str, sheet: str) -> None:
    headers, rows = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"))
    write_xlsx(Path(path), headers, rows, sheet=sheet)


if __name__ == "__main__":
    _write_from_pipe(*sys.argv[1:3])
