"""DESIGN section 10: every bad input gets a clear answer, and nothing already stored is damaged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import (
    CORPORA,
    csv_file,
    make_home,
    naughty_strings,
    query,
    read_xlsx,
    run,
    xlsx,
)

FILES = sorted(p for folder in ("calamine-spreadsheets", "frictionless-csv", "csv-spectrum/csvs")
               for p in (CORPORA / folder).glob("*") if p.suffix.lower() not in (".md",) and p.is_file()
               and not p.name.startswith("LICENSE"))


@pytest.fixture
def stocked_home(tmp_path):
    """A home that already holds a contact and an opt-out, to show nothing stored is damaged."""
    home = make_home(tmp_path)
    run(home, csv_file(tmp_path / "seed.csv", [["First name", "Mobile", "Email", "Opt out"],
                                               ["Seed", "0523456789", "seed@example.com", ""],
                                               ["Gone", "0523456780", "", "yes"]]))
    return home


def stored(home: Path):
    return (query(home, "SELECT id, phone, email, first_name, updated_at FROM contacts ORDER BY id"),
            query(home, "SELECT channel, value FROM optouts ORDER BY 1, 2"))


@pytest.mark.skipif(not FILES, reason="the corpora are not beside the project")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_file_gets_a_clear_answer(stocked_home, path):
    home = stocked_home
    before = stored(home)
    dropped = home / "inbox" / path.name
    shutil.copy(path, dropped)
    s = run(home, dropped)
    assert s.status in ("done", "failed")
    assert not dropped.exists(), "the file leaves the inbox either way"
    if s.status == "failed":
        assert s.reason and "\n" not in s.reason and len(s.reason) < 400
        assert (home / "rejects" / (path.name + ".error.txt")).read_text().strip() == s.reason
    else:
        r = s.rows
        assert r["new"] + r["updated"] + r["unchanged"] + r["duplicate"] + r["rejected"] == r["total"]
    after = stored(home)
    assert set(before[1]) <= set(after[1]), "no opt-out lost"
    kept = {c[0]: c for c in after[0]}
    assert set(kept) >= {c[0] for c in before[0]}, "no stored contact lost"
    untouched = [c for c in before[0] if kept[c[0]][4] == c[4]]
    assert [kept[c[0]] for c in untouched] == untouched, "a contact the file did not update is as it was"
    assert len(before[0]) - len(untouched) <= s.rows.get("updated", 0), "only the file's updates changed any"


def test_password_protected_workbook_is_refused_plainly(tmp_path):
    src = CORPORA / "calamine-spreadsheets" / "pass_protected.xlsx"
    if not src.exists():
        pytest.skip("the corpora are not beside the project")
    home = make_home(tmp_path)
    s = run(home, src)
    assert s.status == "failed" and "password" in s.reason.lower()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_naughty_strings_as_values_and_headers(tmp_path, fmt):
    home = make_home(tmp_path)
    strings = naughty_strings()
    rows = [["First name", "Mobile", "Email", "City"]]
    for i, s in enumerate(strings):
        rows.append([s, f"052{2000000 + i:07d}", "", s])
        rows.append(["", f"053{2000000 + i:07d}", s, ""])  # as an e-mail: invalid, rejected, never a crash
    path = tmp_path / f"naughty.{fmt}"
    (csv_file if fmt == "csv" else xlsx)(path, rows)
    summary = run(home, path)
    assert summary.status == "done"
    r = summary.rows
    assert r["new"] + r["rejected"] + r["duplicate"] == r["total"]
    assert r["new"] >= len(strings), "a naughty name never stops a row with a valid phone"
    assert set(summary.reject_reasons) <= {"invalid_email"}
    # The SQL-looking strings are data, never SQL: the store still has its tables and rows.
    assert query(home, "SELECT count(*) FROM contacts")[0][0] == r["new"]
    names = {n for (n,) in query(home, "SELECT first_name FROM contacts")}
    assert "'; DROP TABLE users; --" in names or any("DROP TABLE" in (n or "") for n in names)
    headers_file = csv_file(tmp_path / "headers.csv", [strings[:50] + ["Mobile"], ["x"] * 50 + ["0523456789"]])
    assert run(home, headers_file).status == "done"


def test_formulas_in_cells_stay_text_in_the_reject_workbook(tmp_path):
    home = make_home(tmp_path)
    s = run(home, csv_file(tmp_path / "f.csv", [["Name", "Mobile"], ['=HYPERLINK("http://x","y")', "1"],
                                                ["+SUM(A1)", "2"], ["@cmd", "3"]]))
    book = read_xlsx(Path(home / "outbox" / s.outbox / s.rejects_file))
    assert [r[0] for r in book[1:]] == ['=HYPERLINK("http://x","y")', "+SUM(A1)", "@cmd"]
    import openpyxl

    ws = openpyxl.load_workbook(home / "outbox" / s.outbox / s.rejects_file).worksheets[0]
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value is not None)


@pytest.mark.parametrize("name", ["new\nline.csv", "x" * 240 + ".csv", "..hidden..csv", "semi;colon 'quote\".csv",
                                  "שם עברי.csv", "tab\there.csv"])
def test_hostile_file_names(tmp_path, name):
    home = make_home(tmp_path)
    path = csv_file(home / "inbox" / name, [["Mobile"], ["0523456789"]])
    s = run(home, path)
    assert s.status == "done"
    folder = home / "outbox" / s.outbox
    assert folder.parent == home / "outbox" and "\n" not in folder.name and len(folder.name) < 120
    assert len(list(folder.iterdir())) == 3


def test_link_in_the_inbox_is_refused(tmp_path):
    home = make_home(tmp_path)
    secret = csv_file(tmp_path / "elsewhere.csv", [["Mobile"], ["0523456789"]])
    link = home / "inbox" / "link.csv"
    os.symlink(secret, link)
    s = run(home, link)
    assert s.status == "failed" and "link" in s.reason
    assert secret.exists() and query(home, "SELECT count(*) FROM contacts") == [(0,)]


def test_file_over_the_size_limit(tmp_path):
    home = make_home(tmp_path, pipeline="max_file_mb: 0.001\n")
    path = csv_file(tmp_path / "big.csv", [["Mobile"]] + [["0523456789"]] * 200)
    s = run(home, path)
    assert s.status == "failed" and ("larger" in s.reason.lower() or "limit" in s.reason.lower())


def test_content_not_what_the_name_says(tmp_path):
    home = make_home(tmp_path)
    csv_named_xlsx = csv_file(tmp_path / "actually_csv.xlsx", [["Mobile"], ["0523456789"]])
    assert run(home, csv_named_xlsx).rows["new"] == 1
    xlsx_named_csv = xlsx(tmp_path / "actually_xlsx.csv", [["Mobile"], ["0523456780"]])
    assert run(home, xlsx_named_csv).rows["new"] == 1
    png = tmp_path / "picture.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    assert run(home, png).status == "failed"
