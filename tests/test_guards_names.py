"""Names never collide: no output overwrites another, and no source file takes a generated file's name."""

from __future__ import annotations

import json

import pytest
from helpers import cli, csv_file, make_home, read_xlsx

BROKEN = b"\x00\x01garbage" * 100


def reasons(home) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (home / "rejects").glob("*.error.txt")}


def test_rejects_keep_every_reason_file_whatever_the_names(tmp_path):
    home = make_home(tmp_path / "home")
    inbox = home / "inbox"
    (inbox / "x.error.txt").write_bytes(BROKEN)       # a file whose name is another's reason file
    assert cli(home, "import", str(inbox)).exit_code == 1
    (inbox / "x").write_bytes(BROKEN)                 # its reason would be x.error.txt: taken by a rejected file
    assert cli(home, "import", str(inbox)).exit_code == 1
    (inbox / "x").write_bytes(BROKEN + b"again")      # the same name again
    assert cli(home, "import", str(inbox)).exit_code == 1
    rejects = home / "rejects"
    assert sorted(p.name for p in rejects.iterdir()) == [
        "x-2", "x-2.error.txt", "x-3", "x-3.error.txt", "x.error.txt", "x.error.txt.error.txt"]
    assert (rejects / "x.error.txt").read_bytes() == BROKEN, "a rejected file is never overwritten by a reason"
    assert (rejects / "x-3").read_bytes() == BROKEN + b"again"
    assert all(text.strip() and "\n" not in text.strip() for text in reasons(home).values())


def test_a_reason_left_after_its_file_was_taken_away_is_kept(tmp_path):
    home = make_home(tmp_path / "home")
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(BROKEN)
    assert cli(home, "import", str(bad)).exit_code == 1
    (home / "rejects" / "broken.xlsx").unlink()   # an operator took the file to fix it; its reason stays
    first = (home / "rejects" / "broken.xlsx.error.txt").read_text(encoding="utf-8")
    bad.write_bytes(BROKEN + b"other")
    assert cli(home, "import", str(bad)).exit_code == 1
    assert (home / "rejects" / "broken.xlsx.error.txt").read_text(encoding="utf-8") == first
    assert (home / "rejects" / "broken-2.xlsx").read_bytes() == BROKEN + b"other"
    assert (home / "rejects" / "broken-2.xlsx.error.txt").exists()


@pytest.mark.parametrize("name", ["summary.json", "summary.txt", "SUMMARY.TXT"])
def test_a_source_named_like_a_summary_keeps_its_own_name_apart(tmp_path, name):
    home = make_home(tmp_path / "home")
    src = csv_file(home / "inbox" / name, [["Mobile", "Email"], ["0523456789", "a@example.com"], ["1", "bad"]])
    content = src.read_bytes()
    r = cli(home, "import", str(home / "inbox"))
    assert r.exit_code == 0, r.output
    (folder,) = (home / "outbox").iterdir()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["file"] == name and summary["rows"]["total"] == 2
    assert "rows 2:" in (folder / "summary.txt").read_text(encoding="utf-8")
    assert (folder / f"source-{name}").read_bytes() == content
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["summary.json", "summary.txt", f"source-{name}", summary["rejects_file"]])


def test_a_source_whose_name_the_reject_workbook_takes_keeps_its_own_apart(tmp_path):
    # Both names are cut to the longest a file name may be, and come out the same.
    name = "x" * 120 + ".rejects.xlsx"
    home = make_home(tmp_path / "home")
    src = csv_file(home / "inbox" / "list.csv", [["Mobile"], ["0523456789"], ["1"]])
    src = src.rename(home / "inbox" / name)
    content = src.read_bytes()
    assert cli(home, "import", str(home / "inbox")).exit_code == 0
    (folder,) = (home / "outbox").iterdir()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    workbook = folder / summary["rejects_file"]
    assert read_xlsx(workbook)[0][-2:] == ["Reject reason", "Source row"]
    others = [p for p in folder.iterdir() if p.name not in ("summary.json", "summary.txt", workbook.name)]
    assert len(others) == 1 and others[0].name.startswith("source-") and others[0].read_bytes() == content


def test_a_source_named_on_the_command_line_is_copied_apart_too(tmp_path):
    home = make_home(tmp_path / "home")
    src = csv_file(tmp_path / "summary.txt", [["Mobile"], ["0523456789"]])
    assert cli(home, "import", str(src)).exit_code == 0
    (folder,) = (home / "outbox").iterdir()
    assert (folder / "source-summary.txt").read_bytes() == src.read_bytes()
    assert "done" in (folder / "summary.txt").read_text(encoding="utf-8")
