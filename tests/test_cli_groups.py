"""The groups commands as a user drives them: static groups kept in the store, dynamic ones from groups.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from helpers import cli, csv_file, make_home, query, run, xlsx

from pipeline.config import load_config
from pipeline.manage.groups import compile_where

FIELDS = """\
custom_fields:
  - name: loyalty_tier
    type: choice
    choices: [gold, silver, bronze]
    aliases: ["Tier"]
  - name: points
    type: number
  - name: signup_date
    type: date
"""
DYNAMIC = """\
dynamic:
  - name: Tel Aviv VIPs
    category: geo
    where:
      all:
        - {field: city, equals: "tel aviv"}
        - {field: loyalty_tier, in: [Gold, silver]}
  - name: Levis
    where: {field: last_name, starts_with: lev}
  - name: Corp mail
    where: {field: email, contains: "@CORP."}
  - name: Local 052
    where: {field: phone, starts_with: "052"}
  - name: Born before 1990
    where: {field: birth_date, before: "1990-01-01"}
  - name: Signed up from June
    where: {field: signup_date, after: "31/05/2026"}
  - name: No city
    where: {field: city, is_empty: true}
  - name: Big or Eilat
    where:
      any:
        - {field: points, after: "50"}
        - {field: city, equals: Eilat}
  - name: Sneaky
    where: {field: city, equals: "x' OR '1'='1"}
  - name: Dana by phone
    where: {field: phone, equals: "052-345 6789"}
"""
HEAD = ["First name", "Last name", "Mobile", "E-mail", "City", "Tier", "points", "Birth date", "signup_date"]
ROWS = [
    ["Dana", "Levi", "052-345-6789", "dana@example.com", "Tel Aviv", "gold", "12.5", "03/04/1985", "2026-06-10"],
    ["Avi", "Cohen", "+972 54 765 4321", "", "Haifa", "silver", "3", "", "2026-01-10"],
    ["Noa", "Bar", "", "noa@corp.example.org", "TEL AVIV", "silver", "", "1995-12-31", ""],
    ["Yossi", "Levinson", "052-345-6701", "yossi@example.com", "Eilat", "bronze", "100", "", ""],
    ["Rina", "Katz", "052-345-6702", "", "", "", "75", "1980-01-01", "2026-05-31"],
]


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home", fields=FIELDS, groups=DYNAMIC)
    s = run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS))
    assert s.rows["new"] == 5, s.reject_reasons
    return h


def ok(home: Path, *args: str) -> str:
    r = cli(home, *args)
    assert r.exit_code == 0, r.output
    return r.stdout


def members(home: Path, name: str, *args: str) -> list[int]:
    return [p["id"] for p in json.loads(ok(home, "groups", "members", name, "--json", *args))]


def refused(r, code: int, words: str) -> None:
    assert r.exit_code == code, r.output
    assert words in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- dynamic groups


@pytest.mark.parametrize("name, ids", [
    ("Tel Aviv VIPs", [1, 3]),          # equals ignores case, in ignores case, all
    ("Levis", [1, 4]),                  # starts_with ignores case
    ("Corp mail", [3]),                 # contains
    ("Local 052", [1, 4, 5]),           # a local prefix finds E.164 numbers
    ("Born before 1990", [1, 5]),       # dates compare as dates; 03/04/1985 read day first
    ("Signed up from June", [1]),       # the value is read like a file's date
    ("No city", [5]),
    ("Big or Eilat", [4, 5]),           # any; numbers compare as numbers (100 > 50, 75 > 50)
    ("Sneaky", []),                     # a value is a parameter, never SQL
    ("Dana by phone", [1]),             # a phone value in any format
])
def test_dynamic_group_operators(home, name, ids):
    assert members(home, name) == ids


def test_dynamic_groups_are_computed_at_query_time(home):
    assert members(home, "Tel Aviv VIPs") == [1, 3]
    ok(home, "edit", "2", "--set", "city=tel aviv")
    assert members(home, "tel aviv vips") == [1, 2, 3], "no stored membership: an edit moves the contact in"
    assert query(home, "SELECT count(*) FROM groups") == [(0,)]
    rec = json.loads(ok(home, "show", "2", "--json"))
    assert "Tel Aviv VIPs" in rec["groups"]


def test_dynamic_groups_count_active_contacts(home):
    ok(home, "optout", "add", "noa@corp.example.org")
    assert members(home, "Tel Aviv VIPs") == [1]
    assert members(home, "Tel Aviv VIPs", "--all") == [1, 3]
    found = {g["name"]: g for g in json.loads(ok(home, "groups", "list", "--json"))}
    g = found["Tel Aviv VIPs"]
    assert g == {"name": "Tel Aviv VIPs", "category": "geo", "type": "dynamic", "active_contacts": 1,
                 "created_at": None, "contacts": 2}


def test_compiled_where_holds_no_value_and_only_catalog_names(tmp_path):
    cfg = load_config(make_home(tmp_path, fields=FIELDS, groups=DYNAMIC))
    for d in cfg.groups.dynamic:
        sql, params = compile_where(d.where, cfg)
        assert "'1'='1" not in sql and "tel aviv" not in sql and "@corp" not in sql.lower()
        for quoted in (part.split('"')[1] for part in sql.split("c.")[1:]):
            assert quoted in cfg.fields.field_names
    sneaky = next(d for d in cfg.groups.dynamic if d.name == "Sneaky")
    assert compile_where(sneaky.where, cfg) == ('coalesce(lower(c."city") = ?, false)', ["x' or '1'='1"])


def test_a_field_not_in_the_catalog_is_a_config_error(tmp_path):
    h = make_home(tmp_path, groups="dynamic:\n  - name: X\n    where: {field: 'city; DROP TABLE contacts', equals: a}\n")
    refused(cli(h, "groups", "list"), 2, "is not a field")


def test_before_on_a_text_field_is_a_config_error(tmp_path):
    h = make_home(tmp_path, groups="dynamic:\n  - name: X\n    where: {field: city, before: '2020-01-01'}\n")
    refused(cli(h, "groups", "list"), 2, "compare dates or numbers")
    h2 = make_home(tmp_path / "2", groups="dynamic:\n  - name: X\n    where: {field: birth_date, after: soon}\n")
    refused(cli(h2, "groups", "members", "X"), 2, "'soon' is not a valid date")


def test_dynamic_groups_cannot_be_assigned_merged_renamed_or_deleted(home):
    ok(home, "groups", "create", "Static")
    refused(cli(home, "groups", "assign", "tel aviv vips", "--contact", "2"), 1,
            "is a dynamic group: its members are computed from their fields")
    refused(cli(home, "groups", "unassign", "Tel Aviv VIPs", "2"), 1, "cannot be unassigned from")
    refused(cli(home, "groups", "merge", "Tel Aviv VIPs", "Static"), 1, "cannot be merged")
    refused(cli(home, "groups", "merge", "Static", "Tel Aviv VIPs"), 1, "cannot be merged")
    refused(cli(home, "groups", "edit", "Tel Aviv VIPs", "--rename", "X"), 1, "change its rule there instead")
    refused(cli(home, "groups", "delete", "Tel Aviv VIPs"), 1, "dynamic group")
    refused(cli(home, "groups", "create", "TEL AVIV VIPS"), 1, "name of a dynamic group")
    refused(cli(home, "groups", "edit", "Static", "--rename", "levis"), 1, "name of a dynamic group")
    assert query(home, "SELECT count(*) FROM memberships") == [(0,)]


# --------------------------------------------------------------------------- static groups


def test_create_list_show_edit_delete(home):
    assert ok(home, "groups", "create", "  Newsletter ", "--category", "marketing") == "Created group Newsletter.\n"
    refused(cli(home, "groups", "create", "newsletter"), 1, "A group named 'Newsletter' already exists.")
    refused(cli(home, "groups", "create", "  "), 2, "A group needs a name.")
    found = {g["name"]: g for g in json.loads(ok(home, "groups", "list", "--json"))}
    news = found["Newsletter"]
    assert news["type"] == "static" and news["category"] == "marketing" and news["active_contacts"] == 0
    assert news["created_at"].endswith("Z")
    assert {g["type"] for g in found.values()} == {"static", "dynamic"}
    table = ok(home, "groups", "list")
    assert "Newsletter" in table and "marketing" in table and "dynamic" in table

    shown = json.loads(ok(home, "groups", "show", "NEWSLETTER", "--json"))
    assert shown["name"] == "Newsletter" and shown["contacts"] == 0
    dyn = json.loads(ok(home, "groups", "show", "levis", "--json"))
    assert dyn["where"] == {"field": "last_name", "starts_with": "lev"} and dyn["active_contacts"] == 2
    refused(cli(home, "groups", "show", "Nope"), 1, "No group is named 'Nope'")

    ok(home, "groups", "edit", "newsletter", "--rename", "Newsletter 2026", "--category", "")
    found = {g["name"]: g for g in json.loads(ok(home, "groups", "list", "--json"))}
    assert "Newsletter" not in found and found["Newsletter 2026"]["category"] is None
    ok(home, "groups", "edit", "newsletter 2026", "--rename", "NEWSLETTER 2026")
    refused(cli(home, "groups", "edit", "NEWSLETTER 2026"), 2, "Say what to change")

    ok(home, "groups", "assign", "NEWSLETTER 2026", "1", "2")
    out = ok(home, "groups", "delete", "newsletter 2026")
    assert out == "Deleted group NEWSLETTER 2026; its 2 members stay as contacts.\n"
    assert query(home, "SELECT count(*) FROM contacts") == [(5,)]
    assert query(home, "SELECT count(*) FROM memberships") == [(0,)]
    refused(cli(home, "groups", "delete", "newsletter 2026"), 1, "No group is named")


def test_assign_and_unassign_by_id(home):
    ok(home, "groups", "create", "VIP")
    assert ok(home, "groups", "assign", "vip", "--contact", "1", "--contact", "2,3", "4") == \
        "VIP: 4 added, 0 were members already.\n"
    assert ok(home, "groups", "assign", "VIP", "1") == "VIP: 0 added, 1 were members already.\n"
    assert members(home, "VIP") == [1, 2, 3, 4]
    refused(cli(home, "groups", "assign", "VIP", "5", "99"), 1, "No contact has the id 99; nothing was changed.")
    assert members(home, "VIP") == [1, 2, 3, 4]
    refused(cli(home, "groups", "assign", "VIP", "x"), 2, "whole number")
    refused(cli(home, "groups", "assign", "VIP"), 2, "--contact ID... or --file LIST")
    refused(cli(home, "groups", "assign", "Nobody", "1"), 1, "No group is named 'Nobody'")
    assert ok(home, "groups", "unassign", "VIP", "--contact", "1,5") == "VIP: 1 removed, 1 were not members.\n"
    assert members(home, "VIP") == [2, 3, 4]
    assert query(home, "SELECT count(*) FROM contacts") == [(5,)], "unassigned contacts stay"


def test_assign_from_a_list_file(home, tmp_path):
    ok(home, "groups", "create", "From file")
    # no header: the first row is a value too; phones in any format, e-mails, a number cell, junk
    listing = xlsx(tmp_path / "list.xlsx", [[972523456789], ["NOA@corp.example.org"], ["052-345-6701"],
                                            ["not anything"], ["+972 52 345 6799"]])
    r = cli(home, "groups", "assign", "From file", "--file", str(listing))
    assert r.exit_code == 0
    assert r.stdout == "From file: 3 added, 0 were members already.\n"
    assert "2 values of the list found no contact: not anything, +972523456799" in r.stderr
    assert members(home, "From file") == [1, 3, 4]
    ids = csv_file(tmp_path / "ids.csv", [["id", "Name"], ["2", "Avi"], ["77", "Ghost"]])
    r = cli(home, "groups", "assign", "From file", "--file", str(ids))
    assert r.exit_code == 0 and "1 added" in r.stdout and "77" in r.stderr
    ext = csv_file(tmp_path / "unassign.csv", [["Mobile"], ["0523456789"]])
    assert "1 removed" in ok(home, "groups", "unassign", "From file", "--file", str(ext))
    assert members(home, "From file") == [2, 3, 4]


def test_merge(home):
    ok(home, "groups", "create", "A")
    ok(home, "groups", "create", "B", "--category", "kept")
    ok(home, "groups", "assign", "A", "1", "2")
    ok(home, "groups", "assign", "B", "2", "3")
    out = ok(home, "groups", "merge", "a", "b")
    assert out == "Merged A into B: 1 joined, 1 were members already; A is deleted.\n"
    assert members(home, "B") == [1, 2, 3]
    refused(cli(home, "groups", "show", "A"), 1, "No group is named 'A'")
    assert json.loads(ok(home, "groups", "show", "B", "--json"))["category"] == "kept"
    refused(cli(home, "groups", "merge", "B", "b"), 2, "cannot be merged into itself")
    refused(cli(home, "groups", "merge", "B", "Nowhere"), 1, "No group is named 'Nowhere'")
    assert query(home, "SELECT count(*) FROM memberships") == [(3,)]


def test_members_lists_active_by_default_and_exports(home, tmp_path):
    ok(home, "groups", "create", "VIP")
    ok(home, "groups", "assign", "VIP", "1", "2", "3")
    ok(home, "optout", "add", "+972547654321")
    assert members(home, "VIP") == [1, 3], "Avi's only detail is out"
    assert members(home, "VIP", "--all") == [1, 2, 3]
    assert members(home, "VIP", "--sort", "first_name:desc") == [3, 1]
    table = ok(home, "groups", "members", "VIP")
    assert "Dana" in table and "Cohen" not in table
    out = tmp_path / "vip.xlsx"
    r = cli(home, "groups", "members", "VIP", "--all", "--export", str(out))
    assert r.exit_code == 0 and r.stdout == f"Exported 3 members to {out}.\n"
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(out).worksheets[0].iter_rows()]
    assert len(rows) == 4 and rows[2][rows[0].index("phone_status")] == "opted_out"
    assert rows[1][rows[0].index("phone")] == "+972523456789"


def test_static_counts_are_active_contacts(home):
    ok(home, "groups", "create", "Mixed")
    ok(home, "groups", "assign", "Mixed", "1", "3")
    ok(home, "optout", "add", "noa@corp.example.org", "0523456789")
    g = json.loads(ok(home, "groups", "show", "Mixed", "--json"))
    assert (g["contacts"], g["active_contacts"], g["reachable_phones"], g["reachable_emails"]) == (2, 1, 0, 1)


def test_groups_created_by_imports_and_add_are_static(home, tmp_path):
    run(home, csv_file(tmp_path / "g.csv", [["Mobile", "Groups"], ["0523456789", "Imported; Second"]]))
    ok(home, "add", "--email", "new@example.com", "--group", "imported", "--group", "Third")
    found = {g["name"]: g for g in json.loads(ok(home, "groups", "list", "--json"))}
    assert found["Imported"]["active_contacts"] == 2 and found["Third"]["type"] == "static"
