"""Small builders the tests share: homes with config, and real spreadsheet files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import duckdb
import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.process import process_file

#: The installed `contacts` command, run as a shell runs it.
CONTACTS = Path(sys.executable).with_name("contacts")
#: The public bad-input corpora, beside the project (tests that need them skip when they are absent).
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def corpus(*parts: str) -> Path:
    """A file or folder of the corpora; the test is skipped when the corpora are not there."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus {'/'.join(parts)} is not present next to the project")
    return path


def naughty_strings(split_lines: bool = True) -> list[str]:
    """The naughty-strings corpus, comment and empty lines left out.

    `split_lines` cuts at every line boundary `str.splitlines` knows; otherwise only at "\\n".
    """
    text = corpus("blns", "blns.txt").read_text(encoding="utf-8")
    return [line for line in (text.splitlines() if split_lines else text.split("\n"))
            if line and not line.startswith("#")]


def make_home(root: Path, pipeline: str = "", fields: str = "", groups: str = "") -> Path:
    """A home folder with the given config files (empty strings: defaults)."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    for name, text in (("pipeline.yaml", pipeline), ("fields.yaml", fields), ("groups.yaml", groups)):
        if text:
            (root / "config" / name).write_text(text, encoding="utf-8")
    for d in ("inbox/optouts", "outbox", "rejects"):
        (root / d).mkdir(parents=True, exist_ok=True)
    return root


def xlsx(path: Path, rows: Sequence[Sequence[object]], sheet: str = "Contacts") -> Path:
    """A real xlsx; numbers stay numbers, so the reader sees what Excel would store."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # xlsx cannot hold these at all
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as a user typed it
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def csv_file(path: Path, rows: Sequence[Sequence[object]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows([["" if v is None else v for v in r] for r in rows])
    return path


def run(home: Path, path: Path, **kw):
    """Import one file the way the daemon and the CLI do."""
    return process_file(path, load_config(home), **kw)


def query(home: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    con = duckdb.connect(str(home / "data" / "contacts.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def outbox_folder(home: Path, summary) -> Path:
    return home / "outbox" / summary.outbox


def summary_json(home: Path, summary) -> dict:
    return json.loads((outbox_folder(home, summary) / "summary.json").read_text(encoding="utf-8"))


def read_xlsx(path: Path) -> list[list[object]]:
    wb = openpyxl.load_workbook(path)
    return [[c.value for c in row] for row in wb.worksheets[0].iter_rows()]


def cli(home: Path, *args: str, input: str | None = None):
    """The `contacts` command run in-process through click's runner."""
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input, catch_exceptions=False)


def real(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """The installed `contacts` command run in a subprocess (any CONTACTS_HOME of the caller left out)."""
    env = {k: v for k, v in os.environ.items() if k != "CONTACTS_HOME"}
    return subprocess.run([str(CONTACTS), "--home", str(home), *args], input=input, capture_output=True, text=True,
                          env=env, timeout=60)
