"""Every row accounted for, through the `contacts` command: what the summary counts, what the store and the
reject workbook hold, and what the summary says the reader guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import cli, make_home, query, read_xlsx


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def imported(home: Path, path: Path) -> dict:
    r = cli(home, "import", str(path), "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)[0]


def pasted(home: Path, text: str) -> dict:
    r = cli(home, "paste", "--json", input=text)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def rejects(home: Path, summary: dict) -> list[list[object]]:
    return read_xlsx(home / "outbox" / summary["outbox"] / summary["rejects_file"])


def phones(home: Path) -> list[str]:
    return [p for (p,) in query(home, "SELECT phone FROM contacts ORDER BY phone")]


def test_a_quote_that_never_closes_swallows_no_row(home, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('name,phone\n"Dana,0523456781\nAvi,0523456782\nNoa,052\n', encoding="utf-8")
    summary = imported(home, path)
    assert summary["rows"]["total"] == 3 and summary["rows"]["new"] == 2 and summary["rows"]["rejected"] == 1
    assert summary["source"]["warnings"] == [
        "Line 2 holds a quote mark that never closes; it was read as part of the text, and each line after it as "
        "a row of its own."]
    assert phones(home) == ["+972523456781", "+972523456782"]
    assert [row[0] for row in rejects(home, summary)[1:]] == ["Noa"]
    assert rejects(home, summary)[1][-1] == "4"


def test_rows_wider_than_the_header_keep_the_header(home, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("name,phone\nDana,0523456781,Tel Aviv,Haifa,x,y\nAvi,0523456782,a,b,c,d\nNoa,1,a,b,c,d\n",
                    encoding="utf-8")
    summary = imported(home, path)
    assert summary["source"]["header_row"] == 1 and summary["source"]["no_header"] is False
    assert (summary["rows"]["total"], summary["rows"]["new"], summary["rows"]["rejected"]) == (3, 2, 1)
    sheet = rejects(home, summary)
    assert sheet[0][:2] == ["name", "phone"] and sheet[0][-2:] == ["Reject reason", "Source row"]
    assert sheet[1][0] == "Noa" and sheet[1][-1] == "4"


def test_a_paste_with_no_header_row_imports_every_line(home):
    summary = pasted(home, "0587776655\n0587776656\n")
    assert (summary["rows"]["total"], summary["rows"]["new"]) == (2, 2)
    assert summary["source"]["no_header"] is True and summary["source"]["header_row"] is None
    assert summary["columns"] == [{"header": "Phone", "field": "phone", "how": "synonym"}]
    assert phones(home) == ["+972587776655", "+972587776656"]
    r = cli(home, "paste", input="0587776657\n0587776658\n")
    assert "rows 2: 2 new" in r.stdout


def test_a_file_with_no_header_row_sends_its_bad_rows_to_the_reject_workbook(home, tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text("Dana,0587776655,dana@example.com\nAvi,12,\n\nNoa,0587776656,noa@example.com\n",
                    encoding="utf-8")
    summary = imported(home, path)
    assert (summary["rows"]["total"], summary["rows"]["new"], summary["rows"]["rejected"]) == (3, 2, 1)
    assert summary["rows"]["blank"] == 1
    assert summary["source"]["no_header"] is True
    assert summary["source"]["warnings"] == [
        "The file has no header row, so every line was read as data; its columns were named by what they hold: "
        "Phone (column 2), Email (column 3)."]
    sheet = rejects(home, summary)
    assert sheet[0] == ["Column 1", "Phone", "Email", "Reject reason", "Source row"]
    assert sheet[1][:3] == ["Avi", "12", None] and sheet[1][-1] == "2"


def test_a_workbook_with_no_header_row_imports_every_row(home, tmp_path):
    from helpers import xlsx
    path = xlsx(tmp_path / "bare.xlsx", [[523456781, "Avi"], ["052-345-6782", "Dana"]])
    summary = imported(home, path)
    assert (summary["rows"]["total"], summary["rows"]["new"]) == (2, 2)
    assert summary["source"]["no_header"] is True


def test_a_line_too_long_to_be_a_row_is_refused_saying_so(home, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("name,phone\n" + "x" * 200_000 + "\n", encoding="utf-8")
    r = cli(home, "import", str(path))
    assert r.exit_code == 1
    assert "Line 2 holds a value of more than 131,072 characters, longer than any contact row can be" in r.output
    assert "quote" not in r.output


def test_rows_of_unsaved_formulas_are_counted_and_rejected(home, tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    for row in (["name", "phone"], ["Dana", "0523456781"], ["=A2", "=B2"], ["Avi", "0523456782"]):
        book.active.append(row)
    book.save(tmp_path / "formulas.xlsx")
    summary = imported(home, tmp_path / "formulas.xlsx")
    assert (summary["rows"]["total"], summary["rows"]["new"], summary["rows"]["rejected"]) == (3, 2, 1)
    assert summary["source"]["warnings"] == [
        "Row 3 holds formulas with no saved value; open the file in a spreadsheet program and save it again."]
    rejected = rejects(home, summary)[1:]
    assert [row[-1] for row in rejected] == ["3"]
    assert "unsaved_formulas: The row holds formulas with no saved value" in rejected[0][-2]
    assert summary["reject_reasons"] == {"no_contact_detail": 1, "unsaved_formulas": 1}


def test_a_workbook_of_unsaved_formulas_only_is_refused_saying_what_to_do(home, tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    for row in (["name", "phone"], ["=1", "=2"]):
        book.active.append(row)
    book.save(tmp_path / "formulas.xlsx")
    r = cli(home, "import", str(tmp_path / "formulas.xlsx"))
    assert r.exit_code == 1
    assert ("The rows hold formulas with no saved value; open the file in a spreadsheet program and save it "
            "again.") in r.output
