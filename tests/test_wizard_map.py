"""`contacts map`: the columns needing a choice, and the import options that reproduce a mapping."""

from __future__ import annotations

import json
import shlex

from helpers import cli, csv_file, make_home, query

ROWS = [["Report"], [], ["Name", "Mobile No.", "Shoe size", "Notes"], ["Dana", "0523456789", "42", "x"]]


def test_unrecognised_columns_need_a_choice(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "list.csv", ROWS)
    r = cli(home, "map", str(src))
    assert r.exit_code == 0
    shoe = next(line for line in r.output.splitlines() if "Shoe size" in line)
    assert "? choose" in shoe
    assert "2 column(s) need a choice (Shoe size, Notes)" in r.output
    listed = json.loads(cli(home, "map", str(src), "--json").output)
    assert [c.get("needs_choice", False) for c in listed] == [False, False, True, True]


def test_map_prints_flags_that_reproduce_the_mapping(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "list.csv", ROWS)
    r = cli(home, "map", str(src), "--map", "Shoe size=ignore", "--map", "notes=city")
    assert r.exit_code == 0
    line = r.output.split("# The import options that give this mapping")[1].splitlines()[1]
    args = shlex.split(line)
    assert args[:3] == ["contacts", "import", "list.csv"]
    assert "--header-row" in args and "Mobile No.=phone" in args and "Notes=city" in args
    # the printed options import the file as map showed it
    imported = cli(home, "import", str(src), *args[3:], "--json")
    assert imported.exit_code == 0, imported.output
    (s,) = json.loads(imported.output)
    assert {c["header"]: c["field"] for c in s["columns"]} == {"Name": "first_name", "Mobile No.": "phone",
                                                               "Shoe size": None, "Notes": "city"}
    assert all(c["how"] == "option" for c in s["columns"])
    assert query(home, "SELECT first_name, city FROM contacts") == [("Dana", "x")]


def test_map_of_a_file_with_no_header_gives_column_numbers(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "bare.csv", [["Dana", "0523456789"]])
    r = cli(home, "map", str(src), "--no-header", "--map", "1=first_name")
    assert r.exit_code == 0
    line = r.output.split("# The import options that give this mapping")[1].splitlines()[1]
    assert shlex.split(line)[3:] == ["--no-header", "--map", "1=first_name", "--map", "2=phone"]


def test_map_previews_header_row(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "list.csv", ROWS)
    listed = json.loads(cli(home, "map", str(src), "--header-row", "4", "--json").output)
    assert [c["header"] for c in listed] == ["Dana", "0523456789", "42", "x"]
