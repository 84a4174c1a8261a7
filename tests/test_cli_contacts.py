"""The contacts commands driven as a user drives them: list, show, add, edit, delete, fields, paste.

Most runs go through click's CliRunner on the real `contacts` group; a few run
the installed `contacts` entry point in a subprocess, as a shell would.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from helpers import CONTACTS, cli, csv_file, make_home, query, real, run

from pipeline.cli import main

FIELDS = """\
custom_fields:
  - name: loyalty_tier
    type: choice
    choices: [gold, silver, bronze]
    aliases: ["Tier"]
  - name: points
    type: number
  - name: vip
    type: boolean
  - name: signup_date
    type: date
aliases:
  phone: ["Cellular number"]
"""
HEAD = ["First name", "Last name", "Mobile", "E-mail", "City", "Tier", "points"]
ROWS = [
    ["Dana", "Levi", "052-345-6789", "dana@example.com", "Tel Aviv", "gold", "12.50"],
    ["Avi", "Cohen", "0523456780", "", "Haifa", "silver", "3"],
    ["Noa", "Bar", "", "noa@example.com", "Tel Aviv", "", ""],
    ["Yossi", "Levinson", "+972 52 345 6701", "yossi@corp.example.org", "Eilat", "bronze", "100"],
]

@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home", fields=FIELDS)
    s = run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS))
    assert s.rows["new"] == 4
    return h


def listed(home: Path, *args: str) -> list[dict]:
    r = cli(home, "list", "--json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


# --------------------------------------------------------------------------- list


def test_list_json_has_the_contract_shape(home):
    people = listed(home)
    assert [p["id"] for p in people] == [1, 2, 3, 4]
    dana = people[0]
    for key in ("id", "first_name", "last_name", "phone", "email", "birth_date", "gender", "city", "address",
                "zip_code", "country", "company", "job_title", "external_id", "loyalty_tier", "points", "vip",
                "signup_date", "phone_status", "email_status", "groups", "created_at", "updated_at"):
        assert key in dana, key
    assert dana["phone"] == "+972523456789" and dana["email"] == "dana@example.com"
    assert dana["points"] == 12.5 and people[1]["points"] == 3, "numbers are JSON numbers"
    assert dana["phone_status"] == "active" and people[1]["email_status"] == "none"
    assert dana["created_at"].endswith("Z") and dana["groups"] == []


def test_search_finds_a_phone_in_any_format(home):
    for typed in ("052-345 6789", "+972 52-345-6789", "0523456789", "972523456789", "345 6789", "3456789"):
        assert [p["id"] for p in listed(home, "--search", typed)] == [1], typed


def test_search_names_emails_and_text_fields_ignoring_case(home):
    assert [p["id"] for p in listed(home, "--search", "levi")] == [1, 4], "Levi and Levinson"
    assert [p["id"] for p in listed(home, "--search", "dana levi")] == [1], "every word must match"
    assert [p["id"] for p in listed(home, "--search", "CORP.example")] == [4], "part of an e-mail"
    assert [p["id"] for p in listed(home, "--search", "Noa@Example.com")] == [3], "a whole e-mail"
    assert [p["id"] for p in listed(home, "--search", "tel aviv")] == [1, 3], "a text field"
    assert [p["id"] for p in listed(home, "--search", "bronze")] == [4], "a choice field"
    assert listed(home, "--search", "%") == [] and listed(home, "--search", "_") == [], "wildcards are literal"
    assert listed(home, "--search", "x' OR 1=1 --") == []


def test_sort_by_any_field(home):
    assert [p["id"] for p in listed(home, "--sort", "points:desc")] == [4, 1, 2, 3], "numbers sort as numbers"
    assert [p["id"] for p in listed(home, "--sort", "first_name")] == [2, 1, 3, 4]
    assert [p["id"] for p in listed(home, "--sort", "city:desc")] == [1, 3, 2, 4]
    r = cli(home, "list", "--sort", "shoe_size")
    assert r.exit_code == 2 and "not a field to sort by" in r.stderr
    r = cli(home, "list", "--sort", "city:sideways")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1


def test_list_shows_active_contacts_unless_all(home):
    assert cli(home, "optout", "add", "noa@example.com").exit_code == 0
    assert [p["id"] for p in listed(home)] == [1, 2, 4], "Noa's only detail is out"
    everyone = listed(home, "--all")
    assert [p["id"] for p in everyone] == [1, 2, 3, 4]
    assert everyone[2]["email_status"] == "opted_out" and everyone[2]["phone_status"] == "none"


def test_list_limit_and_table(home):
    assert len(listed(home, "--limit", "2")) == 2
    r = cli(home, "list", "--limit", "2")
    assert r.exit_code == 0
    assert "+972523456789" in r.stdout and "Dana" in r.stdout and "Noa" not in r.stdout
    assert "Showing 2 of 4 contacts" in r.stderr
    r = cli(home, "list", "--limit", "0")
    assert r.exit_code == 2


def test_limit_holds_with_opt_outs_searches_and_groups(home):
    """A regression: DuckDB 2.0.1 dropped the LIMIT of a query joining the opt-out list."""
    assert [p["id"] for p in listed(home, "--limit", "1", "--all")] == [1]
    assert cli(home, "optout", "add", "0523456780").exit_code == 0
    assert [p["id"] for p in listed(home, "--limit", "1", "--search", "tel aviv")] == [1]
    assert [p["id"] for p in listed(home, "--limit", "2", "--sort", "phone_status:desc", "--all")] == [2, 3]
    assert cli(home, "groups", "create", "G").exit_code == 0
    assert cli(home, "groups", "assign", "G", "1", "3", "4").exit_code == 0
    assert [p["id"] for p in listed(home, "--limit", "2", "--group", "G", "--search", "e")] == [1, 3]
    r = cli(home, "list", "--limit", "1", "--group", "G")
    assert "Showing 1 of 3 contacts" in r.stderr


def test_paste_twice_is_a_duplicate_unless_forced(home):
    text = "Mobile\n052-345-6711\n"
    assert cli(home, "paste", input=text).exit_code == 0
    r = cli(home, "paste", input=text)
    assert r.exit_code == 0 and "duplicate" in r.stdout and "--force" in r.stdout
    r = cli(home, "paste", "--force", input=text)
    assert r.exit_code == 0 and "1 unchanged" in r.stdout


def test_table_text_is_never_markup(home):
    assert cli(home, "add", "--email", "m@example.com", "--set", "first_name=[bold red]x[/]").exit_code == 0
    r = cli(home, "list", "--search", "m@example.com")
    assert "[bold red]x[/]" in r.stdout


def test_list_group_filter(home):
    assert cli(home, "groups", "create", "VIP").exit_code == 0
    assert cli(home, "groups", "assign", "vip", "--contact", "2", "--contact", "4").exit_code == 0
    assert [p["id"] for p in listed(home, "--group", "VIP")] == [2, 4]
    assert [p["groups"] for p in listed(home, "--group", "VIP")] == [["VIP"], ["VIP"]]
    r = cli(home, "list", "--group", "Nobody")
    assert r.exit_code == 1 and "No group is named 'Nobody'" in r.stderr


def test_export_xlsx_and_csv_are_formula_safe_with_phones_as_text(home, tmp_path):
    assert cli(home, "add", "--phone", "052-345-6702", "--set", "first_name==HYPERLINK(\"http://x\")",
               "--set", "last_name=@SUM(A1)").exit_code == 0
    out = tmp_path / "all.xlsx"
    r = cli(home, "list", "--export", str(out))
    assert r.exit_code == 0 and "Exported 5 contacts" in r.stdout
    ws = openpyxl.load_workbook(out).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "record_id" and "phone" in header and "phone_status" in header
    phone_col = header.index("phone")
    for row in ws.iter_rows(min_row=2):
        assert all(c.data_type == "s" for c in row if c.value is not None), "every cell is text, none a formula"
    assert ws.cell(row=2, column=phone_col + 1).value == "+972523456789"
    last = [c.value for c in ws[6]]
    assert last[1] == '=HYPERLINK("http://x")' and ws.cell(row=6, column=2).data_type == "s"

    out_csv = tmp_path / "all.csv"
    assert cli(home, "list", "--export", str(out_csv)).exit_code == 0
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[5][1].startswith("'=") and rows[5][2] == "'@SUM(A1)"
    assert rows[1][3] == "+972523456789", "a phone in E.164 cannot run: written exactly as stored"

    r = cli(home, "list", "--export", str(out_csv))
    assert r.exit_code == 2 and "already exists" in r.stderr, "an export never overwrites"
    r = cli(home, "list", "--export", str(tmp_path / "all.pdf"))
    assert r.exit_code == 2 and ".xlsx or .csv" in r.stderr
    r = cli(home, "list", "--json", "--export", str(tmp_path / "x.csv"))
    assert r.exit_code == 2


def test_an_export_dropped_back_imports_without_damage(home, tmp_path):
    out = tmp_path / "back.xlsx"
    assert cli(home, "edit", "1", "--set", "external_id=C-1").exit_code == 0
    assert cli(home, "list", "--export", str(out)).exit_code == 0
    before = query(home, "SELECT * EXCLUDE (updated_at, created_at) FROM contacts ORDER BY id")
    s = run(home, out)
    assert s.rows["rejected"] == 0 and s.rows["new"] == 0
    after = query(home, "SELECT * EXCLUDE (updated_at, created_at) FROM contacts ORDER BY id")
    assert [r[:3] for r in after] == [r[:3] for r in before]
    assert query(home, "SELECT external_id FROM contacts WHERE id = 1") == [("C-1",)], "record_id is not external_id"


# --------------------------------------------------------------------------- show, add, edit, delete


def test_show(home):
    r = cli(home, "show", "1", "--json")
    assert r.exit_code == 0
    rec = json.loads(r.stdout)
    assert rec["id"] == 1 and rec["first_name"] == "Dana" and rec["loyalty_tier"] == "gold"
    assert rec == listed(home)[0]
    r = cli(home, "show", "1")
    assert r.exit_code == 0 and "Dana" in r.stdout and "phone_status" in r.stdout
    r = cli(home, "show", "99")
    assert r.exit_code == 1 and r.stderr == "No contact has the id 99.\n"
    assert cli(home, "show", "abc").exit_code == 2


def test_add_normalizes_like_an_import(home):
    r = cli(home, "add", "--phone", "054-765 4321", "--email", " Ron@Example.COM ", "--set", "first_name=Ron",
            "--set", "points=1,234", "--set", "loyalty_tier=GOLD", "--set", "vip=yes", "--set",
            "signup_date=27/11/2026", "--group", "Walk-ins", "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["id"] == 5 and rec["phone"] == "+972547654321" and rec["email"] == "ron@example.com"
    assert rec["points"] == 1234 and rec["loyalty_tier"] == "gold" and rec["vip"] is True
    assert rec["signup_date"] == "2026-11-27" and rec["groups"] == ["Walk-ins"]
    assert query(home, "SELECT phone_raw, email_raw FROM contacts WHERE id = 5") == [("054-765 4321", "Ron@Example.COM")]
    r = cli(home, "add", "--email", "plain@example.com")
    assert r.exit_code == 0 and r.stdout == "Added contact 6.\n"


def test_a_long_whole_number_is_shown_and_exported_exactly(home, tmp_path):
    r = cli(home, "add", "--email", "big@example.com", "--set", "points=1234567890123456", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["points"] == 1234567890123456
    r = cli(home, "list", "--export", str(tmp_path / "all.csv"))
    assert r.exit_code == 0, r.output
    assert "1234567890123456," in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("args, code, words", [
    (["--set", "first_name=Nobody"], 1, "needs a valid phone or e-mail"),
    (["--phone", "12"], 1, "not a valid phone number"),
    (["--email", "dana@"], 1, "not a valid e-mail address"),
    (["--phone", "052-345-6703", "--set", "points=lots"], 1, "not a valid number for points"),
    (["--phone", "052-345-6703", "--set", "loyalty_tier=platinum"], 1, "Expected one of: gold, silver, bronze"),
    (["--phone", "052-345-6703", "--set", "shoe_size=44"], 2, "'shoe_size' is not a field"),
    (["--phone", "052-345-6703", "--set", "oops"], 2, "FIELD=VALUE"),
    (["--phone", "+972-52-345-6789"], 1, "already belongs to contact 1"),
    (["--email", "DANA@example.com"], 1, "already belongs to contact 1"),
])
def test_add_refuses_with_one_sentence(home, args, code, words):
    r = cli(home, "add", *args)
    assert r.exit_code == code, r.output
    assert words in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert query(home, "SELECT count(*) FROM contacts") == [(4,)]


def test_add_to_a_dynamic_group_is_refused(tmp_path):
    h = make_home(tmp_path, groups="dynamic:\n  - name: Eilat\n    where: {field: city, equals: Eilat}\n")
    r = cli(h, "add", "--phone", "052-345-6703", "--group", "eilat")
    assert r.exit_code == 1 and "dynamic group" in r.stderr
    assert query(h, "SELECT count(*) FROM contacts") == [(0,)], "nothing is written"


def test_add_an_opted_out_detail_keeps_it_out(home):
    assert cli(home, "optout", "add", "0509999999").exit_code == 0
    r = cli(home, "add", "--phone", "+972 50 999 9999", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["phone_status"] == "opted_out"
    assert "stays out" in r.stderr


def test_edit(home):
    r = cli(home, "edit", "2", "--set", "city=Jaffa", "--email", "AVI@example.com", "--set", "points=")
    assert r.exit_code == 0 and r.stdout == "Contact 2: changed email, city, points.\n"
    rec = json.loads(cli(home, "show", "2", "--json").stdout)
    assert rec["city"] == "Jaffa" and rec["email"] == "avi@example.com" and rec["points"] is None
    assert rec["updated_at"] >= rec["created_at"]
    r = cli(home, "edit", "2", "--set", "city=Jaffa")
    assert r.exit_code == 0 and "nothing changed" in r.stdout
    r = cli(home, "edit", "2", "--phone", "0523456789")
    assert r.exit_code == 1 and "already belongs to contact 1" in r.stderr
    r = cli(home, "edit", "3", "--email", "")
    assert r.exit_code == 1 and "neither" in r.stderr, "Noa's e-mail is her only detail"
    r = cli(home, "edit", "3", "--email", "", "--phone", "052-345-6704")
    assert r.exit_code == 0, "a detail may go when another comes"
    assert cli(home, "edit", "99", "--set", "city=X").exit_code == 1
    assert cli(home, "edit", "2").exit_code == 2


def test_delete_keeps_opt_outs(home):
    assert cli(home, "groups", "create", "VIP").exit_code == 0
    assert cli(home, "groups", "assign", "VIP", "1").exit_code == 0
    assert cli(home, "optout", "add", "0523456789").exit_code == 0
    r = cli(home, "delete", "1", "--yes")
    assert r.exit_code == 0 and r.stdout == "Deleted contact 1.\n"
    assert query(home, "SELECT count(*) FROM memberships") == [(0,)]
    assert query(home, "SELECT value FROM optouts") == [("+972523456789",)], "the opt-out outlives the contact"
    assert cli(home, "delete", "1", "--yes").exit_code == 1
    # the same person coming back in a file is still out
    run(home, csv_file(home / "back.csv", [["Mobile", "Name"], ["0523456789", "Dana"]]))
    back = listed(home, "--all", "--search", "0523456789")
    assert back[0]["id"] == 5 and back[0]["phone_status"] == "opted_out", "ids are never reused"
    assert listed(home, "--search", "0523456789") == []


# --------------------------------------------------------------------------- fields


def test_fields_list(home):
    r = cli(home, "fields", "list", "--json")
    assert r.exit_code == 0
    fields = {f["name"]: f for f in json.loads(r.stdout)}
    assert list(fields)[:4] == ["first_name", "last_name", "phone", "email"]
    assert fields["phone"]["kind"] == "default" and fields["phone"]["aliases"] == ["Cellular number"]
    assert fields["phone"]["filled"] == 3 and fields["email"]["filled"] == 3 and fields["points"]["filled"] == 3
    assert fields["loyalty_tier"] == {"name": "loyalty_tier", "type": "choice", "kind": "custom", "aliases": ["Tier"],
                                      "choices": ["gold", "silver", "bronze"], "label": "Loyalty tier", "filled": 3}
    r = cli(home, "fields", "list")
    assert r.exit_code == 0 and "loyalty_tier" in r.stdout and "custom" in r.stdout


def test_fields_schema_describes_the_records(home):
    r = cli(home, "fields", "schema")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    props = schema["properties"]
    assert props["loyalty_tier"]["enum"] == ["gold", "silver", "bronze", None]
    assert props["points"]["type"] == ["number", "null"] and props["vip"]["type"] == ["boolean", "null"]
    assert props["phone_status"]["enum"] == ["active", "opted_out", "none"]
    # every record the list prints fits the schema's shape
    import re
    for rec in listed(home, "--all"):
        assert set(schema["required"]) <= set(rec)
        if rec["phone"]:
            assert re.fullmatch(props["phone"]["pattern"], rec["phone"])


# --------------------------------------------------------------------------- paste


def test_paste_imports_like_a_file(home):
    text = "Name;Mobile;Email\nRina;052-345-6705;rina@example.com\nBad;12;\n"
    r = cli(home, "paste", "--group", "Walk-ins", input=text)
    assert r.exit_code == 0, r.output
    assert "rows 2: 1 new" in r.stdout and "1 rejected" in r.stdout and "group Walk-ins (created)" in r.stdout
    assert "outputs: outbox/" in r.stdout
    folder = home / "outbox" / r.stdout.split("outputs: outbox/")[1].strip().rstrip("/")
    assert (folder / "summary.json").is_file() and any(p.name.endswith(".rejects.xlsx") for p in folder.iterdir())
    assert [p["first_name"] for p in listed(home, "--group", "walk-ins")] == ["Rina"]
    assert not list((home / "inbox").glob("*.csv")), "the paste never passes through the inbox"

    r = cli(home, "paste", input="First name\tMobile\nTal\t0502223333\n")
    assert r.exit_code == 0 and "1 new" in r.stdout, "tabs too"
    r = cli(home, "paste", input="   \n")
    assert r.exit_code == 2 and "Nothing was pasted" in r.stderr


def test_paste_json_and_dry_run(home):
    r = cli(home, "paste", "--dry-run", "--json", input="Mobile\n0503334444\n")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["rows"]["new"] == 1
    assert listed(home, "--search", "0503334444") == []


# --------------------------------------------------------------------------- every command


COMMANDS = [["list"], ["show"], ["add"], ["edit"], ["delete"], ["paste"], ["recipients"], ["fields"],
            ["fields", "list"], ["fields", "schema"], ["groups"], ["groups", "list"], ["groups", "show"],
            ["groups", "create"], ["groups", "edit"], ["groups", "delete"], ["groups", "merge"],
            ["groups", "assign"], ["groups", "unassign"], ["groups", "members"], ["optout"], ["optout", "add"],
            ["optout", "remove"], ["optout", "list"], ["optout", "history"], ["optout", "import"]]


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(tmp_path, words):
    r = CliRunner().invoke(main, [*words, "--help"])
    assert r.exit_code == 0
    assert "Example: contacts " in r.stdout


def test_a_config_mistake_is_exit_2(tmp_path):
    h = make_home(tmp_path, fields="custom_fields:\n  - name: tier\n    typo: 1\n")
    r = cli(h, "list")
    assert r.exit_code == 2 and "fields.yaml" in r.stderr and r.stderr.count("\n") == 1


# --------------------------------------------------------------------------- the real entry point


def test_real_entry_point_add_list_show_delete(tmp_path):
    home = make_home(tmp_path)
    p = real(home, "add", "--phone", "052-345-6789", "--set", "first_name=Dana")
    assert p.returncode == 0 and p.stdout == "Added contact 1.\n" and p.stderr == ""
    p = real(home, "list", "--search", "052 3456789", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)[0]["first_name"] == "Dana"
    p = real(home, "show", "2")
    assert p.returncode == 1 and p.stderr == "No contact has the id 2.\n" and p.stdout == ""
    p = real(home, "list", "--bogus")
    assert p.returncode == 2
    p = real(home, "delete", "1")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--yes" in p.stderr, "no terminal: refused"
    p = real(home, "delete", "1", "--yes")
    assert p.returncode == 0


def test_real_entry_point_paste(tmp_path):
    home = make_home(tmp_path)
    p = real(home, "paste", input="First name,Mobile\nDana,0523456789\n")
    assert p.returncode == 0 and "1 new" in p.stdout


def test_real_entry_point_paste_reads_any_encoding(tmp_path):
    """Text pasted from an old Hebrew Windows program arrives as cp1255 bytes, not UTF-8."""
    home = make_home(tmp_path)
    data = "שם פרטי;נייד\nדנה;052-345-6789\n".encode("cp1255")
    env = {k: v for k, v in os.environ.items() if k != "CONTACTS_HOME"}
    p = subprocess.run([CONTACTS, "--home", str(home), "paste"], input=data, capture_output=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert query(home, "SELECT first_name, phone FROM contacts") == [("דנה", "+972523456789")]
