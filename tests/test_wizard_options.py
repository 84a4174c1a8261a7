"""Per-import choices on the command line: --map, --ignore, --header-row, --no-header, --group, --no-group."""

from __future__ import annotations

import json

import pytest
from helpers import cli, csv_file, make_home, query, xlsx

TITLED = [["Customer list"], ["exported 2026-12-01"], [], ["Name", "Mobile No.", "Cust", "Notes"],
          ["Dana", "0523456789", "A1", "vip"], ["Avi", "0523456780", "A2", ""]]


def _import(home, *args, input=None):
    r = cli(home, *args, "--json", input=input)
    assert r.exit_code == 0, r.output
    found = json.loads(r.output)
    return found[0] if isinstance(found, list) else found


def test_map_and_ignore_take_precedence_over_fields_yaml_and_are_recorded(tmp_path):
    home = make_home(tmp_path, fields="rules:\n  - files: 'crm*'\n    columns: {Cust: company, Notes: city}\n")
    src = csv_file(tmp_path / "crm.csv", TITLED[3:])
    s = _import(home, "import", str(src), "--map", "cust=external_id", "--ignore", "NOTES")
    by_header = {c["header"]: c for c in s["columns"]}
    assert by_header["Cust"] == {"header": "Cust", "field": "external_id", "how": "option"}
    assert by_header["Notes"] == {"header": "Notes", "field": None, "how": "option"}
    assert by_header["Mobile No."]["how"] == "synonym"
    assert query(home, "SELECT external_id, company, city FROM contacts ORDER BY 1") == [
        ("A1", None, None), ("A2", None, None)]


def test_map_by_column_number_on_a_file_with_no_header(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "bare.csv", [["Dana", "0523456789", "Haifa"], ["Avi", "0523456780", "Eilat"]])
    s = _import(home, "import", str(src), "--no-header", "--map", "1=first_name", "--map", "Column 3=city")
    assert s["source"]["no_header"] is True and s["rows"]["new"] == 2
    assert [c["how"] for c in s["columns"]] == ["option", "synonym", "option"]
    assert query(home, "SELECT first_name, phone, city FROM contacts ORDER BY 1") == [
        ("Avi", "+972523456780", "Eilat"), ("Dana", "+972523456789", "Haifa")]


def test_header_row_replaces_the_guess_in_text_and_in_a_workbook(tmp_path):
    home = make_home(tmp_path)
    text = csv_file(tmp_path / "titled.csv", TITLED)
    book = xlsx(tmp_path / "titled.xlsx", TITLED)
    for src in (text, book):
        s = _import(home, "import", str(src), "--dry-run", "--header-row", "4", "--map", "Cust=external_id")
        assert s["source"]["header_row"] == 4 and s["rows"]["total"] == 2, src.name
    # a header row lower than the real one: the rows above become titles, the rest data
    s = _import(home, "import", str(text), "--dry-run", "--header-row", "5")
    assert s["source"]["header_row"] == 5 and s["rows"]["total"] == 1
    assert [c["header"] for c in s["columns"]][:2] == ["Dana", "0523456789"]


def test_no_header_reads_every_row_as_data(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "rows.csv", [["Name", "Mobile"], ["Dana", "0523456789"]])
    s = _import(home, "import", str(src), "--dry-run", "--no-header")
    assert s["source"]["no_header"] is True and s["rows"]["total"] == 2
    assert s["rows"]["rejected"] == 1, "the old header line is a row like any other (it has no phone)"


def test_no_header_on_a_file_that_starts_with_many_empty_lines(tmp_path):
    """Lines of bare commas first, then rows: the rows are all data (the quick reader's first lines hold none)."""
    home = make_home(tmp_path)
    src = tmp_path / "rows.csv"
    src.write_text(",,\n" * 250 + "Dana,0523456789,\nAvi,0523456780,\n", encoding="utf-8")
    s = _import(home, "import", str(src), "--dry-run", "--no-header")
    assert s["source"]["no_header"] is True and s["rows"]["new"] == 2


@pytest.mark.parametrize(("args", "words"), [
    (["--map", "Fax=phone"], ["--map", "Fax"]),
    (["--ignore", "Fax"], ["--ignore", "Fax"]),
    (["--map", "Notes=fax"], ["--map", "fax", "not a field"]),
    (["--map", "Notes"], ["--map", "HEADER=FIELD"]),
    (["--header-row", "40"], ["--header-row 40", "beyond"]),
    (["--header-row", "3"], ["--header-row 3", "blank"]),
    (["--header-row", "0"], ["--header-row 0"]),
    (["--no-header", "--header-row", "4"], ["--no-header", "--header-row"]),
    (["--group", "A", "--no-group"], ["--no-group", "--group"]),
])
@pytest.mark.parametrize("command", ["import", "map"])
def test_a_bad_choice_exits_two_with_one_sentence_and_leaves_the_file(tmp_path, args, words, command):
    if command == "map" and "--group" in args:
        pytest.skip("map takes no group options")
    home = make_home(tmp_path)
    src = csv_file(home / "inbox" / "titled.csv", TITLED)
    r = cli(home, command, str(src), *args)
    assert r.exit_code == 2, r.output
    message = r.output.strip().splitlines()[-1]
    assert all(w in message for w in words), message
    assert "Traceback" not in r.output
    assert src.exists(), "a usage error moves nothing"
    assert not any((home / "outbox").iterdir())


def test_paste_takes_the_same_options(tmp_path):
    home = make_home(tmp_path)
    s = _import(home, "paste", "--no-header", "--map", "1=first_name", "--map", "2=phone",
                input="Dana;0523456789\nAvi;0523456780\n")
    assert s["rows"]["new"] == 2 and [c["how"] for c in s["columns"]] == ["option", "option"]
    r = cli(home, "paste", "--map", "Fax=phone", input="Name,Mobile\nDana,0523456789\n")
    assert r.exit_code == 2 and "--map 'Fax'" in r.output


GROUPS = "assign:\n  - files: '*'\n    groups: ['Everyone']\n"


def test_group_creates_a_group_or_reuses_it(tmp_path):
    home = make_home(tmp_path)
    a = csv_file(tmp_path / "a.csv", [["Mobile"], ["0523456789"]])
    b = csv_file(tmp_path / "b.csv", [["Mobile"], ["0523456780"]])
    _import(home, "import", str(a), "--group", "Walk-ins")
    _import(home, "import", str(b), "--group", "walk-ins")
    assert query(home, "SELECT count(*) FROM groups") == [(1,)]
    assert query(home, "SELECT count(*) FROM memberships") == [(2,)]


def test_no_group_leaves_the_rows_floating(tmp_path):
    home = make_home(tmp_path, groups=GROUPS)
    a = csv_file(tmp_path / "a.csv", [["Mobile"], ["0523456789"]])
    _import(home, "import", str(a), "--no-group")
    assert query(home, "SELECT count(*) FROM memberships") == [(0,)]
    b = csv_file(tmp_path / "b.csv", [["Mobile"], ["0523456780"]])
    _import(home, "import", str(b))
    assert query(home, "SELECT g.name FROM memberships m JOIN groups g ON g.id = m.group_id") == [("Everyone",)]
    r = cli(home, "paste", "--no-group", "--json", input="Mobile\n0523456781\n")
    assert r.exit_code == 0 and query(home, "SELECT count(*) FROM memberships") == [(1,)]
