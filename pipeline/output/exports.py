"""Exports for people and programs: .xlsx or .csv by the file name, no cell a spreadsheet would run.

A gateway reads these files too, so a value is written exactly as stored: in
xlsx every cell is a text cell, which no spreadsheet runs; in csv only a cell
that could run as a formula gets a leading apostrophe (`normalize.guard`, the
rule the importer undoes), never a phone in E.164 or a number.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import UsageError
from ..normalize import guard
from .files import write_bytes_atomic
from .xlsx import write_xlsx


def csv_safe(value: object) -> str:
    """A csv cell that no spreadsheet runs as a formula, and that imports back as the value."""
    return guard("" if value is None else str(value))


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A UTF-8 csv (with BOM, so spreadsheet programs read it right) of formula-safe cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_safe(h) for h in headers])
    for row in rows:
        w.writerow([csv_safe(v) for v in row])
    write_bytes_atomic(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


def write_table(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Sheet1") -> None:
    """An export, .xlsx (with this sheet name) or .csv by the file name."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, headers, rows, sheet=sheet)
    elif path.suffix.lower() == ".csv":
        write_csv(path, headers, rows)
    else:
        raise UsageError(f"An export file must end in .xlsx or .csv, not '{path.suffix or path.name}'.")
