"""Every output file is created with the mode the umask allows, as `open()` creates a file.

Operators who share a group must be able to read the reject workbook they fix;
a file written aside by `tempfile.mkstemp` would be 0600 whatever the umask.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import duckdb
import pytest
from helpers import cli, csv_file, make_home

from pipeline.config import load_config
from pipeline.daemon.schedules import State, collect, export

#: Enough rejected rows that the reject workbook is written by its own process.
CHILD_WRITER_ROWS = 5000


@pytest.fixture(params=[0o002, 0o022], ids=["umask002", "umask022"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_outbox_rejects_and_exports_take_the_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    home = make_home(tmp_path / "home")
    src = csv_file(tmp_path / "people.csv", [["Mobile", "Email"], ["0523456789", "a@example.com"], ["1", "bad"]])
    big = csv_file(home / "inbox" / "big.csv", [["Mobile"]] + [[f"x{i}"] for i in range(CHILD_WRITER_ROWS)])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"\x00\x01garbage" * 100)
    os.chmod(src, expected)
    os.chmod(broken, expected)
    assert cli(home, "import", str(src), "--group", "G").exit_code == 0
    assert cli(home, "import", str(big)).exit_code == 0
    assert cli(home, "import", str(broken)).exit_code == 1
    out = tmp_path / "out"
    out.mkdir()
    for args in (("list", "--export", str(out / "list.xlsx")), ("list", "--export", str(out / "list.csv")),
                 ("recipients", "--group", "G", "--export", str(out / "send.csv")), ("optout", "list", "--export",
                                                                     str(out / "optouts.xlsx")),
                 ("template", str(out / "template.xlsx"))):
        assert cli(home, *args).exit_code == 0, args
    written = files_under(home / "outbox") + files_under(home / "rejects") + files_under(out)
    names = {p.name for p in written}
    assert {"summary.json", "summary.txt", "people.rejects.xlsx", "big.rejects.xlsx", "broken.xlsx.error.txt",
            "list.xlsx", "list.csv", "send.csv", "optouts.xlsx", "template.xlsx"} <= names
    assert {p.name: oct(mode(p)) for p in written} == {p.name: oct(expected) for p in written}


def test_scheduled_collect_copies_and_exports_take_the_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    src = tmp_path / "crm"
    src.mkdir()
    f = csv_file(src / "crm.csv", [["Mobile"], ["0523456789"]])
    os.chmod(f, 0o600)  # however the source was kept, the copy is the daemon's own file
    os.utime(f, (1, 1))
    home = make_home(tmp_path / "home", pipeline=f"""settle_seconds: 0
schedules:
  - {{name: crm, cron: "0 2 * * *", job: collect, from: "{src}/*.csv"}}
  - {{name: out, cron: "0 3 * * *", job: export, what: optouts, format: xlsx}}
""")
    cfg = load_config(home)
    log = logging.getLogger("test")
    collect(cfg, cfg.pipeline.schedules[0], State(tmp_path / "state.json", log), log)
    assert mode(home / "inbox" / "crm.csv") == expected
    assert cli(home, "optout", "add", "0523456780").exit_code == 0
    con = duckdb.connect(str(cfg.database))
    try:
        path, _, _ = export(cfg, cfg.pipeline.schedules[1], con)
    finally:
        con.close()
    assert mode(path) == expected
    assert mode(tmp_path / "state.json") == expected
